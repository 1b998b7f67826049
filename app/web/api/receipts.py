"""GET /api/v1/dossiers/{code}/receipt.pdf — the intake receipt (phiếu tiếp nhận), see shared/API.md."""
from __future__ import annotations

from flask import Blueprint, Response

from app.services.queries.dossiers import intake_receipt
from app.web.common.auth import api_user, system

bp = Blueprint("api_receipts", __name__, url_prefix="/api/v1")


@bp.get("/dossiers/<code>/receipt.pdf")
def receipt_pdf(code):
    pdf = intake_receipt(system(), api_user(), code)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="phieu-tiep-nhan-{code}.pdf"'})
