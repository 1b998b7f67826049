"""The staff task page: a READY task the caller may work, with what its form offers (the signers to assign, the
registers to seal in), the signer's latest return of the dossier, its documents and the one the task looks at;
and the signer's preview of the attestation page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.adapters.models import Document, Dossier, Event, HumanTask, User, UserRole
from app.adapters.preview import AttestationPreview, attestation_preview
from app.domain.access import is_staff_of, may_work_on_staff_pages
from app.errors import Conflict, Forbidden, NotFound
from app.services.queries.dossier_documents import documents_of, shown_document
from app.services.registers import SUFFIX, today_vn, usable_registers
from app.services.unit_of_work import reading


class TaskDone(Conflict):
    """The task was worked already; the page sends the caller to its dossier."""

    def __init__(self, dossier_code: str):
        super().__init__("Công việc này đã được xử lý, không còn chờ nữa.", code="task_done")
        self.dossier_code = dossier_code


@dataclass
class TaskPage:
    task: HumanTask
    dossier: Dossier
    applicant: User | None
    documents: list[Document]
    shown: Document | None              # what the task looks at
    shown_pages: int
    signers: list[tuple[str, str]]      # assign: (username, "full name – title") of the agency's signers
    registers: list[dict]               # seal: the registers open today ({id, name, next_number})
    returned: dict | None               # rework: the signer's latest return ({reason, by, at})


def workable_task(session: Session, user: User, task_id: str) -> HumanTask:
    """The READY task if `user` may work it on the staff pages. NotFound for an unknown task or another agency's,
    Forbidden (with the reason) for a wrong role or a task someone else holds, TaskDone once it was worked."""
    row = session.get(HumanTask, task_id)
    if row is None:
        done = session.scalar(select(Event).where(Event.task_id == task_id, Event.kind == "task_completed"))
        if done is not None and is_staff_of(user, done.dossier.agency_id):
            raise TaskDone(done.dossier.code)
        raise NotFound("Không có công việc này.", code="unknown_task")
    if not is_staff_of(user, row.agency_id):
        raise NotFound("Không có công việc này.", code="unknown_task")
    reason = may_work_on_staff_pages(user, row.dossier, row)
    if reason:
        raise Forbidden(reason)
    return row


def task_page(system, user: User, task_id: str, now: datetime) -> TaskPage:
    with reading(system) as session:
        row = workable_task(session, user, task_id)
        dossier = row.dossier
        documents = documents_of(session, dossier)
        shown, shown_pages = shown_document(system.files, dossier, documents, row.name)
        return TaskPage(
            task=row, dossier=dossier, applicant=dossier.applicant, documents=documents, shown=shown,
            shown_pages=shown_pages,
            signers=_signers(session, dossier.agency_id) if row.name == "assign" else [],
            registers=_registers(session, dossier.agency_id, now) if row.name == "seal" else [],
            returned=_latest_return(session, dossier.id) if row.name == "rework" else None)


def signing_preview(system, user: User, task_id: str, placement: str, now: datetime) -> AttestationPreview:
    """The attestation page of a dossier at the signing step as it will look once signed (the number is given
    later, at the seal step), in the first register open today."""
    with reading(system) as session:
        try:
            row = workable_task(session, user, task_id)
        except TaskDone:
            raise NotFound("Công việc đã được xử lý.", code="task_done") from None
        if row.name != "review_sign":
            raise NotFound("Chỉ bước ký duyệt có bản xem trước lời chứng.", code="no_preview")
        dossier = row.dossier
        registers = _registers(session, dossier.agency_id, now)
        original_sha256, seal_sha256 = dossier.original_sha256, dossier.agency.seal_image_sha256
    settings = system.settings
    return attestation_preview(
        system.files, settings.instance_path, moment=now, max_bytes=settings.max_upload_bytes,
        original_sha256=original_sha256, placement=placement, full_name=user.full_name, title=user.title or "",
        signature_sha256=user.signature_image_sha256, seal_sha256=seal_sha256,
        register_name=registers[0]["name"].removesuffix(SUFFIX) if registers else None)


def _signers(session: Session, agency_id: int) -> list[tuple[str, str]]:
    users = session.scalars(select(User).join(UserRole).where(
        User.agency_id == agency_id, User.active, UserRole.role == "signer").order_by(User.full_name)).all()
    return [(u.username, f"{u.full_name} – {u.title}" if u.title else u.full_name) for u in users]


def _registers(session: Session, agency_id: int, now: datetime) -> list[dict]:
    return [{"id": r.id, "name": r.full_name, "next_number": r.next_number}
            for r in usable_registers(session, agency_id, today_vn(now))]


def _latest_return(session: Session, dossier_id: int) -> dict | None:
    """The signer's latest return (reason, who, when), when the dossier's last signing step returned it."""
    event = session.scalars(select(Event).where(Event.dossier_id == dossier_id, Event.kind == "task_completed",
                                                Event.task == "review_sign").order_by(Event.seq.desc())).first()
    if event is None or (event.data or {}).get("decision") != "reject":
        return None
    signer = session.scalar(select(User).where(User.username == event.actor))
    return {"reason": event.data.get("reason"), "by": signer.full_name if signer else event.actor, "at": event.at}
