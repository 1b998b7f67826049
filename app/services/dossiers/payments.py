"""Fee payment: online through a payment provider, or recorded at the counter by the one-stop officer.

A provider is anything with `name`, `checkout_url(payment)` (where to send the citizen) and
`verify_result(params)` (check the provider's signed answer, from the browser's return or the server-to-server
notification). The built-in provider is a development page (DevPaymentProvider) that moves no money: the tester
confirms or fails the payment. Its answers are HMAC-signed like a real gateway's "secure hash", so the return and
notification endpoints accept only answers it produced. Applying an answer is idempotent and happens under the
dossier's lock, together with `fee_paid`.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from app import clock
from app.adapters.db import lock_dossier
from app.engine.audit import append_event
from app.engine.runtime import FINAL_STATUSES
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.adapters.models import Dossier, Payment, User
from app.domain.calendar import VN_TZ
from app.services.queries.dossiers import visible_dossier
from app.services.unit_of_work import reading, unit_of_work

STATUS_NAMES = {"pending": "Đang chờ thanh toán", "paid": "Đã thanh toán", "failed": "Thanh toán không thành công"}


@dataclass(frozen=True)
class ProviderResult:
    reference: str
    success: bool
    transaction: str | None
    message: str | None = None


class PaymentProvider(Protocol):
    name: str

    def checkout_url(self, payment: Payment) -> str: ...

    def verify_result(self, params: Mapping[str, str]) -> ProviderResult: ...


class DevPaymentProvider:
    """Development payment page (môi trường thử nghiệm): no money moves; the page confirms or fails a payment."""
    name = "dev"
    FIELDS = ("reference", "result", "transaction", "amount")

    def __init__(self, secret: str):
        self._key = hashlib.sha256(f"certcopy-dev-payments:{secret}".encode()).digest()

    def checkout_url(self, payment: Payment) -> str:
        return f"/cong-dan/thanh-toan-thu/{payment.reference}"

    def signature(self, params: Mapping[str, str]) -> str:
        text = "&".join(f"{name}={params.get(name, '')}" for name in self.FIELDS)
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def answer(self, payment: Payment, success: bool) -> dict:
        """What the provider sends back (browser return and server notification): signed fields."""
        params = {"reference": payment.reference, "result": "success" if success else "failed",
                  "transaction": f"DEV{secrets.token_hex(6).upper()}" if success else "",
                  "amount": str(payment.amount_vnd)}
        params["signature"] = self.signature(params)
        return params

    def verify_result(self, params: Mapping[str, str]) -> ProviderResult:
        sent = str(params.get("signature") or "")
        if not sent or not hmac.compare_digest(sent, self.signature(params)):
            raise Forbidden("Chữ ký của kết quả thanh toán không hợp lệ.", code="bad_payment_signature")
        if params.get("result") not in ("success", "failed"):
            raise Unprocessable("Kết quả thanh toán không hợp lệ.", code="bad_payment_result")
        return ProviderResult(reference=str(params["reference"]), success=params["result"] == "success",
                              transaction=str(params.get("transaction") or "") or None,
                              message=None if params["result"] == "success" else "Người thanh toán hủy giao dịch.")


def provider_for(system) -> PaymentProvider:
    """The configured provider (settings.extra['payment_provider'] may hold another one); the dev page by default."""
    configured = (system.settings.extra or {}).get("payment_provider")
    return configured or DevPaymentProvider(system.settings.secret_key)


def _own_dossier(session, user: User, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or dossier.applicant_id != user.id:
        raise NotFound("Không có hồ sơ này.", code="unknown_dossier")
    return dossier


def _payable_problem(dossier: Dossier) -> str | None:
    if dossier.fee_paid:
        return "Lệ phí của hồ sơ này đã được thanh toán."
    if dossier.status in FINAL_STATUSES:
        return "Hồ sơ đã kết thúc, không thanh toán được."
    return None


def new_reference(now: datetime) -> str:
    return f"TT{now.astimezone(VN_TZ):%y%m%d}{secrets.token_hex(5).upper()}"


def start_online_payment(system, user: User, code: str) -> tuple[Payment, bool]:
    """The owner starts paying the fee online. A pending payment of the same amount is reused."""
    now = clock.now()
    provider = provider_for(system)
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)  # first statement: the lock (SQLite takes the write lock here)
        if dossier is None or dossier.applicant_id != user.id:
            raise NotFound("Không có hồ sơ này.", code="unknown_dossier")
        problem = _payable_problem(dossier)
        if problem:
            raise Conflict(problem, code="not_payable")
        pending = session.scalar(select(Payment).where(
            Payment.dossier_id == dossier.id, Payment.status == "pending", Payment.provider == provider.name,
            Payment.amount_vnd == dossier.fee_amount))
        if pending is not None:
            return pending, False
        payment = Payment(reference=new_reference(now), dossier_id=dossier.id, provider=provider.name,
                          amount_vnd=dossier.fee_amount, status="pending", created_by_id=user.id, created_at=now)
        session.add(payment)
        session.flush()
    return payment, True


def payment_for_owner(system, user: User, reference: str) -> Payment:
    with system.db.session() as session:
        payment = session.scalar(select(Payment).where(Payment.reference == reference))
        if payment is None or payment.dossier.applicant_id != user.id:
            raise NotFound("Không có giao dịch thanh toán này.", code="unknown_payment")
        _ = payment.dossier.agency
        return payment


def apply_result(system, result: ProviderResult) -> Payment:
    """Record the provider's answer: paid (the dossier's fee is settled) or failed. Repeats change nothing."""
    now = clock.now()
    with system.db.session() as session:
        payment = session.scalar(select(Payment).where(Payment.reference == result.reference))
        if payment is None:
            raise NotFound("Không có giao dịch thanh toán này.", code="unknown_payment")
        code = payment.dossier.code
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        payment = session.scalars(select(Payment).where(Payment.reference == result.reference)
                                  .execution_options(populate_existing=True)).one()
        if payment.status != "pending":
            if (payment.status == "paid") != result.success:
                raise Conflict("Giao dịch này đã có kết quả khác trước đó.", code="payment_settled")
            return payment
        payment.completed_at = now
        payment.provider_transaction = result.transaction
        if not result.success:
            payment.status = "failed"
            payment.failure_reason = result.message or "Thanh toán không thành công."
            return payment
        payment.status = "paid"
        if payment.amount_vnd >= dossier.fee_amount and not dossier.fee_paid:
            dossier.fee_paid = True
            append_event(session, dossier, at=now, actor="system", role=None, kind="fee_paid", data={
                "provider": payment.provider, "reference": payment.reference, "amount_vnd": payment.amount_vnd,
                "transaction": payment.provider_transaction})
            system.notifier.notify(session, dossier, "citizen", "fee_paid", {}, now, dedup=f"paid:{payment.reference}")
    return payment


def record_counter_payment(system, officer: User, code: str) -> Payment:
    """The one-stop officer records the fee received at the counter."""
    now = clock.now()
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        if dossier is None or not (officer.agency_id == dossier.agency_id and officer.has_role("one_stop")):
            if dossier is not None and officer.agency_id == dossier.agency_id:
                raise Forbidden("Chỉ Bộ phận một cửa ghi nhận thu lệ phí tại quầy.")
            raise NotFound("Không có hồ sơ này.", code="unknown_dossier")
        problem = _payable_problem(dossier)
        if problem:
            raise Conflict(problem, code="not_payable")
        payment = Payment(reference=new_reference(now), dossier_id=dossier.id, provider="counter",
                          amount_vnd=dossier.fee_amount, status="paid", created_by_id=officer.id, created_at=now,
                          completed_at=now)
        session.add(payment)
        dossier.fee_paid = True
        append_event(session, dossier, at=now, actor=officer.username, role="one_stop", kind="fee_paid", data={
            "provider": "counter", "reference": payment.reference, "amount_vnd": payment.amount_vnd})
        session.flush()
    return payment


def payments_of(session, dossier: Dossier) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.dossier_id == dossier.id).order_by(Payment.id)))


def payment_view(payment: Payment, provider: PaymentProvider | None = None) -> dict:
    view = {"reference": payment.reference, "provider": payment.provider, "amount_vnd": payment.amount_vnd,
            "status": payment.status, "transaction": payment.provider_transaction,
            "created_at": payment.created_at.isoformat(),
            "completed_at": payment.completed_at.isoformat() if payment.completed_at else None}
    if provider is not None and payment.status == "pending" and payment.provider == provider.name:
        view["pay_url"] = provider.checkout_url(payment)
    return view


def payments_for_viewer(system, user: User, code: str) -> dict:
    """A dossier's fee and its payments, for those who may see the dossier (owner, the agency's staff, auditors)."""
    provider = provider_for(system)
    with reading(system) as session:
        dossier = visible_dossier(session, user, code)
        rows = [payment_view(p, provider) for p in payments_of(session, dossier)]
        return {"fee": {"amount_vnd": dossier.fee_amount, "paid": dossier.fee_paid}, "payments": rows}
