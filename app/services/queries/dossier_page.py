"""The staff page of one dossier (its agency's staff and auditors): the dossier, its open tasks, documents, history
with the names it mentions, the process version it runs on; and its documents, whole or a page at a time."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.adapters.models import Document, Dossier, Event, HumanTask, Register, User
from app.adapters.preview import document_pages, page_png
from app.domain.access import is_staff_of
from app.errors import NotFound
from app.services.dossiers import documents as citizen_documents
from app.services.queries.dossier_documents import documents_of, shown_document
from app.services.unit_of_work import reading


@dataclass(frozen=True)
class StaffDossierPage:
    dossier: Dossier               # agency, applicant, signer, register and process version loaded
    tasks: list[HumanTask]         # its READY tasks (assignee loaded), oldest first
    events: list[Event]            # its history, in order
    documents: list[Document]
    shown: Document | None         # what the viewer opens: the certified copy once there is one, else the scan
    shown_pages: int
    people: dict[str, str]         # username -> full name, for everyone the history names
    registers: dict[int, str]      # register id -> full name, for the registers chosen at the seal step
    saved_to_store: bool           # the certified copy is in the applicant's document store


def staff_visible(session: Session, user: User, code: str, *options) -> Dossier:
    """The dossier if `user` may see it on the staff pages (its agency's staff, auditors); 404 otherwise."""
    dossier = session.scalar(select(Dossier).options(*options).where(Dossier.code == code))
    if dossier is None or not (is_staff_of(user, dossier.agency_id) or user.has_role("auditor")):
        raise NotFound("Không có hồ sơ này (hoặc bạn không được xem hồ sơ này).", code="unknown_dossier")
    return dossier


def _named_people(events: list[Event]) -> set[str]:
    names = set()
    for event in events:
        data = event.data or {}
        names.update((event.actor, data.get("signer")))
        if event.kind == "notified":
            names.update(data.get("to", []))
        if isinstance(data.get("result"), dict):
            names.add(data["result"].get("signer"))
    return {n for n in names if isinstance(n, str) and n and n != "system"}


def staff_dossier_page(system, user: User, code: str) -> StaffDossierPage:
    with reading(system) as session:
        dossier = staff_visible(session, user, code, joinedload(Dossier.applicant), joinedload(Dossier.signed_by),
                                joinedload(Dossier.register), joinedload(Dossier.process_version))
        events = list(session.scalars(select(Event).where(Event.dossier_id == dossier.id).order_by(Event.seq)))
        tasks = list(session.scalars(select(HumanTask).where(HumanTask.dossier_id == dossier.id)
                                     .order_by(HumanTask.created_at)))
        documents = documents_of(session, dossier)
        names = _named_people(events)
        people = dict(session.execute(select(User.username, User.full_name).where(User.username.in_(names))).all()) \
            if names else {}
        register_ids = {(e.data or {}).get("register") for e in events if e.task == "seal"}
        register_ids = [i for i in register_ids if isinstance(i, int)]
        registers = {r.id: r.full_name for r in session.scalars(select(Register).where(Register.id.in_(register_ids)))} \
            if register_ids else {}
        saved = citizen_documents.result_saved(session, dossier)
    shown, shown_pages = shown_document(system.files, dossier, documents, "return" if dossier.result_sha256 else None)
    return StaffDossierPage(dossier=dossier, tasks=tasks, events=events, documents=documents, shown=shown,
                            shown_pages=shown_pages, people=people, registers=registers, saved_to_store=saved)


def _document(session: Session, user: User, code: str, doc_id: int) -> Document:
    dossier = staff_visible(session, user, code)
    doc = session.get(Document, doc_id)
    if doc is None or doc.dossier_id != dossier.id:
        raise NotFound("Không có tài liệu này trong hồ sơ.", code="unknown_document")
    return doc


def staff_document(system, user: User, code: str, doc_id: int) -> tuple[bytes, str]:
    """A document of the dossier (PDF) and its file name."""
    with reading(system) as session:
        doc = _document(session, user, code, doc_id)
    return system.files.get(doc.sha256), doc.filename


def staff_document_page(system, user: User, code: str, doc_id: int, page: int) -> bytes:
    """One page of a document of the dossier, as a PNG."""
    with reading(system) as session:
        doc = _document(session, user, code, doc_id)
    pages = document_pages(system.files, doc)
    if not 1 <= page <= pages:
        raise NotFound(f"Tài liệu có {pages} trang.", code="unknown_page")
    return page_png(system.files, system.settings.instance_path, doc.sha256, page)
