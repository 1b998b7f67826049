"""Administrator pages: agencies and users, the password shown once, a signer's set-up from the user page."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.adapters.models import Agency, SigningCredential, User
from tests.test_registers_pages import page_login
from tests.test_setup_api import image_bytes, make_p12
from tests.test_setup_pages import post_file


def test_admin_manages_agencies_through_pages(client, system):
    token = page_login(client, "admin")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Cơ quan, đơn vị" in home and "Người dùng" in home
    listing = client.get("/admin/agencies").get_data(as_text=True)
    assert "000.17.01.H03" in listing and "Cấp xã" in listing
    bad = client.post("/admin/agencies/new", data={"code": "sai mã", "name": "X", "level": "commune", "parent": "",
                                                   "csrf_token": token})
    assert bad.status_code == 422 and "Mã cơ quan không hợp lệ" in bad.get_data(as_text=True)
    ok = client.post("/admin/agencies/new", data={"code": "000.38.06.H03", "name": "Ủy ban nhân dân xã Bằng Thành",
                                                  "level": "commune", "parent": "000.00.38.H03", "slug": "",
                                                  "csrf_token": token})
    assert ok.status_code == 302
    page = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "Đã thêm cơ quan Ủy ban nhân dân xã Bằng Thành" in page and 'data-gap="missing_seal_image"' in page
    seal = post_file(client, "/admin/agencies/000.38.06.H03", token, {"action": "image"},
                     {"image": (image_bytes(size=(400, 400), colour=(200, 16, 30)), "dau.png")})
    assert seal.status_code == 302
    credential = post_file(client, "/admin/agencies/000.38.06.H03", token,
                           {"action": "credential", "passphrase": "dau-xa"},
                           {"pkcs12": (make_p12("dau-xa", cn="UBND xã Bằng Thành"), "dau.p12")})
    assert credential.status_code == 302
    page = client.get("/admin/agencies/000.38.06.H03").get_data(as_text=True)
    assert "UBND xã Bằng Thành" in page and "missing_credential" not in page
    save = client.post("/admin/agencies/000.38.06.H03", data={"action": "save", "code": "000.38.06.H03",
                                                              "name": "UBND xã Bằng Thành (mới)", "level": "commune",
                                                              "parent": "000.00.38.H03", "slug": "bangthanh",
                                                              "csrf_token": token})
    assert save.status_code == 302
    refused = client.post("/admin/agencies/bangthanh", data={"action": "delete", "csrf_token": token})
    assert refused.status_code == 409 and "chứng thư số" in refused.get_data(as_text=True)
    with system.db.session() as session:
        agency = session.scalar(select(Agency).where(Agency.slug == "bangthanh"))
        assert agency.name == "UBND xã Bằng Thành (mới)" and agency.seal_image_sha256


def test_admin_creates_a_user_sees_the_password_once_and_edits_roles(client, system):
    token = page_login(client, "admin")
    form = client.get("/admin/users/new").get_data(as_text=True)
    assert "Văn thư" in form and "Người ký chứng thực" in form
    bad = client.post("/admin/users/new", data={"username": "ma.thu", "full_name": "Ma Thị Thu", "agency": "",
                                                "roles": ["clerk"], "csrf_token": token})
    assert bad.status_code == 422 and "cần thuộc một cơ quan" in bad.get_data(as_text=True)
    created = client.post("/admin/users/new", data={"username": "ma.thu", "full_name": "Ma Thị Thu",
                                                    "title": "Văn thư", "agency": "000.38.05.H03",
                                                    "roles": ["clerk", "one_stop"], "csrf_token": token})
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    password = re.search(r"data-password>([^<]+)<", html).group(1)
    listing = client.get("/admin/users?agency=000.38.05.H03").get_data(as_text=True)
    assert "ma.thu" in listing and "Văn thư, Bộ phận một cửa" in listing and password not in listing

    edit = client.post("/admin/users/ma.thu", data={"action": "save", "full_name": "Ma Thị Thu", "title": "Văn thư",
                                                    "email": "", "phone": "", "agency": "000.38.05.H03",
                                                    "roles": ["clerk"], "active": "1", "csrf_token": token})
    assert edit.status_code == 302
    with system.db.session() as session:
        user = session.scalar(select(User).where(User.username == "ma.thu"))
        assert user.roles == ["clerk"] and user.active
    reset = client.post("/admin/users/ma.thu", data={"action": "password", "csrf_token": token})
    new_password = re.search(r"data-password>([^<]+)<", reset.get_data(as_text=True)).group(1)
    assert new_password != password
    other = client.application.test_client()
    assert page_login(other, "ma.thu", new_password)
    assert other.get("/registers/").status_code == 200


def test_admin_sets_up_a_signer_from_the_user_page(client, system):
    token = page_login(client, "admin")
    page = client.get("/admin/users/signer.giaohieu").get_data(as_text=True)
    assert "Cài đặt để ký chứng thực" in page and "Hứa Văn Lâm" in page
    upload = post_file(client, "/admin/users/signer.giaohieu", token, {"action": "credential", "passphrase": "pin-moi"},
                       {"pkcs12": (make_p12("pin-moi", cn="Hứa Văn Lâm"), "ck.p12")})
    assert upload.status_code == 302
    with system.db.session() as session:
        row = session.scalar(select(SigningCredential).where(SigningCredential.active,
                                                             SigningCredential.uploaded_by == "admin"))
        assert row is not None and row.subject == "Hứa Văn Lâm"
    page = client.get("/admin/users/clerk.giaohieu").get_data(as_text=True)
    assert "Cài đặt để ký chứng thực" not in page
    lockout = client.post("/admin/users/admin", data={"action": "save", "full_name": "Quản trị hệ thống",
                                                      "agency": "", "roles": ["admin"], "csrf_token": token})
    assert lockout.status_code == 409 and "Không thể tự khóa" in lockout.get_data(as_text=True)


def test_admin_pages_are_for_administrators(client):
    page_login(client, "clerk.pcc1")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/agencies").status_code == 403
    assert "Người dùng" not in client.get("/", follow_redirects=True).get_data(as_text=True)
