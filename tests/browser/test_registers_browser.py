"""In a real browser: the clerk creates a register, seals two copies into it from the task page, views the
register and exports it to Excel (read back with openpyxl)."""
from __future__ import annotations

import threading
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from app.adapters.models import Dossier, HumanTask, Register
from tests.test_registers_concurrency import prepare_awaiting_seal

from .conftest import ARTIFACTS, log_in


def prepared_in_a_thread(system, count: int) -> list[str]:
    """Sign the dossiers outside Playwright's event loop (pyHanko runs its own with asyncio.run)."""
    out: list[str] = []
    worker = threading.Thread(target=lambda: out.extend(prepare_awaiting_seal(system, count)))
    worker.start()
    worker.join()
    assert len(out) == count
    return out


def test_create_register_seal_two_copies_and_export(page, live_server, shots, system):
    codes = prepared_in_a_thread(system, 2)
    year = date.today().year
    log_in(page, live_server, "clerk.pcc1")
    with page.expect_navigation():
        page.locator("nav.menu a", has_text="Quản lý sổ chứng thực").click()
    with page.expect_navigation():
        page.click("text=Thêm sổ chứng thực")
    page.fill("input[name=name]", "05/2026")
    page.fill("input[name=start_number]", "100")
    page.fill("input[name=opened_on]", f"{year}-01-01")
    page.fill("input[name=closes_on]", f"{year}-12-31")
    shots("new-register")
    with page.expect_navigation():
        page.click("button:has-text('Lưu')")
    assert "Đã tạo sổ chứng thực 05/2026-SCTĐT/BS" in page.content()
    shots("register-created")
    with system.db.session() as session:
        register_id = session.scalar(select(Register.id).where(Register.name == "05/2026"))
        tasks = {code: session.scalar(select(HumanTask.id).join(Dossier).where(Dossier.code == code,
                                                                                HumanTask.name == "seal"))
                 for code in codes}

    for n, code in enumerate(codes):
        page.goto(f"{live_server}/staff/tasks/{tasks[code]}")
        page.select_option("select[name=register]", str(register_id))
        page.fill("input[name=pin]", "demo")
        if n == 0:
            shots("seal-task")
        with page.expect_navigation():
            page.click(".form-card button[type=submit]")
        assert "Mã PIN không đúng" not in page.content()

    page.goto(f"{live_server}/registers/{register_id}")
    content = page.content()
    assert "100/ĐT" in content and "101/ĐT" in content and codes[0] in content and codes[1] in content
    shots("register-with-entries")
    with page.expect_download() as download_info:
        page.click("text=Xuất báo cáo Excel")
    target = ARTIFACTS / "registers-export.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    download_info.value.save_as(target)
    sheet = load_workbook(target).active
    assert sheet["B1"].value == "05/2026-SCTĐT/BS" and sheet["B2"].value == "100/ĐT" and sheet["D2"].value == "101/ĐT"
    assert [sheet["D8"].value, sheet["D9"].value] == ["100/ĐT", "101/ĐT"]
    assert sheet["E8"].is_date
    with system.db.session() as session:
        rows = session.scalars(select(Dossier).where(Dossier.code.in_(codes)))
        numbers = {d.code: d.certification_number for d in rows}
    assert sorted(numbers.values()) == [100, 101]
