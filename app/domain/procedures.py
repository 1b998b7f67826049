"""Reference data: the procedures offered and at which agency levels."""
from __future__ import annotations

PROCEDURES = {
    "2.000815": {
        "name": "Chứng thực bản sao điện tử từ bản chính giấy tờ, văn bản do cơ quan tổ chức có thẩm quyền "
                "của Việt Nam cấp hoặc chứng nhận",
        "levels": ["province", "district", "commune"],
    },
    "2.000843": {
        "name": "Chứng thực bản sao điện tử từ bản chính giấy tờ, văn bản do cơ quan tổ chức có thẩm quyền "
                "của nước ngoài cấp hoặc chứng nhận",
        "levels": ["province", "district"],
    },
}
DELIVERY = ("online", "email", "post")
PAYMENT = ("counter", "online")
LEVEL_NAMES = {"province": "Cấp tỉnh", "district": "Cấp huyện", "commune": "Cấp xã"}
ROLE_NAMES = {
    "citizen": "Công dân",
    "one_stop": "Bộ phận một cửa",
    "leader": "Lãnh đạo",
    "justice_officer": "Công chức Tư pháp – Hộ tịch",
    "signer": "Người ký chứng thực",
    "clerk": "Văn thư",
    "admin": "Quản trị hệ thống",
    "auditor": "Kiểm tra viên",
}


def procedures_list() -> list[dict]:
    return [{"code": code, "name": p["name"], "levels": list(p["levels"])} for code, p in PROCEDURES.items()]
