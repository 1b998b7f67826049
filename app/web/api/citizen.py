"""JSON API for the citizen's side of a dossier: fee payment, satisfaction rating, the filing receipt, in-app
notifications, and the citizen's document store (/me/documents). (Filing, supplement and download are in api.py.)"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select, update

from app import clock
from app.errors import NotFound
from app.adapters.models import Dossier, Notification
from app.services.dossiers import documents as citizen_documents, payments, ratings
from app.domain.access import can_view_dossier
from app.web.api.dossiers import json_body
from app.web.common.auth import api_user, system
from app.web.citizen.common import pdf_attachment
from app.web.citizen.receipt import filing_receipt_pdf

bp = Blueprint("api_citizen", __name__, url_prefix="/api/v1")


def _visible(session, code: str, user) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or not can_view_dossier(user, dossier):
        raise NotFound("Không có hồ sơ này.", code="unknown_dossier")
    return dossier


# -- payments --------------------------------------------------------------------------------------------------
@bp.post("/dossiers/<code>/payments")
def start_payment(code):
    """The owner starts an online payment -> 201 {"reference", "status": "pending", "amount_vnd", "pay_url"}."""
    payment, created = payments.start_online_payment(system(), api_user(), code)
    return jsonify(payments.payment_view(payment, payments.provider_for(system()))), 201 if created else 200


@bp.get("/dossiers/<code>/payments")
def list_payments(code):
    """The fee and its payments (owner, the agency's staff, auditors)."""
    user = api_user()
    provider = payments.provider_for(system())
    with system().db.session() as session:
        dossier = _visible(session, code, user)
        rows = [payments.payment_view(p, provider) for p in payments.payments_of(session, dossier)]
        return jsonify({"fee": {"amount_vnd": dossier.fee_amount, "paid": dossier.fee_paid}, "payments": rows})


@bp.post("/dossiers/<code>/payments/counter")
def counter_payment(code):
    """The one-stop officer records the fee paid at the counter -> 201."""
    payment = payments.record_counter_payment(system(), api_user(), code)
    return jsonify(payments.payment_view(payment)), 201


@bp.post("/payments/<reference>/notify")
def provider_notification(reference):
    """The payment provider's server-to-server notification (signed; no login)."""
    params = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    params = {str(k): str(v) for k, v in (params or {}).items()}
    params["reference"] = reference
    result = payments.provider_for(system()).verify_result(params)
    payment = payments.apply_result(system(), result)
    return jsonify({"reference": payment.reference, "status": payment.status})


# -- rating ----------------------------------------------------------------------------------------------------
@bp.post("/dossiers/<code>/rating")
def rate(code):
    """The owner rates a returned dossier once: {"stars": 1-5, "comment"} -> 201."""
    body = json_body()
    rating = ratings.rate_dossier(system(), api_user(), code, body.get("stars"), body.get("comment"))
    return jsonify(ratings.rating_view(rating)), 201


@bp.get("/dossiers/<code>/rating")
def get_rating(code):
    """The dossier's rating (owner, the agency's staff, auditors)."""
    user = api_user()
    with system().db.session() as session:
        rating = ratings.rating_of(session, _visible(session, code, user))
        if rating is None:
            raise NotFound("Hồ sơ chưa được đánh giá.", code="no_rating")
        return jsonify(ratings.rating_view(rating))


# -- filing receipt --------------------------------------------------------------------------------------------
@bp.get("/dossiers/<code>/filing-receipt.pdf")
def filing_receipt(code):
    """The filing receipt (biên nhận hồ sơ nộp trực tuyến), available as soon as the dossier is filed."""
    user = api_user()
    with system().db.session() as session:
        data = filing_receipt_pdf(_visible(session, code, user))
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="bien-nhan-{code}.pdf"'})


# -- in-app notifications --------------------------------------------------------------------------------------
@bp.get("/notifications")
def notifications():
    """The caller's latest 100 in-app notifications."""
    user = api_user()
    with system().db.session() as session:
        rows = session.scalars(select(Notification).where(Notification.user_id == user.id)
                               .order_by(Notification.id.desc()).limit(100)).all()
        return jsonify([{"id": n.id, "message": n.message, "created_at": n.created_at.isoformat(),
                         "read": n.read_at is not None,
                         "dossier": _dossier_code(session, n.dossier_id)} for n in rows])


def _dossier_code(session, dossier_id: int | None) -> str | None:
    return session.get(Dossier, dossier_id).code if dossier_id else None


@bp.post("/notifications/read")
def mark_read():
    """Mark all the caller's notifications read."""
    user = api_user()
    with system().db.session() as session, session.begin():
        changed = session.execute(update(Notification).where(Notification.user_id == user.id,
                                                             Notification.read_at.is_(None))
                                  .values(read_at=clock.now())).rowcount
    return jsonify({"marked": changed})


# -- the citizen's document store (Kho dữ liệu của công dân) ---------------------------------------------------
@bp.get("/me/documents")
def my_documents():
    """The caller's stored documents (originals filed, certified copies returned), newest first."""
    return jsonify(citizen_documents.list_documents(system(), api_user()))


@bp.get("/me/documents/<int:document_id>/file")
def my_document_file(document_id):
    """Download one stored document (PDF); another citizen's id is 404."""
    return pdf_attachment(*citizen_documents.document_file(system(), api_user(), document_id))


@bp.delete("/me/documents/<int:document_id>")
def delete_my_document(document_id):
    """Remove a document from the store; the dossier's own copy stays -> 204."""
    citizen_documents.delete_document(system(), api_user(), document_id)
    return Response(status=204)
