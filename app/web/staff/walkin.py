"""Thêm mới bản sao từ bản chính: the one-stop officer files a dossier for a citizen at the counter — found by
ID number, or by an email for a citizen without an account — uploads the scan, and the dossier starts at
intake (the officer's own inbox), exactly as POST /api/v1/dossiers does for a walk-in."""
from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.domain.procedures import DELIVERY, PAYMENT, PROCEDURES
from app.errors import AppError
from app.services.dossiers.filing import file_dossier
from app.services.queries.directory import citizen_contact
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.session import current_user, login_required
from app.web.staff.inbox import FILE_ERRORS
from app.web.common.format import delivery_name, payment_name
from app.web.staff.task_forms import field_errors

bp = Blueprint("staff_walkin", __name__, url_prefix="/staff/walk-in")
ID_NUMBER_RE = re.compile(r"^(\d{9}|\d{12})$")
FORM_FIELDS = ("procedure", "document_type", "copies", "delivery", "payment", "declaration", "citizen", "email",
               "applicant_name", "postal_address", "postal_phone")


def _lookup(id_number: str) -> tuple[dict | None, str | None]:
    """(citizen shown to the officer, message) for the ID number typed in the search box."""
    if not id_number:
        return None, None
    if not ID_NUMBER_RE.match(id_number):
        return None, "Số định danh phải gồm 12 chữ số (CCCD) hoặc 9 chữ số (CMND)."
    citizen = citizen_contact(system(), id_number)
    if citizen is None:
        return None, (f"Không có tài khoản công dân với số định danh {id_number}. "
                      "Nếu người yêu cầu chưa có tài khoản, hãy nhập địa chỉ email để gửi kết quả.")
    return citizen, None


def _render(values: dict, errors: dict, message: str | None = None, status: int = 200):
    user = current_user()
    id_number = (values.get("citizen") or request.args.get("id_number") or "").strip()
    citizen, lookup_message = _lookup(id_number)
    procedures = [(code, p["name"]) for code, p in PROCEDURES.items() if user.agency.level in p["levels"]]
    return render_template(
        "staff/walk_in.html", values=values, errors=errors, message=message, citizen=citizen,
        id_number=id_number, lookup_message=lookup_message, procedures=procedures,
        deliveries=[(d, delivery_name(d)) for d in DELIVERY if d != "email"],
        guest_deliveries=[(d, delivery_name(d)) for d in DELIVERY if d != "online"],
        payments=[(p, payment_name(p)) for p in PAYMENT]), status


@bp.get("")
@login_required("one_stop")
def walk_in():
    if current_user().agency_id is None:
        return redirect(url_for("pages.home"))
    return _render({"copies": "1", "payment": "counter", "delivery": "online",
                    "procedure": next(iter(PROCEDURES))}, {})


@bp.post("")
@login_required("one_stop")
def create():
    user = current_user()
    fields = {name: request.form.get(name, "") for name in FORM_FIELDS}
    fields["agency"] = user.agency.code
    if fields["citizen"]:
        fields["email"] = ""
    upload = request.files.get("original")
    data = upload.read() if upload and upload.filename else None
    try:
        dossier, _ = file_dossier(system(), user, fields, data, (upload.filename if upload else "") or "ban-chinh.pdf")
    except AppError as exc:
        if exc.status in (403, 404):
            raise
        errors = field_errors(exc)
        if exc.code in FILE_ERRORS:
            errors["original"] = exc.message
        return _render(fields, errors, exc.message, exc.status)
    flash(f"Đã tạo hồ sơ {dossier.code}. Kiểm tra và tiếp nhận hồ sơ.", "success")
    if dossier.intake_task_id:
        return redirect(url_for("staff.task", task_id=dossier.intake_task_id, back=url_for("staff.queue_intake")))
    return redirect(url_for("staff_dossiers.dossier", code=dossier.code))


menu.register("Thêm mới bản sao từ bản chính", "staff_walkin.walk_in", ("one_stop",), order=25)
