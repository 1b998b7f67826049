"""The login page in a real browser."""
from __future__ import annotations

from .conftest import log_in, log_out


def test_log_in_and_out(page, live_server, shots):
    log_in(page, live_server, "one_stop.pcc1")
    assert "Nông Thị Hà" in page.content()
    shots("logged-in")
    log_out(page)
    assert page.url.endswith("/login")
    page.fill("input[name=username]", "one_stop.pcc1")
    page.fill("input[name=password]", "sai-mat-khau")
    page.click("button[type=submit]")
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.content()
    shots("wrong-password")
