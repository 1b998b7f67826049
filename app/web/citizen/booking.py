"""Booking an appointment instead of filing online (seed 001 §1): agency, procedure, document type, a working day
and a free hourly slot; the code CTĐT-ddmmyy-NNNN comes back at once (and by SMS). Also the citizen's list."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, request, url_for

from app import clock
from app.domain.procedures import PROCEDURES
from app.errors import AppError
from app.services import appointments as service
from app.services.queries.agencies import agency_choices
from app.services.queries.appointments import booking_choices, my_appointments
from app.web.citizen.common import error_page, one_time_key, page
from app.web.citizen.filing import DOCUMENT_TYPES
from app.web.common.auth import system
from app.web.common.session import current_user, login_required

bp = Blueprint("booking", __name__)
BOOK_FIELDS = ("agency", "procedure", "document_type", "date", "slot")


def _booking_context(form: dict, key: str | None = None) -> dict:
    agencies = agency_choices(system())
    agency = next((a for a in agencies if form.get("agency") in (a.slug, a.code)), None)
    day, day_error = None, None
    if form.get("date"):
        try:
            day = date.fromisoformat(form["date"])
        except ValueError:
            day_error = "Ngày hẹn phải có dạng năm-tháng-ngày."
    slots, days = [], []
    if agency:
        choices = booking_choices(system(), agency.code, day, clock.now())
        slots, days, day_error = choices.slots, choices.days, day_error or choices.problem
    procedures = [(code, p["name"]) for code, p in PROCEDURES.items()
                  if agency is None or agency.level in p["levels"]]
    return dict(form=form, agencies=[(a.slug, a.label) for a in agencies], agency=agency, day=day,
                slots=slots, day_error=day_error, days=days, procedures=procedures, document_types=DOCUMENT_TYPES,
                idempotency_key=key or one_time_key(), applicant=current_user())


@bp.get("/dat-lich")
@login_required("citizen")
def book():
    form = {name: request.args.get(name, "").strip() for name in BOOK_FIELDS}
    return page("citizen/book.html", **_booking_context(form))


@bp.post("/dat-lich")
@login_required("citizen")
def submit_booking():
    form = {name: request.form.get(name, "").strip() for name in BOOK_FIELDS}
    key = request.form.get("idempotency_key") or None
    try:
        appointment, _ = service.book(system(), current_user(), form, idempotency_key=key)
    except AppError as exc:
        return error_page("citizen/book.html", exc, **_booking_context(form, key))
    flash(f"Đặt lịch hẹn thành công. Mã lịch hẹn của bạn là: {appointment.code} "
          f"({service.slot_label(appointment.slot)} ngày {appointment.day:%d/%m/%Y}).", "success")
    return redirect(url_for("citizen.booking.mine"))


@bp.get("/lich-hen")
@login_required("citizen")
def mine():
    return page("citizen/appointments.html", items=my_appointments(system(), current_user()), active=service.ACTIVE)


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
