"""Set-up pages: the signer's signature image and signing credential, the clerk's seal image and the
agency's seal credential; each shows what is still missing and warns when a credential expires within 30 days.
The upload handling here is shared with the administrator's pages (app.web.admin.agencies)."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from app import clock
from app.errors import AppError, BadRequest, Unprocessable
from app.adapters.models import User
from app.services.administration import signing_setup as setup_service
from app.web.common import menu
from app.web.common.auth import system
from app.web.staff.registers import dmy_date
from app.web.common.session import current_user, login_required

bp = Blueprint("setup_pages", __name__, url_prefix="/setup")
PRIVATE_CACHE = {"Cache-Control": "private, max-age=3600"}
bp.add_app_template_filter(dmy_date, "dmy_date")

menu.register("Chữ ký và chứng thư số", "setup_pages.signature", ("signer",), order=62)
menu.register("Con dấu của cơ quan", "setup_pages.seal", ("clerk",), order=61)


# -- shared with the administrator's pages -----------------------------------------------------------------
def _file(field: str) -> bytes | None:
    upload = request.files.get(field)
    data = upload.read() if upload else None
    return data or None


def apply_upload(actor: User, *, signer: str | None = None, agency: str | None = None) -> tuple[AppError | None, str]:
    """Handle a set-up form post (`action` = image | credential) for a signer or an agency.
    Returns (error, success message)."""
    action = request.form.get("action")
    try:
        if action == "image" and signer:
            if not request.form.get("confirm"):
                raise Unprocessable("Cần xác nhận ảnh chữ ký thể hiện rõ họ và tên, chức danh của người ký.",
                                    code="confirm_required", details={"fields": {"confirm": "required"}})
            setup_service.set_signature_image(system(), actor, signer, _file("image"))
            return None, "Đã cập nhật ảnh chữ ký. Ảnh mới được dùng cho các bản sao ký từ nay."
        if action == "image" and agency:
            setup_service.set_seal_image(system(), actor, agency, _file("image"))
            return None, "Đã cập nhật ảnh con dấu. Ảnh mới được dùng cho các bản sao đóng dấu từ nay."
        if action == "credential":
            data, passphrase = _file("pkcs12"), request.form.get("passphrase")
            if signer:
                view = setup_service.upload_signer_credential(system(), actor, signer, data, passphrase)
            else:
                view = setup_service.upload_seal_credential(system(), actor, agency, data, passphrase)
            return None, f"Đã lưu chứng thư số {view['subject']} (hiệu lực đến {dmy_date(view['not_after'])})."
        raise BadRequest("Thao tác không hợp lệ.", code="unknown_action")
    except AppError as exc:
        return exc, ""


def with_signature_image(setup: dict) -> dict:
    """A signer's set-up (app.services.administration.signing_setup) with the address of their signature image."""
    signer = setup["signer"]
    image = url_for("setup_pages.signature_image", username=signer.username,
                    v=(signer.signature_image_sha256 or "")[:12]) if signer.signature_image_sha256 else None
    return {**setup, "image_url": image}


def with_seal_image(setup: dict) -> dict:
    """An agency's seal set-up with the address of its seal image."""
    agency = setup["agency"]
    image = url_for("setup_pages.seal_image", ref=agency.code,
                    v=(agency.seal_image_sha256 or "")[:12]) if agency.seal_image_sha256 else None
    return {**setup, "image_url": image}


def signer_context(username: str) -> dict:
    return with_signature_image(setup_service.signer_setup(system(), username, clock.now()))


def agency_context(ref: str) -> dict:
    return with_seal_image(setup_service.seal_setup(system(), ref, clock.now()))


def render_with(template: str, context: dict, error: AppError | None = None):
    status = error.status if error else 200
    fields = error.details.get("fields", {}) if error else {}
    return render_template(template, error=error.message if error else None, field_errors=fields,
                           action=request.form.get("action"), **context), status


# -- the signer's and the clerk's own pages ------------------------------------------------------------------
@bp.route("/signature", methods=["GET", "POST"])
@login_required("signer")
def signature():
    user = current_user()
    if request.method == "POST":
        error, message = apply_upload(user, signer=user.username)
        if error is None:
            flash(message, "success")
            return redirect(url_for("setup_pages.signature"))
        return render_with("setup/signature.html", signer_context(user.username), error)
    return render_with("setup/signature.html", signer_context(user.username))


@bp.route("/seal", methods=["GET", "POST"])
@login_required("clerk")
def seal():
    user = current_user()
    if user.agency_id is None:
        abort(403)
    code = user.agency.code
    if request.method == "POST":
        error, message = apply_upload(user, agency=code)
        if error is None:
            flash(message, "success")
            return redirect(url_for("setup_pages.seal"))
        return render_with("setup/seal.html", agency_context(code), error)
    return render_with("setup/seal.html", agency_context(code))


@bp.get("/images/signature/<username>")
@login_required()
def signature_image(username):
    data = setup_service.signature_image(system(), current_user(), username)
    return Response(data, mimetype=setup_service.sniff_mimetype(data), headers=PRIVATE_CACHE)


@bp.get("/images/seal/<ref>")
@login_required()
def seal_image(ref):
    data = setup_service.seal_image(system(), current_user(), ref)
    return Response(data, mimetype=setup_service.sniff_mimetype(data), headers=PRIVATE_CACHE)

