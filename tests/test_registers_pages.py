"""The register pages through the Flask client: list, create (with its errors), view, edit, delete, export."""
from __future__ import annotations

import io
import re
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

from app.adapters.models import Register
from app.domain.calendar import VN_TZ
from tests.test_registers_api import YEAR, to_seal


def page_login(client, username: str, password: str = "demo") -> str:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return csrf_of(client.get("/", follow_redirects=True).get_data(as_text=True))  # a new session, a new token


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def register_id(system, name: str) -> int:
    with system.db.session() as session:
        return session.scalar(select(Register.id).where(Register.name == name))


def test_clerk_creates_views_edits_and_deletes_a_register(client, system):
    token = page_login(client, "clerk.pcc1")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Quản lý sổ chứng thực" in home and "/registers/" in home
    listing = client.get("/registers/").get_data(as_text=True)
    assert f"01/{YEAR}-SCTĐT/BS" in listing and "Thêm sổ chứng thực" in listing and "Đang mở" in listing
    form = client.get("/registers/new").get_data(as_text=True)
    assert "-SCTĐT/BS" in form and "người dùng không cần nhập" in form

    resp = client.post("/registers/new", data={"name": "02/2026", "start_number": "5", "opened_on": f"{YEAR}-01-01",
                                               "closes_on": f"{YEAR}-12-31", "csrf_token": token})
    assert resp.status_code == 302
    view = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Đã tạo sổ chứng thực 02/2026-SCTĐT/BS" in view
    assert "5/ĐT" in view and f"01/01/{YEAR}" in view and "Sổ chưa có số chứng thực nào" in view
    rid = register_id(system, "02/2026")

    edit = client.get(f"/registers/{rid}/edit").get_data(as_text=True)
    assert 'value="02/2026"' in edit and "Đang mở" in edit
    resp = client.post(f"/registers/{rid}/edit", data={"name": "03/2026", "start_number": "9",
                                                       "opened_on": f"{YEAR}-02-01", "closes_on": f"{YEAR}-11-30",
                                                       "status": "closed", "csrf_token": token})
    assert resp.status_code == 302
    view = client.get(f"/registers/{rid}").get_data(as_text=True)
    assert "03/2026-SCTĐT/BS" in view and "9/ĐT" in view and "Đã đóng" in view and f"30/11/{YEAR}" in view

    resp = client.post(f"/registers/{rid}/delete", data={"csrf_token": token})
    assert resp.status_code == 302
    assert "Đã xóa sổ chứng thực" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/registers/{rid}").status_code == 404


def test_form_errors_are_shown_with_a_4xx_and_change_nothing(client, system):
    token = page_login(client, "clerk.pcc1")
    resp = client.post("/registers/new", data={"name": "", "start_number": "0", "opened_on": f"{YEAR}-01-01",
                                               "closes_on": f"{YEAR}-12-31", "csrf_token": token})
    assert resp.status_code == 422 and "Cần nhập tên sổ chứng thực" in resp.get_data(as_text=True)
    resp = client.post("/registers/new", data={"name": "20/2026", "start_number": "x", "opened_on": f"{YEAR}-01-01",
                                               "closes_on": f"{YEAR}-12-31", "csrf_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Số bắt đầu phải là số nguyên" in html and 'value="20/2026"' in html
    resp = client.post("/registers/new", data={"name": "20/2026", "start_number": "1", "opened_on": f"{YEAR}-05-01",
                                               "closes_on": f"{YEAR}-04-01", "csrf_token": token})
    assert resp.status_code == 422 and "Ngày đóng sổ không được trước ngày mở sổ" in resp.get_data(as_text=True)
    resp = client.post("/registers/new", data={"name": f"01/{YEAR}", "start_number": "1", "opened_on": f"{YEAR}-05-01",
                                               "closes_on": f"{YEAR}-06-01", "csrf_token": token})
    assert resp.status_code == 409 and "Cơ quan đã có sổ chứng thực" in resp.get_data(as_text=True)
    assert client.post("/registers/new", data={"name": "21/2026"}).status_code == 400  # no CSRF token
    assert register_id(system, "20/2026") is None and register_id(system, "21/2026") is None


def test_register_with_entries_cannot_be_deleted_or_renumbered_and_exports(client, api, system):
    code = to_seal(api)
    demo = register_id(system, f"01/{YEAR}")
    assert api.complete("clerk.pcc1", code, "seal", {"register": demo}, pin="demo").status_code == 200
    token = page_login(client, "clerk.pcc1")
    view = client.get(f"/registers/{demo}").get_data(as_text=True)
    assert "Nguyễn Văn An" in view and "Giấy khai sinh" in view and "1/ĐT" in view and code in view
    assert "Xóa sổ" not in view and "Xuất báo cáo Excel" in view
    edit = client.get(f"/registers/{demo}/edit").get_data(as_text=True)
    assert "readonly" in edit and "không sửa được nữa" in edit
    resp = client.post(f"/registers/{demo}/delete", data={"csrf_token": token})
    assert resp.status_code == 302
    assert "chỉ xóa được sổ còn trống" in client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = client.post(f"/registers/{demo}/edit", data={"name": "ignored", "start_number": "50",
                                                        "opened_on": f"{YEAR}-01-01", "closes_on": f"{YEAR}-12-31",
                                                        "status": "open", "csrf_token": token})
    assert resp.status_code == 302  # the locked fields are not sent; the dates are saved
    with system.db.session() as session:
        row = session.get(Register, demo)
        assert (row.name, row.start_number, row.next_number) == (f"01/{YEAR}", 1, 2)
    export = client.get(f"/registers/{demo}/export.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.get_data())).active
    assert sheet["B1"].value == f"01/{YEAR}-SCTĐT/BS" and sheet["D8"].value == "1/ĐT"
    assert sheet["E8"].value.date() <= datetime.now(VN_TZ).date()  # sealed today, Vietnam time


def test_who_sees_the_register_pages(client, system):
    assert client.get("/registers/").status_code == 302  # to the login page
    page_login(client, "citizen")
    assert client.get("/registers/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/", follow_redirects=True).get_data(as_text=True))})
    page_login(client, "one_stop.pcc1")
    assert client.get("/registers/").status_code == 200
    assert "Thêm sổ chứng thực" not in client.get("/registers/").get_data(as_text=True)
    assert client.get("/registers/new").status_code == 403
    other = register_id(system, f"01/{YEAR}")  # the first agency: pcc1
    with system.db.session() as session:
        pacnam = session.scalar(select(Register.id).where(Register.id != other, Register.name == f"01/{YEAR}"))
    assert client.get(f"/registers/{pacnam}").status_code == 404
    assert client.get(f"/registers/{other}").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/", follow_redirects=True).get_data(as_text=True))})
    page_login(client, "auditor")
    listing = client.get("/registers/").get_data(as_text=True)
    assert "Ủy ban nhân dân xã Giáo Hiệu" in listing and "Thêm sổ chứng thực" not in listing
