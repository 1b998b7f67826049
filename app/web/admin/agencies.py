"""Administrator pages: agencies (code, name, level, parent, seal image and credential) and users (roles in one
agency, active, password reset, a signer's signature image and credential)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.errors import AppError, BadRequest
from app.adapters.models import LEVELS
from app.services.administration import agencies as admin_service
from app.domain.procedures import LEVEL_NAMES, ROLE_NAMES
from app.web.common import menu
from app.web.common.auth import system
from app.web.staff.registers import dmy_date
from app.web.common.session import current_user, login_required
from app.web.staff.setup import agency_context, apply_upload, signer_context

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")
bp.add_app_template_filter(dmy_date, "dmy_date")

menu.register("Cơ quan, đơn vị", "admin_pages.agencies", ("admin",), order=80)
menu.register("Người dùng", "admin_pages.users", ("admin",), order=81)

ROLE_CHOICES = [(r, ROLE_NAMES[r]) for r in admin_service.ASSIGNABLE_ROLES]
NO_STORE = {"Cache-Control": "no-store"}
LEVEL_CHOICES = [(level, LEVEL_NAMES[level]) for level in LEVELS]


def _agency_choices() -> list[dict]:
    with system().db.session() as session:
        return [admin_service.agency_view(a) for a in admin_service.list_agencies(session)]


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
    context = agency_context(ref)
    context.pop("agency")  # the page shows the agency's view below
    with system().db.session() as session:
        view = admin_service.agency_view(admin_service.find_agency(session, ref))
    values = {**view, "parent": view["parent"] or ""}
    if request.method == "POST":
        action = request.form.get("action")
        error = None
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
                admin_service.delete_agency(system(), user, ref)
            except AppError as exc:
                error = exc
            else:
                flash(f"Đã xóa cơ quan {view['name']}.", "success")
                return redirect(url_for("admin_pages.agencies"))
        else:
            error, message = apply_upload(user, agency=view["code"])
            if error is None:
                flash(message, "success")
                return redirect(url_for("admin_pages.agency", ref=view["code"]))
            context = agency_context(ref)
            context.pop("agency")
        return _page("admin/agency_form.html", error.status, error, values=values, agency=view,
                     agencies=_agency_choices(), action=action, **context)
    return _page("admin/agency_form.html", values=values, agency=view, agencies=_agency_choices(), action=None,
                 **context)[0]


# -- users ---------------------------------------------------------------------------------------------------
@bp.get("/users")
@login_required("admin")
def users():
    filters = {k: request.args.get(k, "") for k in ("agency", "role", "q")}
    with system().db.session() as session:
        rows = admin_service.list_users(session, agency=filters["agency"] or None, role=filters["role"] or None,
                                        q=filters["q"] or None)
        views = [admin_service.user_view(u) for u in rows]
    return _page("admin/users.html", users=views, filters=filters, agencies=_agency_choices(),
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
    with system().db.session() as session:
        view = admin_service.user_view(admin_service.find_user(session, username))
    values = {**view, "agency": view["agency"] or ""}
    action = request.form.get("action") if request.method == "POST" else None
    error = None
    if action == "save":
        values = {**_user_form(new=False), "username": username}
        body = {k: v for k, v in values.items() if k != "username"}
        if "citizen" in view["roles"]:
            body = {"active": body["active"]}
        try:
            view = admin_service.update_staff_user(system(), actor, username, body)
        except AppError as exc:
            error = exc
        else:
            released = view.get("released_tasks") or 0
            flash("Đã cập nhật người dùng." + (f" Đã trả lại {released} công việc người này đang giữ." if released
                                               else ""), "success")
            return redirect(url_for("admin_pages.user", username=username))
    elif action == "password":
        try:
            password = admin_service.reset_password(system(), actor, username)
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
    signer = signer_context(username) if "signer" in view["roles"] else None
    return _page("admin/user_form.html", error.status if error else 200, error, values=values, user=view,
                 agencies=_agency_choices(), action=action, signer_setup=signer,
                 **({k: signer[k] for k in ("credentials", "active", "gaps")} if signer else {}))
