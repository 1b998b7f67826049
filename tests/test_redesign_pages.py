"""The administrator's routing pages (server side; the modeler itself is driven in tests/browser)."""
from __future__ import annotations

import io
import json
import re

from tests.fixtures.bpmn import edits
from tests.test_audit_readonly import page_login


def diagram_data(html: str, script_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{script_id}">(.*?)</script>', html, re.DOTALL)
    return json.loads(match.group(1))


def test_list_view_edit_pages(client):
    csrf = page_login(client, "admin")
    html = client.get("/admin/processes/").get_data(as_text=True)
    assert "Quy trình cấp huyện" in html and "Đang áp dụng" in html and "Quy trình BPMN" in html
    html = client.get("/admin/processes/district/1").get_data(as_text=True)
    assert "Đạt mọi kiểm tra." in html and "bpmn-navigated-viewer.production.min.js" in html
    data = diagram_data(html, "diagram-data")
    assert data["xml"].startswith("<?xml") and data["problems"] == []
    html = client.get("/admin/processes/district/1/edit").get_data(as_text=True)
    assert "bpmn-modeler.production.min.js" in html and "Lưu thành phiên bản mới" in html
    assert diagram_data(html, "modeler-data")["save_url"] == "/admin/processes/district/save"
    resp = client.get("/admin/processes/district/1.bpmn")
    assert resp.status_code == 200 and b"copy_certification_district" in resp.data
    assert client.get("/admin/processes/county/1").status_code == 404
    assert csrf


def test_upload_refused_then_saved_dry_run_activate_migrate(client, api):
    running = api.file_dossier(agency="pacnam").get_json()["code"]
    csrf = page_login(client, "admin")
    resp = client.post("/admin/processes/district/upload", data={
        "csrf_token": csrf, "file": (io.BytesIO(edits.unknown_lane().encode()), "huyen.bpmn")})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Không lưu được tệp huyen.bpmn" in html and "deputy_leader" in html
    problems = diagram_data(html, "diagram-data")["problems"]
    assert {p["element_id"] for p in problems} == {"assign", "rework"}   # highlighted on the diagram

    resp = client.post("/admin/processes/district/upload", data={
        "csrf_token": csrf, "file": (io.BytesIO(edits.fixture("xxe.bpmn").encode()), "x.bpmn")})
    assert resp.status_code == 422 and "DTD" in resp.get_data(as_text=True)

    resp = client.post("/admin/processes/district/upload", data={
        "csrf_token": csrf, "file": (io.BytesIO(edits.add_deputy_review().encode()), "huyen.bpmn")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/processes/district/2")
    html = client.get("/admin/processes/district/2").get_data(as_text=True)
    assert "Đã lưu phiên bản 2" in html and "deputy_review" in html and "Cần chạy thử trước" in html

    resp = client.post("/admin/processes/district/2/activate", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Cần chạy thử phiên bản 2 trước khi kích hoạt." in resp.get_data(as_text=True)
    resp = client.post("/admin/processes/district/2/dry-run", data={"csrf_token": csrf}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Đã chạy thử" in html and "Đi đường khác" in html and "district_happy.json" in html
    resp = client.post("/admin/processes/district/2/activate", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Đã áp dụng phiên bản 2 cho hồ sơ mới" in resp.get_data(as_text=True)

    html = client.get("/admin/processes/district/2/migrate").get_data(as_text=True)
    assert running in html and "Được" in html
    resp = client.post("/admin/processes/district/2/migrate", data={"csrf_token": csrf, "dossiers": [running]})
    html = resp.get_data(as_text=True)
    assert "Đã chuyển 1 hồ sơ" in html and "phiên bản 1 → 2" in html
    assert api.get(f"/dossiers/{running}", "auditor").get_json()["process_version"] == 2


def test_modeler_save_endpoint_answers_json(client):
    csrf = page_login(client, "admin")
    resp = client.post("/admin/processes/district/save", headers={"X-CSRF-Token": csrf},
                       data={"csrf_token": csrf, "file": (io.BytesIO(edits.dead_end().encode()), "p.bpmn")})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["ok"] is False and "deputy_review" in {p["element_id"] for p in body["problems"]}
    resp = client.post("/admin/processes/district/save", data={"csrf_token": csrf, "xml": edits.add_deputy_review()})
    assert resp.status_code == 201 and resp.get_json()["url"] == "/admin/processes/district/2"


def test_pages_are_for_administrators(client):
    page_login(client, "auditor")
    assert client.get("/admin/processes/").status_code == 403
    assert client.get("/admin/processes/district/1/edit").status_code == 403
