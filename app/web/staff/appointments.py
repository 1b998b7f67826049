"""Staff pages for appointments (*Lịch hẹn chờ duyệt*): the agency's list, turning an appointment
into a dossier when the citizen arrives with the original, and moving it with a reason (the citizen is told)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, request, url_for

from app import clock
from app.errors import AppError
from app.services import appointments as service
from app.services.queries import appointments as appointment_reads
from app.services.queries.badges import APPOINTMENTS
from app.web.common.auth import system
from app.web.citizen.common import error_page, page
from app.web.common.menu import register as menu_entry
from app.web.common.session import current_user, login_required

bp = Blueprint("appointments_pages", __name__, url_prefix="/lich-hen")
PAGE_SIZE = 50


menu_entry("Lịch hẹn chờ duyệt", "appointments_pages.pending", service.VIEW_ROLES, order=15, badge=APPOINTMENTS)


def _day_arg(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/")
@login_required(*service.VIEW_ROLES)
def pending():
    user = current_user()
    status = request.args.get("status", "active")
    q = request.args.get("q", "").strip()
    day = _day_arg(request.args.get("date"))
    listed = appointment_reads.staff_list(system(), user, day=day, status=status if status != "all" else None,
                                          q=q or None, limit=PAGE_SIZE * 4)
    return page("appointments/pending.html", status=status, q=q, day=day, **listed)


def _appointment(code: str) -> dict:
    return appointment_reads.appointment_detail(system(), current_user(), code)


# -- move ------------------------------------------------------------------------------------------------------
def _move_context(code: str, form: dict) -> dict:
    day = _day_arg(form.get("date"))
    return dict(form=form, day=day, **appointment_reads.move_choices(system(), current_user(), code, day, clock.now()))


@bp.get("/<code>/doi-lich")
@login_required(*service.MOVE_ROLES)
def move_form(code):
    form = {"date": request.args.get("date", ""), "slot": "", "reason": request.args.get("reason", "")}
    return page("appointments/move.html", **_move_context(code, form))


@bp.post("/<code>/doi-lich")
@login_required(*service.MOVE_ROLES)
def move(code):
    form = {name: request.form.get(name, "").strip() for name in ("date", "slot", "reason")}
    try:
        moved = service.move(system(), current_user(), code, form)
    except AppError as exc:
        if exc.status == 404:
            raise
        return error_page("appointments/move.html", exc, **_move_context(code, form))
    flash(f"Đã dời lịch hẹn {code} sang {service.slot_label(moved.slot)} ngày {moved.day:%d/%m/%Y}; "
          "công dân đã được thông báo.", "success")
    return redirect(url_for("appointments_pages.pending"))


# -- turn into a dossier ---------------------------------------------------------------------------------------
CONVERT_FIELDS = ("document_type", "copies", "delivery", "payment", "postal_address", "postal_phone")


def _convert_context(code: str, form: dict) -> dict:
    return dict(appointment=_appointment(code), form=form,
                max_mb=system().settings.max_upload_bytes // (1024 * 1024))


@bp.get("/<code>/tiep-nhan")
@login_required(*service.CONVERT_ROLES)
def convert_form(code):
    appointment = _appointment(code)
    form = {"document_type": appointment["document_type"], "copies": "1", "delivery": "online",
            "payment": "counter"}
    return page("appointments/convert.html", **_convert_context(code, form))


@bp.post("/<code>/tiep-nhan")
@login_required(*service.CONVERT_ROLES)
def convert(code):
    form = {name: request.form.get(name, "").strip() for name in CONVERT_FIELDS}
    form["declaration"] = request.form.get("declaration", "")
    upload = request.files.get("original")
    data = upload.read() if upload and upload.filename else None
    try:
        dossier, _ = service.convert_to_dossier(system(), current_user(), code, form, data,
                                                filename=(upload.filename if upload else "") or "ban-chinh.pdf")
    except AppError as exc:
        if exc.status == 404:
            raise
        return error_page("appointments/convert.html", exc, **_convert_context(code, form))
    flash(f"Đã tạo hồ sơ {dossier.code} từ lịch hẹn {code}; hồ sơ đang chờ tiếp nhận "
          f"(lệ phí {dossier.fee_amount:,} đồng, {dossier.pages} trang).".replace(",", "."), "success")
    return redirect(url_for("appointments_pages.pending"))
