"""The intake receipt (giấy tiếp nhận hồ sơ và hẹn trả kết quả) the one-stop desk hands to the applicant once
a dossier is received: dossier code, applicant, documents, fee, time received and time the result is due.
Drawn with reportlab in Noto Sans (embedded) so Vietnamese renders on any reader."""
from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.adapters import pdf_fonts
from app.errors import Conflict
from app.adapters.models import Document, Dossier, Event, User
from app.domain.calendar import VN_TZ
from app.domain.procedures import PROCEDURES


DELIVERY_NAMES = {"online": "Nhận trực tuyến qua tài khoản", "email": "Nhận qua thư điện tử (email)",
                  "post": "Nhận qua dịch vụ bưu chính"}
PAYMENT_NAMES = {"counter": "Nộp tại Bộ phận một cửa", "online": "Nộp trực tuyến"}
DOCUMENT_KINDS = {"original": "Bản scan bản chính", "supplement": "Bản scan bổ sung"}


def nfc(text) -> str:
    return unicodedata.normalize("NFC", str(text or ""))


def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


def local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    at = moment.astimezone(VN_TZ)
    return f"{at:%H} giờ {at:%M} phút, ngày {at:%d/%m/%Y}"


@dataclass(frozen=True)
class ReceiptData:
    agency: str
    code: str
    applicant: str
    id_number: str | None
    contact: str | None
    procedure: str
    document_type: str
    documents: list[tuple[str, str, int | None]]   # (what, file name, pages)
    copies: int
    fee: int
    fee_paid: bool
    payment: str
    delivery: str
    received_at: datetime
    due_at: datetime | None
    received_by: str
    postal_address: str | None = None   # delivery by post: where the result is sent
    postal_phone: str | None = None


def receipt_data(session: Session, dossier: Dossier) -> ReceiptData:
    if dossier.received_at is None:
        raise Conflict("Hồ sơ chưa được tiếp nhận nên chưa có giấy tiếp nhận.", code="not_received")
    accepted = session.scalars(select(Event).where(Event.dossier_id == dossier.id, Event.kind == "task_completed",
                                                   Event.task == "intake").order_by(Event.seq.desc())).first()
    officer = session.scalar(select(User).where(User.username == accepted.actor)) if accepted else None
    docs = session.scalars(select(Document).where(Document.dossier_id == dossier.id,
                                                  Document.kind.in_(tuple(DOCUMENT_KINDS)))
                           .order_by(Document.id)).all()
    applicant = dossier.applicant
    contact = ", ".join(v for v in (applicant.phone if applicant else None,
                                    dossier.applicant_email or (applicant.email if applicant else None)) if v)
    return ReceiptData(
        agency=dossier.agency.name, code=dossier.code, applicant=dossier.applicant_name,
        id_number=applicant.id_number if applicant else None, contact=contact or None,
        procedure=f"{dossier.procedure} – {PROCEDURES.get(dossier.procedure, {}).get('name', '')}",
        document_type=dossier.document_type,
        documents=[(DOCUMENT_KINDS[d.kind], d.filename, d.pages) for d in docs],
        copies=dossier.copies, fee=dossier.fee_amount, fee_paid=dossier.fee_paid,
        payment=PAYMENT_NAMES.get(dossier.payment, dossier.payment),
        delivery=DELIVERY_NAMES.get(dossier.delivery, dossier.delivery),
        received_at=dossier.received_at, due_at=dossier.due_at,
        received_by=officer.full_name if officer else (accepted.actor if accepted else ""),
        postal_address=dossier.postal_address if dossier.delivery == "post" else None,
        postal_phone=dossier.postal_phone if dossier.delivery == "post" else None,
    )


def intake_receipt_pdf(session: Session, dossier: Dossier) -> bytes:
    return render_receipt(receipt_data(session, dossier))


def render_receipt(data: ReceiptData) -> bytes:
    pdf_fonts.register()
    base = ParagraphStyle("base", fontName=pdf_fonts.REGULAR, fontSize=10.5, leading=14.5)
    bold = ParagraphStyle("bold", parent=base, fontName=pdf_fonts.BOLD)
    center = ParagraphStyle("center", parent=base, alignment=TA_CENTER)
    center_bold = ParagraphStyle("center_bold", parent=bold, alignment=TA_CENTER)
    title = ParagraphStyle("title", parent=center_bold, fontSize=13.5, leading=18, spaceBefore=6, spaceAfter=2)
    small = ParagraphStyle("small", parent=base, fontSize=9, leading=12)

    def p(text, style=base):
        return Paragraph(_escape(nfc(text)), style)

    def row(label, value):
        return Paragraph(f"<b>{_escape(nfc(label))}:</b> {_escape(nfc(value))}", base)

    header = Table([[p(data.agency.upper(), center_bold),
                     p("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", center_bold)],
                    [p("BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", center),
                     p("Độc lập – Tự do – Hạnh phúc", center_bold)]],
                   colWidths=[85 * mm, 95 * mm])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [header, Spacer(1, 8 * mm),
             p("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", title),
             p(f"Mã hồ sơ: {data.code}", center_bold), Spacer(1, 5 * mm),
             p(f"Bộ phận tiếp nhận và trả kết quả – {data.agency} tiếp nhận hồ sơ của:")]
    story.append(row("Ông/Bà", data.applicant))
    if data.id_number:
        story.append(row("Số định danh cá nhân (CCCD)", data.id_number))
    if data.contact:
        story.append(row("Điện thoại, email", data.contact))
    story.append(row("Nội dung yêu cầu giải quyết", data.procedure))
    story.append(row("Giấy tờ cần chứng thực", data.document_type))
    story.append(Spacer(1, 3 * mm))
    story.append(p("Thành phần hồ sơ:", bold))
    rows = [[p("STT", center_bold), p("Tên giấy tờ", center_bold), p("Tệp", center_bold),
             p("Số trang", center_bold), p("Số bản sao", center_bold)]]
    for n, (what, filename, pages) in enumerate(data.documents, start=1):
        rows.append([p(str(n), center), p(f"{what}: {data.document_type}"), p(filename, small),
                     p(str(pages or ""), center), p(str(data.copies), center)])
    table = Table(rows, colWidths=[12 * mm, 70 * mm, 52 * mm, 20 * mm, 24 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7"))]))
    story += [table, Spacer(1, 3 * mm)]
    fee_state = "đã nộp" if data.fee_paid else "chưa nộp"
    story.append(row("Lệ phí chứng thực", f"{vnd(data.fee)} ({fee_state}; hình thức nộp: {data.payment})"))
    story.append(row("Thời gian nhận hồ sơ", local(data.received_at)))
    story.append(row("Thời gian trả kết quả", local(data.due_at)))
    story.append(row("Hình thức nhận kết quả", data.delivery))
    if data.postal_address:
        story.append(row("Địa chỉ nhận kết quả qua bưu chính", data.postal_address))
        if data.postal_phone:
            story.append(row("Điện thoại người nhận bưu gửi", data.postal_phone))
    story.append(Spacer(1, 2 * mm))
    sent_to = ("qua dịch vụ bưu chính tới địa chỉ nêu trên (số hiệu bưu gửi được thông báo khi trả kết quả)"
               if data.postal_address else "vào tài khoản hoặc địa chỉ thư điện tử của người yêu cầu")
    story.append(p(f"Bản sao điện tử có chứng thực được gửi {sent_to}; "
                   "người yêu cầu có thể tra cứu tình trạng hồ sơ bằng mã hồ sơ trên.", small))
    story.append(Spacer(1, 10 * mm))
    signatures = Table([[p("NGƯỜI NỘP HỒ SƠ", center_bold), p("NGƯỜI TIẾP NHẬN HỒ SƠ", center_bold)],
                        [p("(Ký và ghi rõ họ tên)", center), p("(Ký và ghi rõ họ tên)", center)],
                        [Spacer(1, 18 * mm), Spacer(1, 18 * mm)],
                        [p(data.applicant, center_bold), p(data.received_by, center_bold)]],
                       colWidths=[90 * mm, 90 * mm])
    story.append(signatures)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=nfc(f"Giấy tiếp nhận hồ sơ {data.code}"),
                            author=nfc(data.agency), subject="Phiếu tiếp nhận hồ sơ", creator="certcopy")
    doc.build(story)
    return buf.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
