"""Log in and out of the pages: CSRF on every form, a lock-out after repeated failures."""
from __future__ import annotations

import re


def csrf(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_login_logout(client):
    page = client.get("/login")
    assert page.status_code == 200 and "Đăng nhập" in page.get_data(as_text=True)
    token = csrf(client)
    resp = client.post("/login", data={"username": "one_stop.pcc1", "password": "demo", "csrf_token": token})
    assert resp.status_code == 302
    assert client.get("/").headers["Location"] == "/staff/"
    home = client.get("/staff/").get_data(as_text=True)
    assert "Nông Thị Hà" in home and "Phòng Công chứng số 1" in home
    token = csrf(client, "/staff/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert "Nông Thị Hà" not in client.get("/").get_data(as_text=True)


def test_form_without_csrf_is_refused(client):
    client.get("/login")
    resp = client.post("/login", data={"username": "citizen", "password": "demo"})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)


def test_wrong_password_then_lockout(client, api):
    token = csrf(client)
    for _ in range(5):
        resp = client.post("/login", data={"username": "citizen", "password": "sai", "csrf_token": token})
        assert resp.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in resp.get_data(as_text=True)
    resp = client.post("/login", data={"username": "citizen", "password": "demo", "csrf_token": token})
    assert resp.status_code == 429 and "tạm khóa" in resp.get_data(as_text=True)
    locked = api.post("/auth/token", json={"username": "citizen", "password": "demo"})
    assert locked.status_code == 429 and locked.get_json()["error"]["code"] == "account_locked"


def test_open_redirect_is_ignored(client):
    token = csrf(client)
    resp = client.post("/login?next=//evil.example/x", data={"username": "citizen", "password": "demo",
                                                            "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
