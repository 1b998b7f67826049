"""Administrator pages: agencies (code, name, level, parent, seal image and credential) and users (roles in one
agency, active, password reset, a signer's signature image and credential)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app import clock
from app.adapters.models import LEVELS
from app.domain.procedures import LEVEL_NAMES, ROLE_NAMES
from app.errors import AppError, BadRequest
from app.services.administration import agencies as admin_service
from app.services.queries import administration as admin_pages
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.session import current_user, login_required
from app.web.staff.registers import dmy_date
from app.web.staff.setup import apply_upload, with_seal_image, with_signature_image

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")
bp.add_app_template_filter(dmy_date, "dmy_date")

menu.register("Cơ quan, đơn vị", "admin_pages.agencies", ("admin",), order=80)
menu.register("Người dùng", "admin_pages.users", ("admin",), order=81)

ROLE_CHOICES = [(r, ROLE_NAMES[r]) for r in admin_service.ASSIGNABLE_ROLES]
NO_STORE = {"Cache-Control": "no-store"}
LEVEL_CHOICES = [(level, LEVEL_NAMES[level]) for level in LEVELS]


def _agency_choices() -> list[dict]:
    return admin_pages.agency_list(system())


def _agency_form() -> dict:
    return {k: request.form.get(k, "").strip() for k in ("code", "name", "level", "parent", "slug")}


def _user_form(new: bool) -> dict:
    body = {k: request.form.get(k, "") for k in ("full_name", "title", "email", "phone", "agency")}
    body["roles"] = request.form.getlist("roles")
    if new:
        body["username"] = request.form.get("username", "")
        if request.form.get("password"):
            body["password"] = request.form["password"]
    else:
        body["active"] = request.form.get("active") == "1"
    return body


def _page(template: str, status: int = 200, error: AppError | None = None, **context):
    fields = error.details.get("fields", {}) if error else {}
    return render_template(template, error=error.message if error else None, field_errors=fields,
                           role_choices=ROLE_CHOICES, level_choices=LEVEL_CHOICES, **context), status


# -- agencies ------------------------------------------------------------------------------------------------
@bp.get("/agencies")
@login_required("admin")
def agencies():
    return _page("admin/agencies.html", agencies=_agency_choices())[0]


@bp.route("/agencies/new", methods=["GET", "POST"])
@login_required("admin")
def new_agency():
    if request.method == "GET":
        return _page("admin/agency_form.html", values={"level": "commune"}, agency=None,
                     agencies=_agency_choices())[0]
    values = _agency_form()
    body = {k: v for k, v in values.items() if v or k in ("code", "name", "level")}
    try:
        view = admin_service.create_agency(system(), current_user(), body)
    except AppError as exc:
        return _page("admin/agency_form.html", exc.status, exc, values=values, agency=None,
                     agencies=_agency_choices())
    flash(f"Đã thêm cơ quan {view['name']}.", "success")
    return redirect(url_for("admin_pages.agency", ref=view["code"]))


@bp.route("/agencies/<ref>", methods=["GET", "POST"])
@login_required("admin")
def agency(ref):
    user = current_user()
    action = request.form.get("action") if request.method == "POST" else None
    error, values = None, None
    if action == "save":
        values = _agency_form()
        body = {**values, "parent": values["parent"] or None}
        if not body["slug"]:
            body.pop("slug")
        try:
            view = admin_service.update_agency(system(), user, ref, body)
        except AppError as exc:
            error = exc
        else:
            flash("Đã cập nhật cơ quan.", "success")
            return redirect(url_for("admin_pages.agency", ref=view["code"]))
    elif action == "delete":
        try:
            deleted = admin_service.delete_agency(system(), user, ref)
        except AppError as exc:
            error = exc
        else:
            flash(f"Đã xóa cơ quan {deleted['name']}.", "success")
            return redirect(url_for("admin_pages.agencies"))
    elif request.method == "POST":
        error, message = apply_upload(user, agency=ref)
        if error is None:
            flash(message, "success")
            return redirect(url_for("admin_pages.agency", ref=ref))
    page = admin_pages.agency_page(system(), ref, clock.now())
    view, setup = page["agency"], with_seal_image(page["setup"])
    setup.pop("agency")  # the page shows the agency's view
    values = values or {**view, "parent": view["parent"] or ""}
    return _page("admin/agency_form.html", error.status if error else 200, error, values=values, agency=view,
                 agencies=page["agencies"], action=action, **setup)


# -- users ---------------------------------------------------------------------------------------------------
@bp.get("/users")
@login_required("admin")
def users():
    filters = {k: request.args.get(k, "") for k in ("agency", "role", "q")}
    listed = admin_pages.users_page(system(), agency=filters["agency"] or None, role=filters["role"] or None,
                                    q=filters["q"] or None)
    return _page("admin/users.html", users=listed["users"], filters=filters, agencies=listed["agencies"],
                 all_roles=[(r, ROLE_NAMES[r]) for r in ROLE_NAMES])[0]


@bp.route("/users/new", methods=["GET", "POST"])
@login_required("admin")
def new_user():
    if request.method == "GET":
        return _page("admin/user_form.html", values={"roles": []}, user=None, agencies=_agency_choices())[0]
    body = _user_form(new=True)
    try:
        view, generated = admin_service.create_staff_user(system(), current_user(), body)
    except AppError as exc:
        return _page("admin/user_form.html", exc.status, exc, values=body, user=None, agencies=_agency_choices())
    if generated:  # shown once, on this page only (never in a flash cookie)
        return _page("admin/password.html", user=view, password=generated, created=True)[0], 200, NO_STORE
    flash(f"Đã tạo người dùng {view['username']}.", "success")
    return redirect(url_for("admin_pages.user", username=view["username"]))


@bp.route("/users/<username>", methods=["GET", "POST"])
@login_required("admin")
def user(username):
    actor = current_user()
    action = request.form.get("action") if request.method == "POST" else None
    error, values = None, None
    if action == "save":
        values = {**_user_form(new=False), "username": username}
        try:
            view = admin_service.update_user_from_form(system(), actor, username,
                                                       {k: v for k, v in values.items() if k != "username"})
        except AppError as exc:
            error = exc
        else:
            released = view.get("released_tasks") or 0
            flash("Đã cập nhật người dùng." + (f" Đã trả lại {released} công việc người này đang giữ." if released
                                               else ""), "success")
            return redirect(url_for("admin_pages.user", username=username))
    elif action == "password":
        try:
            password, view = admin_service.reset_password_with_view(system(), actor, username)
        except AppError as exc:
            error = exc
        else:
            return _page("admin/password.html", user=view, password=password, created=False)[0], 200, NO_STORE
    elif action in ("image", "credential"):
        error, message = apply_upload(actor, signer=username)
        if error is None:
            flash(message, "success")
            return redirect(url_for("admin_pages.user", username=username))
    elif action is not None:
        error = BadRequest("Thao tác không hợp lệ.", code="unknown_action")
    page = admin_pages.user_page(system(), username, clock.now())
    view = page["user"]
    values = values or {**view, "agency": view["agency"] or ""}
    signer = with_signature_image(page["signer"]) if page["signer"] else None
    return _page("admin/user_form.html", error.status if error else 200, error, values=values, user=view,
                 agencies=page["agencies"], action=action, signer_setup=signer,
                 **({k: signer[k] for k in ("credentials", "active", "gaps")} if signer else {}))
