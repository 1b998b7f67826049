"""JSON API for appointments (API.md § Appointments) and the free slots of an agency."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from app import clock
from app.errors import BadRequest
from app.services import appointments as service
from app.services.queries.appointments import agency_slots, appointment_detail, appointment_list
from app.services.queries.views import iso
from app.web.api.dossiers import json_body, page_arg
from app.web.common.auth import api_user, system

bp = Blueprint("api_appointments", __name__, url_prefix="/api/v1")
PAGE_SIZE = 50


@bp.get("/agencies/<ref>/slots")
def slots(ref):
    """Free hourly slots of an agency on a day: [{"start", "capacity", "free"}]; full and past slots omitted."""
    if not request.args.get("date"):
        raise BadRequest("Cần tham số 'date' (YYYY-MM-DD).", code="missing_date")
    day = service.parse_day(request.args.get("date"))
    return jsonify(agency_slots(system(), ref, day, clock.now()))


@bp.post("/appointments")
def book():
    """Citizen books {"agency", "procedure", "document_type", "date", "slot"} -> 201 {"code": "CTĐT-ddmmyy-NNNN",
    "date", "slot", "status": "booked"}; 409 slot_full when the slot filled meanwhile. Honours Idempotency-Key."""
    user = api_user()
    appointment, created = service.book(system(), user, json_body(),
                                        idempotency_key=request.headers.get("Idempotency-Key"))
    return jsonify(appointment_detail(system(), user, appointment.code)), 201 if created else 200


@bp.get("/appointments")
def list_appointments():
    """The citizen's own appointments, or the agency's for its staff.
    ?date=YYYY-MM-DD&status=booked|moved|converted|cancelled|active&q=name, ID number or code."""
    user = api_user()
    page = page_arg()
    day = service.parse_day(request.args["date"]) if request.args.get("date") else None
    return jsonify(appointment_list(system(), user, day, request.args.get("status"), request.args.get("q"), page,
                                    PAGE_SIZE))


@bp.get("/appointments/<code>")
def get_appointment(code):
    """One appointment (its citizen, or the agency's staff)."""
    return jsonify(appointment_detail(system(), api_user(), code))


@bp.post("/appointments/<code>/move")
def move(code):
    """Staff (one_stop, justice_officer) move it {"date", "slot", "reason"}; the citizen is told (SMS, e-mail,
    in-app)."""
    user = api_user()
    service.move(system(), user, code, json_body())
    return jsonify(appointment_detail(system(), user, code))


@bp.post("/appointments/<code>/cancel")
def cancel(code):
    """The citizen (or the agency's staff) cancels an appointment still to come; its place is freed."""
    user = api_user()
    service.cancel(system(), user, code)
    return jsonify(appointment_detail(system(), user, code))


@bp.post("/appointments/<code>/dossier")
def to_dossier(code):
    """The one-stop officer files the dossier when the citizen arrives: multipart `original`, `copies`, `delivery`,
    `payment`, `declaration` (and optionally `document_type`) -> 201, started at intake (200 on a repeat)."""
    user = api_user()
    upload = request.files.get("original")
    dossier, created = service.convert_to_dossier(
        system(), user, code, request.form.to_dict(), upload.read() if upload else None,
        filename=(upload.filename if upload else "") or "original.pdf")
    body = {"code": dossier.code, "status": dossier.status, "appointment": code, "fee": dossier.fee_view(),
            "due_at": iso(dossier.due_at)}
    return jsonify(body), 201 if created else 200
