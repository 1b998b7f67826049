"""Signing material of agencies and signers: PKCS#12 credentials (encrypted at rest), timestamps, trust roots.

A PKCS#12 container is checked with its passphrase when it is uploaded (it opens, holds a key that belongs to
its certificate, the certificate may sign documents and is within its validity dates); its certificate details
are kept in the database, and the container is stored AES-256-GCM encrypted with the instance's credential key
(`CERTCOPY_CREDENTIAL_KEY`, else `instance/credential.key`, created once with mode 0600). The passphrase is asked
at every signature and never stored.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import signing

from app import clock
from app.errors import TooLarge, Unprocessable, UnsupportedMediaType
from app.adapters.models import Agency, SigningCredential, User
from app.domain.calendar import VN_TZ

MAX_PKCS12_BYTES = 256 * 1024
EXPIRY_WARNING_DAYS = 30
KEY_FILE = "credential.key"
KEY_ENV = "CERTCOPY_CREDENTIAL_KEY"
KINDS = ("signer", "seal")


# -- encryption at rest ----------------------------------------------------------------------------------
class CredentialVault:
    """AES-256-GCM sealing of stored credentials: MAGIC | key id (8) | nonce (12) | ciphertext+tag."""

    MAGIC = b"CCP12\x01"
    AAD = b"certcopy/pkcs12/v1"

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("the credential key must be 32 bytes")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"certcopy-credential-key" + key).digest()[:8]

    @classmethod
    def for_instance(cls, instance_path: Path) -> CredentialVault:
        raw = os.environ.get(KEY_ENV)
        if raw:
            return cls(_decode_key(raw))
        return cls(_instance_key(Path(instance_path) / KEY_FILE))

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return self.MAGIC + self.key_id + nonce + self._aead.encrypt(nonce, plaintext, self.AAD)

    def decrypt(self, blob: bytes) -> bytes:
        if not blob.startswith(self.MAGIC):
            if blob[:1] == b"\x30":  # a DER PKCS#12 stored before encryption at rest existed
                return blob
            raise Unprocessable("Tệp chứng thư số đã lưu không đọc được: cần tải lên lại.",
                                code="credential_unreadable")
        head = len(self.MAGIC)
        key_id, nonce, sealed = blob[head:head + 8], blob[head + 8:head + 20], blob[head + 20:]
        if key_id != self.key_id:
            raise Unprocessable("Chứng thư số đã lưu được mã hóa bằng khóa khác khóa của hệ thống "
                                f"({KEY_ENV}): cần cấu hình đúng khóa hoặc tải lên lại chứng thư.",
                                code="credential_unreadable")
        try:
            return self._aead.decrypt(nonce, sealed, self.AAD)
        except InvalidTag:
            raise Unprocessable("Tệp chứng thư số đã lưu bị hỏng: cần tải lên lại.",
                                code="credential_unreadable") from None


def _decode_key(raw: str) -> bytes:
    raw = raw.strip()
    for decode in (bytes.fromhex, lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)),
                   lambda s: base64.b64decode(s + "=" * (-len(s) % 4), validate=True)):
        try:
            key = decode(raw)
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise RuntimeError(f"{KEY_ENV} must hold 32 bytes, hex or base64 encoded")


def _instance_key(path: Path) -> bytes:
    """Read the instance's key; the first process to need it creates it (atomically, mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
            try:
                os.link(tmp, path)  # fails if another process won the race: then its key is the key
            except FileExistsError:
                pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    key = path.read_bytes()
    if len(key) != 32:
        raise RuntimeError(f"{path} must hold exactly 32 bytes")
    return key


# -- checking an upload -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CertificateDetails:
    subject: str
    subject_dn: str
    issuer: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    key_usage: tuple[str, ...]


KEY_USAGE_NAMES = (("digital_signature", "digitalSignature"), ("content_commitment", "nonRepudiation"),
                   ("key_encipherment", "keyEncipherment"), ("data_encipherment", "dataEncipherment"),
                   ("key_agreement", "keyAgreement"), ("key_cert_sign", "keyCertSign"), ("crl_sign", "cRLSign"))


def _vn(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def _reject(message: str, code: str = "bad_credential") -> Unprocessable:
    return Unprocessable(message, code=code, details={"fields": {"pkcs12": code}})


def _key_usage(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(name for attr, name in KEY_USAGE_NAMES if getattr(usage, attr))


def inspect_pkcs12(data: bytes, passphrase: str, now: datetime) -> CertificateDetails:
    """Check a PKCS#12 upload with its passphrase; a clear Vietnamese error for each way it can be unusable."""
    if not data:
        raise _reject("Cần chọn tệp chứng thư số PKCS#12 (.p12 hoặc .pfx).", "missing_file")
    if len(data) > MAX_PKCS12_BYTES:
        raise TooLarge(f"Tệp chứng thư số quá lớn (tối đa {MAX_PKCS12_BYTES // 1024} KB).", code="file_too_large")
    if not isinstance(passphrase, str) or not passphrase:
        raise _reject("Cần nhập mật khẩu (mã PIN) của tệp chứng thư số.", "passphrase_required")
    try:
        from asn1crypto import pkcs12 as asn1_pkcs12
        asn1_pkcs12.Pfx.load(data, strict=True)["auth_safe"]["content_type"].native  # noqa: B018 - parses
    except Exception:
        raise UnsupportedMediaType("Tệp tải lên không phải tệp chứng thư số PKCS#12 (.p12 hoặc .pfx).",
                                   code="not_pkcs12") from None
    try:
        key, cert, _others = pkcs12.load_key_and_certificates(data, passphrase.encode("utf-8"))
    except ValueError:
        raise _reject("Mật khẩu (mã PIN) không mở được tệp chứng thư số.", "wrong_passphrase") from None
    except Exception:
        raise _reject("Không đọc được tệp chứng thư số PKCS#12.") from None
    if key is None:
        raise _reject("Tệp chứng thư số không chứa khóa bí mật.")
    if cert is None:
        raise _reject("Tệp chứng thư số không chứa chứng thư (certificate).")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise _reject("Khóa bí mật trong tệp không khớp với chứng thư số.")
    usage = _key_usage(cert)
    missing = [n for n in ("digitalSignature", "nonRepudiation") if n not in usage]
    if missing:
        raise _reject("Chứng thư số không được phép ký văn bản (thiếu mục đích sử dụng khóa: "
                      f"{', '.join(missing)}).", "key_usage")
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < not_before:
        raise _reject(f"Chứng thư số chưa có hiệu lực (hiệu lực từ {_vn(not_before)}).", "not_yet_valid")
    if now > not_after:
        raise _reject(f"Chứng thư số đã hết hạn ngày {_vn(not_after)}.", "expired")
    try:
        credential = signing.load_pkcs12(data, passphrase)  # the signing library's own checks, last word
    except signing.CredentialError as exc:
        raise _reject(f"Chứng thư số không dùng được để ký ({exc}).") from None
    return CertificateDetails(
        subject=credential.subject_name[:255], subject_dn=cert.subject.rfc4514_string()[:500],
        issuer=cert.issuer.rfc4514_string()[:500], serial_number=format(cert.serial_number, "X")[:80],
        not_before=not_before, not_after=not_after,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(), key_usage=usage)


def expiry_state(row: SigningCredential, now: datetime, days: int = EXPIRY_WARNING_DAYS) -> str:
    """'expired', 'expiring' (within `days`) or 'valid'."""
    if row.not_after <= now:
        return "expired"
    return "expiring" if row.not_after - now < timedelta(days=days) else "valid"


def expires_soon(row: SigningCredential, now: datetime, days: int = EXPIRY_WARNING_DAYS) -> bool:
    return expiry_state(row, now, days) != "valid"


def days_left(row: SigningCredential, now: datetime) -> int:
    return max(0, (row.not_after - now).days)


def credential_view(row: SigningCredential, now: datetime) -> dict:
    return {
        "id": row.id, "kind": row.kind, "active": row.active, "subject": row.subject, "subject_dn": row.subject_dn,
        "issuer": row.issuer, "serial_number": row.serial_number,
        "not_before": row.not_before.isoformat() if row.not_before else None, "not_after": row.not_after.isoformat(),
        "fingerprint_sha256": row.fingerprint_sha256,
        "key_usage": row.key_usage.split(",") if row.key_usage else [],
        "uploaded_at": row.uploaded_at.isoformat() if row.uploaded_at else None, "uploaded_by": row.uploaded_by,
        "expiry": expiry_state(row, now), "days_left": days_left(row, now),
    }


class KeyStore:
    def __init__(self, settings, files):
        self.settings = settings
        self.files = files
        self._lock = threading.Lock()
        self._vault: CredentialVault | None = None
        self._timestamper = None
        self._trust_roots: list[bytes] | None = None

    @property
    def vault(self) -> CredentialVault:
        with self._lock:
            if self._vault is None:
                self._vault = CredentialVault.for_instance(self.settings.instance_path)
            return self._vault

    # -- what a step needs ------------------------------------------------------------------------
    def credential_for(self, session: Session, *, kind: str, user: User | None = None,
                       agency: Agency | None = None) -> SigningCredential:
        query = select(SigningCredential).where(SigningCredential.kind == kind, SigningCredential.active)
        query = query.where(SigningCredential.user_id == user.id) if user else \
            query.where(SigningCredential.agency_id == agency.id)
        row = session.scalars(query.order_by(SigningCredential.id.desc())).first()
        if row is None:
            who = f"người ký {user.full_name}" if user else f"cơ quan {agency.name}"
            raise Unprocessable(f"Chưa có chứng thư số cho {who}: quản trị viên cần tải lên chứng thư (PKCS#12).",
                                code="missing_credential")
        return row

    def unlock(self, row: SigningCredential, pin: str | None) -> signing.Credential:
        if not pin:
            raise Unprocessable("Cần nhập mã PIN của chứng thư số để ký.", code="pin_required")
        if row.not_after <= datetime.now(timezone.utc):  # real time, as the signing library checks it
            raise Unprocessable(f"Chứng thư số {row.subject} đã hết hạn ngày {_vn(row.not_after)}: "
                                "cần tải lên chứng thư mới.", code="credential_expired")
        data = self.vault.decrypt(self.files.get(row.pkcs12_sha256))
        try:
            return signing.load_pkcs12(data, pin)
        except signing.CredentialError as exc:
            if exc.code == "wrong_passphrase":
                raise Unprocessable("Mã PIN không đúng.", code="wrong_pin") from None
            raise Unprocessable(f"Chứng thư số không dùng được ({exc}).", code="bad_credential") from None

    def register_pkcs12(self, session: Session, data: bytes, passphrase: str, *, kind: str,
                        user: User | None = None, agency: Agency | None = None,
                        uploaded_by: str | None = None) -> SigningCredential:
        """Check the container with its passphrase, store it encrypted, make it the owner's active credential."""
        if kind not in KINDS or (user is None) == (agency is None):
            raise ValueError("a credential is a signer's (user=) or an agency seal's (agency=)")
        now = clock.now()
        details = inspect_pkcs12(data, passphrase, now)
        sha = self.files.put(self.vault.encrypt(data))
        owner = SigningCredential.user_id == user.id if user else SigningCredential.agency_id == agency.id
        session.execute(update(SigningCredential).where(SigningCredential.kind == kind, owner,
                                                        SigningCredential.active).values(active=False))
        row = SigningCredential(kind=kind, user_id=user.id if user else None, agency_id=agency.id if agency else None,
                                pkcs12_sha256=sha, subject=details.subject, not_after=details.not_after, active=True,
                                subject_dn=details.subject_dn, issuer=details.issuer,
                                serial_number=details.serial_number, not_before=details.not_before,
                                fingerprint_sha256=details.fingerprint_sha256, key_usage=",".join(details.key_usage),
                                uploaded_at=now, uploaded_by=uploaded_by)
        session.add(row)
        session.flush()
        return row

    def timestamper(self):
        with self._lock:
            if self._timestamper is None:
                if self.settings.tsa_url:
                    self._timestamper = signing.http_timestamper(self.settings.tsa_url)
                else:
                    self._timestamper = signing.local_timestamper(signing.load_dev_pki(self.settings.pki_path))
            return self._timestamper

    def trust_roots(self) -> list[bytes]:
        with self._lock:
            if self._trust_roots is None:
                roots = []
                if (self.settings.pki_path / "root.pem").exists() or self.settings.pki_path.exists():
                    try:
                        roots.extend(signing.load_dev_pki(self.settings.pki_path).trust_roots())
                    except Exception:  # no dev PKI in this instance: production roots only
                        pass
                extra = self.settings.instance_path / "trust"
                if extra.is_dir():
                    roots.extend(p.read_bytes() for p in sorted(extra.glob("*.pem")))
                self._trust_roots = roots
            return self._trust_roots
