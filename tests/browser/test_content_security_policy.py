"""The pages work under the Content-Security-Policy: no script, style or image is blocked, and confirmations
(no inline handler any more) still ask before deleting."""
from __future__ import annotations

from .conftest import log_in, log_out


def _violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None)
    return seen


def test_pages_with_scripts_run_without_violations(page, live_server, api):
    seen = _violations(page)
    code = api.file_dossier(agency="pacnam").get_json()["code"]
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/processes/district/1")
    page.wait_for_selector("#bpmn-diagram[data-ready], [data-ready]", timeout=15000)
    log_out(page)
    log_in(page, live_server, "one_stop.pacnam")
    page.goto(f"{live_server}/staff/dossiers/{code}")
    page.wait_for_selector("#bpmn-diagram[data-ready=true]", timeout=15000)
    assert seen == []


def test_a_delete_still_asks_first(page, live_server):
    log_in(page, live_server, "clerk.pcc1")
    page.locator("nav.menu a", has_text="Quản lý sổ chứng thực").click()
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("form[data-confirm] button").first.click()
    assert asked and asked[0].startswith("Xóa sổ")
    assert page.locator("form[data-confirm]").count() >= 1  # dismissed: nothing was deleted
