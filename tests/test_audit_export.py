"""Auditors search events across dossiers, export them (CSV, Excel), and read one dossier's full history."""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from app import clock
from app.adapters.models import Dossier, Event
from app.domain.calendar import VN_TZ


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


@pytest.fixture
def two_dossiers(api):
    clock.set_global(at("2026-11-23T09:00:00"))
    first = api.file_dossier(agency="pcc1").get_json()["code"]
    clock.set_global(at("2026-11-23T09:30:00"))
    assert api.complete("one_stop.pcc1", first, "intake", {"decision": "accept"}).status_code == 200
    clock.set_global(at("2026-11-24T10:00:00"))
    second = api.file_dossier(agency="pacnam").get_json()["code"]
    assert api.complete("one_stop.pacnam", second, "intake",
                        {"decision": "refuse", "reason": "Bản scan không đọc được"}).status_code == 200
    clock.set_global(at("2026-11-24T11:00:00"))
    return first, second


def search(api, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    resp = api.get(f"/audit/search?{query}", "auditor")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_search_by_agency_actor_kind_task_and_period(api, two_dossiers):
    first, second = two_dossiers
    everything = search(api)
    assert {i["dossier"] for i in everything["items"]} == {first, second}
    pacnam = search(api, agency="pacnam")
    assert {i["dossier"] for i in pacnam["items"]} == {second} and pacnam["total"] >= 3
    assert {i["dossier"] for i in search(api, agency="000.17.01.H03")["items"]} == {first}
    by_actor = search(api, actor="one_stop.pcc1")["items"]
    assert {(i["dossier"], i["kind"], i["task"]) for i in by_actor} == {
        (first, "task_completed", "intake"), (first, "service_completed", "receive")}  # steps run in their turn
    intake = search(api, kind="task_completed", task="intake")["items"]
    assert {i["dossier"] for i in intake} == {first, second}
    assert all(i["process_version"] == 1 and i["role"] == "one_stop" for i in intake)
    day_two = search(api, **{"from": "2026-11-24", "to": "2026-11-24"})["items"]
    assert {i["dossier"] for i in day_two} == {second}
    day_one = search(api, to="2026-11-23")["items"]
    assert {i["dossier"] for i in day_one} == {first}
    assert search(api, actor="nobody")["total"] == 0


@pytest.mark.parametrize("query", ["kind=deleted", "from=23/11/2026", "from=2026-11-25&to=2026-11-24", "page=0"])
def test_bad_filters_are_refused(api, query):
    resp = api.get(f"/audit/search?{query}", "auditor")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"]


def test_export_csv_and_excel(api, two_dossiers):
    first, second = two_dossiers
    total = search(api, agency="pacnam")["total"]
    resp = api.get("/audit/events/export?format=csv&agency=pacnam", "auditor")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["Mã hồ sơ", "Cơ quan", "STT sự kiện", "Thời điểm"]
    assert len(rows) == total + 1
    assert {r[0] for r in rows[1:]} == {second}
    refused = [r for r in rows[1:] if r[7] == "intake"]
    assert refused and "Bản scan không đọc được" in refused[0][8] and refused[0][6] == "Hoàn thành công việc"
    assert refused[0][3] == "24/11/2026 10:00:00"

    resp = api.get("/audit/events/export?format=xlsx", "auditor")
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Mã hồ sơ"
    assert len(values) - 1 == search(api)["total"]
    assert {v[0] for v in values[1:]} == {first, second}
    assert api.get("/audit/events/export?format=pdf", "auditor").status_code == 400
    assert api.get("/audit/events/export?format=csv", "admin").status_code == 403


def test_dossier_history_with_path_durations_and_documents(api, system, two_dossiers):
    first, _ = two_dossiers
    resp = api.get(f"/audit/dossiers/{first}", "auditor")
    assert resp.status_code == 200
    h = resp.get_json()
    assert [e["kind"] for e in h["events"]][:2] == ["submitted", "task_completed"]
    intake = next(e for e in h["events"] if e["task"] == "intake")
    assert intake["actor"] == "one_stop.pcc1" and intake["role"] == "one_stop" and intake["process_version"] == 1
    assert intake["data"]["decision"] == "accept" and intake["task_title"] == "Tiếp nhận hồ sơ"
    assert h["chain"]["ok"] is True
    path = h["path"]
    assert {"start", "intake", "receive"} <= set(path["done"])
    assert "assign" in path["current"] and "deadline" in path["current"]
    assert "f_start_intake" in path["flows"]
    assert path["durations"]["intake"]["seconds"] == 1800 and path["durations"]["intake"]["text"] == "30 phút"
    assert path["durations"]["assign"]["waiting"] is True       # waiting since 09:30 on the 23rd
    (original,) = [d for d in h["documents"] if d["kind"] == "original"]
    assert original["intact"] is True
    assert original["sha256"] == hashlib.sha256(system.files.get(original["sha256"])).hexdigest()
    assert api.get("/audit/dossiers/nope", "auditor").status_code == 404
    assert api.get(f"/audit/dossiers/{first}", "leader.pcc1").status_code == 403


def test_history_names_an_altered_event(api, system, two_dossiers):
    first, _ = two_dossiers
    with system.db.session() as session, session.begin():
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == first))
        session.execute(update(Event).where(Event.dossier_id == dossier_id, Event.seq == 2)
                        .values(actor="someone.else"))
    h = api.get(f"/audit/dossiers/{first}", "auditor").get_json()
    assert h["chain"] == {"ok": False, "checked": 2, "first_bad": 2, "dossier": first,
                          "problem": "event 2 was altered"}
