"""The citizen portal (/cong-dan): register, my dossiers (status, timeline, supplement, download, rating),
notifications. Filing, booking and payment pages are child blueprints (citizen_filing, citizen_booking,
citizen_payments). Every page works without JavaScript; static/citizen.js only adds an upload progress bar."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, url_for

from app import clock
from app.errors import AppError
from app.services import notifications as notification_service
from app.services.administration import accounts
from app.services.dossiers import ratings, tasks
from app.services.queries import citizen_portal
from app.web.citizen import (
    booking as citizen_booking,
    documents as citizen_documents,
    filing as citizen_filing,
    payments as citizen_payments,
)
from app.web.common.auth import system
from app.web.citizen.common import field_messages, page
from app.web.citizen.receipt import filing_receipt_pdf, filing_receipt_rows
from app.web.citizen.timeline import citizen_timeline
from app.web.common.menu import register as menu_entry
from app.web.common.session import current_user, log_in, login_required

bp = Blueprint("citizen", __name__, url_prefix="/cong-dan")
bp.register_blueprint(citizen_filing.bp)
bp.register_blueprint(citizen_booking.bp)
bp.register_blueprint(citizen_payments.bp)
bp.register_blueprint(citizen_documents.bp)

FINAL = ("returned", "refused", "cancelled")


def _waiting_for_me(user) -> int | None:
    """Dossiers waiting for the citizen (a supplement); no badge when none."""
    return citizen_portal.waiting_count(system(), user) or None


def _unread(user) -> int | None:
    return citizen_portal.unread_count(system(), user) or None


menu_entry("Nộp hồ sơ trực tuyến", "citizen.filing.choose", ("citizen",), order=10)
menu_entry("Đặt lịch hẹn", "citizen.booking.book", ("citizen",), order=20)
menu_entry("Hồ sơ của tôi", "citizen.dossiers", ("citizen",), count=_waiting_for_me, order=30)
menu_entry("Kho dữ liệu", "citizen.documents.index", ("citizen",), order=35)
menu_entry("Lịch hẹn của tôi", "citizen.booking.mine", ("citizen",), order=40)
menu_entry("Thông báo", "citizen.notifications", ("citizen",), count=_unread, order=50)


# -- registration ----------------------------------------------------------------------------------------------
REGISTER_FIELDS = ("id_number", "full_name", "date_of_birth", "phone", "email")


@bp.route("/dang-ky", methods=["GET", "POST"])
def register():
    if request.method == "GET":
        return page("citizen/register.html", form={})
    form = {name: request.form.get(name, "").strip() for name in REGISTER_FIELDS}
    try:
        accounts.validate_id_number(form["id_number"])
        if request.form.get("password", "") != request.form.get("password_again", ""):
            raise AppError("Hai lần nhập mật khẩu không khớp nhau.", code="invalid_field", status=422,
                           details={"fields": {"password_again": "Hai lần nhập mật khẩu không khớp nhau."}})
        user = accounts.register_citizen(system(), {**form, "username": form["id_number"],
                                                    "password": request.form.get("password", "")})
    except AppError as exc:
        errors = field_messages(exc)
        if exc.code == "duplicate":  # the ID number is the login name
            errors = {"id_number": "Số định danh này đã có tài khoản; hãy đăng nhập."}
        return page("citizen/register.html", status=exc.status, form=form, error=exc.message, field_errors=errors)
    log_in(user)
    flash(f"Đăng ký thành công. Tên đăng nhập của bạn là số định danh {user.username}.", "success")
    return redirect(url_for("citizen.dossiers"))


# -- my dossiers -----------------------------------------------------------------------------------------------
@bp.get("/")
@login_required("citizen")
def home():
    return redirect(url_for("citizen.dossiers"))


@bp.get("/ho-so")
@login_required("citizen")
def dossiers():
    rows, waiting = citizen_portal.my_dossiers(system(), current_user())
    return page("citizen/dossiers.html", dossiers=rows, waiting=waiting)


def _supplement_reason(events: list[dict]) -> str | None:
    for event in reversed(events):
        if event["kind"] == "task_completed" and event["task"] == "intake":
            return (event["data"] or {}).get("reason") if (event["data"] or {}).get("decision") == "supplement" \
                else None
    return None


def _detail(code: str, **extra):
    found = citizen_portal.citizen_dossier(system(), current_user(), code)
    dossier = found.dossier
    context = dict(
        dossier=dossier, receipt=filing_receipt_rows(dossier),
        timeline=citizen_timeline(found.events, found.payments), payments=found.payments,
        supplement_open=found.supplement_open,
        supplement_reason=_supplement_reason(found.events) if found.supplement_open else None,
        can_pay=not dossier.fee_paid and dossier.status not in FINAL,
        can_download=dossier.status == "returned" and dossier.result_sha256 is not None,
        can_rate=dossier.status == "returned" and found.rating is None, rating=found.rating,
        saved_to_store=found.saved_to_store,
        register_name=dossier.register.full_name if dossier.register else None,
        star_names=ratings.STAR_NAMES, new=request.args.get("moi") == "1",
    )
    context.update(extra)
    status = context.pop("status", 200)
    return page("citizen/dossier.html", status=status, **context)


@bp.get("/ho-so/<code>")
@login_required("citizen")
def dossier(code):
    return _detail(code)


@bp.get("/ho-so/<code>/bien-nhan.pdf")
@login_required("citizen")
def receipt(code):
    data = filing_receipt_pdf(citizen_portal.own_dossier(system(), current_user(), code))
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="bien-nhan-{code}.pdf"'})


@bp.get("/ho-so/<code>/ban-sao.pdf")
@login_required("citizen")
def certified_copy(code):
    data = citizen_portal.certified_copy(system(), current_user(), code)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{code}.pdf"'})


@bp.post("/ho-so/<code>/bo-sung")
@login_required("citizen")
def supplement(code):
    upload = request.files.get("original")
    data = upload.read() if upload and upload.filename else None
    try:
        tasks.supplement(system(), current_user(), code, data, request.form.get("note") or None,
                                   filename=(upload.filename if upload else "") or "bo-sung.pdf")
    except AppError as exc:
        if exc.status == 404:
            raise
        return _detail(code, status=exc.status, supplement_error=exc.message)
    flash("Đã nộp bổ sung. Hồ sơ được chuyển lại Bộ phận một cửa để tiếp nhận.", "success")
    return redirect(url_for("citizen.dossier", code=code))


@bp.post("/ho-so/<code>/danh-gia")
@login_required("citizen")
def rate(code):
    try:
        ratings.rate_dossier(system(), current_user(), code, request.form.get("stars"), request.form.get("comment"))
    except AppError as exc:
        if exc.status == 404:
            raise
        return _detail(code, status=exc.status, rating_error=exc.message)
    flash("Cảm ơn bạn đã đánh giá mức độ hài lòng.", "success")
    return redirect(url_for("citizen.dossier", code=code))


# -- notifications ---------------------------------------------------------------------------------------------
@bp.get("/thong-bao")
@login_required("citizen")
def notifications():
    """The latest notifications; opening the page marks them read."""
    rows = notification_service.read_latest(system(), current_user(), clock.now())
    items = [{"message": n["message"], "at": n["created_at"], "unread": not n["read"], "dossier": n["code"]}
             for n in rows]
    return page("citizen/notifications.html", items=items)
