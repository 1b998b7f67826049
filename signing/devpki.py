"""A development PKI: root CA, time-stamping authority, agency seals, signers.

Keys are generated at run time and written with mode 0600; nothing here is
meant for production, where certificates come from a licensed CA.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import CredentialError

__all__ = ["DevPki", "create_dev_pki", "load_dev_pki"]

_MANIFEST = "pki.json"
_LOCK = ".pki.lock"
_ROOT_CERT = "root-ca.pem"
_ROOT_KEY = "root-ca.key"
_TSA_P12 = "tsa.p12"
_TSA_KEY = "tsa.key"  # unencrypted, for the in-process TSA (see local_timestamper)
_ROOT_VALIDITY = timedelta(days=20 * 365)
_LEAF_VALIDITY = timedelta(days=3 * 365)
_RENEW_BEFORE = timedelta(days=7)
_BACKDATE = timedelta(hours=1)


@dataclass(frozen=True)
class DevPki:
    """Files of a development PKI (see :func:`create_dev_pki`)."""

    directory: Path
    root_cert_pem: Path
    """Root CA certificate (PEM): the trust root for :func:`signing.validate`."""
    tsa_p12: Path
    """TSA key and certificate (PKCS#12, same passphrase as the others)."""
    seal_p12: dict[str, Path] = field(default_factory=dict)
    """Agency code -> PKCS#12 of the agency's seal certificate."""
    signer_p12: dict[str, Path] = field(default_factory=dict)
    """Username -> PKCS#12 of that signer."""

    def trust_roots(self) -> list[bytes]:
        """Certificates to trust when validating (PEM bytes of the root CA)."""
        return [self.root_cert_pem.read_bytes()]

    @property
    def tsa_key_pem(self) -> Path:
        """Unencrypted TSA private key used by :func:`signing.local_timestamper`."""
        return self.directory / _TSA_KEY


def create_dev_pki(
    directory: Path,
    *,
    agencies: Sequence[tuple[str, str]],
    signers: Sequence[tuple[str, str]],
    passphrase: str,
) -> DevPki:
    """Create (or complete) a development PKI in ``directory``.

    ``agencies`` are ``(agency code, agency name)`` pairs, ``signers`` are
    ``(username, full name)`` pairs; names may contain Vietnamese.  Every
    PKCS#12 file is protected with ``passphrase``.

    Idempotent: when ``directory`` already holds a PKI, it is loaded and only
    the missing (or expired) agency seals and signers are added, issued by the
    same root.  A different passphrase than the one the PKI was made with
    raises :class:`~signing.CredentialError` (``wrong_passphrase``).  Safe to
    call from several processes at once (a file lock serialises them).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    pw = passphrase.encode("utf-8")
    with _locked(directory):
        manifest = _read_manifest(directory)
        now = datetime.now(timezone.utc)
        if manifest is None:
            root_key = ec.generate_private_key(ec.SECP256R1())
            root_cert = _issue_root(root_key, now)
            _write(directory / _ROOT_CERT, root_cert.public_bytes(serialization.Encoding.PEM))
            _write(
                directory / _ROOT_KEY,
                root_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(pw),
                ),
            )
            manifest = {"version": 1, "seals": {}, "signers": {}}
        else:
            root_cert = x509.load_pem_x509_certificate((directory / _ROOT_CERT).read_bytes())
            try:
                root_key = serialization.load_pem_private_key(
                    (directory / _ROOT_KEY).read_bytes(), password=pw
                )
            except (ValueError, TypeError):
                raise CredentialError(
                    "wrong_passphrase",
                    "The passphrase does not match the one this development PKI was created with.",
                ) from None

        if _needs_issue(directory / _TSA_P12, now):
            tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            tsa_cert = _issue_leaf(
                root_key,
                root_cert,
                tsa_key.public_key(),
                _name(common_name="certcopy Dev TSA", organization="certcopy (development)"),
                now,
                timestamping=True,
            )
            _write_p12(directory / _TSA_P12, "certcopy Dev TSA", tsa_key, tsa_cert, root_cert, pw)
            _write(
                directory / _TSA_KEY,
                tsa_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )

        for code, name in agencies:
            filename = manifest["seals"].get(code) or _filename("seal", code)
            if _needs_issue(directory / filename, now):
                key = ec.generate_private_key(ec.SECP256R1())
                subject = _name(common_name=name, organization=name, unit=code)
                cert = _issue_leaf(root_key, root_cert, key.public_key(), subject, now)
                _write_p12(directory / filename, name, key, cert, root_cert, pw)
            manifest["seals"][code] = filename

        for username, full_name in signers:
            filename = manifest["signers"].get(username) or _filename("signer", username)
            if _needs_issue(directory / filename, now):
                key = ec.generate_private_key(ec.SECP256R1())
                subject = _name(common_name=full_name, user_id=username)
                cert = _issue_leaf(root_key, root_cert, key.public_key(), subject, now)
                _write_p12(directory / filename, full_name, key, cert, root_cert, pw)
            manifest["signers"][username] = filename

        _write(
            directory / _MANIFEST,
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"),
        )
        return _from_manifest(directory, manifest)


def load_dev_pki(directory: Path) -> DevPki:
    """Load a PKI made by :func:`create_dev_pki` (no passphrase needed).

    Raises :class:`FileNotFoundError` when ``directory`` holds no PKI.
    """
    directory = Path(directory)
    manifest = _read_manifest(directory)
    if manifest is None:
        raise FileNotFoundError(f"no development PKI in {directory}")
    return _from_manifest(directory, manifest)


# --------------------------------------------------------------------------


def _from_manifest(directory: Path, manifest: dict) -> DevPki:
    return DevPki(
        directory=directory,
        root_cert_pem=directory / _ROOT_CERT,
        tsa_p12=directory / _TSA_P12,
        seal_p12={code: directory / f for code, f in manifest["seals"].items()},
        signer_p12={user: directory / f for user, f in manifest["signers"].items()},
    )


def _read_manifest(directory: Path) -> dict | None:
    path = directory / _MANIFEST
    if not path.exists() or not (directory / _ROOT_CERT).exists():
        return None
    manifest = json.loads(path.read_text("utf-8"))
    manifest.setdefault("seals", {})
    manifest.setdefault("signers", {})
    return manifest


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write atomically with the given mode (never world-readable for keys)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _filename(kind: str, ident: str) -> str:
    ascii_ident = unicodedata.normalize("NFKD", ident).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_ident).strip("-").lower()[:40] or kind
    digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:8]
    return f"{kind}-{slug}-{digest}.p12"


def _needs_issue(path: Path, now: datetime) -> bool:
    """True when the PKCS#12 file is missing or its certificate (expiring) expired."""
    if not path.exists():
        return True
    # The certificate bag inside the PKCS#12 is encrypted; the companion PEM
    # keeps the expiry check passphrase-free.
    pem = path.with_suffix(".pem")
    if not pem.exists():
        return False
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    return cert.not_valid_after_utc - _RENEW_BEFORE < now


def _name(
    *,
    common_name: str,
    organization: str | None = None,
    unit: str | None = None,
    user_id: str | None = None,
) -> x509.Name:
    # cryptography encodes these attributes as UTF8String (C stays PrintableString)
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit64(organization)))
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _fit64(unit)))
    if user_id:
        attrs.append(x509.NameAttribute(NameOID.USER_ID, _fit64(user_id)))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, _fit64(common_name)))
    return x509.Name(attrs)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _issue_root(key: ec.EllipticCurvePrivateKey, now: datetime) -> x509.Certificate:
    subject = _name(common_name="certcopy Dev Root CA", organization="certcopy (development)")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_leaf(
    root_key,
    root_cert: x509.Certificate,
    public_key,
    subject: x509.Name,
    now: datetime,
    *,
    timestamping: bool = False,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + _LEAF_VALIDITY, root_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
    )
    if timestamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(root_key, hashes.SHA256())


def _write_p12(
    path: Path,
    friendly_name: str,
    key,
    cert: x509.Certificate,
    root_cert: x509.Certificate,
    passphrase: bytes,
) -> None:
    data = pkcs12.serialize_key_and_certificates(
        _nfc(friendly_name).encode("utf-8"),
        key,
        cert,
        [root_cert],
        serialization.BestAvailableEncryption(passphrase),
    )
    _write(path, data)
    # public certificate next to it, so expiry can be checked without the passphrase
    _write(path.with_suffix(".pem"), cert.public_bytes(serialization.Encoding.PEM))


def _fit64(text: str) -> str:
    """NFC text cut to the 64 UTF-8 bytes X.520 allows for these attributes (never inside a character)."""
    data = _nfc(text).encode("utf-8")[:64]
    return data.decode("utf-8", errors="ignore").rstrip()
