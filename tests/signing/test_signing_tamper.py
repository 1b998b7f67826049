"""validate() on tampered and garbage input."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

import signing


def test_flipped_byte_in_signed_range_breaks_both_signatures(certify, pki, h, tmp_path):
    doc = certify("text", "new_page")
    target = doc.sealed.index(b"original text")  # page content of the original
    tampered = bytearray(doc.sealed)
    tampered[target] ^= 0x20  # 'o' -> 'O'
    report = signing.validate(bytes(tampered), pki.trust_roots())
    assert not report.valid
    assert len(report.signatures) == 2
    assert not any(sig.intact for sig in report.signatures)
    # poppler agrees
    h.require_tool("pdfsig")
    path = tmp_path / "flipped.pdf"
    path.write_bytes(bytes(tampered))
    out = h.run_tool("pdfsig", str(path)).stdout
    assert "Signature is Valid" not in out


def test_flipped_byte_in_the_seal_revision(certify, pki):
    doc = certify("scan", "last_page")
    # a byte of the seal's appearance stream (after the attested revision,
    # before the seal's /Contents)
    start = len(doc.attested) + 10
    tampered = bytearray(doc.sealed)
    tampered[start] ^= 0x01
    report = signing.validate(bytes(tampered), pki.trust_roots())
    assert not report.valid


def test_appended_page_content_is_detected(certify, pki):
    doc = certify("text", "new_page")
    writer = IncrementalPdfFileWriter(io.BytesIO(doc.sealed))
    overlay = generic.StreamObject(stream_data=b"q 1 0 0 rg 100 100 200 200 re f Q")
    writer.add_stream_to_page(0, writer.add_object(overlay))
    out = io.BytesIO()
    writer.write(out)
    report = signing.validate(out.getvalue(), pki.trust_roots())
    assert not report.valid
    attestation, seal = report.signatures
    for sig in (attestation, seal):
        assert sig.intact  # the signed bytes themselves are untouched
        assert sig.modified_after
        assert sig.coverage == "entire_revision"
        assert sig.modification_level == "other"


def test_appended_signature_field_is_detected(certify, pki):
    """Adding a new visible field after the certification is not form filling."""
    from pyhanko.sign import fields

    doc = certify("text", "new_page")
    writer = IncrementalPdfFileWriter(io.BytesIO(doc.sealed))
    fields.append_signature_field(
        writer, fields.SigFieldSpec("extra", on_page=0, box=(10, 10, 100, 60))
    )
    out = io.BytesIO()
    writer.write(out)
    report = signing.validate(out.getvalue(), pki.trust_roots())
    assert not report.valid


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"%PDF-1.7\n%%EOF", b"\x00" * 1000, bytearray(b"%PDF-")],
    ids=["empty", "text", "header-only", "zeros", "bytearray"],
)
def test_garbage_never_raises(data, pki):
    report = signing.validate(data, pki.trust_roots())
    assert report == signing.ValidationReport(valid=False, signatures=[])


def test_unsigned_pdf_is_not_valid(h, pki):
    report = signing.validate(h.text_pdf(1), pki.trust_roots())
    assert not report.valid and report.signatures == []


def test_truncated_signed_pdf(certify, pki):
    doc = certify("text", "new_page")
    report = signing.validate(doc.sealed[: len(doc.sealed) - 4000], pki.trust_roots())
    assert not report.valid


def test_trust_roots_accept_pem_and_der(certify, pki):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = pki.root_cert_pem.read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    doc = certify("text", "new_page")
    assert signing.validate(doc.sealed, [der]).valid
    assert signing.validate(doc.sealed, [pem]).valid
    with pytest.raises(ValueError):
        signing.validate(doc.sealed, [b"not a certificate"])
