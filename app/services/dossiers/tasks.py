"""Working a dossier's tasks: claim and release a task, complete it (with a corrected scan at rework), and the
citizen's supplement. Each change is one unit of work under the dossier's lock."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.adapters.db import lock_dossier
from app.adapters.models import Document, Dossier, Event, HumanTask, Register, User, UserRole
from app.domain.access import can_view_dossier, may_work
from app.domain.calendar import VN_TZ
from app.domain.fees import fee_for
from app.domain.postal import postal_tracking_at_return
from app.domain.task_forms import validate_form
from app.engine.audit import append_event
from app.engine.runtime import StepContext
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.services.dossiers import documents as citizen_documents
from app.services.dossiers.uploads import inspect_upload
from app.services.registers import check_register_open
from app.services.unit_of_work import reading, unit_of_work

# Supplement and rework loops deepen SpiffWorkflow's task tree; bound them well below where it breaks (~200).
MAX_LOOP_ROUNDS = 60
LOOPING_DECISIONS = {("intake", "supplement"), ("review_sign", "reject")}


def _step(system, session, dossier, actor: User | None, role: str | None, now: datetime, pin: str | None = None):
    return StepContext(session=session, dossier=dossier, actor=actor,
                       actor_name=actor.username if actor else "system", role=role, now=now, services=system,
                       pin=pin)


def _known_task_dossier(session: Session, task_id: str) -> str:
    row = session.get(HumanTask, task_id)
    if row is not None:
        return row.dossier.code
    done = session.scalar(select(Event).where(Event.task_id == task_id, Event.kind == "task_completed"))
    if done is not None:
        raise Conflict("Công việc này đã được xử lý, không còn chờ nữa.", code="task_not_ready")
    raise NotFound("Không có công việc này.", code="unknown_task")


def _ready_row(session: Session, dossier: Dossier, task_id: str, actor: User) -> HumanTask:
    if dossier is None:
        raise NotFound("Không có hồ sơ này.")
    row = session.get(HumanTask, task_id)
    if row is None:
        raise Conflict("Công việc này đã được xử lý, không còn chờ nữa.", code="task_not_ready")
    reason = may_work(actor, dossier, row)
    if reason:
        raise Forbidden(reason)
    return row


def _check_task_rules(session: Session, system, dossier: Dossier, name: str, data: dict, now: datetime) -> None:
    """Domain rules a form schema cannot express."""
    if (name, data.get("decision")) in LOOPING_DECISIONS:
        if (dossier.loop_rounds or 0) >= MAX_LOOP_ROUNDS:
            raise Unprocessable(f"Hồ sơ đã qua {MAX_LOOP_ROUNDS} lượt bổ sung/trả lại: hãy từ chối hoặc hủy hồ sơ.",
                                code="too_many_rounds")
        dossier.loop_rounds = (dossier.loop_rounds or 0) + 1
    if name == "assign":
        signer = session.scalar(select(User).join(UserRole).where(
            User.username == data["signer"], User.agency_id == dossier.agency_id, User.active,
            UserRole.role == "signer"))
        if signer is None:
            raise Unprocessable(f"'{data['signer']}' không phải người ký chứng thực của cơ quan này.",
                                code="unknown_signer", details={"fields": {"signer": "unknown"}})
    elif name == "seal":
        # A plain read for the early, friendly check; seal_copy takes the register lock and checks again.
        check_register_open(session.get(Register, data["register"]), dossier.agency_id,
                            now.astimezone(VN_TZ).date())
    elif name == "return":
        if not (data.get("fee_paid") or dossier.fee_paid):
            raise Unprocessable("Chưa thu lệ phí: cần ghi nhận đã nộp lệ phí trước khi trả kết quả.",
                                code="fee_unpaid", details={"fields": {"fee_paid": "required"}})
        tracking = postal_tracking_at_return(dossier.delivery, data.get("postal_tracking"))
        dossier.fee_paid = True
        if tracking is not None:
            dossier.postal_tracking = tracking


# Tasks at which the worker may attach a corrected scan of the original (it replaces the one to certify).
CORRECTED_SCAN_TASKS = {"rework"}


def complete_task(system, actor: User, task_id: str, data: dict, pin: str | None = None,
                  corrected_scan: bytes | None = None, filename: str = "corrected.pdf") -> Dossier:
    with reading(system) as session:
        code = _known_task_dossier(session, task_id)
    info = sha = None
    if corrected_scan is not None:
        info = inspect_upload(system, corrected_scan)
        sha = system.files.put(info.pdf)
    now = clock.now()
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        row = _ready_row(session, dossier, task_id, actor)
        if row.name == "supplement":
            raise Unprocessable("Bổ sung hồ sơ cần tải tệp lên: dùng POST /dossiers/{code}/supplement.",
                                code="use_supplement_upload")
        if info is not None and row.name not in CORRECTED_SCAN_TASKS:
            raise Unprocessable("Bước này không nhận bản scan thay thế.", code="scan_not_accepted")
        cleaned = validate_form(row.name, data)
        _check_task_rules(session, system, dossier, row.name, cleaned, now)
        if info is not None:
            _replace_scan(session, dossier, info, sha, "corrected_original", filename, now)
            cleaned = {**cleaned, "corrected_scan_sha256": sha}
        _run_task(system, session, dossier, row, actor, cleaned, now, pin)
    return dossier


def _replace_scan(session, dossier: Dossier, info, sha: str, kind: str, filename: str, now) -> None:
    """A new scan replaces the one to certify; pages and fee follow it."""
    session.add(Document(dossier_id=dossier.id, kind=kind, sha256=sha, size=len(info.pdf), pages=info.pages,
                         filename=filename[:255], created_at=now))
    dossier.original_sha256 = sha
    dossier.pages = info.pages
    dossier.fee_amount = fee_for(info.pages, dossier.copies).amount_vnd


def _run_task(system, session, dossier, row: HumanTask, actor: User, cleaned: dict, now, pin=None) -> None:
    workflow = system.engine.load(dossier)
    if system.engine.ready_task(workflow, row.id) is None:
        raise Conflict("Công việc này không còn ở trạng thái chờ xử lý.", code="task_not_ready")
    append_event(session, dossier, at=now, actor=actor.username, role=row.role, kind="task_completed", task=row.name,
                 task_id=row.id, data={**cleaned, "task_id": row.id})
    before = dossier.status
    system.engine.complete(_step(system, session, dossier, actor, row.role, now, pin), workflow, row.id, cleaned)
    _record_outcome(session, dossier, before, now, actor.username)
    citizen_documents.after_task(session, dossier, before, now)  # "Trả kết quả … chuyển về KDL"


def _record_outcome(session, dossier: Dossier, before: str, now, actor_name: str) -> None:
    if dossier.status == "cancelled" and before != "cancelled":
        append_event(session, dossier, at=now, actor=actor_name, role=None, kind="cancelled", data={})


def supplement(system, actor: User, code: str, upload: bytes | None, note: str | None,
               filename: str = "supplement.pdf") -> Dossier:
    """The citizen uploads what was asked for; the new scan replaces the one to certify; back to intake."""
    with reading(system) as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        if dossier is None or not can_view_dossier(actor, dossier):
            raise NotFound("Không có hồ sơ này.")
        if actor.id != dossier.applicant_id and not actor.has_role("one_stop"):
            raise Forbidden("Chỉ người nộp hồ sơ (hoặc Bộ phận một cửa, với hồ sơ không có tài khoản) "
                            "mới bổ sung được hồ sơ.")
        row = session.scalar(select(HumanTask).where(HumanTask.dossier_id == dossier.id,
                                                     HumanTask.name == "supplement"))
        if row is None:
            raise Conflict("Hồ sơ không ở bước chờ bổ sung.", code="task_not_ready")
        reason = may_work(actor, dossier, row)
        if reason:
            raise Forbidden(reason)
        task_id = row.id
    cleaned = validate_form("supplement", {"note": note} if note else {})
    info = inspect_upload(system, upload)
    sha = system.files.put(info.pdf)
    now = clock.now()
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        row = _ready_row(session, dossier, task_id, actor)
        _replace_scan(session, dossier, info, sha, "supplement", filename, now)
        _run_task(system, session, dossier, row, actor, {**cleaned, "sha256": sha}, now)
    return dossier


def claim_task(system, actor: User, task_id: str, release: bool = False) -> HumanTask:
    with reading(system) as session:
        code = _known_task_dossier(session, task_id)
    now = clock.now()
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        row = session.get(HumanTask, task_id)
        if row is None:
            raise Conflict("Công việc này đã được xử lý, không còn chờ nữa.", code="task_not_ready")
        if row.role == "citizen" or not actor.has_role(row.role) or actor.agency_id != dossier.agency_id:
            raise Forbidden("Bạn không có vai trò xử lý công việc này tại cơ quan của hồ sơ.")
        if release:
            if row.assignee_id != actor.id:
                raise Conflict("Bạn không giữ công việc này.", code="not_assignee")
            row.assignee_id = None
        else:
            if row.assignee_id not in (None, actor.id):
                raise Conflict("Công việc này đã được người khác nhận.", code="already_claimed")
            row.assignee_id = actor.id
        append_event(session, dossier, at=now, actor=actor.username, role=row.role,
                     kind="released" if release else "claimed", task=row.name, task_id=row.id, data={})
        session.flush()
        session.refresh(row)
        return row

