"""JSON API for the citizen's side of a dossier: fee payment, satisfaction rating, the filing receipt, in-app
notifications, and the citizen's document store (/me/documents). (Filing, supplement and download are in api.py.)"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app import clock
from app.services import notifications as notification_service
from app.services.dossiers import documents as citizen_documents, payments, ratings
from app.services.queries.dossiers import receipt_dossier
from app.services.queries.notifications import notification_list
from app.web.api.dossiers import json_body
from app.web.citizen.common import pdf_attachment
from app.web.citizen.receipt import filing_receipt_pdf
from app.web.common.auth import api_user, system

bp = Blueprint("api_citizen", __name__, url_prefix="/api/v1")
NOTIFICATIONS_SHOWN = 100


# -- payments --------------------------------------------------------------------------------------------------
@bp.post("/dossiers/<code>/payments")
def start_payment(code):
    """The owner starts an online payment -> 201 {"reference", "status": "pending", "amount_vnd", "pay_url"}."""
    payment, created = payments.start_online_payment(system(), api_user(), code)
    return jsonify(payments.payment_view(payment, payments.provider_for(system()))), 201 if created else 200


@bp.get("/dossiers/<code>/payments")
def list_payments(code):
    """The fee and its payments (owner, the agency's staff, auditors)."""
    return jsonify(payments.payments_for_viewer(system(), api_user(), code))


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
    return jsonify(ratings.rating_for_viewer(system(), api_user(), code))


# -- filing receipt --------------------------------------------------------------------------------------------
@bp.get("/dossiers/<code>/filing-receipt.pdf")
def filing_receipt(code):
    """The filing receipt (biên nhận hồ sơ nộp trực tuyến), available as soon as the dossier is filed."""
    data = filing_receipt_pdf(receipt_dossier(system(), api_user(), code))
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="bien-nhan-{code}.pdf"'})


# -- in-app notifications --------------------------------------------------------------------------------------
@bp.get("/notifications")
def notifications():
    """The caller's latest 100 in-app notifications."""
    items, _ = notification_list(system(), api_user(), 1, NOTIFICATIONS_SHOWN)
    return jsonify([{"id": n["id"], "message": n["message"], "created_at": n["created_at"].isoformat(),
                     "read": n["read"], "dossier": n["code"]} for n in items])


@bp.post("/notifications/read")
def mark_read():
    """Mark all the caller's notifications read."""
    return jsonify({"marked": notification_service.mark_all_read(system(), api_user(), clock.now())})


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
