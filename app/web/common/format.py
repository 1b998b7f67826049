"""How the staff pages show things: Vietnamese names of statuses, roles, documents and events, local times,
amounts. Plain functions, registered as Jinja filters by the staff blueprint."""
from __future__ import annotations

from datetime import datetime

from app.domain.calendar import VN_TZ
from app.domain.task_forms import form_schema
from app.services.dossiers.receipts import DELIVERY_NAMES, PAYMENT_NAMES
from app.domain.procedures import LEVEL_NAMES, PROCEDURES, ROLE_NAMES

STATUS_NAMES = {
    "submitted": "Chờ tiếp nhận",
    "awaiting_supplement": "Chờ bổ sung",
    "processing": "Đang xử lý",
    "awaiting_signature": "Chờ ký duyệt",
    "awaiting_seal": "Chờ đóng dấu",
    "awaiting_return": "Chờ trả kết quả",
    "returned": "Đã trả kết quả",
    "refused": "Từ chối tiếp nhận",
    "cancelled": "Đã hủy",
}
DOCUMENT_NAMES = {
    "original": "Bản scan bản chính",
    "original_repaired": "Bản scan bản chính (đã sửa lỗi cấu trúc PDF)",
    "original_cleaned": "Bản scan bản chính (đã gỡ mã lệnh, tệp đính kèm)",
    "supplement": "Bản scan bổ sung",
    "corrected_original": "Bản scan đã sửa (trình ký lại)",
    "signed_copy": "Bản sao đã ký (chờ đóng dấu)",
    "certified_copy": "Bản sao điện tử có chứng thực",
}
EVENT_NAMES = {
    "submitted": "Nộp hồ sơ",
    "task_completed": "Hoàn thành",
    "service_completed": "Hệ thống thực hiện",
    "timer_fired": "Đến hạn",
    "notified": "Gửi thông báo",
    "migrated": "Chuyển phiên bản quy trình",
    "cancelled": "Hủy hồ sơ",
    "claimed": "Nhận việc",
    "released": "Trả lại việc",
}


def local_time(moment: datetime | None, with_seconds: bool = False) -> str:
    if moment is None:
        return ""
    return moment.astimezone(VN_TZ).strftime("%H:%M:%S %d/%m/%Y" if with_seconds else "%H:%M %d/%m/%Y")


def vnd(amount: int | None) -> str:
    if amount is None:
        return ""
    return f"{amount:,}".replace(",", ".") + " đ"


def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status)


def role_name(role: str | None) -> str:
    return ROLE_NAMES.get(role, role or "Hệ thống")


def document_name(kind: str) -> str:
    return DOCUMENT_NAMES.get(kind, kind)


def procedure_name(code: str) -> str:
    return PROCEDURES.get(code, {}).get("name", code)


def delivery_name(value: str) -> str:
    return DELIVERY_NAMES.get(value, value)


def payment_name(value: str) -> str:
    return PAYMENT_NAMES.get(value, value)


def level_name(value: str) -> str:
    return LEVEL_NAMES.get(value, value)


def choice_title(task: str | None, field: str, value) -> str:
    """The Vietnamese title of an enum value of a task's form (e.g. intake/decision/accept -> Tiếp nhận)."""
    if not task:
        return str(value)
    try:
        prop = form_schema(task).get("properties", {}).get(field, {})
    except KeyError:
        return str(value)
    values, titles = prop.get("enum", []), prop.get("x-enum-titles", [])
    if value in values and len(titles) == len(values):
        return titles[values.index(value)]
    return str(value)


FILTERS = {
    "local_time": local_time,
    "vnd": vnd,
    "status_name": status_name,
    "role_name": role_name,
    "document_name": document_name,
    "procedure_name": procedure_name,
    "delivery_name": delivery_name,
    "payment_name": payment_name,
    "level_name": level_name,
}
