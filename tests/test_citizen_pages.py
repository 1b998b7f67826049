"""The citizen portal and the staff appointment pages without JavaScript (Flask test client): each bad input is
shown on the page in Vietnamese with a 4xx and stores nothing; the good paths end where the citizen expects."""
from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from app import clock
from app.adapters.models import Agency, Appointment, Dossier, Notification, User
from app.replay import make_pdf
from app.domain.calendar import VN_TZ
from tests.test_citizen_api import encrypted_pdf


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', html).group(1)


class Browser:
    """A test client that logs in and carries the CSRF token like a browser without JavaScript."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        resp = self.client.get(url, **kw)
        if resp.status_code == 200 and resp.mimetype == "text/html" and "csrf_token" in resp.get_data(as_text=True):
            self.token = csrf_of(resp.get_data(as_text=True))
        return resp

    def post(self, url, data=None, **kw):
        if self.token is None:
            self.get("/login")
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kw)

    def login(self, username, password="demo"):
        self.get("/login")
        resp = self.post("/login", {"username": username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        self.get("/")
        return self


@pytest.fixture
def browser(client):
    return Browser(client)


def count(system, model) -> int:
    with system.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def text(resp) -> str:
    return resp.get_data(as_text=True)


# -- registration ----------------------------------------------------------------------------------------------
FORM = {"id_number": "038095001234", "full_name": "Phạm Văn Dũng", "date_of_birth": "1995-08-20",
        "phone": "0977123456", "email": "dung@example.vn", "password": "mat-khau-123", "password_again": "mat-khau-123"}


@pytest.mark.parametrize("change, message", [
    ({"id_number": "0380950012"}, "Số định danh (CCCD 12 số hoặc CMND 9 số) không hợp lệ."),
    ({"date_of_birth": "2999-01-01"}, "Ngày sinh không thể ở tương lai."),
    ({"password_again": "khac-mat-khau"}, "Hai lần nhập mật khẩu không khớp nhau."),
    ({"id_number": "001090012345"}, "Số định danh này đã có tài khoản; hãy đăng nhập."),
])
def test_register_errors_are_shown_and_nothing_is_stored(browser, system, change, message):
    browser.get("/cong-dan/dang-ky")
    users = count(system, User)
    resp = browser.post("/cong-dan/dang-ky", {**FORM, **change})
    assert 400 <= resp.status_code < 500 and message in text(resp)
    assert 'value="Phạm Văn Dũng"' in text(resp)  # what was typed is kept
    assert count(system, User) == users


def test_register_then_land_on_my_dossiers(browser, system):
    browser.get("/cong-dan/dang-ky")
    resp = browser.post("/cong-dan/dang-ky", FORM, follow_redirects=True)
    assert resp.status_code == 200 and "Đăng ký thành công" in text(resp) and "Hồ sơ của tôi" in text(resp)
    assert "Bạn chưa có hồ sơ nào." in text(resp)


# -- filing ----------------------------------------------------------------------------------------------------
def test_choosing_level_agency_and_procedure(browser):
    browser.login("citizen")
    assert "Cấp xã" in text(browser.get("/cong-dan/nop-ho-so"))
    commune = text(browser.get("/cong-dan/nop-ho-so?level=commune"))
    assert "Ủy ban nhân dân xã Giáo Hiệu (Ủy ban nhân dân huyện Pác Nặm)" in commune and "Pác Nặm\"" not in commune
    procedures = text(browser.get("/cong-dan/nop-ho-so?level=commune&agency=giaohieu"))
    assert "2.000815" in procedures and "2.000843" not in procedures
    assert "2.000843" in text(browser.get("/cong-dan/nop-ho-so?level=district&agency=pacnam"))
    refused = browser.get("/cong-dan/nop-ho-so?level=commune&agency=giaohieu&procedure=2.000843")
    assert refused.status_code == 422
    assert "Thủ tục 2.000843 không thực hiện tại Ủy ban nhân dân xã Giáo Hiệu" in text(refused)
    chosen = browser.get("/cong-dan/nop-ho-so?level=district&agency=pacnam&procedure=2.000843")
    assert chosen.status_code == 302 and "thong-tin?agency=pacnam&procedure=2.000843" in chosen.headers["Location"]
    assert browser.get("/cong-dan/nop-ho-so/thong-tin?agency=giaohieu&procedure=2.000843").status_code == 422


def _details(browser, agency="pcc1", procedure="2.000815"):
    html = text(browser.get(f"/cong-dan/nop-ho-so/thong-tin?agency={agency}&procedure={procedure}"))
    return hidden(html, "idempotency_key"), html


def _filing(key, pdf=None, **fields):
    return {"idempotency_key": key, "agency": "pcc1", "procedure": "2.000815", "document_type": "Bằng tốt nghiệp",
            "copies": "1", "delivery": "online", "payment": "counter", "declaration": "true",
            "original": (io.BytesIO(make_pdf(2) if pdf is None else pdf), "bang.pdf"), **fields}


@pytest.mark.parametrize("fields, pdf, status, message", [
    ({"declaration": ""}, None, 422, "Cần xác nhận cam đoan về tính chính xác của hồ sơ."),
    ({}, b"PK\x03\x04 a zip file", 415, "Tệp tải lên không phải là tệp PDF."),
    ({}, "encrypted", 422, "Tệp PDF có mật khẩu hoặc bị mã hóa"),
    ({"copies": "0"}, None, 422, "Số bản sao phải từ 1 đến 100."),
    ({"document_type": ""}, None, 422, "Cần nhập tên giấy tờ cần chứng thực"),
    ({"procedure": "2.000843", "agency": "giaohieu"}, None, 422, "không thực hiện tại"),
])
def test_filing_errors_are_shown_on_the_page_and_nothing_is_stored(browser, system, fields, pdf, status, message):
    browser.login("citizen")
    key, _ = _details(browser)
    before = (count(system, Dossier), len(list(system.files.root.rglob("*"))))
    resp = browser.post("/cong-dan/nop-ho-so/thong-tin",
                        _filing(key, encrypted_pdf() if pdf == "encrypted" else pdf, **fields))
    assert resp.status_code == status and message in text(resp)
    assert (count(system, Dossier), len(list(system.files.root.rglob("*")))) == before


def test_file_over_the_limit_is_shown_next_to_the_upload(browser, system):
    browser.login("citizen")
    key, html = _details(browser)
    assert "tối đa 30 MB" in html
    system.settings.max_upload_bytes = 40_000
    resp = browser.post("/cong-dan/nop-ho-so/thong-tin", _filing(key, make_pdf(1) + b"%" * 50_000))
    assert resp.status_code == 413 and 'id="err-original"' in text(resp) and "vượt quá dung lượng" in text(resp)
    assert count(system, Dossier) == 0


def test_file_confirm_twice_gives_one_dossier_with_timeline_and_receipt(browser, system):
    browser.login("citizen")
    key, html = _details(browser)
    assert "Nguyễn Văn An" in html and "001090012345" in html  # prefilled from the account
    checked = browser.post("/cong-dan/nop-ho-so/thong-tin", _filing(key, make_pdf(4), copies="3", payment="online"))
    page = text(checked)
    assert checked.status_code == 200 and "4 trang" in page and "18.000 đồng" in page  # (2×2000 + 2×1000) × 3
    assert count(system, Dossier) == 0  # nothing is filed before the confirmation
    draft = hidden(page, "draft")
    first = browser.post("/cong-dan/nop-ho-so/xac-nhan", {"draft": draft})
    second = browser.post("/cong-dan/nop-ho-so/xac-nhan", {"draft": draft})
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(system, Dossier) == 1
    receipt_page = text(browser.get(first.headers["Location"]))
    code = re.search(r'id="dossier-code">([^<]+)<', receipt_page).group(1)
    assert "Nộp hồ sơ thành công" in receipt_page and "Bạn đã nộp hồ sơ trực tuyến. Lệ phí: 18.000 đồng" in receipt_page
    assert browser.get(f"/cong-dan/ho-so/{code}/bien-nhan.pdf").mimetype == "application/pdf"
    assert browser.post("/cong-dan/nop-ho-so/xac-nhan", {"draft": draft[:-3] + "abc"}).status_code == 400
    other = Browser(browser.client.application.test_client()).login("one_stop.pcc1")
    assert other.get(f"/cong-dan/ho-so/{code}").status_code == 403


def test_supplement_pay_download_and_rate_from_the_dossier_page(browser, api, system):
    code = api.file_dossier(pages=1).get_json()["code"]
    api.complete("one_stop.pcc1", code, "intake", {"decision": "supplement", "reason": "Thiếu mặt sau của giấy tờ"})
    browser.login("citizen")
    page = text(browser.get(f"/cong-dan/ho-so/{code}"))
    assert "Cần bổ sung hồ sơ" in page and "Thiếu mặt sau của giấy tờ" in page
    assert "Bộ phận một cửa yêu cầu bổ sung hồ sơ. Lý do: Thiếu mặt sau của giấy tờ" in page
    told = text(browser.get("/cong-dan/thong-bao"))
    assert f'href="/cong-dan/ho-so/{code}">Hồ sơ {code} cần bổ sung: Thiếu mặt sau của giấy tờ' in told
    bad = browser.post(f"/cong-dan/ho-so/{code}/bo-sung", {"original": (io.BytesIO(b"abc"), "x.pdf")})
    assert bad.status_code == 415 and "không phải là tệp PDF" in text(bad)
    ok = browser.post(f"/cong-dan/ho-so/{code}/bo-sung", {"original": (io.BytesIO(make_pdf(2)), "y.pdf"),
                                                          "note": "Đã thêm mặt sau"}, follow_redirects=True)
    assert "Đã nộp bổ sung" in text(ok) and "Đã nộp bổ sung bản scan mới. Ghi chú: Đã thêm mặt sau" in text(ok)

    paying = browser.post(f"/cong-dan/ho-so/{code}/thanh-toan")
    checkout = browser.get(paying.headers["Location"])
    assert "MÔI TRƯỜNG THỬ NGHIỆM" in text(checkout) and "4.000 đồng" in text(checkout)
    failed = browser.post(paying.headers["Location"], {"outcome": "failed"}, follow_redirects=True)
    assert "Thanh toán không thành công" in text(failed)
    paying = browser.post(f"/cong-dan/ho-so/{code}/thanh-toan")
    done = browser.post(paying.headers["Location"], {"outcome": "success"}, follow_redirects=True)
    assert "Thanh toán thành công 4.000 đồng" in text(done)
    assert "Đã thanh toán lệ phí 4.000 đồng trực tuyến" in text(done)

    assert browser.get(f"/cong-dan/ho-so/{code}/ban-sao.pdf").status_code == 409
    from tests.test_citizen_api import _return_dossier
    _return_dossier(api, system, code)
    assert api.complete("one_stop.pcc1", code, "return", {"fee_paid": False}).status_code == 200  # paid online
    page = text(browser.get(f"/cong-dan/ho-so/{code}"))
    assert "Tải bản sao có chứng thực" in page and "số chứng thực <strong>1/ĐT</strong>" in page
    download = browser.get(f"/cong-dan/ho-so/{code}/ban-sao.pdf")
    assert download.status_code == 200 and download.get_data()[:5] == b"%PDF-"
    assert browser.post(f"/cong-dan/ho-so/{code}/danh-gia", {"stars": "9"}).status_code == 422
    rated = browser.post(f"/cong-dan/ho-so/{code}/danh-gia", {"stars": "5", "comment": "Rất nhanh"},
                         follow_redirects=True)
    assert "Cảm ơn bạn đã đánh giá" in text(rated) and "Rất hài lòng" in text(rated)
    assert 'name="stars"' not in text(rated)


# -- appointments ----------------------------------------------------------------------------------------------
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=VN_TZ)


@pytest.fixture
def tuesday(system):
    clock.set_global(NOW)
    with system.db.session() as session, session.begin():
        session.execute(update(Agency).where(Agency.slug == "giaohieu").values(appointment_capacity=1))
    yield
    clock.set_global(None)


def test_book_on_the_page_full_slot_and_cancel(browser, system, tuesday):
    browser.login("citizen")
    page = text(browser.get("/cong-dan/dat-lich?agency=giaohieu&procedure=2.000815&document_type=Học+bạ"
                            "&date=2026-03-11"))
    assert "8h00" in page and "16h00" in page and "còn 1/1 chỗ" in page
    assert "Thứ Tư, 11/03/2026" in page
    key = hidden(page, "idempotency_key")
    form = {"idempotency_key": key, "agency": "giaohieu", "procedure": "2.000815", "document_type": "Học bạ",
            "date": "2026-03-11", "slot": "08:00"}
    booked = browser.post("/cong-dan/dat-lich", form, follow_redirects=True)
    assert "Mã lịch hẹn của bạn là: CTĐT-100326-0001 (8h00 ngày 11/03/2026)" in text(booked)
    browser.post("/cong-dan/dat-lich", form)  # the same form again: no second booking
    assert count(system, Appointment) == 1
    full = browser.post("/cong-dan/dat-lich", {**form, "idempotency_key": "other"})
    assert full.status_code == 409 and "Khung giờ 8h00 ngày 11/03/2026 đã đủ lượt hẹn" in text(full)
    weekend = text(browser.get("/cong-dan/dat-lich?agency=giaohieu&date=2026-03-14"))
    assert "Ngày 14/03/2026 không phải ngày làm việc." in weekend
    past = browser.post("/cong-dan/dat-lich", {**form, "idempotency_key": "x", "date": "2026-03-10"})
    assert past.status_code == 422 and "Giờ hẹn 8h00 ngày 10/03/2026 đã qua." in text(past)
    assert count(system, Appointment) == 1
    mine = text(browser.get("/cong-dan/lich-hen"))
    assert "CTĐT-100326-0001" in mine and "Đã đặt lịch" in mine
    browser.post("/cong-dan/lich-hen/CTĐT-100326-0001/huy")
    assert "Đã hủy" in text(browser.get("/cong-dan/lich-hen"))


def test_staff_move_and_convert_on_the_pages(browser, api, system, tuesday):
    code = api.post("/appointments", "citizen", json={"agency": "giaohieu", "procedure": "2.000815",
                                                       "document_type": "Giấy khai sinh", "date": "2026-03-11",
                                                       "slot": "09:00"}).get_json()["code"]
    staff = browser.login("justice_officer.giaohieu")
    listing = text(staff.get("/lich-hen/"))
    assert "Lịch hẹn chờ duyệt" in listing and code in listing and "Nguyễn Văn An" in listing
    assert "Dời lịch hẹn" in listing and "tiep-nhan" not in listing  # only the one-stop desk files the dossier
    form = text(staff.get(f"/lich-hen/{code}/doi-lich?date=2026-03-11"))
    assert "13h00" in form and "9h00 11/03/2026" in form
    no_reason = staff.post(f"/lich-hen/{code}/doi-lich", {"date": "2026-03-11", "slot": "13:00", "reason": ""})
    assert no_reason.status_code == 422 and "Cần nhập lý do dời lịch hẹn" in text(no_reason)
    moved = staff.post(f"/lich-hen/{code}/doi-lich", {"date": "2026-03-12", "slot": "14:00",
                                                      "reason": "Trùng lịch tiếp công dân"}, follow_redirects=True)
    assert f"Đã dời lịch hẹn {code} sang 14h00 ngày 12/03/2026" in text(moved)
    with system.db.session() as session:
        citizen_id = session.scalar(select(User.id).where(User.username == "citizen"))
        told = session.scalars(select(Notification.message).where(Notification.user_id == citizen_id)).all()
    assert any("được dời sang 14h00 ngày 12/03/2026" in m and "Trùng lịch tiếp công dân" in m for m in told)

    desk = Browser(browser.client.application.test_client()).login("one_stop.giaohieu")
    page = text(desk.get(f"/lich-hen/{code}/tiep-nhan"))
    assert "Giấy khai sinh" in page and "001090012345" in page
    missing = desk.post(f"/lich-hen/{code}/tiep-nhan", {"document_type": "Giấy khai sinh", "copies": "1",
                                                         "declaration": "true"})
    assert missing.status_code == 400 and "Thiếu tệp bản scan" in text(missing)
    assert count(system, Dossier) == 0
    done = desk.post(f"/lich-hen/{code}/tiep-nhan", {"document_type": "Giấy khai sinh", "copies": "1",
                                                      "delivery": "online", "payment": "counter", "declaration": "true",
                                                      "original": (io.BytesIO(make_pdf(2)), "scan.pdf")},
                     follow_redirects=True)
    assert "Đã tạo hồ sơ 000.38.05.H03-" in text(done) and "4.000 đồng" in text(done)
    with system.db.session() as session:
        dossier = session.scalar(select(Dossier))
        assert dossier.applicant.username == "citizen" and dossier.status == "submitted"
    citizen = Browser(browser.client.application.test_client()).login("citizen")
    assert dossier.code in text(citizen.get("/cong-dan/ho-so"))
