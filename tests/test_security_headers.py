"""Security headers on every response, no inline script anywhere, 405 with Allow, ids beyond 64 bits are 404."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app
from app.config import Settings
from app.system import System

TEMPLATES = Path(__file__).resolve().parents[1] / "app" / "templates"


@pytest.mark.parametrize("path", ["/login", "/api/v1/agencies", "/verify", "/no-such-page", "/api/v1/nothing"])
def test_every_response_carries_the_security_headers(client, path):
    resp = client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in resp.headers  # plain http in the tests


def test_behind_https_the_cookie_is_secure_and_https_is_kept(system, tmp_path):
    https = System(Settings.load(system.settings.instance_path, database_url=system.settings.database_url,
                                 public_base_url="https://chungthuc.example.gov.vn"))
    app = create_app(system=https)
    resp = app.test_client().get("/login")
    assert "max-age=" in resp.headers["Strict-Transport-Security"]
    cookie = resp.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie
    https.db.engine.dispose()


def test_no_template_runs_inline_script():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {template.name}"
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"inline script in {template.name}: {tag}"


def test_a_wrong_method_is_405_with_allow(api):
    resp = api.call("DELETE", "/agencies")
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]
    assert resp.get_json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/api/v1/registers/99999999999999999999999", "/api/v1/registers/9223372036854775808",
                                  "/staff/registers/99999999999999999999999"])
def test_ids_beyond_64_bits_are_not_found(api, path):
    resp = api.client.get(path, headers={"Authorization": f"Bearer {api.login('clerk.pcc1')}"}) \
        if path.startswith("/api/") else api.client.get(path)
    assert resp.status_code == 404
