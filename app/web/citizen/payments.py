"""Paying the fee online: start a payment, go to the provider's page, come back with its signed answer.

The built-in provider's page (/cong-dan/thanh-toan-thu/<reference>) is a development page, labelled as such on
screen: no money moves; the tester chooses whether the payment succeeds or fails."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from app.errors import AppError, NotFound
from app.services.dossiers import payments
from app.web.common.auth import system
from app.web.citizen.common import page
from app.web.common.session import current_user, login_required

bp = Blueprint("payments", __name__)


@bp.post("/ho-so/<code>/thanh-toan")
@login_required("citizen")
def start(code):
    try:
        payment, _ = payments.start_online_payment(system(), current_user(), code)
    except AppError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for("citizen.dossier", code=code))
    return redirect(payments.provider_for(system()).checkout_url(payment))


def _dev_provider() -> payments.DevPaymentProvider:
    provider = payments.provider_for(system())
    if not isinstance(provider, payments.DevPaymentProvider):
        raise NotFound("Cổng thanh toán thử nghiệm không được bật.", code="no_dev_payments")
    return provider


@bp.get("/thanh-toan-thu/<reference>")
@login_required("citizen")
def dev_checkout(reference):
    _dev_provider()
    payment = payments.payment_for_owner(system(), current_user(), reference)
    return page("citizen/dev_payment.html", payment=payment, dossier=payment.dossier,
                status_names=payments.STATUS_NAMES)


@bp.post("/thanh-toan-thu/<reference>")
@login_required("citizen")
def dev_answer(reference):
    provider = _dev_provider()
    payment = payments.payment_for_owner(system(), current_user(), reference)
    answer = provider.answer(payment, success=request.form.get("outcome") == "success")
    return redirect(url_for("citizen.payments.provider_return", **answer))


@bp.get("/thanh-toan/ket-qua")
@login_required("citizen")
def provider_return():
    """Where the provider sends the citizen back, with its signed answer."""
    params = request.args.to_dict()
    result = payments.provider_for(system()).verify_result(params)
    code = payments.payment_for_owner(system(), current_user(), result.reference).dossier.code  # own payments only
    payment = payments.apply_result(system(), result)
    if payment.status == "paid":
        flash(f"Thanh toán thành công {payment.amount_vnd:,} đồng (mã giao dịch {payment.provider_transaction})."
              .replace(",", "."), "success")
    else:
        flash("Thanh toán không thành công. Bạn có thể thử lại hoặc nộp lệ phí tại Bộ phận một cửa.", "error")
    return redirect(url_for("citizen.dossier", code=code))
