"""Active content is removed from an original before signing: the pages look the same, and the certified copy
carries no script, launch or data action, embedded file, rich media or XFA form."""
from __future__ import annotations

import io
import subprocess

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

import signing
from signing.active_content import ACTIVE_KEYS, find_active_content, remove_active_content


def _action(kind: str, **extra) -> DictionaryObject:
    action = DictionaryObject({NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind)})
    for key, value in extra.items():
        action[NameObject(f"/{key}")] = value
    return action


def _js(code: str) -> DictionaryObject:
    return _action("/JavaScript", JS=TextStringObject(code))


def armed_pdf(clean: bytes) -> bytes:
    """`clean` with every kind of active content a hostile original could carry."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(clean)))
    root = writer.root_object
    root[NameObject("/OpenAction")] = _js("app.alert('open')")
    root[NameObject("/AA")] = DictionaryObject({NameObject("/WC"): _js("app.alert('close')")})
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really")
    names = root["/Names"].get_object()
    names[NameObject("/JavaScript")] = DictionaryObject({
        NameObject("/Names"): ArrayObject([TextStringObject("startup"), _js("app.alert('names')")])})
    root[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): ArrayObject(),
                                                      NameObject("/XFA"): TextStringObject("<xdp/>")})
    page = writer.pages[0]
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): _js("app.alert('page')")})
    rect = ArrayObject([FloatObject(50), FloatObject(50), FloatObject(150), FloatObject(80)])
    launch = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): rect, NameObject("/Border"): ArrayObject([NumberObject(0)] * 3),
        NameObject("/A"): _action("/Launch", F=TextStringObject("cmd.exe"),
                                  Next=ArrayObject([_action("/SubmitForm", F=TextStringObject("http://x.example"))])),
    })
    media = DictionaryObject({NameObject("/Type"): NameObject("/Annot"),
                              NameObject("/Subtype"): NameObject("/RichMedia"), NameObject("/Rect"): rect})
    page[NameObject("/Annots")] = ArrayObject([launch, media])
    with io.BytesIO() as out:
        writer.write(out)
        return out.getvalue()


def _keys(pdf: bytes) -> set[str]:
    """Every dictionary key and name value reachable in the file."""
    reader = PdfReader(io.BytesIO(pdf))
    found, stack, seen = set(), [reader.trailer["/Root"]], set()
    while stack:
        item = stack.pop()
        if hasattr(item, "idnum"):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            item = item.get_object()
        if isinstance(item, dict):
            found.update(item.keys())
            found.update(v for v in item.values() if isinstance(v, NameObject))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def test_every_kind_is_found(h):
    found = set(find_active_content(armed_pdf(h.text_pdf(2))))
    assert {"/JavaScript", "/JS", "/AA", "/Launch", "/SubmitForm", "/EmbeddedFiles", "/XFA", "/RichMedia"} <= found
    assert found <= ACTIVE_KEYS
    assert find_active_content(h.text_pdf(2)) == ()


def test_a_clean_file_is_not_rewritten(h):
    clean = h.text_pdf(2)
    assert remove_active_content(clean) == (clean, ())
    assert signing.inspect_original(clean).active_content_removed == ()


def test_inspection_removes_it_and_keeps_the_pages(h, tmp_path):
    h.require_tool("pdftoppm")
    armed = armed_pdf(h.text_pdf(2))
    info = signing.inspect_original(armed)
    assert info.rewritten and not info.repaired and info.pages == 2
    assert {"/JavaScript", "/Launch", "/EmbeddedFiles", "/XFA", "/RichMedia", "/AA"} <= set(info.active_content_removed)
    assert not (_keys(info.pdf) & {"/JS", "/JavaScript", "/AA", "/Launch", "/SubmitForm", "/ImportData",
                                   "/RichMedia", "/EmbeddedFiles", "/XFA", "/EF", "/OpenAction"})
    for name, pdf in (("before", armed), ("after", info.pdf)):
        (tmp_path / f"{name}.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
                       check=True, capture_output=True)
    for page in (1, 2):
        before = Image.open(tmp_path / f"before-{page}.png").convert("RGB")
        after = Image.open(tmp_path / f"after-{page}.png").convert("RGB")
        assert ImageChops.difference(before, after).getbbox() is None, f"page {page} looks different"


def test_the_certified_copy_carries_none_of_it(certify, h):
    result = certify("text", "new_page", original=armed_pdf(h.text_pdf(2)))
    assert not (_keys(result.sealed) & {"/JS", "/JavaScript", "/AA", "/Launch", "/SubmitForm", "/ImportData",
                                        "/RichMedia", "/EmbeddedFiles", "/XFA", "/EF"})
    report = signing.validate(result.sealed, [])
    assert len(report.signatures) == 2 and all(s.intact for s in report.signatures)


@pytest.mark.parametrize("kind", ["/ImportData", "/ResetForm", "/GoToE"])
def test_other_data_actions_are_removed_too(h, kind):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(h.text_pdf(1))))
    writer.root_object[NameObject("/OpenAction")] = _action(kind)
    with io.BytesIO() as out:
        writer.write(out)
        cleaned, removed = remove_active_content(out.getvalue())
    assert removed == (kind,)
    assert "/OpenAction" not in PdfReader(io.BytesIO(cleaned)).trailer["/Root"]
