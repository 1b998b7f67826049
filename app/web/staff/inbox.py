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

from app import clock
from app.adapters.models import STAFF_ROLES, User
from app.domain.access import QUEUE_ROLES, inbox_refusal
from app.domain.task_forms import asks_postal_tracking, form_schema, needs_pin
from app.errors import AppError, Forbidden, NotFound
from app.services.dossiers.staff_work import TaskPost, TaskRefused, claim_from_inbox, submit_task
from app.services.queries.badges import TASKS, queue_badge
from app.services.queries.inbox import DUE_FILTERS, MAX_QUERY_LENGTH, QUEUES, InboxFilter, inbox_page
from app.services.queries.task_page import TaskDone, TaskPage, signing_preview, task_page
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.format import FILTERS
from app.web.common.session import current_user, login_required
from app.web.public.pages import safe_next
from app.web.staff.dossiers import page_arg
from app.web.staff.task_forms import build_fields, field_errors

bp = Blueprint("staff", __name__, url_prefix="/staff")
for _name, _fn in FILTERS.items():
    bp.add_app_template_filter(_fn, _name)

# queue -> (menu label, menu order); the roles that work each queue are app.domain.access.QUEUE_ROLES
QUEUE_MENUS = {
    "intake": ("Tiếp nhận online", 20),
    "assign": ("Phân công công việc", 30),
    "handle": ("Xử lý hồ sơ", 35),
    "sign": ("Ký duyệt", 40),
    "seal": ("Bản sao chờ đóng dấu", 45),
    "return": ("Trả kết quả", 50),
}
TASK_TITLES = {
    "intake": "Tiếp nhận hồ sơ", "assign": "Phân công người ký", "handle": "Xử lý hồ sơ",
    "review_sign": "Ký duyệt bản sao", "rework": "Xử lý hồ sơ bị trả lại", "seal": "Đóng dấu, cấp số chứng thực",
    "return": "Trả kết quả", "supplement": "Bổ sung hồ sơ",
}
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


# -- inbox -----------------------------------------------------------------------------------------------
def _inbox_filter(queue: str | None) -> tuple[InboxFilter, dict]:
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
    refusal = inbox_refusal(user, queue)
    if refusal:
        abort(403, description=refusal)
    flt, form = _inbox_filter(queue)
    now = clock.now()
    result = inbox_page(system(), user, flt, now, _page())
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
    back = safe_next(request.form.get("next")) or url_for("staff.inbox")
    try:
        row = claim_from_inbox(system(), current_user(), task_id, release=release)
    except AppError as exc:
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
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
def _placement() -> str:
    placement = request.values.get("placement") or "new_page"
    return placement if placement in ("new_page", "last_page") else "new_page"


def _return_fields(fields: list, delivery: str) -> list:
    """The postal item number is asked only for a dossier returned by post, and is required there."""
    if not asks_postal_tracking("return", delivery):
        return [f for f in fields if f.name != "postal_tracking"]
    for f in fields:
        if f.name == "postal_tracking":
            f.required = True
            f.description = "Số hiệu in trên phiếu gửi của bưu điện (ví dụ EB123456789VN); người yêu cầu dùng để tra cứu."
    return fields


def _render_task(page: TaskPage, user: User, values: dict, errors: dict, message: str | None = None,
                 status: int = 200):
    row, dossier, registers = page.task, page.dossier, page.registers
    now = clock.now()
    choices = {}
    if row.name == "assign":
        choices["signer"] = [("", "— Chọn người ký —")] + page.signers
    if row.name == "seal":
        choices["register"] = [(str(r["id"]), f"{r['name']} – số tiếp theo {r['next_number']}/ĐT")
                               for r in registers]
        if "register" not in values and registers:
            values = {**values, "register": registers[0]["id"]}
    if row.name == "review_sign" and "placement" not in values:
        values = {**values, "placement": _placement()}
    fields = [] if row.name == "supplement" else build_fields(row.name, values, errors, choices)
    if row.name == "return":
        fields = _return_fields(fields, dossier.delivery)
    shown, shown_pages = page.shown, page.shown_pages
    on_copy = shown is not None and shown.kind in ("signed_copy", "certified_copy")
    viewer_page = page_arg(shown_pages, default=shown_pages if on_copy else 1)
    chosen_register = next((r for r in registers if str(r["id"]) == str(values.get("register"))), None)
    context = dict(
        task=row, d=dossier, applicant=page.applicant, fields=fields, errors=errors, message=message,
        needs_pin=needs_pin(row.name), documents=page.documents, shown=shown, shown_pages=shown_pages,
        viewer_page=viewer_page, registers=registers, chosen_register=chosen_register, returned=page.returned,
        placement=values.get("placement") or "new_page", now=now,
        back=safe_next(request.values.get("back")) or "", can_preview=row.name == "review_sign",
        signature_missing=row.name == "review_sign" and not user.signature_image_sha256,
        overdue=bool(row.due_at and row.due_at < now), is_holder=row.assignee_id == user.id,
    )
    return render_template("staff/task.html", **context), status


def _to_dossier(code: str, message: str, category: str):
    flash(message, category)
    return redirect(url_for("staff_dossiers.dossier", code=code))


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required(*STAFF_ROLES)
def task(task_id):
    user = current_user()
    try:
        if request.method == "GET":
            page = task_page(system(), user, task_id, clock.now())
        else:
            worked = submit_task(system(), user, task_id, _task_post())
    except TaskDone as done:
        return _to_dossier(done.dossier_code, "Công việc này đã được xử lý, không còn chờ nữa.", "info")
    except TaskRefused as refused:
        return _refused(refused, user, task_id)
    except (NotFound, Forbidden) as exc:
        abort(exc.status, description=exc.message)
    if request.method == "GET":
        return _render_task(page, user, {}, {})
    code, name = worked.dossier_code, worked.task_name
    if name == "supplement":
        return _to_dossier(code, DONE_MESSAGES["supplement"].format(code=code), "success")
    if name == "intake" and worked.decision == "accept":  # the dossier page says so, with the receipt to print
        return redirect(url_for("staff_dossiers.dossier", code=code, received=1))
    template = DONE_MESSAGES.get(name, "Đã hoàn thành công việc của hồ sơ {code}.")
    if isinstance(template, dict):
        template = template.get(worked.decision, "Đã hoàn thành công việc của hồ sơ {code}.")
    flash(template.format(code=code), "success")
    return redirect(safe_next(request.form.get("back")) or url_for("staff.inbox"))


def _task_post() -> TaskPost:
    upload = request.files.get("original")
    return TaskPost(fields=request.form, pin=request.form.get("pin") or None,
                    scan=upload.read() if upload is not None and upload.filename else None,
                    filename=upload.filename if upload is not None and upload.filename else None)


def _refused(refused: TaskRefused, user: User, task_id: str):
    """Errors the user can fix show the form again with the message; others go to the error page."""
    if refused.status in (403, 404):
        raise refused
    if refused.status == 409:
        return _to_dossier(refused.dossier_code, refused.message, "error")
    try:
        page = task_page(system(), user, task_id, clock.now())
    except AppError:  # the task is gone meanwhile
        return _to_dossier(refused.dossier_code, refused.message, "error")
    errors = field_errors(refused)
    if refused.code in FILE_ERRORS:
        errors["original"] = refused.message
    return _render_task(page, user, refused.values, errors, _summary(refused, refused.task_name), refused.status)


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


@bp.get("/tasks/<task_id>/preview.png")
@login_required("signer")
def preview(task_id):
    """The attestation page as it will look once signed (before the number is given at the seal step)."""
    try:
        shown = signing_preview(system(), current_user(), task_id, _placement(), clock.now())
    except (NotFound, Forbidden) as exc:
        abort(exc.status, description=exc.message)
    return Response(shown.png, mimetype="image/png", headers={"Cache-Control": "private, no-store",
                                                              "X-Page-Number": str(shown.page_number)})


# -- menu --------------------------------------------------------------------------------------------------
menu.register("Công việc của tôi", "staff.inbox", STAFF_ROLES, order=10, badge=TASKS)
for _queue, (_label, _order) in QUEUE_MENUS.items():
    menu.register(_label, f"staff.queue_{_queue}", QUEUE_ROLES[_queue], order=_order, badge=queue_badge(_queue))
