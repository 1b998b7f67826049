"""GET /api/v1/dossiers/{code}/receipt.pdf — the intake receipt (phiếu tiếp nhận), see shared/API.md."""
from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import select

from app.errors import NotFound
from app.adapters.models import Dossier
from app.domain.access import can_view_dossier
from app.services.dossiers.receipts import intake_receipt_pdf
from app.web.common.auth import api_user, system

bp = Blueprint("api_receipts", __name__, url_prefix="/api/v1")


@bp.get("/dossiers/<code>/receipt.pdf")
def receipt_pdf(code):
    user = api_user()
    with system().db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        if dossier is None or not can_view_dossier(user, dossier):
            raise NotFound("Không có hồ sơ này.", code="unknown_dossier")
        pdf = intake_receipt_pdf(session, dossier)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="phieu-tiep-nhan-{code}.pdf"'})
