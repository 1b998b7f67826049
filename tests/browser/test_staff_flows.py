"""Staff work in a real browser (Debian Chromium via Playwright): each step clicked by the role that does it,
with a screenshot of every step in test-artifacts/<test>/."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.adapters.models import Dossier
from app.replay import make_pdf

from .conftest import Shots, log_in, log_out

PDF = {"name": "ban-chinh.pdf", "mimeType": "application/pdf"}


def go(page, locator) -> None:
    """Click something that loads a new page, and wait for it."""
    with page.expect_navigation():
        locator.click()


def open_menu(page, label: str) -> None:
    go(page, page.locator("nav.menu a", has_text=label).first)


def work_on(page, code: str) -> None:
    """From a queue page, open the task of dossier `code`."""
    go(page, page.locator(f'tr[data-dossier="{code}"] a', has_text="Xử lý"))


def submit(page) -> None:
    go(page, page.locator(".form-card button[type=submit]"))


def walk_in(page, shots, pages: int = 2, id_number: str | None = "001090012345", email: str | None = None,
            document_type: str = "Giấy khai sinh") -> str:
    open_menu(page, "Thêm mới bản sao từ bản chính")
    if id_number:
        page.fill("input[name=id_number]", id_number)
        go(page, page.get_by_role("button", name="Tìm tài khoản"))
        expect(page.locator(".citizen-found")).to_contain_text("Nguyễn Văn An")
    else:
        page.fill("input[name=email]", email)
    page.fill("input[name=document_type]", document_type)
    page.set_input_files("input[name=original]", files=[{**PDF, "buffer": make_pdf(pages)}])
    page.check("input[name=declaration]")
    shots("walk-in-form")
    go(page, page.get_by_role("button", name="Tạo hồ sơ"))
    expect(page.locator(".flash.success")).to_contain_text("Đã tạo hồ sơ")
    return re.search(r"Đã tạo hồ sơ (\S+)\.", page.locator(".flash.success").inner_text()).group(1)


def accept_at_intake(page, shots) -> None:
    expect(page.locator("h1")).to_contain_text("Tiếp nhận hồ sơ")
    expect(page.locator(".viewer img")).to_be_visible()
    page.check("input[name=decision][value=accept]")
    shots("intake")
    submit(page)
    expect(page.locator(".flash.success")).to_contain_text("Đã tiếp nhận hồ sơ")
    expect(page.get_by_role("link", name="In phiếu tiếp nhận").first).to_be_visible()
    shots("received")


def sign(page, shots, code: str, menu_label: str = "Ký duyệt") -> None:
    open_menu(page, menu_label)
    work_on(page, code)
    preview = page.locator("img.attestation-preview")
    expect(preview).to_be_visible()
    page.wait_for_function("document.querySelector('img.attestation-preview').naturalWidth > 0")
    page.check("input[name=decision][value=approve]")
    page.fill("input[name=pin]", "demo")
    shots("review-sign")
    submit(page)
    expect(page.locator(".flash.success")).to_contain_text("Đã ký số bản sao")


def seal(page, shots, code: str) -> None:
    open_menu(page, "Bản sao chờ đóng dấu")
    work_on(page, code)
    expect(page.locator(".next-number")).to_have_text(re.compile(r"^\d+/ĐT$"))
    page.fill("input[name=pin]", "demo")
    shots("seal")
    submit(page)
    expect(page.locator(".flash.success")).to_contain_text("Đã đóng dấu và cấp số chứng thực")


def give_back(page, shots, code: str) -> None:
    open_menu(page, "Trả kết quả")
    work_on(page, code)
    page.check("input[name=fee_paid]")
    shots("return")
    submit(page)
    expect(page.locator(".flash.success")).to_contain_text("Đã trả kết quả")


def check_dossier_page(page, shots, base: str, code: str, status: str, javascript: bool = True) -> None:
    page.goto(f"{base}/staff/dossiers/{code}")
    expect(page.locator("h1 .status")).to_have_text(status)
    expect(page.locator("table.history")).to_contain_text("Trả kết quả (đã thu lệ phí)")
    if javascript:
        expect(page.locator("#bpmn-diagram")).to_have_attribute("data-ready", "true")
        assert page.locator("#bpmn-diagram .djs-element.path-done").count() >= 5
    else:  # the one thing that needs JavaScript says so; everything else on the page is there
        assert page.locator("#bpmn-diagram svg").count() == 0
    shots("dossier")


@pytest.fixture
def page_without_js(browser, request):
    """Like `page`, with JavaScript switched off: every staff page but the diagram must work so."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", java_script_enabled=False)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def dossier_status(system, code: str) -> str:
    with system.db.session() as session:
        return session.scalar(select(Dossier.status).where(Dossier.code == code))


def test_commune_walk_in_to_return(page, live_server, shots, system):
    log_in(page, live_server, "one_stop.giaohieu")
    expect(page.locator("nav.menu")).to_contain_text("Tiếp nhận online")
    code = walk_in(page, shots)
    accept_at_intake(page, shots)
    log_out(page)

    log_in(page, live_server, "justice_officer.giaohieu")
    expect(page.locator("nav.menu a", has_text="Xử lý hồ sơ").locator(".badge")).to_have_text("1")
    open_menu(page, "Xử lý hồ sơ")
    shots("handle-queue")
    work_on(page, code)
    page.check("input[name=decision][value=submit]")
    page.fill("textarea[name=note]", "Hồ sơ hợp lệ")
    shots("handle")
    submit(page)
    expect(page.locator(".flash.success")).to_contain_text("Đã trình ký")
    log_out(page)

    log_in(page, live_server, "signer.giaohieu")
    sign(page, shots, code)
    log_out(page)
    log_in(page, live_server, "clerk.giaohieu")
    seal(page, shots, code)
    log_out(page)
    log_in(page, live_server, "one_stop.giaohieu")
    give_back(page, shots, code)
    check_dossier_page(page, shots, live_server, code, "Đã trả kết quả")
    assert dossier_status(system, code) == "returned"


def test_district_walk_in_without_account_to_return(page_without_js, live_server, request, system):
    """The district route, clicked with JavaScript off."""
    page, shots = page_without_js, Shots(page_without_js, request.node.name)
    log_in(page, live_server, "one_stop.pacnam")
    code = walk_in(page, shots, pages=3, id_number=None, email="tran.binh@example.vn", document_type="Học bạ")
    accept_at_intake(page, shots)
    log_out(page)

    log_in(page, live_server, "leader.pacnam")
    go(page, page.locator("header a.notifications"))
    expect(page.locator("ul.notifications li.unread").first).to_contain_text(code)
    shots("notifications")
    open_menu(page, "Phân công công việc")
    work_on(page, code)
    page.select_option("select[name=signer]", "signer.pacnam")
    shots("assign")
    submit(page)
    expect(page.locator(".flash.success")).to_contain_text("Đã phân công")
    log_out(page)

    log_in(page, live_server, "signer.pacnam")
    sign(page, shots, code)
    log_out(page)
    log_in(page, live_server, "clerk.pacnam")
    seal(page, shots, code)
    log_out(page)
    log_in(page, live_server, "one_stop.pacnam")
    give_back(page, shots, code)
    check_dossier_page(page, shots, live_server, code, "Đã trả kết quả", javascript=False)
    assert dossier_status(system, code) == "returned"


def test_signer_returns_and_officer_reworks(page, live_server, shots, system, api):
    code = api.file_dossier(agency="giaohieu").get_json()["code"]
    assert api.complete("one_stop.giaohieu", code, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete("justice_officer.giaohieu", code, "handle", {"decision": "submit"}).status_code == 200

    log_in(page, live_server, "signer.giaohieu")
    open_menu(page, "Ký duyệt")
    work_on(page, code)
    page.check("input[name=decision][value=reject]")
    submit(page)  # no reason: the form says what is missing, in Vietnamese
    expect(page.locator("#field-reason .field-error")).to_have_text("Vui lòng nêu lý do trả lại hồ sơ.")
    shots("reject-without-reason")
    page.check("input[name=decision][value=reject]")
    page.fill("textarea[name=reason]", "Bản scan mờ, không đọc được số hiệu văn bản")
    submit(page)
    expect(page.locator(".flash.success")).to_contain_text("Đã trả lại hồ sơ")
    log_out(page)

    log_in(page, live_server, "justice_officer.giaohieu")
    open_menu(page, "Xử lý hồ sơ")
    work_on(page, code)
    expect(page.locator(".notice")).to_contain_text("Bản scan mờ, không đọc được số hiệu văn bản")
    page.check("input[name=decision][value=resubmit]")
    page.set_input_files("input[name=original]", files=[{**PDF, "buffer": make_pdf(2, "Bản scan lại")}])
    shots("rework")
    submit(page)
    expect(page.locator(".flash.success")).to_contain_text("Đã trình ký lại")
    log_out(page)

    log_in(page, live_server, "signer.giaohieu")
    sign(page, shots, code)
    page.goto(f"{live_server}/staff/dossiers/{code}")
    expect(page.locator("table.history")).to_contain_text("Ký duyệt bản sao: Trả lại")
    expect(page.locator("#bpmn-diagram")).to_have_attribute("data-ready", "true")
    assert page.locator('#bpmn-diagram .djs-element.path-current[data-element-id="seal"]').count() == 1
    assert page.locator('#bpmn-diagram .djs-element.path-done[data-element-id="rework"]').count() == 1
    shots("dossier-after-rework")
    assert dossier_status(system, code) == "awaiting_seal"
