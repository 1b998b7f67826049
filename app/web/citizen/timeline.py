"""A dossier's history told to its citizen in plain Vietnamese (internal steps such as claims are left out)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    text: str
    tone: str = "info"  # info | action (the citizen must act) | done | bad


def _money(amount) -> str:
    return f"{int(amount):,}".replace(",", ".") + " đồng"


def _with_reason(text: str, data: dict) -> str:
    reason = (data.get("reason") or "").strip()
    return f"{text} Lý do: {reason}" if reason else text


def _task_text(task: str | None, data: dict) -> tuple[str, str] | None:
    decision = data.get("decision")
    if task == "intake":
        if decision == "accept":
            return "Bộ phận một cửa đã tiếp nhận hồ sơ.", "info"
        if decision == "supplement":
            return _with_reason("Bộ phận một cửa yêu cầu bổ sung hồ sơ.", data), "action"
        if decision == "refuse":
            return _with_reason("Hồ sơ bị từ chối tiếp nhận.", data), "bad"
    if task == "supplement":
        note = (data.get("note") or "").strip()
        return ("Đã nộp bổ sung bản scan mới." + (f" Ghi chú: {note}" if note else "")), "info"
    if task == "assign":
        return "Lãnh đạo đã phân công người ký chứng thực.", "info"
    if task == "handle":
        if decision == "cancel":
            return _with_reason("Hồ sơ bị hủy.", data), "bad"
        return "Công chức Tư pháp – Hộ tịch đã kiểm tra và trình ký.", "info"
    if task == "review_sign":
        if decision == "reject":
            return "Hồ sơ được chuyển lại để hoàn thiện trước khi ký.", "info"
        return "Người ký chứng thực đã ký số lời chứng.", "info"
    if task == "rework":
        if decision == "cancel":
            return _with_reason("Hồ sơ bị hủy.", data), "bad"
        return "Hồ sơ đã được hoàn thiện và trình ký lại.", "info"
    if task == "seal":
        return "Văn thư đã đóng dấu số của cơ quan.", "info"
    if task == "return":
        return "Đã trả kết quả: bản sao điện tử có chứng thực sẵn sàng để tải về.", "done"
    return None


def event_text(event: dict) -> tuple[str, str] | None:
    """(text, tone) for one audit event (the API's event shape), or None when the citizen need not see it."""
    kind, data = event["kind"], event.get("data") or {}
    if kind == "submitted":
        fee = data.get("fee") or {}
        fee_text = (f" Lệ phí: {_money(fee['amount_vnd'])} ({fee['pages']} trang × {fee['copies']} bản)."
                    if fee.get("amount_vnd") is not None else "")
        first = ("Hồ sơ được lập tại Bộ phận một cửa." if data.get("walk_in") else "Bạn đã nộp hồ sơ trực tuyến.")
        return first + fee_text, "info"
    if kind == "task_completed":
        return _task_text(event.get("task"), data)
    if kind == "service_completed" and (data.get("operator") == "seal_copy"):
        result = data.get("result") or {}
        if result.get("certification_number"):
            return (f"Bản sao được cấp số chứng thực {result['certification_number']}/ĐT, "
                    f"quyển số {result.get('register', '')}."), "info"
    if kind == "timer_fired" and "supplement" in (event.get("task") or ""):
        return "Đã quá hạn bổ sung hồ sơ.", "bad"
    if kind == "cancelled":
        return "Hồ sơ đã kết thúc: bị hủy.", "bad"
    return None


def citizen_timeline(events: list[dict], payments: list[dict] = ()) -> list[TimelineItem]:
    """Events (oldest first) and settled payments, merged in time order."""
    items = []
    for event in events:
        told = event_text(event)
        if told:
            items.append(TimelineItem(datetime.fromisoformat(event["at"]), *told))
    for payment in payments:
        if payment["status"] == "paid" and payment.get("completed_at"):
            how = "tại Bộ phận một cửa" if payment["provider"] == "counter" else "trực tuyến"
            items.append(TimelineItem(datetime.fromisoformat(payment["completed_at"]),
                                      f"Đã thanh toán lệ phí {_money(payment['amount_vnd'])} {how}.", "done"))
    return sorted(items, key=lambda item: item.at)
