"""Demo data: three agencies of Bắc Kạn (one per routing variant), one user per role, dev keys and images.
Every demo password and signing PIN is `demo`."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

import signing

from app import clock
from app.adapters.models import Agency, Register, User, UserRole
from app.adapters.security import hash_password
from app.domain.calendar import VN_TZ
from app.services.unit_of_work import unit_of_work

DEMO_PASSWORD = "demo"

AGENCIES = [
    # code, slug, name, level, parent slug
    ("000.17.01.H03", "pcc1", "Phòng Công chứng số 1 – Sở Tư pháp tỉnh Bắc Kạn", "province", None),
    ("000.00.38.H03", "pacnam", "Ủy ban nhân dân huyện Pác Nặm", "district", None),
    ("000.38.05.H03", "giaohieu", "Ủy ban nhân dân xã Giáo Hiệu", "commune", "pacnam"),
]

STAFF = {
    "pcc1": [("one_stop", "Nông Thị Hà", "Chuyên viên Bộ phận một cửa"),
             ("leader", "Hoàng Văn Sơn", "Trưởng phòng Công chứng số 1"),
             ("signer", "Lý Thị Thu Trang", "Công chứng viên"),
             ("clerk", "Ma Văn Đức", "Văn thư")],
    "pacnam": [("one_stop", "Triệu Thị Mai", "Công chức Bộ phận một cửa"),
               ("leader", "Đàm Văn Quyết", "Chánh Văn phòng HĐND và UBND huyện"),
               ("signer", "Lương Văn Thắng", "Trưởng phòng Tư pháp"),
               ("clerk", "Hà Thị Nguyệt", "Văn thư")],
    "giaohieu": [("one_stop", "Bàn Thị Dung", "Công chức Bộ phận một cửa"),
                 ("justice_officer", "Dương Văn Tùng", "Công chức Tư pháp – Hộ tịch"),
                 ("signer", "Hứa Văn Lâm", "Chủ tịch Ủy ban nhân dân xã"),
                 ("clerk", "Lộc Thị Hằng", "Văn thư")],
}


def demo_accounts() -> list[tuple[str, str, str]]:
    """(username, role, agency slug) for the printed table."""
    rows = [(f"{role}.{slug}", role, slug) for slug, staff in STAFF.items() for role, _, _ in staff]
    return rows + [("admin", "admin", ""), ("auditor", "auditor", ""), ("citizen", "citizen", "")]


def seed_demo(system, password_hash: str | None = None) -> bool:
    """Create the demo data once. Returns False when it is already there."""
    settings, files = system.settings, system.files
    pw = password_hash or hash_password(DEMO_PASSWORD)
    with unit_of_work(system) as session:
        if session.scalar(select(Agency.id).where(Agency.slug == "pcc1")) is not None:
            return False
        agencies: dict[str, Agency] = {}
        for code, slug, name, level, parent in AGENCIES:
            agency = Agency(code=code, slug=slug, name=name, level=level,
                            parent_id=agencies[parent].id if parent else None)
            session.add(agency)
            session.flush()
            agencies[slug] = agency

        signers = [(f"signer.{slug}", next(n for r, n, _ in staff if r == "signer")) for slug, staff in STAFF.items()]
        pki = signing.create_dev_pki(settings.pki_path, agencies=[(a.code, a.name) for a in agencies.values()],
                                     signers=signers, passphrase=DEMO_PASSWORD)

        def user(username, full_name, roles, agency=None, title=None, **extra):
            row = User(username=username, password_hash=pw, full_name=full_name, title=title,
                       agency_id=agency.id if agency else None, active=True, token_generation=0, **extra)
            row.role_rows = [UserRole(role=r) for r in roles]
            session.add(row)
            session.flush()
            return row

        for slug, staff in STAFF.items():
            agency = agencies[slug]
            for role, full_name, title in staff:
                row = user(f"{role}.{slug}", full_name, [role], agency, title, email=f"{role}.{slug}@example.vn")
                if role == "signer":
                    row.signature_image_sha256 = files.put(signing.make_signature_image(full_name, title))
                    system.keys.register_pkcs12(session, pki.signer_p12[row.username].read_bytes(), DEMO_PASSWORD,
                                                kind="signer", user=row)
            agency.seal_image_sha256 = files.put(signing.make_seal_image(agency.name))
            system.keys.register_pkcs12(session, pki.seal_p12[agency.code].read_bytes(), DEMO_PASSWORD,
                                        kind="seal", agency=agency)
            year = clock.now().astimezone(VN_TZ).year
            session.add(Register(agency_id=agency.id, name=f"01/{year}", start_number=1, next_number=1,
                                 opened_on=date(year, 1, 1), closes_on=date(year, 12, 31), closed=False))
        user("admin", "Quản trị hệ thống", ["admin"])
        user("auditor", "Thanh tra Sở Tư pháp", ["auditor"])
        user("citizen", "Nguyễn Văn An", ["citizen"], id_number="001090012345", phone="0912345678",
             email="citizen@example.vn", date_of_birth=date(1990, 5, 17))
    return True
