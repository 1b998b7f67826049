"""Validating a certified copy (public verification, tests)."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from ._loop import outside_event_loop

__all__ = ["SignatureReport", "ValidationReport", "validate"]

logger = logging.getLogger(__name__)

_COVERAGE = {
    SignatureCoverageLevel.ENTIRE_FILE: "entire_file",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire_revision",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "partial",
    SignatureCoverageLevel.UNCLEAR: "unclear",
}
_MODIFICATION = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "lta_updates",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}


@dataclass(frozen=True)
class SignatureReport:
    """Validation result of one signature."""

    field: str
    signer: str
    """Common name of the signing certificate."""
    signed_at: datetime | None
    """Time of the timestamp token if any, else the time the signer claims."""
    intact: bool
    """Signed bytes unchanged and the signature (and its timestamp, if any)
    cryptographically valid."""
    trusted: bool
    """Certificate chains to a trust root with acceptable key usage (and so
    does the timestamp's, if any)."""
    coverage: str
    """``entire_file``, ``entire_revision``, ``partial`` or ``unclear``."""
    modification_level: str
    """What changed after the signature: ``none``, ``lta_updates``,
    ``form_filling``, ``annotations``, ``other`` (``unknown`` if not
    determined)."""
    modified_after: bool
    """Content was changed after this signature in a way its document's
    modification policy does not permit."""
    timestamped: bool
    """Carries a valid RFC 3161 signature timestamp (PAdES B-T)."""


@dataclass(frozen=True)
class ValidationReport:
    valid: bool
    """Every signature intact and trusted, no disallowed modification, and at
    least one signature."""
    signatures: list[SignatureReport] = field(default_factory=list)


def _load_roots(trust_roots: Sequence[bytes]) -> list[asn1_x509.Certificate]:
    roots: list[asn1_x509.Certificate] = []
    for data in trust_roots:
        if isinstance(data, asn1_x509.Certificate):
            roots.append(data)
            continue
        raw = bytes(data)
        if b"-----BEGIN" in raw:
            roots.extend(load_certs_from_pemder_data(raw))
        else:
            roots.append(asn1_x509.Certificate.load(raw))
    return roots


@outside_event_loop
def validate(pdf: bytes, trust_roots: Sequence[bytes]) -> ValidationReport:
    """Validate every signature of ``pdf`` against ``trust_roots`` (PEM or DER).

    Never raises on bad input: anything that is not a readable PDF gives
    ``ValidationReport(valid=False, signatures=[])``.  (Bad ``trust_roots`` are
    a programming error and raise ``ValueError``.)  No network access is made:
    revocation is checked only against information embedded in the file
    (soft-fail when there is none).
    """
    try:
        roots = _load_roots(trust_roots)
    except Exception as exc:
        raise ValueError("trust_roots must be PEM or DER certificates") from exc

    if isinstance(pdf, (bytearray, memoryview)):
        pdf = bytes(pdf)
    if not isinstance(pdf, bytes):
        return ValidationReport(valid=False, signatures=[])
    for strict in (True, False):
        # the stream is closed afterwards so that reader reference cycles do
        # not keep the document alive until the next garbage collection
        with io.BytesIO(pdf) as stream:
            try:
                reader = PdfFileReader(stream, strict=strict)
                embedded = reader.embedded_regular_signatures
            except Exception as exc:
                logger.debug("validate: cannot read PDF (strict=%s): %s", strict, exc)
                continue
            reports = [_validate_one(emb, roots) for emb in embedded]
        valid = bool(reports) and all(
            r.intact and r.trusted and not r.modified_after for r in reports
        )
        return ValidationReport(valid=valid, signatures=reports)
    return ValidationReport(valid=False, signatures=[])


def _validate_one(emb, roots: list[asn1_x509.Certificate]) -> SignatureReport:
    name = emb.field_name or ""
    try:
        context = ValidationContext(
            trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
        )
        status = validate_pdf_signature(emb, signer_validation_context=context)
    except Exception as exc:
        logger.info("validate: signature %r could not be validated: %s", name, exc)
        return SignatureReport(
            field=name,
            signer=_signer_name(emb),
            signed_at=None,
            intact=False,
            trusted=False,
            coverage="unclear",
            modification_level="unknown",
            modified_after=True,
            timestamped=False,
        )

    ts = status.timestamp_validity
    intact = bool(status.intact and status.valid)
    trusted = bool(status.trusted)
    timestamped = False
    signed_at = status.signer_reported_dt
    if ts is not None:
        ts_ok = bool(ts.intact and ts.valid)
        intact = intact and ts_ok
        trusted = trusted and bool(ts.trusted)
        timestamped = ts_ok and bool(ts.trusted)
        signed_at = ts.timestamp
    level = status.modification_level
    coverage = _COVERAGE.get(status.coverage, "unclear") if status.coverage else "unclear"
    modified_after = not status.docmdp_ok or coverage in ("partial", "unclear")
    return SignatureReport(
        field=name,
        signer=_common_name(status.signing_cert),
        signed_at=signed_at,
        intact=intact,
        trusted=trusted,
        coverage=coverage,
        modification_level=_MODIFICATION.get(level, "unknown") if level is not None else "unknown",
        modified_after=modified_after,
        timestamped=timestamped,
    )


def _common_name(cert: asn1_x509.Certificate | None) -> str:
    if cert is None:
        return ""
    try:
        cn = cert.subject.native.get("common_name")
        if isinstance(cn, list):
            cn = cn[-1]
        return str(cn) if cn else cert.subject.human_friendly
    except Exception:
        return ""


def _signer_name(emb) -> str:
    try:
        return _common_name(emb.signer_cert)
    except Exception:
        return ""
