"""The rules of a filing's fields that need no database: the procedure offered at the agency's level, the document
to certify, the number of copies, how the result is delivered and the fee paid, the applicant's declaration, and
how a walk-in applicant is named (an account, or an e-mail address for one without).

Each check raises a 422 naming its field, with a Vietnamese message; the checks run in the order the form shows
the fields, so the first problem a person sees is the first one reported."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.contacts import EMAIL_RE
from app.domain.procedures import DELIVERY, PAYMENT, PROCEDURES
from app.errors import Unprocessable

MAX_COPIES = 100
MAX_DOCUMENT_TYPE = 255
MAX_APPLICANT_NAME = 255
DECLARED = ("true", "1", "on", "yes")


def field_error(field: str, message: str, code: str = "invalid_field") -> Unprocessable:
    return Unprocessable(message, code=code, details={"fields": {field: message}})


def offered_procedure(procedure: object, agency_level: str, agency_name: str) -> str:
    """The procedure's code, if it exists and the agency's level offers it."""
    procedure = str(procedure or "")
    if procedure not in PROCEDURES:
        raise field_error("procedure", f"Không có thủ tục '{procedure}'.", "unknown_procedure")
    if agency_level not in PROCEDURES[procedure]["levels"]:
        raise field_error("procedure", f"Thủ tục {procedure} không thực hiện tại {agency_name}.",
                          "procedure_not_offered")
    return procedure


def document_type(value: object) -> str:
    """The name of the document to certify (e.g. "Giấy khai sinh"), trimmed; required, at most 255 characters."""
    text = str(value or "").strip()
    if not text or len(text) > MAX_DOCUMENT_TYPE:
        raise field_error("document_type", f"Cần nhập tên giấy tờ cần chứng thực (tối đa {MAX_DOCUMENT_TYPE} ký tự).")
    return text


def copies(value: object) -> int:
    """How many certified copies (1–100); absent means one."""
    if value is None:
        return 1
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise field_error("copies", "Số bản sao phải là số nguyên.") from None
    if not 1 <= count <= MAX_COPIES:
        raise field_error("copies", f"Số bản sao phải từ 1 đến {MAX_COPIES}.")
    return count


def delivery(value: object) -> str:
    """How the result is received: online (the account, the default), email or post."""
    chosen = value or "online"
    if chosen not in DELIVERY:
        raise field_error("delivery", "Hình thức nhận kết quả không hợp lệ (online, email, post).")
    return chosen


def payment(value: object) -> str:
    """How the fee is paid: at the counter (the default) or online."""
    chosen = value or "counter"
    if chosen not in PAYMENT:
        raise field_error("payment", "Hình thức thanh toán không hợp lệ (counter, online).")
    return chosen


def declared(value: object) -> None:
    """The applicant declares the filing accurate (cam đoan); required."""
    if str(value if value is not None else "").lower() not in DECLARED:
        raise field_error("declaration", "Cần xác nhận cam đoan về tính chính xác của hồ sơ.", "declaration_required")


@dataclass(frozen=True)
class FilingChoices:
    """The checked fields every filing has."""
    procedure: str
    document_type: str
    copies: int
    delivery: str
    payment: str


def filing_choices(fields: Mapping, agency_level: str, agency_name: str) -> FilingChoices:
    """Check the fields every filing has, in the order of the form."""
    choices = FilingChoices(procedure=offered_procedure(fields.get("procedure"), agency_level, agency_name),
                            document_type=document_type(fields.get("document_type")),
                            copies=copies(fields.get("copies")), delivery=delivery(fields.get("delivery")),
                            payment=payment(fields.get("payment")))
    declared(fields.get("declaration"))
    return choices


@dataclass(frozen=True)
class WalkInApplicant:
    """Who a walk-in dossier is for: an account (`citizen`: its username or ID number), or a person without one,
    reached by e-mail (`email`, with the name the officer typed, if any)."""
    citizen: str | None = None
    email: str | None = None
    name: str | None = None


def walk_in_applicant(fields: Mapping) -> WalkInApplicant:
    """The applicant of a walk-in: an account wins over an e-mail; one of the two is required."""
    ref = str(fields.get("citizen") or "").strip()
    if ref:
        return WalkInApplicant(citizen=ref)
    email = str(fields.get("email") or "").strip()
    if not email:
        raise field_error("citizen", "Hồ sơ trực tiếp cần tài khoản công dân (citizen) hoặc email (email).")
    if not EMAIL_RE.match(email):
        raise field_error("email", "Địa chỉ email không hợp lệ.")
    name = str(fields.get("applicant_name") or "").strip()
    if len(name) > MAX_APPLICANT_NAME:
        raise field_error("applicant_name", f"Họ tên người yêu cầu tối đa {MAX_APPLICANT_NAME} ký tự.")
    return WalkInApplicant(email=email, name=name or None)


def delivery_without_account(chosen: str) -> str:
    """An applicant without an account receives the result by post if chosen, otherwise by e-mail."""
    return "post" if chosen == "post" else "email"
