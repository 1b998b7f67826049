"""Staff work pages: the inbox and its queues (the menus staff know from the provincial system), claiming and
releasing tasks, and the task page (dossier summary, the scan shown inline, the task's form and actions).
Every action goes through the service layer, exactly as the JSON API does."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from app import clock
from app.errors import AppError
from app.adapters.models import STAFF_ROLES, Event, HumanTask, User, UserRole
from app.services.dossiers import tasks as dossier_service
from app.domain.access import is_staff_of, may_work
from app.domain.task_forms import form_schema
from app.services.queries.inbox import (
    DUE_FILTERS,
    MAX_QUERY_LENGTH,
    QUEUES,
    InboxFilter,
    badge,
    count_tasks,
    list_tasks,
    queue_filter,
    working_roles,
)
from app.adapters.preview import attestation_preview
from app.web.common import menu
from app.web.common.auth import system
from app.web.public.pages import safe_next
from app.web.common.session import current_user, login_required
from app.services.queries.dossier_documents import documents_of, shown_document
from app.web.staff.dossiers import page_arg
from app.web.common.format import FILTERS
from app.web.staff.task_forms import build_fields, field_errors, form_data
from app.web.staff.reads import init_app as _init_reads
from app.web.staff.reads import read_session

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.record_once(lambda state: _init_reads(state.app))
for _name, _fn in FILTERS.items():
    bp.add_app_template_filter(_fn, _name)

# queue -> (menu label, roles that work it, menu order)
QUEUE_MENUS = {
    "intake": ("Tiếp nhận online", ("one_stop",), 20),
    "assign": ("Phân công công việc", ("leader",), 30),
    "handle": ("Xử lý hồ sơ", ("justice_officer",), 35),
    "sign": ("Ký duyệt", ("signer",), 40),
    "seal": ("Bản sao chờ đóng dấu", ("clerk",), 45),
    "return": ("Trả kết quả", ("one_stop",), 50),
}
TASK_TITLES = {
    "intake": "Tiếp nhận hồ sơ", "assign": "Phân công người ký", "handle": "Xử lý hồ sơ",
    "review_sign": "Ký duyệt bản sao", "rework": "Xử lý hồ sơ bị trả lại", "seal": "Đóng dấu, cấp số chứng thực",
    "return": "Trả kết quả", "supplement": "Bổ sung hồ sơ",
}
PIN_TASKS = ("review_sign", "seal")
DONE_MESSAGES = {
    "intake": {"accept": "Đã tiếp nhận hồ sơ {code}.", "supplement": "Đã yêu cầu bổ sung hồ sơ {code}.",
               "refuse": "Đã từ chối tiếp nhận hồ sơ {code}."},
    "assign": "Đã phân công người ký cho hồ sơ {code}.",
    "handle": {"submit": "Đã trình ký hồ sơ {code}.", "cancel": "Đã hủy hồ sơ {code}."},
    "review_sign": {"approve": "Đã ký số bản sao của hồ sơ {code}; hồ sơ chuyển văn thư đóng dấu.",
                    "reject": "Đã trả lại hồ sơ {code}."},
    "rework": {"resubmit": "Đã trình ký lại hồ sơ {code}.", "cancel": "Đã hủy hồ sơ {code}."},
    "seal": "Đã đóng dấu và cấp số chứng thực cho hồ sơ {code}.",
    "return": "Đã trả kết quả hồ sơ {code}.",
    "supplement": "Đã nhận bản bổ sung của hồ sơ {code}; hồ sơ quay lại bước tiếp nhận.",
}


def _queue_count(queue: str):
    def count(user: User):
        with read_session() as session:
            return badge(count_tasks(session, user, queue_filter(queue), clock.now()))
    return count


def _all_count(user: User):
    with read_session() as session:
        return badge(count_tasks(session, user, InboxFilter(), clock.now()))


# -- inbox -----------------------------------------------------------------------------------------------
def _inbox_filter(queue: str | None, user: User) -> tuple[InboxFilter, dict]:
    """The filter from the query string; unknown values are ignored (shown as 'all')."""
    names = QUEUES.get(queue, ()) if queue else ()
    task = request.args.get("task") or ""
    allowed = names or tuple(TASK_TITLES)
    if task in allowed:
        names = (task,)
    else:
        task = ""
    due = request.args.get("due") or ""
    if due not in DUE_FILTERS:
        due = ""
    q = (request.args.get("q") or "").strip()[:MAX_QUERY_LENGTH]
    flt = InboxFilter(names=names, due=due or None, q=q or None)
    return flt, {"task": task, "due": due, "q": q, "task_choices": [(n, TASK_TITLES[n]) for n in allowed
                                                                   if n in TASK_TITLES and n != "supplement"]}


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        return 1


@login_required(*STAFF_ROLES)
def inbox(queue: str | None = None):
    user = current_user()
    if queue is not None and not any(user.has_role(r) for r in QUEUE_MENUS[queue][1]):
        abort(403, description="Chức năng này dành cho vai trò khác.")
    if not working_roles(user):
        abort(403, description="Tài khoản chưa thuộc cơ quan nào nên không có công việc.")
    flt, form = _inbox_filter(queue, user)
    now = clock.now()
    with read_session() as session:
        result = list_tasks(session, user, flt, now, _page())
        rows = [{"id": t.id, "name": t.name, "title": t.title, "code": t.dossier.code,
                 "applicant": t.dossier.applicant_name, "document_type": t.dossier.document_type,
                 "created_at": t.created_at, "due_at": t.due_at, "overdue": bool(t.due_at and t.due_at < now),
                 "assignee": t.assignee.full_name if t.assignee else None, "mine": t.assignee_id == user.id}
                for t in result.tasks]
    title = QUEUE_MENUS[queue][0] if queue else "Công việc của tôi"
    endpoint = f"staff.queue_{queue}" if queue else "staff.inbox"
    return render_template("staff/inbox.html", title=title, rows=rows, result=result, form=form,
                           endpoint=endpoint, here=request.full_path.rstrip("?"))


bp.add_url_rule("/", "inbox", inbox)
for _queue in QUEUES:
    bp.add_url_rule(f"/queue/{_queue}", f"queue_{_queue}", inbox, defaults={"queue": _queue})


# -- claim / release ---------------------------------------------------------------------------------------
def _claim(task_id: str, release: bool):
    user = current_user()
    back = safe_next(request.form.get("next")) or url_for("staff.inbox")
    with system().db.session() as session:
        row = session.get(HumanTask, task_id)
        if row is None or not is_staff_of(user, row.agency_id):
            abort(404, description="Không có công việc này (hoặc đã được xử lý).")
    try:
        row = dossier_service.claim_task(system(), user, task_id, release=release)
    except AppError as exc:
        if exc.status == 404:
            abort(404, description=exc.message)
        if exc.status == 403:
            abort(403, description=exc.message)
        flash(exc.message, "error")
        return redirect(back)
    code = row.dossier.code
    flash(f"Đã trả lại việc của hồ sơ {code} cho nhóm." if release else f"Bạn đã nhận việc của hồ sơ {code}.",
          "success")
    return redirect(back)


@bp.post("/tasks/<task_id>/claim")
@login_required(*STAFF_ROLES)
def claim(task_id):
    return _claim(task_id, release=False)


@bp.post("/tasks/<task_id>/release")
@login_required(*STAFF_ROLES)
def release(task_id):
    return _claim(task_id, release=True)


# -- the task page -----------------------------------------------------------------------------------------
def _workable_task(session, task_id: str, user: User) -> HumanTask:
    """The READY task if `user` may work it; otherwise 404 (unknown, another agency) or 403 (wrong role,
    held by someone else). A task already done sends the user to its dossier."""
    row = session.get(HumanTask, task_id)
    if row is None:
        done = session.scalar(select(Event).where(Event.task_id == task_id, Event.kind == "task_completed"))
        if done is not None and is_staff_of(user, done.dossier.agency_id):
            raise _AlreadyDone(done.dossier.code)
        abort(404, description="Không có công việc này.")
    if not is_staff_of(user, row.agency_id):
        abort(404, description="Không có công việc này.")
    reason = may_work(user, row.dossier, row)
    if reason:
        abort(403, description=reason)
    if row.role == "citizen" and row.dossier.applicant_id is not None:
        abort(403, description="Người yêu cầu có tài khoản tự bổ sung hồ sơ trên cổng dịch vụ công.")
    return row


class _AlreadyDone(Exception):
    def __init__(self, code: str):
        self.code = code


def _signer_choices(session, agency_id: int) -> list[tuple[str, str]]:
    users = session.scalars(select(User).join(UserRole).where(
        User.agency_id == agency_id, User.active, UserRole.role == "signer").order_by(User.full_name)).all()
    return [(u.username, f"{u.full_name} – {u.title}" if u.title else u.full_name) for u in users]


def _register_choices(session, agency_id: int) -> list[dict]:
    from app.services.registers import today_vn, usable_registers

    return [{"id": r.id, "name": r.full_name, "next_number": r.next_number}
            for r in usable_registers(session, agency_id, today_vn(clock.now()))]


def _return_reason(session, dossier_id: int) -> dict | None:
    """The signer's latest return (reason, who, when) for the rework page."""
    event = session.scalars(select(Event).where(Event.dossier_id == dossier_id, Event.kind == "task_completed",
                                                Event.task == "review_sign").order_by(Event.seq.desc())).first()
    if event is None or (event.data or {}).get("decision") != "reject":
        return None
    signer = session.scalar(select(User).where(User.username == event.actor))
    return {"reason": event.data.get("reason"), "by": signer.full_name if signer else event.actor, "at": event.at}


def _placement() -> str:
    placement = request.values.get("placement") or "new_page"
    return placement if placement in ("new_page", "last_page") else "new_page"


def _return_fields(fields: list, delivery: str) -> list:
    """The postal item number is asked only for a dossier returned by post, and is required there."""
    if delivery != "post":
        return [f for f in fields if f.name != "postal_tracking"]
    for f in fields:
        if f.name == "postal_tracking":
            f.required = True
            f.description = "Số hiệu in trên phiếu gửi của bưu điện (ví dụ EB123456789VN); người yêu cầu dùng để tra cứu."
    return fields


def _render_task(session, user: User, row: HumanTask, values: dict, errors: dict, message: str | None = None,
                 status: int = 200):
    dossier = row.dossier
    choices, registers = {}, []
    if row.name == "assign":
        choices["signer"] = [("", "— Chọn người ký —")] + _signer_choices(session, dossier.agency_id)
    if row.name == "seal":
        registers = _register_choices(session, dossier.agency_id)
        choices["register"] = [(str(r["id"]), f"{r['name']} – số tiếp theo {r['next_number']}/ĐT")
                               for r in registers]
        if "register" not in values and registers:
            values = {**values, "register": registers[0]["id"]}
    if row.name == "review_sign" and "placement" not in values:
        values = {**values, "placement": _placement()}
    fields = [] if row.name == "supplement" else build_fields(row.name, values, errors, choices)
    if row.name == "return":
        fields = _return_fields(fields, dossier.delivery)
    dossier_documents = documents_of(session, dossier)
    shown, shown_pages = shown_document(system().files, dossier, dossier_documents, row.name)
    on_copy = shown is not None and shown.kind in ("signed_copy", "certified_copy")
    viewer_page = page_arg(shown_pages, default=shown_pages if on_copy else 1)
    chosen_register = next((r for r in registers if str(r["id"]) == str(values.get("register"))), None)
    context = dict(
        task=row, d=dossier, applicant=dossier.applicant, fields=fields, errors=errors, message=message,
        needs_pin=row.name in PIN_TASKS, documents=dossier_documents, shown=shown,
        shown_pages=shown_pages,
        viewer_page=viewer_page, registers=registers, chosen_register=chosen_register,
        returned=_return_reason(session, dossier.id) if row.name == "rework" else None,
        placement=values.get("placement") or "new_page", now=clock.now(),
        back=safe_next(request.values.get("back")) or "", can_preview=row.name == "review_sign",
        signature_missing=row.name == "review_sign" and not user.signature_image_sha256,
        overdue=bool(row.due_at and row.due_at < clock.now()), is_holder=row.assignee_id == user.id,
    )
    return render_template("staff/task.html", **context), status


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required(*STAFF_ROLES)
def task(task_id):
    user = current_user()
    with system().db.session() as session:
        try:
            row = _workable_task(session, task_id, user)
        except _AlreadyDone as done:
            flash("Công việc này đã được xử lý, không còn chờ nữa.", "info")
            return redirect(url_for("staff_dossiers.dossier", code=done.code))
        if request.method == "GET":
            return _render_task(session, user, row, {}, {})
        name, code = row.name, row.dossier.code
    if name == "supplement":
        return _post_supplement(user, task_id, code)
    data = form_data(name, request.form)
    pin = request.form.get("pin") or None
    corrected, filename = None, "corrected.pdf"
    upload = request.files.get("original") if name == "rework" else None
    if upload is not None and upload.filename:
        corrected, filename = upload.read(), upload.filename
    try:
        dossier = dossier_service.complete_task(system(), user, task_id, data, pin if name in PIN_TASKS else None,
                                                corrected_scan=corrected, filename=filename)
    except AppError as exc:
        errors = field_errors(exc)
        if exc.code in FILE_ERRORS:
            errors["original"] = exc.message
        return _form_error(exc, user, task_id, data, code, errors)
    decision = data.get("decision")
    template = DONE_MESSAGES.get(name, "Đã hoàn thành công việc của hồ sơ {code}.")
    if isinstance(template, dict):
        template = template.get(decision, "Đã hoàn thành công việc của hồ sơ {code}.")
    if name == "intake" and decision == "accept":  # the dossier page says so, with the receipt to print
        return redirect(url_for("staff_dossiers.dossier", code=dossier.code, received=1))
    flash(template.format(code=dossier.code), "success")
    return redirect(safe_next(request.form.get("back")) or url_for("staff.inbox"))


def _form_error(exc: AppError, user: User, task_id: str, values: dict, code: str, errors: dict | None = None):
    """Errors the user can fix re-render the form with the message; others go to the error page."""
    if exc.status in (403, 404):
        raise exc
    with system().db.session() as session:
        row = session.get(HumanTask, task_id)
        if row is None or exc.status == 409:
            flash(exc.message, "error")
            return redirect(url_for("staff_dossiers.dossier", code=code))
        return _render_task(session, user, row, values, field_errors(exc) if errors is None else errors,
                            _summary(exc, row.name), exc.status)


def _summary(exc: AppError, task: str) -> str:
    """The message above the form: field names as the form shows them, not as the schema spells them."""
    fields = (exc.details or {}).get("fields") or {}
    if exc.code != "invalid_form" or not fields:
        return exc.message
    try:
        props = form_schema(task).get("properties", {})
    except KeyError:
        return exc.message
    titles = [props.get(name, {}).get("title", name) for name in fields]
    return "Biểu mẫu chưa hợp lệ, vui lòng kiểm tra: " + ", ".join(titles) + "."


FILE_ERRORS = ("missing_file", "not_pdf", "pdf_too_large", "empty_pdf", "truncated_pdf", "encrypted_pdf", "no_pages")


def _post_supplement(user: User, task_id: str, code: str):
    """A walk-in applicant without an account brings the missing pages to the counter."""
    upload = request.files.get("original")
    note = (request.form.get("note") or "").strip() or None
    try:
        dossier_service.supplement(system(), user, code, upload.read() if upload and upload.filename else None,
                                   note, filename=(upload.filename if upload else "") or "supplement.pdf")
    except AppError as exc:
        errors = field_errors(exc)
        if exc.code in FILE_ERRORS:
            errors["original"] = exc.message
        return _form_error(exc, user, task_id, {"note": note}, code, errors)
    flash(DONE_MESSAGES["supplement"].format(code=code), "success")
    return redirect(url_for("staff_dossiers.dossier", code=code))


@bp.get("/tasks/<task_id>/preview.png")
@login_required("signer")
def preview(task_id):
    """The attestation page as it will look once signed (before the number is given at the seal step)."""
    user = current_user()
    with system().db.session() as session:
        try:
            row = _workable_task(session, task_id, user)
        except _AlreadyDone:
            abort(404, description="Công việc đã được xử lý.")
        if row.name != "review_sign":
            abort(404, description="Chỉ bước ký duyệt có bản xem trước lời chứng.")
        dossier = row.dossier
        registers = _register_choices(session, dossier.agency_id)
        register_name = registers[0]["name"].removesuffix("-SCTĐT/BS") if registers else None
        args = dict(original_sha256=dossier.original_sha256, placement=_placement(), full_name=user.full_name,
                    title=user.title or "", signature_sha256=user.signature_image_sha256,
                    seal_sha256=dossier.agency.seal_image_sha256, register_name=register_name)
    settings = system().settings
    shown = attestation_preview(system().files, settings.instance_path, moment=clock.now(),
                                max_bytes=settings.max_upload_bytes, **args)
    return Response(shown.png, mimetype="image/png", headers={"Cache-Control": "private, no-store",
                                                              "X-Page-Number": str(shown.page_number)})


# -- menu --------------------------------------------------------------------------------------------------
menu.register("Công việc của tôi", "staff.inbox", STAFF_ROLES, count=_all_count, order=10)
for _queue, (_label, _roles, _order) in QUEUE_MENUS.items():
    menu.register(_label, f"staff.queue_{_queue}", _roles, count=_queue_count(_queue), order=_order)
