"""inspect_original(): what is accepted at upload, what is refused, what is repaired."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

import signing
from signing import InvalidPdf


def _strictly_readable(data: bytes) -> bool:
    try:
        PdfFileReader(io.BytesIO(data), strict=True).root  # noqa: B018
        return True
    except Exception:
        return False


def test_clean_pdf_is_returned_as_is(h):
    data = h.text_pdf(4)
    info = signing.inspect_original(data)
    assert info == signing.OriginalInfo(pdf=data, pages=4, repaired=False)
    assert info.pdf is data  # no copy for a clean upload


def test_pillow_scan_is_repaired_once(h):
    data = h.scan_pdf(3)
    assert not _strictly_readable(data)  # Pillow's xref table is not strict-valid
    info = signing.inspect_original(data)
    assert info.repaired and info.pages == 3
    assert _strictly_readable(info.pdf)
    # the repaired copy is clean: inspecting it again changes nothing
    again = signing.inspect_original(info.pdf)
    assert again.repaired is False and again.pdf is info.pdf


def test_broken_xref_is_repaired(h):
    data = h.broken_xref_pdf(2)
    info = signing.inspect_original(data)
    assert info.repaired and info.pages == 2
    assert info.pdf != data
    assert _strictly_readable(info.pdf)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda h: b"", "empty_pdf"),
        (lambda h: b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not_pdf"),
        (lambda h: "Xin chào, đây không phải PDF".encode(), "not_pdf"),
        (lambda h: h.text_pdf(3)[: len(h.text_pdf(3)) // 2], "truncated_pdf"),
        (lambda h: h.encrypted_pdf(), "encrypted_pdf"),
        (lambda h: h.zero_page_pdf(), "no_pages"),
        (lambda h: b"%PDF-1.7\n" + b"garbage " * 200 + b"\n%%EOF\n", "not_pdf"),
    ],
    ids=["empty", "png", "text", "truncated", "encrypted", "zero-pages", "garbage-body"],
)
def test_refusals_have_specific_codes(h, make, code):
    with pytest.raises(InvalidPdf) as exc_info:
        signing.inspect_original(make(h))
    assert exc_info.value.code == code
    message = str(exc_info.value)
    assert message and message[0].isupper() and message.endswith(".")


def test_too_large(h):
    data = h.text_pdf(2)
    with pytest.raises(InvalidPdf) as exc_info:
        signing.inspect_original(data, max_bytes=len(data) - 1)
    assert exc_info.value.code == "pdf_too_large"
    assert signing.inspect_original(data, max_bytes=len(data)).pages == 2


def test_default_limit_is_30_mib():
    assert signing.DEFAULT_MAX_BYTES == 30 * 1024 * 1024


def test_encrypted_with_broken_xref_is_still_encrypted(h):
    data = h.encrypted_pdf()
    index = data.index(b"2 0 obj")
    broken = data[:index] + b"% junk\n" + data[index:]
    with pytest.raises(InvalidPdf) as exc_info:
        signing.inspect_original(broken)
    assert exc_info.value.code == "encrypted_pdf"


def test_prepare_applies_the_same_checks(h):
    with pytest.raises(InvalidPdf) as exc_info:
        signing.prepare(h.encrypted_pdf())
    assert exc_info.value.code == "encrypted_pdf"
    with pytest.raises(InvalidPdf) as exc_info:
        signing.prepare(h.text_pdf(1), max_bytes=100)
    assert exc_info.value.code == "pdf_too_large"


def test_invalid_pdf_is_a_signing_error():
    err = InvalidPdf("not_pdf", "The file is not a PDF document.")
    assert isinstance(err, signing.SigningError)
    assert err.code == "not_pdf" and str(err) == "The file is not a PDF document."


def test_digitally_signed_original_is_refused(h, officer):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(h.text_pdf(1)))
    signed = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="citizen"), officer.signer
    ).sign_pdf(writer).getvalue()
    with pytest.raises(InvalidPdf) as exc_info:
        signing.inspect_original(signed)
    assert exc_info.value.code == "signed_pdf"
