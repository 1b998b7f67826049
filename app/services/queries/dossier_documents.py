"""A dossier's documents as the staff pages show them: the list, and the one a step looks at."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.adapters.models import Document, Dossier
from app.adapters.preview import document_pages

# The step that looks at a copy rather than at the scan: the seal step at the signed copy, the return at the
# certified copy (both opened on their last page, the attestation).
COPY_SHOWN_AT = {"seal": "signed_copy", "return": "certified_copy"}


def documents_of(session: Session, dossier: Dossier) -> list[Document]:
    """Every document of the dossier, in upload order."""
    return list(session.scalars(select(Document).where(Document.dossier_id == dossier.id).order_by(Document.id)))


def current_original(dossier: Dossier, documents: list[Document]) -> Document | None:
    """The document that will be certified: the latest upload whose content is the dossier's original."""
    matching = [d for d in documents if d.sha256 == dossier.original_sha256]
    return matching[-1] if matching else next((d for d in documents if d.kind == "original"), None)


def shown_document(files, dossier: Dossier, documents: list[Document], step: str | None = None
                   ) -> tuple[Document | None, int]:
    """What `step` looks at among the dossier's `documents`, and its page count: the latest copy of the kind the
    step looks at, otherwise the scan being certified."""
    kind = COPY_SHOWN_AT.get(step or "")
    doc = next((d for d in reversed(documents) if d.kind == kind), None) if kind else None
    doc = doc or current_original(dossier, documents)
    return doc, (document_pages(files, doc) if doc else 1)
