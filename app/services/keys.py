"""Signing material of agencies and signers: PKCS#12 credentials, images, timestamps and trust roots."""
from __future__ import annotations

import threading
from datetime import datetime

import signing
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Unprocessable
from ..models import Agency, SigningCredential, User


class KeyStore:
    def __init__(self, settings, files):
        self.settings = settings
        self.files = files
        self._lock = threading.Lock()
        self._timestamper = None
        self._trust_roots: list[bytes] | None = None

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
        try:
            return signing.load_pkcs12(self.files.get(row.pkcs12_sha256), pin)
        except signing.CredentialError as exc:
            if exc.code == "wrong_passphrase":
                raise Unprocessable("Mã PIN không đúng.", code="wrong_pin") from None
            raise Unprocessable(f"Chứng thư số không dùng được: {exc}", code="bad_credential") from None

    def register_pkcs12(self, session: Session, data: bytes, passphrase: str, *, kind: str,
                        user: User | None = None, agency: Agency | None = None) -> SigningCredential:
        credential = signing.load_pkcs12(data, passphrase)
        sha = self.files.put(data)
        row = SigningCredential(kind=kind, user_id=user.id if user else None, agency_id=agency.id if agency else None,
                                pkcs12_sha256=sha, subject=credential.subject_name,
                                not_after=credential.not_valid_after, active=True)
        session.add(row)
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


def expires_soon(row: SigningCredential, now: datetime, days: int = 30) -> bool:
    return (row.not_after - now).days < days
