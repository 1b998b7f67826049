"""One dossier read by those who may see it (its applicant, its agency's staff, auditors): the API's detail, its
tasks, the certified copy and the receipts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.adapters.models import Dossier, HumanTask, User
from app.domain.access import can_view_dossier
from app.domain.task_forms import form_schema
from app.errors import NotFound
from app.services.dossiers.receipts import intake_receipt_pdf
from app.services.queries.views import dossier_view, task_view
from app.services.unit_of_work import reading

UNKNOWN = "Không có hồ sơ này."


def visible_dossier(session: Session, user: User, code: str, *options) -> Dossier:
    """The dossier if `user` may see it; 404 otherwise (also for one they may not see)."""
    dossier = session.scalar(select(Dossier).options(*options).where(Dossier.code == code))
    if dossier is None or not can_view_dossier(user, dossier):
        raise NotFound(UNKNOWN, code="unknown_dossier")
    return dossier


def dossier_detail(system, user: User, code: str, now: datetime) -> dict:
    """GET /dossiers/{code}: the dossier with its tasks and history."""
    with reading(system) as session:
        return dossier_view(session, visible_dossier(session, user, code), now)


def certified_copy(system, user: User, code: str) -> bytes:
    """The certified copy: staff of the agency and auditors once it is sealed, the applicant once it is returned
    (when the one-stop desk has settled the fee)."""
    with reading(system) as session:
        dossier = visible_dossier(session, user, code)
        if not dossier.result_sha256 or (dossier.applicant_id == user.id and dossier.status != "returned"):
            message = "Hồ sơ chưa có bản sao được chứng thực." if not dossier.result_sha256 \
                else "Bản sao chưa được trả kết quả."
            raise NotFound(message, code="no_result")
        sha = dossier.result_sha256
    return system.files.get(sha)


def intake_receipt(system, user: User, code: str) -> bytes:
    """The intake receipt (phiếu tiếp nhận) of a received dossier."""
    with reading(system) as session:
        return intake_receipt_pdf(session, visible_dossier(session, user, code, joinedload(Dossier.applicant)))


def receipt_dossier(system, user: User, code: str) -> Dossier:
    """The dossier with what its filing receipt shows (agency, applicant) loaded."""
    with reading(system) as session:
        return visible_dossier(session, user, code, joinedload(Dossier.applicant))


def task_detail(system, user: User, task_id: str, now: datetime) -> dict:
    """GET /tasks/{id}: a READY task of a dossier the caller may see, with its form and the dossier."""
    with reading(system) as session:
        row = session.get(HumanTask, task_id)
        if row is None or not can_view_dossier(user, row.dossier):
            raise NotFound("Không có công việc này (hoặc đã được xử lý).", code="unknown_task")
        view = task_view(row, now)
        view["form"] = form_schema(row.name)
        view["dossier_detail"] = dossier_view(session, row.dossier, now, with_history=False)
        return view


def open_tasks(system, code: str, now: datetime) -> list[dict]:
    """The dossier's READY tasks (what comes next after a task is completed)."""
    with reading(system) as session:
        rows = session.scalars(select(HumanTask).join(Dossier, HumanTask.dossier_id == Dossier.id)
                               .where(Dossier.code == code).order_by(HumanTask.created_at)).all()
        return [task_view(t, now) for t in rows]
