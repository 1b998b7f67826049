"""Helpers shared by the citizen portal and the appointment pages: formatting, form errors, one-time keys."""
from __future__ import annotations

import secrets
from datetime import date, datetime

from flask import Response, render_template

from app.errors import AppError
from app.services.appointments import STATUS_NAMES as APPOINTMENT_STATUS_NAMES
from app.services.appointments import slot_label
from app.domain.calendar import VN_TZ
from app.domain.procedures import LEVEL_NAMES, PROCEDURES

DOSSIER_STATUS_NAMES = {
    "submitted": "Chờ tiếp nhận",
    "awaiting_supplement": "Chờ bổ sung",
    "processing": "Đang xử lý",
    "awaiting_signature": "Chờ ký chứng thực",
    "awaiting_seal": "Chờ đóng dấu",
    "awaiting_return": "Chờ trả kết quả",
    "returned": "Đã trả kết quả",
    "refused": "Bị từ chối tiếp nhận",
    "cancelled": "Đã hủy",
}
DELIVERY_NAMES = {"online": "Nhận trực tuyến trên tài khoản", "email": "Nhận qua email",
                  "post": "Nhận qua bưu điện"}
PAYMENT_NAMES = {"counter": "Thanh toán tại Bộ phận một cửa", "online": "Thanh toán trực tuyến"}
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
SHORT_CODES = {"required", "taken", "full", "unknown", "invalid"}
UPLOAD_ERRORS = {"missing_file", "not_pdf", "pdf_too_large", "file_too_large", "empty_pdf", "truncated_pdf",
                 "encrypted_pdf", "no_pages"}


def money(amount: int | None) -> str:
    return "" if amount is None else f"{amount:,}".replace(",", ".") + " đồng"


def local_time(moment: datetime | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    return moment.astimezone(VN_TZ).strftime(fmt) if moment else ""


def local_iso(moment: str | None) -> str:
    return local_time(datetime.fromisoformat(moment)) if moment else ""


def iso_day(day: str) -> str:
    return date.fromisoformat(day).strftime("%d/%m/%Y")


def day_label(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y}"


def procedure_name(code: str) -> str:
    return PROCEDURES.get(code, {}).get("name", code)


def field_messages(exc: AppError) -> dict[str, str]:
    """The per-field messages of a service error, to show next to each field (a bare code gets the main message)."""
    fields = (exc.details or {}).get("fields") or {}
    return {name: (text if isinstance(text, str) and text not in SHORT_CODES else exc.message)
            for name, text in fields.items()}


def one_time_key() -> str:
    """A hidden key rendered into a form: submitting the same form twice does the work once."""
    return secrets.token_urlsafe(24)


HELPERS = dict(money=money, local_time=local_time, local_iso=local_iso, iso_day=iso_day, day_label=day_label,
               slot_label=slot_label,
               procedure_name=procedure_name, dossier_status=DOSSIER_STATUS_NAMES,
               appointment_status=APPOINTMENT_STATUS_NAMES, delivery_names=DELIVERY_NAMES,
               payment_names=PAYMENT_NAMES, level_names=LEVEL_NAMES)


def page(template: str, status: int = 200, **context):
    """Render a portal page with the formatting helpers; `status` lets a refused form answer 4xx."""
    return render_template(template, **HELPERS, **context), status


def error_page(template: str, exc: AppError, **context):
    """Re-render a form with the error's message on top and next to its fields, answering the error's 4xx.
    A refused upload (not a PDF, too large, encrypted, …) is shown next to the file field."""
    errors = field_messages(exc)
    if exc.code in UPLOAD_ERRORS or exc.status in (413, 415):
        errors.setdefault("original", exc.message)
    return page(template, status=exc.status, error=exc.message, field_errors=errors, **context)


def pdf_attachment(data: bytes, filename: str) -> Response:
    """A PDF download; the file name is reduced to what a Content-Disposition header carries safely."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename) or "giay-to.pdf"
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{safe}"'})
