"""Pages of the certification registers (Quản lý sổ chứng thực): list, create, edit, view, delete, export."""
from __future__ import annotations

from datetime import date, datetime

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from app.domain.access import keeps_registers_of, oversees_every_agency
from app.domain.calendar import VN_TZ
from app.errors import AppError
from app.services import registers as register_service
from app.services.registers import today_vn
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.session import current_user, login_required

bp = Blueprint("registers_pages", __name__, url_prefix="/registers")
READERS = ("clerk", "leader", "one_stop", "signer", "justice_officer", "auditor", "admin")
PAGE_SIZE = 100


def dmy_date(value) -> str:
    """ISO date (or date/datetime) as dd/mm/yyyy, Vietnam time for moments."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if value.tzinfo else value.strftime("%d/%m/%Y")
    return value.strftime("%d/%m/%Y")


bp.add_app_template_filter(dmy_date, "dmy_date")
menu.register("Quản lý sổ chứng thực", "registers_pages.index", ("clerk", "auditor"), order=60)


def _form_values() -> dict:
    body = {k: request.form.get(k, "") for k in ("name", "start_number", "opened_on", "closes_on")}
    if "status" in request.form:
        body["status"] = request.form["status"]
    return body


def _render_form(template: str, status: int = 200, **context):
    error = context.pop("error", None)
    fields = error.details.get("fields", {}) if isinstance(error, AppError) else {}
    return render_template(template, error=error.message if error else None, field_errors=fields,
                           **context), status


@bp.get("/")
@login_required(*READERS)
def index():
    user = current_user()
    views = register_service.register_list(system(), user, request.args.get("agency"))
    return render_template("registers/index.html", registers=views, may_manage=user.has_role("clerk"),
                           show_agency=oversees_every_agency(user))


@bp.route("/new", methods=["GET", "POST"])
@login_required("clerk")
def create():
    if request.method == "GET":
        today = today_vn()
        values = {"name": f"01/{today.year}", "start_number": "1", "opened_on": today.isoformat(),
                  "closes_on": today.replace(month=12, day=31).isoformat()}
        return _render_form("registers/form.html", values=values, register=None)[0]
    values = _form_values()
    try:
        register = register_service.create_register(system(), current_user(), values)
    except AppError as exc:
        return _render_form("registers/form.html", exc.status, values=values, register=None, error=exc)
    flash(f"Đã tạo sổ chứng thực {register.full_name}.", "success")
    return redirect(url_for("registers_pages.view", register_id=register.id))


@bp.get("/<int:register_id>")
@login_required(*READERS)
def view(register_id):
    user = current_user()
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    data = register_service.register_detail(system(), user, register_id)
    entries = data["entries"]
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(page, pages)
    shown = entries[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return render_template("registers/view.html", register=data, entries=shown, page=page, pages=pages,
                           may_manage=keeps_registers_of(user, data["agency"]))


@bp.route("/<int:register_id>/edit", methods=["GET", "POST"])
@login_required("clerk")
def edit(register_id):
    user = current_user()
    if request.method == "GET":
        data = register_service.register_detail(system(), user, register_id)
        values = {"name": data["name"], "start_number": str(data["start_number"]), "opened_on": data["opened_on"],
                  "closes_on": data["closes_on"], "status": data["status"]}
        return _render_form("registers/form.html", values=values, register=data)[0]
    values = _form_values()
    try:
        register_service.edit_register(system(), user, register_id, values)
    except AppError as exc:
        if exc.status == 404:
            raise
        data = register_service.register_detail(system(), user, register_id)
        return _render_form("registers/form.html", exc.status, values={**data, **values}, register=data,
                            error=exc)
    flash("Đã cập nhật sổ chứng thực.", "success")
    return redirect(url_for("registers_pages.view", register_id=register_id))


@bp.post("/<int:register_id>/delete")
@login_required("clerk")
def delete(register_id):
    try:
        register_service.delete_register(system(), current_user(), register_id)
    except AppError as exc:
        flash(exc.message, "error")
        if exc.status == 409:
            return redirect(url_for("registers_pages.view", register_id=register_id))
        raise
    flash("Đã xóa sổ chứng thực.", "success")
    return redirect(url_for("registers_pages.index"))


@bp.get("/<int:register_id>/export.xlsx")
@login_required(*READERS)
def export(register_id):
    data, filename = register_service.register_export(system(), current_user(), register_id)
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
