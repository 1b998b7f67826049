"""Public verification of a certified copy: its signatures, and its entry in the register."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

import signing

from app.errors import Unprocessable
from app.adapters.models import Dossier, Register, RegisterEntry
from app.domain.calendar import VN_TZ
from app.services.queries.views import iso


def verify_document(system, data: bytes) -> dict:
    try:
        report = signing.validate(data, system.keys.trust_roots())
    except signing.InvalidPdf as exc:
        raise Unprocessable(f"Tệp không phải PDF hợp lệ: {exc}", code=exc.code) from None
    body = {"valid": report.valid, "signatures": [
        {"field": s.field, "signer": s.signer, "signed_at": iso(s.signed_at), "intact": s.intact,
         "trusted": s.trusted, "coverage": s.coverage, "modified_after": s.modified_after,
         "modification_level": s.modification_level, "timestamped": s.timestamped}
        for s in report.signatures], "dossier": None}
    import hashlib
    sha = hashlib.sha256(data).hexdigest()
    with system.db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.result_sha256 == sha))
        if dossier is not None and dossier.register is not None:
            body["dossier"] = {"certification_number": dossier.certification_number,
                               "register": dossier.register.full_name, "certified_at": iso(dossier.certified_at),
                               "agency": dossier.agency.name}
    return body


def lookup_entry(system, number: int, register: str | None, day: str | None) -> dict | None:
    with system.db.session() as session:
        query = select(RegisterEntry, Register).join(Register, RegisterEntry.register_id == Register.id).where(
            RegisterEntry.number == number)
        if register:
            name = register.removesuffix("-SCTĐT/BS")
            query = query.where(Register.name == name)
        rows = session.execute(query).all()
        for entry, book in rows:
            if day:
                try:
                    wanted = date.fromisoformat(day)
                except ValueError:
                    return None
                if entry.certified_at.astimezone(VN_TZ).date() != wanted:
                    continue
            return {"certification_number": entry.number, "register": book.full_name,
                    "certified_at": iso(entry.certified_at), "agency": book.agency.name,
                    "document_type": entry.document_type}
    return None
