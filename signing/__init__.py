"""certcopy signing: prepare, attest, seal and validate certified copies.

A pure library (no web framework, no knowledge of dossiers) built on pyHanko.

Typical use::

    info = inspect_original(upload)                    # at upload
    prepared = prepare(info.pdf, "new_page")           # at the signer's step
    officer = load_pkcs12(p12_bytes, pin)
    attested = attest(prepared, officer, full_name=..., title=...,
                      signature_image=png)
    agency = load_pkcs12(seal_p12_bytes, pin)          # at the clerk's step
    sealed = seal(attested, agency, seal_image=png, certification_number=12,
                  register_name="01/2024", certified_on=date.today(),
                  verify_url="https://.../verify/...")
    report = validate(sealed, trust_roots)
"""

from .certify import (
    ATTESTATION_FIELD,
    SEAL_FIELD,
    Placement,
    PreparedCopy,
    attest,
    prepare,
    seal,
)
from .credentials import (
    Credential,
    Pkcs12Credential,
    clear_credential_cache,
    load_pkcs12,
)
from .devpki import DevPki, create_dev_pki, load_dev_pki
from .errors import CredentialError, InvalidPdf, SigningError
from .images import make_seal_image, make_signature_image
from .stamps import font_bytes
from .original import DEFAULT_MAX_BYTES, OriginalInfo, inspect_original
from .timestamps import Timestamper, http_timestamper, local_timestamper
from .validate import SignatureReport, ValidationReport, validate

__all__ = [
    "ATTESTATION_FIELD",
    "SEAL_FIELD",
    "DEFAULT_MAX_BYTES",
    "Credential",
    "CredentialError",
    "DevPki",
    "InvalidPdf",
    "OriginalInfo",
    "Pkcs12Credential",
    "Placement",
    "PreparedCopy",
    "SignatureReport",
    "SigningError",
    "Timestamper",
    "ValidationReport",
    "attest",
    "clear_credential_cache",
    "create_dev_pki",
    "font_bytes",
    "http_timestamper",
    "inspect_original",
    "load_dev_pki",
    "load_pkcs12",
    "local_timestamper",
    "make_seal_image",
    "make_signature_image",
    "prepare",
    "seal",
    "validate",
]
