"""Booking an appointment instead of filing online (seed 001 §1): agency, procedure, document type, a working day
and a free hourly slot; the code CTĐT-ddmmyy-NNNN comes back at once (and by SMS). Also the citizen's list."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from app import clock
from app.errors import AppError
from app.adapters.models import Agency, Appointment
from app.services import appointments as service
from app.services.administration.calendars import calendar_for
from app.domain.procedures import PROCEDURES
from app.web.common.auth import system
from app.web.citizen.common import error_page, one_time_key, page
from app.web.citizen.filing import DOCUMENT_TYPES, agency_label
from app.web.common.session import current_user, login_required

bp = Blueprint("booking", __name__)
BOOK_FIELDS = ("agency", "procedure", "document_type", "date", "slot")


def _booking_context(session, form: dict, key: str | None = None) -> dict:
    now = clock.now()
    agencies = list(session.scalars(select(Agency).order_by(Agency.id)))
    agency = next((a for a in agencies if form.get("agency") in (a.slug, a.code)), None)
    day, slots, day_error = None, [], None
    if form.get("date"):
        try:
            day = date.fromisoformat(form["date"])
        except ValueError:
            day_error = "Ngày hẹn phải có dạng năm-tháng-ngày."
    if agency and day:
        slots = service.free_slots(system(), session, agency, day, now)
        if not slots:
            problem = service.booking_problem(calendar_for(session, agency.id), day, service.SLOT_STARTS[-1], now)
            day_error = problem[1] if problem else f"Ngày {day:%d/%m/%Y} đã hết giờ hẹn trống; vui lòng chọn ngày khác."
    days = service.next_working_days(calendar_for(session, agency.id), now) if agency else []
    procedures = [(code, p["name"]) for code, p in PROCEDURES.items()
                  if agency is None or agency.level in p["levels"]]
    return dict(form=form, agencies=[(a.slug, agency_label(a)) for a in agencies], agency=agency, day=day,
                slots=slots, day_error=day_error, days=days, procedures=procedures, document_types=DOCUMENT_TYPES,
                idempotency_key=key or one_time_key(), applicant=current_user())


@bp.get("/dat-lich")
@login_required("citizen")
def book():
    form = {name: request.args.get(name, "").strip() for name in BOOK_FIELDS}
    with system().db.session() as session:
        return page("citizen/book.html", **_booking_context(session, form))


@bp.post("/dat-lich")
@login_required("citizen")
def submit_booking():
    form = {name: request.form.get(name, "").strip() for name in BOOK_FIELDS}
    key = request.form.get("idempotency_key") or None
    try:
        appointment, _ = service.book(system(), current_user(), form, idempotency_key=key)
    except AppError as exc:
        with system().db.session() as session:
            context = _booking_context(session, form, key)
        return error_page("citizen/book.html", exc, **context)
    flash(f"Đặt lịch hẹn thành công. Mã lịch hẹn của bạn là: {appointment.code} "
          f"({service.slot_label(appointment.slot)} ngày {appointment.day:%d/%m/%Y}).", "success")
    return redirect(url_for("citizen.booking.mine"))


@bp.get("/lich-hen")
@login_required("citizen")
def mine():
    with system().db.session() as session:
        rows = session.scalars(select(Appointment).where(Appointment.citizen_id == current_user().id)
                               .order_by(Appointment.day.desc(), Appointment.slot.desc())).all()
        items = [service.appointment_view(a) for a in rows]
    return page("citizen/appointments.html", items=items, active=service.ACTIVE)


@bp.post("/lich-hen/<code>/huy")
@login_required("citizen")
def cancel(code):
    try:
        service.cancel(system(), current_user(), code)
    except AppError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for("citizen.booking.mine"))
    flash(f"Đã hủy lịch hẹn {code}.", "success")
    return redirect(url_for("citizen.booking.mine"))
