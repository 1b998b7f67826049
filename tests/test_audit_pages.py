"""The auditor's pages: event search and export, a dossier's history, the integrity check."""
from __future__ import annotations

import json
import re

from sqlalchemy import select, update

from app.adapters.models import Dossier, Event
from tests.test_audit_readonly import page_login


def test_search_history_and_exports(client, api):
    code = api.file_dossier(agency="pacnam").get_json()["code"]
    assert api.complete("one_stop.pacnam", code, "intake", {"decision": "accept"}).status_code == 200
    page_login(client, "auditor")
    html = client.get("/audit/?agency=pacnam&kind=task_completed").get_data(as_text=True)
    assert code in html and "Hoàn thành công việc" in html and "1</strong> sự kiện" in html
    assert "/audit/events.xlsx?agency=pacnam&amp;kind=task_completed" in html
    html = client.get("/audit/?kind=nonsense").get_data(as_text=True)
    assert "Loại sự kiện &#39;nonsense&#39; không có" in html or "Loại sự kiện 'nonsense' không có" in html
    resp = client.get("/audit/?code=" + code)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/audit/dossiers/{code}")

    html = client.get(f"/audit/dossiers/{code}").get_data(as_text=True)
    assert "Chuỗi băm của" in html and "toàn vẹn" in html and "Tiếp nhận hồ sơ" in html
    assert "Bản scan bản chính" in html and "Khớp" in html
    data = json.loads(re.search(r'id="diagram-data">(.*?)</script>', html, re.DOTALL).group(1))
    assert "intake" in data["path"]["done"] and "assign" in data["path"]["current"]
    csv_resp = client.get("/audit/events.csv?dossier=" + code)
    assert csv_resp.status_code == 200 and code in csv_resp.get_data().decode("utf-8")
    assert client.get("/audit/events.xlsx").status_code == 200
    assert client.get("/audit/events.pdf").status_code == 404


def test_verify_page_names_the_altered_event(client, api, system):
    code = api.file_dossier(agency="pcc1").get_json()["code"]
    page_login(client, "auditor")
    html = client.get("/audit/verify").get_data(as_text=True)
    assert "Toàn vẹn: đã kiểm tra" in html
    with system.db.session() as session, session.begin():
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == code))
        session.execute(update(Event).where(Event.dossier_id == dossier_id, Event.seq == 1)
                        .values(data={"agency": "forged"}))
    html = client.get("/audit/verify").get_data(as_text=True)
    assert "Phát hiện sai lệch" in html and code in html and "sự kiện số 1" in html
    html = client.get(f"/audit/dossiers/{code}").get_data(as_text=True)
    assert "Chuỗi băm bị phá vỡ tại sự kiện số 1" in html


def test_audit_pages_are_for_auditors(client):
    page_login(client, "leader.pcc1")
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/verify").status_code == 403
