"""prepare() + attest() + seal() on real PDFs, checked by independent tools."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

import signing
from signing import SigningError

KINDS = ["text", "scan", "broken"]
PLACEMENTS = ["new_page", "last_page"]
MATRIX = [(k, p) for k in KINDS for p in PLACEMENTS]


@pytest.mark.parametrize(("kind", "placement"), MATRIX)
def test_pdfsig_and_qpdf_accept_both_signatures(certify, h, kind, placement):
    h.require_tool("pdfsig")
    h.require_tool("qpdf")
    doc = certify(kind, placement)
    out = h.run_tool("pdfsig", str(doc.path)).stdout
    blocks = re.split(r"Signature #\d+:", out)[1:]
    assert len(blocks) == 2, out
    attestation, seal = blocks
    assert "Signature Field Name: attestation" in attestation
    assert "Signature Field Name: seal" in seal
    for block in blocks:
        assert "Signature Validation: Signature is Valid." in block, out
        assert "ETSI.CAdES.detached" in block  # PAdES
    assert "Total document signed" in seal
    assert "Not total document signed" in attestation
    check = h.run_tool("qpdf", "--check", str(doc.path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors" in check.stdout


@pytest.mark.parametrize(("kind", "placement"), MATRIX)
def test_pyhanko_validation_agrees(certify, pki, h, kind, placement):
    doc = certify(kind, placement)
    report = signing.validate(doc.sealed, pki.trust_roots())
    assert report.valid, report
    attestation, seal = report.signatures
    assert attestation.field == "attestation" and seal.field == "seal"
    assert attestation.signer == h.OFFICER[1]
    assert seal.signer == h.AGENCY[1]
    for sig in report.signatures:
        assert sig.intact and sig.trusted and not sig.modified_after
        assert sig.timestamped is False
    # the officer's signature is still valid after the seal: the later
    # revision only fills a signature field, which its DocMDP level allows
    assert attestation.coverage == "entire_revision"
    assert attestation.modification_level == "form_filling"
    assert seal.coverage == "entire_file"
    assert seal.modification_level == "none"
    assert attestation.signed_at == doc.signing_time
    assert seal.signed_at == doc.signing_time + timedelta(hours=2)


def test_attested_copy_alone_is_valid(certify, pki):
    doc = certify("text", "new_page")
    report = signing.validate(doc.attested, pki.trust_roots())
    assert report.valid
    (only,) = report.signatures
    assert only.field == "attestation" and only.coverage == "entire_file"


@pytest.mark.parametrize(("kind", "placement"), MATRIX)
def test_incremental_updates_only(certify, kind, placement):
    """The original is never rewritten: each step appends one revision."""
    doc = certify(kind, placement)
    base = signing.inspect_original(doc.original).pdf
    assert doc.prepared.pdf.startswith(base)
    assert doc.attested.startswith(doc.prepared.pdf)
    assert doc.sealed.startswith(doc.attested)
    assert doc.prepared.original_pages == doc.original_pages
    assert doc.prepared.placement == placement


@pytest.mark.parametrize("kind", KINDS)
def test_new_page_placement_adds_an_a4_page(certify, h, kind):
    doc = certify(kind, "new_page")
    assert h.page_count(doc.sealed) == doc.original_pages + 1
    reader = PdfFileReader(io.BytesIO(doc.sealed))
    last = reader.root["/Pages"]["/Kids"][-1].get_object()
    assert [round(float(v)) for v in last["/MediaBox"]] == [0, 0, 595, 842]
    # both fields sit in the top part of the added page, side by side
    a = h.field_rect(doc.sealed, "attestation")
    s = h.field_rect(doc.sealed, "seal")
    assert a[2] <= s[0] and a[1] > 842 / 2 and s[1] > 842 / 2


@pytest.mark.parametrize("kind", KINDS)
def test_last_page_placement_keeps_the_page_count(certify, h, kind):
    doc = certify(kind, "last_page")
    assert h.page_count(doc.sealed) == doc.original_pages
    a = h.field_rect(doc.sealed, "attestation")
    assert a[1] < 842 / 3  # bottom area of the last page


def test_certification_signature_allows_form_filling_only(certify):
    doc = certify("text", "new_page")
    reader = PdfFileReader(io.BytesIO(doc.sealed))
    docmdp = reader.root["/Perms"]["/DocMDP"]
    (reference,) = docmdp["/Reference"]
    assert reference["/TransformMethod"] == "/DocMDP"
    assert int(reference["/TransformParams"]["/P"]) == 2  # FILL_FORMS
    assert docmdp["/SubFilter"] == "/ETSI.CAdES.detached"


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_vietnamese_text_extracts_exactly(certify, h, placement):
    h.require_tool("pdftotext")
    doc = certify("scan", placement)
    text = h.nfc(h.run_tool("pdftotext", "-enc", "UTF-8", str(doc.path), "-").stdout)
    lines = {line.strip() for line in text.splitlines()}
    for expected in (
        "Chứng thực bản sao đúng với bản chính",
        "Số chứng thực: 12/ĐT",
        "Quyển số: 01/2024-SCTĐT/BS",
        "Ngày 25 tháng 11 năm 2026",
        h.OFFICER[1],
        h.OFFICER_TITLE,
        "Ngày ký: 25/11/2026 10:15",  # 03:15 UTC shown in Vietnam time
    ):
        expected = h.nfc(expected)
        assert expected in text, f"{expected!r} not in {text!r}"
    assert h.nfc("Chứng thực bản sao đúng với bản chính") in lines


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_stamp_areas_render(certify, h, tmp_path, placement):
    h.require_tool("pdftoppm")
    doc = certify("text", placement)
    page = h.page_count(doc.sealed)
    dpi = 50
    prefix = tmp_path / "page"
    h.run_tool(
        "pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
        str(doc.path), str(prefix), check=True,
    )
    (png,) = tmp_path.glob("page*.png")
    height_pt = 842
    for name in ("attestation", "seal"):
        x0, y0, x1, y1 = h.field_rect(doc.sealed, name)
        box = tuple(
            round(v * dpi / 72) for v in (x0, height_pt - y1, x1, height_pt - y0)
        )
        assert h.ink_fraction(png, box) > 0.02, name
    if placement == "new_page":
        # nothing but the stamps on the added page
        with Image.open(png) as img:
            lower = (0, img.height // 2, img.width, img.height)
        assert h.ink_fraction(png, lower) == 0


def test_fonts_are_embedded_subsets(certify, h):
    h.require_tool("pdffonts")
    doc = certify("scan", "new_page")
    out = h.run_tool("pdffonts", str(doc.path)).stdout
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert rows, out
    for row in rows:
        assert "NotoSans" in row and " yes " in row  # embedded
        assert re.match(r"[A-Z]{6}\+NotoSans", row)  # subset


def test_b_t_timestamps(certify, pki, h):
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    doc = certify("text", "new_page", timestamped=True)
    report = signing.validate(doc.sealed, pki.trust_roots())
    assert report.valid
    for sig in report.signatures:
        assert sig.timestamped, sig
        assert sig.signed_at is not None and sig.signed_at >= before
    h.require_tool("pdfsig")
    out = h.run_tool("pdfsig", str(doc.path)).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2


def test_untrusted_root(certify, tmp_path):
    other = signing.create_dev_pki(
        tmp_path / "other", agencies=[], signers=[], passphrase="x"
    )
    doc = certify("text", "new_page")
    report = signing.validate(doc.sealed, other.trust_roots())
    assert not report.valid
    assert all(sig.intact and not sig.trusted for sig in report.signatures)


def test_rotated_last_page_stamps_read_upright(
    h, officer, agency, signature_png, seal_png, pki, tmp_path
):
    h.require_tool("pdftoppm")
    original = h.text_pdf(2, rotate_last=90, blank_last=True)
    prepared = signing.prepare(original, "last_page")
    attested = signing.attest(
        prepared, officer, full_name=h.OFFICER[1], title=h.OFFICER_TITLE,
        signature_image=signature_png,
    )
    sealed = signing.seal(
        attested, agency, seal_image=seal_png, certification_number=7,
        register_name=h.REGISTER, certified_on=h.CERTIFIED_ON, verify_url=h.VERIFY_URL,
    )
    assert signing.validate(sealed, pki.trust_roots()).valid
    path = tmp_path / "rotated.pdf"
    path.write_bytes(sealed)
    h.run_tool(
        "pdftoppm", "-r", "40", "-f", "2", "-l", "2", "-png", str(path), str(tmp_path / "r"),
        check=True,
    )
    (png,) = tmp_path.glob("r*.png")
    with Image.open(png) as img:
        gray = img.convert("L")
        assert gray.width > gray.height  # the page is shown in landscape
        bbox = gray.point(lambda v: 255 if v < 200 else 0).getbbox()
    assert bbox is not None
    left, top, right, bottom = bbox
    assert top > gray.height / 2  # the stamps are at the bottom as the reader sees the page
    assert right - left > bottom - top  # and laid out horizontally (upright)
    text = h.nfc(h.run_tool("pdftotext", str(path), "-").stdout)
    assert h.nfc("Chứng thực bản sao đúng với bản chính") in text


# -- refusals ------------------------------------------------------------------


def test_attest_twice_is_refused(certify, officer, signature_png, h):
    doc = certify("text", "new_page")
    again = signing.PreparedCopy(doc.attested, doc.original_pages, "new_page")
    with pytest.raises(SigningError) as exc_info:
        signing.attest(again, officer, full_name="X", title="Y", signature_image=signature_png)
    assert exc_info.value.code == "already_signed"


def test_seal_requires_attestation(certify, agency, seal_png, h):
    doc = certify("text", "new_page")
    with pytest.raises(SigningError) as exc_info:
        signing.seal(
            doc.prepared.pdf, agency, seal_image=seal_png, certification_number=1,
            register_name=h.REGISTER, certified_on=h.CERTIFIED_ON, verify_url=h.VERIFY_URL,
        )
    assert exc_info.value.code == "not_attested"


def test_seal_twice_is_refused(certify, agency, seal_png, h):
    doc = certify("text", "new_page")
    with pytest.raises(SigningError) as exc_info:
        signing.seal(
            doc.sealed, agency, seal_image=seal_png, certification_number=1,
            register_name=h.REGISTER, certified_on=h.CERTIFIED_ON, verify_url=h.VERIFY_URL,
        )
    assert exc_info.value.code == "already_signed"


def test_attest_needs_prepared_fields(officer, signature_png, h):
    raw = signing.PreparedCopy(h.text_pdf(1), 1, "new_page")
    with pytest.raises(SigningError) as exc_info:
        signing.attest(raw, officer, full_name="X", title="Y", signature_image=signature_png)
    assert exc_info.value.code == "field_missing"


def test_prepare_refuses_an_already_certified_copy(certify):
    doc = certify("text", "new_page")
    with pytest.raises(signing.InvalidPdf) as exc_info:
        signing.prepare(doc.sealed)
    assert exc_info.value.code == "signed_pdf"


def test_original_with_a_field_of_the_same_name(h):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    writer = IncrementalPdfFileWriter(io.BytesIO(h.text_pdf(1)))
    fields.append_signature_field(writer, fields.SigFieldSpec("seal", box=(10, 10, 60, 60)))
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(SigningError) as exc_info:
        signing.prepare(out.getvalue())
    assert exc_info.value.code == "field_exists"


def test_original_with_an_empty_signature_field_is_fine(h, officer, signature_png, pki):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    writer = IncrementalPdfFileWriter(io.BytesIO(h.text_pdf(1)))
    fields.append_signature_field(writer, fields.SigFieldSpec("citizen", box=(10, 10, 60, 60)))
    out = io.BytesIO()
    writer.write(out)
    prepared = signing.prepare(out.getvalue())
    attested = signing.attest(
        prepared, officer, full_name="A", title="B", signature_image=signature_png
    )
    assert signing.validate(attested, pki.trust_roots()).valid


def test_timestamp_failure_is_reported(officer, signature_png, h):
    prepared = signing.prepare(h.text_pdf(1))
    unreachable = signing.http_timestamper("http://127.0.0.1:9/tsa", timeout=2)
    with pytest.raises(SigningError) as exc_info:
        signing.attest(
            prepared, officer, full_name="A", title="B", signature_image=signature_png,
            timestamper=unreachable,
        )
    assert exc_info.value.code == "timestamp_failed"


def test_register_suffix_is_not_repeated(certify, agency, seal_png, h):
    doc = certify("text", "new_page")
    h.require_tool("pdftotext")
    sealed = signing.seal(
        doc.attested, agency, seal_image=seal_png, certification_number=3,
        register_name="02/2025-SCTĐT/BS", certified_on=h.CERTIFIED_ON,
        verify_url=h.VERIFY_URL,
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.pdf"
        path.write_bytes(sealed)
        text = h.nfc(h.run_tool("pdftotext", str(path), "-").stdout)
    assert h.nfc("Quyển số: 02/2025-SCTĐT/BS") in text
    assert h.nfc("SCTĐT/BS-SCTĐT/BS") not in text
    assert "Số chứng thực: 3/ĐT" in h.nfc(text)


def test_bad_signature_image(officer, h):
    prepared = signing.prepare(h.text_pdf(1))
    with pytest.raises(SigningError) as exc_info:
        signing.attest(prepared, officer, full_name="X", title="Y", signature_image=b"not an image")
    assert exc_info.value.code == "bad_image"


def test_naive_signing_time_is_rejected(officer, signature_png, h):
    prepared = signing.prepare(h.text_pdf(1))
    with pytest.raises(ValueError):
        signing.attest(
            prepared, officer, full_name="X", title="Y", signature_image=signature_png,
            signing_time=datetime(2026, 11, 25, 10, 15),
        )


def test_unknown_placement(h):
    with pytest.raises(ValueError):
        signing.prepare(h.text_pdf(1), "first_page")  # type: ignore[arg-type]


def test_jpeg_signature_image_and_decomposed_names(h, officer, agency, seal_png, pki):
    """JPEG images are embedded as-is; names typed in NFD are normalised."""
    import unicodedata

    img = Image.new("RGB", (300, 100), "white")
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    name = unicodedata.normalize("NFD", "Nguyễn Thị Thu Hà")
    prepared = signing.prepare(h.text_pdf(1))
    attested = signing.attest(
        prepared, officer, full_name=name, title="Phó Trưởng phòng", signature_image=buf.getvalue()
    )
    assert signing.validate(attested, pki.trust_roots()).valid
    h.require_tool("pdftotext")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.pdf"
        path.write_bytes(attested)
        text = h.run_tool("pdftotext", str(path), "-").stdout
    assert "Nguyễn Thị Thu Hà" in h.nfc(text)


def test_concurrent_signing_in_threads(h, officer, agency, signature_png, seal_png, pki):
    """The app server is threaded: caches and shared fonts must cope."""
    from concurrent.futures import ThreadPoolExecutor

    names = ["Đặng Thị Mỹ Duyên", "Hoàng Văn Động", h.OFFICER[1], h.OFFICER[1]]

    def work(i: int) -> bytes:
        prepared = signing.prepare(h.text_pdf(1 + i % 2), "new_page" if i % 2 else "last_page")
        attested = signing.attest(
            prepared, officer, full_name=names[i], title=h.OFFICER_TITLE,
            signature_image=signature_png,
        )
        return signing.seal(
            attested, agency, seal_image=seal_png, certification_number=100 + i,
            register_name=h.REGISTER, certified_on=h.CERTIFIED_ON, verify_url=h.VERIFY_URL,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(4)))
    for sealed in results:
        assert signing.validate(sealed, pki.trust_roots()).valid
