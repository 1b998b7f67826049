"""Delivery of the result by post (nhận kết quả qua bưu chính): the address and phone given when filing, the postal
item number (số hiệu bưu gửi) recorded when the one-stop desk returns the result."""
from __future__ import annotations

from collections.abc import Mapping

from app.domain.contacts import PHONE_RE
from app.errors import Unprocessable

POSTAL_ADDRESS_MIN, POSTAL_ADDRESS_MAX = 10, 500


def _field_error(field: str, message: str, code: str = "invalid_field") -> Unprocessable:
    return Unprocessable(message, code=code, details={"fields": {field: message}})


def postal_details(delivery: str, fields: Mapping) -> tuple[str | None, str | None]:
    """The postal address and phone of a filing, normalised: (address, phone).

    When the result goes by post the address is required (trimmed, 10–500 characters) and the phone optional but
    a Vietnamese number (spaces ignored); otherwise neither may be sent."""
    address = str(fields.get("postal_address") or "").strip()
    phone = str(fields.get("postal_phone") or "").strip().replace(" ", "")
    if delivery != "post":
        for name, value, label in (("postal_address", address, "Địa chỉ nhận kết quả"),
                                   ("postal_phone", phone, "Số điện thoại nhận bưu gửi")):
            if value:
                raise _field_error(name, f"{label} chỉ nhập khi chọn nhận kết quả qua bưu chính.")
        return None, None
    if not address:
        raise _field_error("postal_address", "Cần nhập địa chỉ nhận kết quả qua bưu chính.")
    if not POSTAL_ADDRESS_MIN <= len(address) <= POSTAL_ADDRESS_MAX:
        raise _field_error("postal_address", f"Địa chỉ nhận kết quả phải từ {POSTAL_ADDRESS_MIN} đến "
                                             f"{POSTAL_ADDRESS_MAX} ký tự (số nhà, đường, phường/xã, quận/huyện, "
                                             "tỉnh/thành phố).")
    if phone and not PHONE_RE.match(phone):
        raise _field_error("postal_phone", "Số điện thoại nhận bưu gửi không hợp lệ (10 số bắt đầu bằng 0, "
                                           "hoặc +84 và 9 số).")
    return address, phone or None


def postal_tracking_at_return(delivery: str, tracking: object) -> str | None:
    """The postal item number at the return step: required when the result goes by post, refused otherwise.
    Its format is checked by the return task's form."""
    tracking = str(tracking or "").strip()
    if delivery == "post":
        if not tracking:
            raise _field_error("postal_tracking", "Hồ sơ nhận kết quả qua bưu chính: cần nhập số hiệu bưu gửi.",
                               "postal_tracking_required")
        return tracking
    if tracking:
        raise _field_error("postal_tracking", "Hồ sơ không nhận kết quả qua bưu chính: không nhập số hiệu bưu gửi.",
                           "postal_tracking_not_allowed")
    return None
