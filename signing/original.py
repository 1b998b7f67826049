"""Checking (and if needed repairing) an uploaded original before signing."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import ObjStreamRef, read_object_header
from pyhanko.sign.fields import enumerate_sig_fields

from .active_content import remove_active_content
from .errors import InvalidPdf

__all__ = ["DEFAULT_MAX_BYTES", "OriginalInfo", "inspect_original"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 30 * 1024 * 1024
"""Largest accepted original (30 MiB, the limit of the public service)."""

# A PDF header may be preceded by some junk (ISO 32000-2, 7.5.2: readers
# should accept it in the first 1024 bytes); the end-of-file marker should be
# in the last 1024 bytes, we are a bit more tolerant of trailing garbage.
_HEADER_WINDOW = 1024
_EOF_WINDOW = 2048
_MAX_PAGE_TREE_DEPTH = 64


@dataclass(frozen=True)
class OriginalInfo:
    """Result of :func:`inspect_original`."""

    pdf: bytes
    """The bytes to sign: the upload itself, or a rewritten copy when its
    cross-reference data was broken (then :attr:`repaired` is ``True``)."""

    pages: int
    """Number of pages of the original."""

    repaired: bool
    """``True`` when the upload's cross-reference data was broken and :attr:`pdf` is a rewritten copy."""

    active_content_removed: tuple[str, ...] = ()
    """What was taken out of the upload before signing (PDF names such as ``/JavaScript``, ``/Launch``,
    ``/EmbeddedFiles``; see :data:`signing.active_content.ACTIVE_KEYS`); empty when the file had none."""

    @property
    def rewritten(self) -> bool:
        """``True`` when :attr:`pdf` differs from the upload (repaired, or active content removed)."""
        return self.repaired or bool(self.active_content_removed)


class _Unreadable(Exception):
    """Internal: strict parsing failed (the file may still be repairable)."""


def inspect_original(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> OriginalInfo:
    """Check an uploaded original and return the bytes to sign.

    Refuses, with :class:`~signing.InvalidPdf`, a file that is empty
    (``empty_pdf``), larger than ``max_bytes`` (``pdf_too_large``), not a PDF
    (``not_pdf``, also used for a PDF too damaged to repair), cut short
    (``truncated_pdf``), encrypted or password protected (``encrypted_pdf``),
    without pages (``no_pages``), or already digitally signed (``signed_pdf``:
    the officer's certification signature must be the document's first
    signature, and a foreign signature would make :func:`signing.validate`
    report the copy as not valid).

    A PDF whose cross-reference data is broken (common with scanners and
    simple PDF writers) is rewritten once, with pypdf or else qpdf, and the
    rewritten bytes are returned with ``repaired=True``.  Active content
    (scripts, launch and data actions, embedded files, rich media, XFA) is
    removed and named in ``active_content_removed``.  The upload itself is
    never modified.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("inspect_original() expects the file content as bytes")
    if len(data) == 0:
        raise InvalidPdf("empty_pdf", "The file is empty.")
    if len(data) > max_bytes:
        raise InvalidPdf(
            "pdf_too_large",
            f"The file is {_mib(len(data))} MB; the largest accepted PDF is {_mib(max_bytes)} MB.",
        )
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise InvalidPdf("not_pdf", "The file is not a PDF document.")
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        raise InvalidPdf(
            "truncated_pdf",
            "The PDF file is incomplete (it ends before the end-of-file marker); upload it again.",
        )

    try:
        pages = _strict_check(data)
        return _without_active_content(OriginalInfo(pdf=data, pages=pages, repaired=False))
    except _Unreadable as exc:
        logger.info("original needs repair: %s", exc)

    if _looks_encrypted(data):
        raise _encrypted()
    result = _repair(data)
    if result is None:
        raise InvalidPdf("not_pdf", "The PDF file is damaged and could not be repaired.")
    repaired, pages = result
    return _without_active_content(OriginalInfo(pdf=repaired, pages=pages, repaired=True))


def _without_active_content(info: OriginalInfo) -> OriginalInfo:
    """The same original with scripts, launch and data actions, embedded files, rich media and XFA removed."""
    try:
        cleaned, removed = remove_active_content(info.pdf)
    except Exception as exc:  # pypdf could not walk a file pyHanko reads: refuse rather than sign unchecked
        logger.info("active content check failed: %s", exc)
        raise InvalidPdf("not_pdf", "The PDF file could not be checked for scripts and attachments.") from None
    if not removed:
        return info
    try:
        pages = _strict_check(cleaned)
    except _Unreadable:
        raise InvalidPdf("not_pdf", "The PDF file could not be rewritten without its scripts and attachments.") \
            from None
    return OriginalInfo(pdf=cleaned, pages=pages, repaired=info.repaired, active_content_removed=removed)


def _mib(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _encrypted() -> InvalidPdf:
    return InvalidPdf(
        "encrypted_pdf",
        "The PDF is encrypted or password protected; upload a copy without protection.",
    )


def _strict_check(data: bytes) -> int:
    """Parse ``data`` strictly (as the signer will) and return its page count.

    Raises :class:`InvalidPdf` for encrypted files and files without pages,
    :class:`_Unreadable` for anything that a rewrite might fix.
    """
    # closing the stream matters: pyHanko's reader objects form reference
    # cycles that would otherwise keep ``data`` alive until the next GC run
    with io.BytesIO(data) as stream:
        return _strict_check_stream(stream, data)


def _strict_check_stream(stream: io.BytesIO, data: bytes) -> int:
    try:
        reader = PdfFileReader(stream, strict=True)
    except Exception as exc:  # pyHanko raises a variety of errors on bad input
        raise _Unreadable(f"parse: {exc}") from exc
    try:
        if reader.security_handler is not None or "/Encrypt" in reader.trailer:
            raise _encrypted()
        # hybrid-reference files cannot be signed in strict mode
        if reader.xrefs.hybrid_xrefs_present:
            raise _Unreadable("hybrid cross-reference sections")
        _check_object_offsets(reader, data)
        if any(True for _ in enumerate_sig_fields(reader, filled_status=True)):
            raise InvalidPdf(
                "signed_pdf",
                "The PDF already carries a digital signature; upload the scan of the "
                "original without a digital signature.",
            )
        root = reader.root
        pages_ref = root.raw_get("/Pages")
        pages = pages_ref.get_object()
        count = _count_pages(pages, depth=0, seen=set())
        declared = pages.get("/Count")
    except InvalidPdf:
        raise
    except Exception as exc:
        raise _Unreadable(f"structure: {exc}") from exc
    if count == 0:
        raise InvalidPdf("no_pages", "The PDF has no pages.")
    if declared != count:
        raise _Unreadable(f"page count {declared} declared, {count} found")
    return count


def _check_object_offsets(reader: PdfFileReader, data: bytes) -> None:
    """Every object in the cross-reference data must start where the table
    says it does (this is what breaks in scanner output).

    Only object headers are read: loading every object would copy all the
    (image) stream data of a large scan.
    """
    xrefs = reader.xrefs
    object_streams: set[int] = set()
    with io.BytesIO(data) as stream:
        for revision in range(xrefs.total_revisions):
            for ref in xrefs.explicit_refs_in_revision(revision):
                location = xrefs.get_historical_ref(ref, revision)
                if isinstance(location, int):
                    stream.seek(location)
                    idnum, generation = read_object_header(stream, strict=False)
                    if (idnum, generation) != (ref.idnum, ref.generation):
                        raise ValueError(
                            f"object {ref.idnum} {ref.generation} not found at offset {location}"
                        )
                elif isinstance(location, ObjStreamRef):
                    object_streams.add(location.obj_stream_id)
    for idnum in object_streams:
        # object streams are small; parsing them checks the compressed objects
        reader.get_object(generic.Reference(idnum, 0))


def _count_pages(node: generic.DictionaryObject, *, depth: int, seen: set[int]) -> int:
    if depth > _MAX_PAGE_TREE_DEPTH:
        raise ValueError("page tree too deep")
    node_type = node.get("/Type")
    if node_type == "/Page":
        return 1
    kids = node.get("/Kids")
    if kids is None:
        if node_type == "/Pages":
            return 0
        raise ValueError("page tree node without /Kids")
    total = 0
    for kid_ref in kids:
        if isinstance(kid_ref, generic.IndirectObject):
            key = kid_ref.idnum
            if key in seen:
                raise ValueError("cycle in page tree")
            seen.add(key)
        kid = kid_ref.get_object()
        if not isinstance(kid, generic.DictionaryObject):
            raise ValueError("page tree node is not a dictionary")
        total += _count_pages(kid, depth=depth + 1, seen=seen)
    return total


_ENCRYPT_RE = re.compile(rb"/Encrypt\s*(\d+\s+\d+\s+R|<<)")


def _looks_encrypted(data: bytes) -> bool:
    """Detect encryption in a file pyHanko could not parse."""
    try:
        from pypdf import PdfReader

        with io.BytesIO(data) as stream:
            return bool(PdfReader(stream, strict=False).is_encrypted)
    except Exception:
        # last resort: an /Encrypt entry in a trailer near the end of the file
        return bool(_ENCRYPT_RE.search(data[-65536:]))


def _repair(data: bytes) -> tuple[bytes, int] | None:
    refusal: InvalidPdf | None = None
    for repair in (_repair_with_pypdf, _repair_with_qpdf):
        try:
            fixed = repair(data)
            if fixed is None:
                continue
            return fixed, _strict_check(fixed)
        except InvalidPdf as exc:  # e.g. the rewrite shows there are no pages
            refusal = refusal or exc
        except Exception as exc:
            logger.info("%s failed: %s", repair.__name__, exc)
    if refusal is not None:
        raise refusal
    return None


def _repair_with_pypdf(data: bytes) -> bytes | None:
    from pypdf import PdfReader, PdfWriter

    with io.BytesIO(data) as stream:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            raise _encrypted()
        if len(reader.pages) == 0:
            raise InvalidPdf("no_pages", "The PDF has no pages.")
        writer = PdfWriter(clone_from=reader)
        with io.BytesIO() as out:
            writer.write(out)
            return out.getvalue()


def _repair_with_qpdf(data: bytes) -> bytes | None:
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        return None
    with tempfile.TemporaryDirectory(prefix="certcopy-repair-") as tmp:
        src = Path(tmp) / "in.pdf"
        dst = Path(tmp) / "out.pdf"
        src.write_bytes(data)
        # exit code 3 means "succeeded with warnings", which is what a repair is
        proc = subprocess.run(
            [qpdf, "--object-streams=preserve", str(src), str(dst)],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if proc.returncode not in (0, 3) or not dst.exists():
            return None
        return dst.read_bytes()
