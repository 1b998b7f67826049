"""Pictures of PDF pages for the staff pages: a page of a dossier's document, and the signer's preview of the
attestation page (the copy prepared exactly as the signing step will prepare it, with the attestation and the
seal drawn in their fields by the same stamp code, but not signed).

Pages are rasterised by poppler's `pdftoppm` (Debian `poppler-utils`) in a subprocess with a time limit; the
results are cached on disk under instance/cache/, keyed by the document's SHA-256.
"""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields

import signing

from app.errors import AppError, Unprocessable

PAGE_DPI = 80
PREVIEW_DPI = 80
RENDER_TIMEOUT_S = 30
MAX_CACHE_FILES = 2000


class RenderUnavailable(AppError):
    status = 503
    code = "render_unavailable"


@dataclass(frozen=True)
class AttestationPreview:
    png: bytes
    page_number: int     # 1-based page of the prepared copy that is shown


def _cache_dir(instance_path: Path) -> Path:
    folder = Path(instance_path) / "cache" / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def rasterise(pdf: bytes, page: int, dpi: int = PAGE_DPI) -> bytes:
    """PNG of one page (1-based) of `pdf`."""
    try:
        done = subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", "-singlefile",
                               "-"], input=pdf, capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise RenderUnavailable("Máy chủ chưa cài poppler-utils (pdftoppm) nên không hiển thị được trang PDF.") \
            from None
    except subprocess.TimeoutExpired:
        raise RenderUnavailable("Hiển thị trang PDF quá lâu; hãy mở tệp PDF để xem.") from None
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        raise Unprocessable("Không hiển thị được trang này của tệp PDF.", code="render_failed")
    return done.stdout


def page_png(files, instance_path: Path, sha256: str, page: int, dpi: int = PAGE_DPI) -> bytes:
    """PNG of page `page` of the stored document `sha256`, cached."""
    target = _cache_dir(instance_path) / f"{sha256}-{page}-{dpi}.png"
    if target.exists():
        return target.read_bytes()
    png = rasterise(files.get(sha256), page, dpi)
    _store(target, png)
    return png


def _store(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    _trim(target.parent)


def _trim(folder: Path) -> None:
    entries = list(folder.glob("*.png"))
    if len(entries) <= MAX_CACHE_FILES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for old in entries[: len(entries) - MAX_CACHE_FILES]:
        old.unlink(missing_ok=True)


_page_counts: dict[str, int] = {}
COUNTED_KINDS = ("signed_copy", "certified_copy")  # their `pages` counts the original's pages, not the added one


def document_pages(files, doc) -> int:
    """Pages of a stored document as a reader sees them (a signed copy may carry an added attestation page)."""
    if doc.kind not in COUNTED_KINDS and doc.pages:
        return doc.pages
    if doc.sha256 not in _page_counts:
        from pypdf import PdfReader

        try:
            _page_counts[doc.sha256] = len(PdfReader(io.BytesIO(files.get(doc.sha256))).pages)
        except Exception:  # unreadable: fall back to what was recorded
            return doc.pages or 1
        if len(_page_counts) > 10_000:
            _page_counts.clear()
    return _page_counts[doc.sha256]


# -- the signer's preview ----------------------------------------------------------------------------------
def _ensure_contents(writer: IncrementalPdfFileWriter, page_index: int) -> None:
    """A page added by prepare() has no content stream yet; give it an empty one to draw on."""
    page_ref = writer.find_page_for_modification(page_index)[0]
    page = page_ref.get_object()
    if "/Contents" not in page:
        page[pdf_name("/Contents")] = writer.add_object(generic.StreamObject(stream_data=b""))
        writer.update_container(page)


def _field_box(writer, name: str) -> tuple[float, float, float, float]:
    _, _, ref = next(fields.enumerate_sig_fields(writer, with_name=name))
    x0, y0, x1, y1 = (float(v) for v in ref.get_object()["/Rect"])
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _draw(writer, page_index: int, name: str, style) -> None:
    x0, y0, x1, y1 = _field_box(writer, name)
    stamp = style.create_stamp(writer, layout.BoxConstraints(width=x1 - x0, height=y1 - y0), {})
    stamp.apply(page_index, x0, y0)


def attestation_page_pdf(original: bytes, placement: str, *, full_name: str, title: str,
                         signature_image: bytes | None, seal_image: bytes | None, register_name: str | None,
                         moment: datetime, max_bytes: int) -> tuple[bytes, int]:
    """The prepared copy with the attestation (and the seal area) drawn but not signed.
    Returns (pdf, 1-based number of the attestation page)."""
    from signing.certify import format_signed_at
    from signing.stamps import AttestationStampStyle, SealStampStyle

    try:
        prepared = signing.prepare(original, placement, max_bytes)
    except signing.SigningError as exc:
        raise Unprocessable(f"Không chuẩn bị được bản sao để xem trước: {exc}", code="preview_failed") from None
    page_index = prepared.original_pages if placement == "new_page" else prepared.original_pages - 1
    writer = IncrementalPdfFileWriter(io.BytesIO(prepared.pdf), strict=False)
    _ensure_contents(writer, page_index)
    _draw(writer, page_index, signing.ATTESTATION_FIELD, AttestationStampStyle(
        full_name=full_name, title=title or "", signature_image=signature_image or _blank_png(),
        signed_at_text=format_signed_at(moment)))
    lines = ("Số chứng thực: …/ĐT", f"Quyển số: {register_name or '…'}-SCTĐT/BS", "Ngày … tháng … năm …")
    _draw(writer, page_index, signing.SEAL_FIELD, SealStampStyle(seal_image=seal_image or _blank_png(),
                                                                lines=lines, verify_url=""))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), page_index + 1


def attestation_preview(files, instance_path: Path, *, original_sha256: str, placement: str, full_name: str,
                        title: str, signature_sha256: str | None, seal_sha256: str | None,
                        register_name: str | None, moment: datetime, max_bytes: int) -> AttestationPreview:
    """PNG of the page that will carry the attestation, cached per document, signer and minute."""
    key = hashlib.sha256("|".join([original_sha256, placement, full_name, title or "", signature_sha256 or "",
                                   seal_sha256 or "", register_name or "", f"{moment:%Y%m%d%H%M}"])
                         .encode("utf-8")).hexdigest()
    target = _cache_dir(instance_path) / f"preview-{key}.png"
    meta = target.with_suffix(".page")
    if target.exists() and meta.exists():
        return AttestationPreview(target.read_bytes(), int(meta.read_text()))
    pdf, number = attestation_page_pdf(
        files.get(original_sha256), placement, full_name=full_name, title=title,
        signature_image=files.get(signature_sha256) if signature_sha256 else None,
        seal_image=files.get(seal_sha256) if seal_sha256 else None, register_name=register_name,
        moment=moment, max_bytes=max_bytes)
    png = rasterise(pdf, number, PREVIEW_DPI)
    _store(target, png)
    meta.write_text(str(number))
    return AttestationPreview(png, number)


def _blank_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (4, 4), (255, 255, 255, 0)).save(buf, format="PNG")
    return buf.getvalue()
