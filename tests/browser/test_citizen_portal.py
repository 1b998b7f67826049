"""The citizen portal in a real browser: register, file with an upload (progress bar), pay, track, download;
book an appointment and have the staff move it; and the filing form with JavaScript turned off."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import select

from app import clock
from app.adapters.models import Agency, Register
from app.replay import make_pdf
from app.domain.calendar import VN_TZ

from .conftest import log_in, log_out


def _scan(tmp_path, pages: int, name: str = "ban-chinh.pdf"):
    path = tmp_path / name
    path.write_bytes(make_pdf(pages))
    return path


def _choose(page, level: str, agency: str, procedure: str = "2.000815") -> None:
    page.check(f"input[name=level][value={level}]")
    page.click("button:has-text('Tiếp tục')")
    page.check(f"input[name=agency][value={agency}]")
    page.click("button:has-text('Tiếp tục')")
    page.check(f"input[name=procedure][value='{procedure}']")
    page.click("button:has-text('Tiếp tục')")
    page.wait_for_selector("input[name=original]")


def _staff_return(api, system, code: str) -> None:
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete("leader.pcc1", code, "assign", {"signer": "signer.pcc1"}).status_code == 200
    assert api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo").status_code == 200
    with system.db.session() as session:
        register = session.scalar(select(Register.id).join(Agency).where(Agency.slug == "pcc1"))
    assert api.complete("clerk.pcc1", code, "seal", {"register": register}, pin="demo").status_code == 200
    assert api.complete("one_stop.pcc1", code, "return", {"fee_paid": False}).status_code == 200  # paid online


def test_register_file_pay_track_and_download(page, live_server, shots, api, system, tmp_path):
    page.goto(f"{live_server}/cong-dan/dang-ky")
    page.fill("input[name=id_number]", "036190004567")
    page.fill("input[name=full_name]", "Hoàng Thị Lan")
    page.fill("input[name=date_of_birth]", "1990-06-15")
    page.fill("input[name=phone]", "0904555666")
    page.fill("input[name=email]", "lan@example.vn")
    page.fill("input[name=password]", "mat-khau-lan")
    page.fill("input[name=password_again]", "mat-khau-lan")
    page.click("button:has-text('Đăng ký')")
    assert "Đăng ký thành công" in page.inner_text(".flash")

    page.click("nav.menu >> text=Nộp hồ sơ trực tuyến")
    _choose(page, "province", "pcc1")
    assert "Hoàng Thị Lan" in page.inner_text("table.info-table >> nth=1")  # applicant prefilled from the account
    page.fill("input[name=document_type]", "Bằng tốt nghiệp đại học")
    page.set_input_files("input[name=original]", str(_scan(tmp_path, 3)))
    page.fill("input[name=copies]", "2")
    page.check("input[name=payment][value=online]")
    page.check("input[name=declaration]")
    shots("filing-form")
    with page.expect_request(lambda r: r.method == "POST" and "thong-tin" in r.url) as sent:
        page.click("button:has-text('Tiếp tục: kiểm tra lệ phí')")
    assert sent.value.resource_type == "xhr"  # sent by citizen.js, with the progress bar
    page.wait_for_selector("#fee")
    assert page.inner_text("#pages") == "3 trang" and page.inner_text("#fee") == "10.000 đồng"
    shots("confirm")
    page.click("button:has-text('Nộp hồ sơ')")
    code = page.inner_text("#dossier-code")
    assert code.startswith("000.17.01.H03-")
    shots("receipt")

    page.click("button:has-text('Thanh toán trực tuyến')")
    assert "MÔI TRƯỜNG THỬ NGHIỆM" in page.inner_text(".dev-banner")
    shots("dev-payment")
    page.click("button:has-text('Xác nhận thanh toán')")
    assert "Thanh toán thành công 10.000 đồng" in page.inner_text(".flash")
    assert "Đã thanh toán lệ phí 10.000 đồng trực tuyến" in page.inner_text("ol.timeline")

    # The staff do their steps through the API; in another thread, because Playwright's event loop runs in this
    # one and signing runs its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_staff_return, api, system, code).result(timeout=120)

    page.click("nav.menu >> text=Hồ sơ của tôi")
    assert "Đã trả kết quả" in page.inner_text("table.citizen-list")
    page.click(f"text={code}")
    timeline = page.inner_text("ol.timeline")
    assert "Bộ phận một cửa đã tiếp nhận hồ sơ." in timeline and "Người ký chứng thực đã ký số lời chứng." in timeline
    assert "cấp số chứng thực 1/ĐT" in timeline
    shots("returned")
    with page.expect_download() as download:
        page.click("text=Tải bản sao có chứng thực (PDF)")
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF-") and download.value.suggested_filename == f"{code}.pdf"
    page.check("input[name=stars][value='5']")
    page.click("button:has-text('Gửi đánh giá')")
    assert "Cảm ơn bạn đã đánh giá" in page.inner_text(".flash")


def test_book_and_staff_move_the_appointment(page, live_server, shots):
    clock.set_global(datetime(2026, 3, 10, 9, 30, tzinfo=VN_TZ))  # a Tuesday morning
    log_in(page, live_server, "citizen")
    page.click("nav.menu >> text=Đặt lịch hẹn")
    page.select_option("select[name=agency]", "pacnam")
    page.fill("input[name=document_type]", "Giấy khai sinh")
    page.fill("input[name=date]", "2026-03-11")
    page.click("button:has-text('Xem giờ còn trống')")
    assert page.locator("label.slot").count() == 8
    page.check("input[name=slot][value='09:00']")
    shots("slots")
    page.click("button:has-text('Đặt lịch hẹn')")
    assert "Mã lịch hẹn của bạn là: CTĐT-100326-0001 (9h00 ngày 11/03/2026)" in page.inner_text(".flash")
    log_out(page)

    log_in(page, live_server, "one_stop.pacnam")
    page.click("nav.menu >> text=Lịch hẹn chờ duyệt")
    assert "CTĐT-100326-0001" in page.inner_text("table.appointments")
    shots("pending")
    page.click("text=Dời lịch hẹn")
    page.fill("input[name=date]", "2026-03-12")
    page.click("button:has-text('Xem giờ còn trống')")
    page.check("input[name=slot][value='14:00']")
    page.fill("textarea[name=reason]", "Cán bộ tư pháp đi họp đột xuất")
    shots("move")
    page.click("button:has-text('Đặt lại lịch hẹn')")
    assert "sang 14h00 ngày 12/03/2026" in page.inner_text(".flash")
    log_out(page)

    log_in(page, live_server, "citizen")
    page.click("nav.menu >> text=Lịch hẹn của tôi")
    row = page.inner_text("table.citizen-list")
    assert "14h00 12/03/2026" in row and "Cán bộ tư pháp đi họp đột xuất" in row and "Đã dời lịch" in row
    page.goto(f"{live_server}/cong-dan/thong-bao")
    assert "được dời sang 14h00 ngày 12/03/2026" in page.inner_text("ul.citizen-notifications")
    shots("citizen-told")


def test_filing_works_without_javascript(browser, live_server, tmp_path):
    context = browser.new_context(java_script_enabled=False, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    try:
        log_in(page, live_server, "citizen")
        page.goto(f"{live_server}/cong-dan/nop-ho-so")
        _choose(page, "commune", "giaohieu")
        page.fill("input[name=document_type]", "Học bạ")
        page.set_input_files("input[name=original]", str(_scan(tmp_path, 1)))
        with page.expect_response(lambda r: r.request.method == "POST") as refused:
            page.click("button:has-text('Tiếp tục: kiểm tra lệ phí')")
        assert refused.value.status == 422
        assert "Cần xác nhận cam đoan" in page.inner_text("#err-declaration")
        page.set_input_files("input[name=original]", str(_scan(tmp_path, 1)))
        page.check("input[name=declaration]")
        page.click("button:has-text('Tiếp tục: kiểm tra lệ phí')")
        assert page.inner_text("#fee") == "2.000 đồng"
        page.click("button:has-text('Nộp hồ sơ')")
        assert page.inner_text("#dossier-code").startswith("000.38.05.H03-")
    finally:
        context.close()
