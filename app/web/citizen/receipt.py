"""The filing receipt (biên nhận hồ sơ nộp trực tuyến) the citizen gets the moment a dossier is filed: code,
agency, procedure, document, pages, fee, delivery and payment. The one-stop desk's intake receipt (after it
accepts the dossier) is a different document (app/services/dossiers/receipts.py)."""
from __future__ import annotations

import io
import unicodedata
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.adapters import pdf_fonts
from app.adapters.models import Dossier
from app.web.citizen.common import DELIVERY_NAMES, PAYMENT_NAMES, local_time, money, procedure_name



def _text(value) -> str:
    return escape(unicodedata.normalize("NFC", str(value or "")))


def filing_receipt_rows(dossier: Dossier) -> list[tuple[str, str]]:
    """The receipt's lines, shared by the PDF and the page."""
    applicant = dossier.applicant
    rows = [
        ("Mã hồ sơ", dossier.code),
        ("Cơ quan tiếp nhận", dossier.agency.name),
        ("Thủ tục", f"{dossier.procedure} – {procedure_name(dossier.procedure)}"),
        ("Người yêu cầu", dossier.applicant_name),
    ]
    if applicant is not None and applicant.id_number:
        rows.append(("Số định danh (CCCD/CMND)", applicant.id_number))
    rows += [
        ("Giấy tờ cần chứng thực", dossier.document_type),
        ("Số trang bản chính", str(dossier.pages)),
        ("Số bản sao", str(dossier.copies)),
        ("Lệ phí", f"{money(dossier.fee_amount)} ({'đã thanh toán' if dossier.fee_paid else 'chưa thanh toán'})"),
        ("Hình thức thanh toán", PAYMENT_NAMES.get(dossier.payment, dossier.payment)),
        ("Hình thức nhận kết quả", DELIVERY_NAMES.get(dossier.delivery, dossier.delivery)),
    ]
    if dossier.delivery == "post" and dossier.postal_address:
        rows.append(("Địa chỉ nhận kết quả", dossier.postal_address))
        if dossier.postal_phone:
            rows.append(("Điện thoại người nhận bưu gửi", dossier.postal_phone))
        if dossier.postal_tracking:
            rows.append(("Số hiệu bưu gửi", dossier.postal_tracking))
    rows += [
        ("Thời điểm nộp", local_time(dossier.submitted_at)),
    ]
    if dossier.due_at:
        rows.append(("Dự kiến có kết quả", local_time(dossier.due_at)))
    return rows


def filing_receipt_pdf(dossier: Dossier) -> bytes:
    pdf_fonts.register()
    base = ParagraphStyle("r", fontName=pdf_fonts.REGULAR, fontSize=10.5, leading=14.5)
    bold = ParagraphStyle("rb", parent=base, fontName=pdf_fonts.BOLD)
    center = ParagraphStyle("rc", parent=bold, alignment=TA_CENTER)
    title = ParagraphStyle("rt", parent=center, fontSize=14, leading=19, spaceBefore=6, spaceAfter=6)
    note = ParagraphStyle("rn", parent=base, fontSize=9, leading=12)
    story = [
        Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", center),
        Paragraph("Độc lập – Tự do – Hạnh phúc", center),
        Spacer(1, 6 * mm),
        Paragraph("BIÊN NHẬN HỒ SƠ NỘP TRỰC TUYẾN", title),
        Paragraph("Chứng thực bản sao điện tử từ bản chính", ParagraphStyle("rs", parent=base, alignment=TA_CENTER)),
        Spacer(1, 6 * mm),
    ]
    table = Table([[Paragraph(_text(label), bold), Paragraph(_text(value), base)]
                   for label, value in filing_receipt_rows(dossier)], colWidths=[55 * mm, 120 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef2f7"))]))
    story += [table, Spacer(1, 5 * mm), Paragraph(
        "Hồ sơ đang chờ Bộ phận một cửa tiếp nhận. Thời hạn giải quyết (4 giờ làm việc) được tính từ khi hồ sơ "
        "được tiếp nhận. Tra cứu tình trạng hồ sơ tại mục “Hồ sơ của tôi” bằng mã hồ sơ trên.", note)]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm, title=f"Biên nhận hồ sơ {dossier.code}", creator="certcopy").build(story)
    return buf.getvalue()
