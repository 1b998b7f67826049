"""Hồ sơ đến hạn: the due lists (API and page), per agency and for the caller, with the working time left;
and the working-calendar API they read."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from app import clock
from app.domain.calendar import VN_TZ
from app.services.queries.due import duration_text, remaining_text

MON = (2026, 11, 23)


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def receive(api, agency: str, at: datetime) -> str:
    clock.set_global(at)
    code = api.file_dossier(agency=agency).get_json()["code"]
    assert api.complete(f"one_stop.{agency}", code, "intake", {"decision": "accept"}).status_code == 200
    return code


def codes(items) -> list[str]:
    return [i["code"] for i in items]


@pytest.fixture
def three(api):
    """pcc1: one received 08:00 (due 14:00), one 09:00 (due 15:00), one Tuesday-bound (received 16:00, due
    Wed 25 Nov 11:30 — 24 Nov is Vietnam Cultural Day); giaohieu: one received 09:00."""
    early = receive(api, "pcc1", vn(*MON, 8, 0))
    nine = receive(api, "pcc1", vn(*MON, 9, 0))
    late = receive(api, "pcc1", vn(*MON, 16, 0))
    commune = receive(api, "giaohieu", vn(*MON, 9, 0))
    return early, nine, late, commune


def test_due_lists_for_the_agency(api, three):
    early, nine, late, commune = three
    clock.set_global(vn(*MON, 14, 30))
    body = api.get("/due", "one_stop.pcc1").get_json()  # default scope: the agency
    assert body["scope"] == "agency" and body["agency"]["code"] == "000.17.01.H03"
    assert codes(body["overdue"]) == [early]
    assert codes(body["due_soon"]) == [nine]
    assert codes(body["due_today"]) == []  # `late` is due on Wednesday
    assert body["counts"] == {"overdue": 1, "due_soon": 1, "due_today": 0}
    (item,) = body["due_soon"]
    assert item["remaining_working_hours"] == 0.5 and item["remaining"] == "còn 30 phút làm việc"
    assert item["tasks"] == [{"name": "assign", "title": item["tasks"][0]["title"], "role": "leader",
                              "assignee": None, "assignee_name": None}]
    overdue = body["overdue"][0]
    assert overdue["overdue"] and overdue["remaining"] == "quá hạn 30 phút làm việc"
    assert commune not in codes(body["overdue"] + body["due_soon"] + body["due_today"])


def test_due_today_and_soon_hours(api, three):
    early, nine, late, _ = three
    clock.set_global(vn(*MON, 9, 30))
    body = api.get("/due?soon_hours=0.5", "leader.pcc1").get_json()
    assert codes(body["due_today"]) == [early, nine] and body["due_soon"] == []
    assert body["due_today"][0]["remaining"] == "còn 2 giờ 30 phút làm việc"  # 09:30-11:30, 13:30-14:00
    body = api.get("/due?soon_hours=3", "leader.pcc1").get_json()  # 15:00 is 3.5 h away
    assert codes(body["due_soon"]) == [early] and codes(body["due_today"]) == [nine]
    # Across the holiday: Tuesday is off, so at Monday 16:30 `late` has 0.5 h today and 4 h on Wednesday.
    clock.set_global(vn(*MON, 16, 30))
    body = api.get("/due?soon_hours=8", "leader.pcc1").get_json()
    (item,) = [i for i in body["due_soon"] if i["code"] == late]
    assert item["remaining"] == "còn 4 giờ 30 phút làm việc"


def test_due_lists_for_the_caller(api, three):
    early, nine, _, commune = three
    assert api.complete("leader.pcc1", early, "assign", {"signer": "signer.pcc1"}).status_code == 200
    clock.set_global(vn(*MON, 14, 30))
    mine = api.get("/due?scope=mine", "signer.pcc1").get_json()
    assert codes(mine["overdue"]) == [early] and mine["due_soon"] == []
    assert mine["overdue"][0]["tasks"][0]["assignee"] == "signer.pcc1"
    leader = api.get("/due?scope=mine", "leader.pcc1").get_json()
    assert leader["overdue"] == [] and codes(leader["due_soon"]) == [nine]
    assert api.get("/due?scope=mine", "clerk.pcc1").get_json()["counts"] == {"overdue": 0, "due_soon": 0,
                                                                             "due_today": 0}
    officer = api.get("/due?scope=mine", "justice_officer.giaohieu").get_json()
    assert codes(officer["due_soon"]) == [commune]


def test_overseers_see_any_agency_and_staff_only_theirs(api, three):
    early, nine, _, commune = three
    clock.set_global(vn(*MON, 14, 30))
    everything = api.get("/due", "auditor").get_json()
    assert everything["agency"] is None
    assert set(codes(everything["due_soon"])) == {nine, commune} and codes(everything["overdue"]) == [early]
    only = api.get("/due?agency=giaohieu", "admin").get_json()
    assert codes(only["due_soon"]) == [commune] and only["overdue"] == []
    assert api.get("/due?agency=giaohieu", "leader.pcc1").status_code == 403
    assert api.get("/due", "citizen").status_code == 403
    assert api.get("/due").status_code == 401


@pytest.mark.parametrize("query,code", [("scope=all", "invalid_scope"), ("soon_hours=abc", "invalid_soon_hours"),
                                        ("soon_hours=0", "invalid_soon_hours"), ("soon_hours=1000", "invalid_soon_hours"),
                                        ("agency=khong-co", "unknown_agency")])
def test_bad_parameters_get_a_clear_error(api, query, code):
    resp = api.get(f"/due?{query}", "leader.pcc1")
    assert resp.status_code in (400, 404) and resp.get_json()["error"]["code"] == code
    assert resp.get_json()["error"]["message"]


def test_finished_and_supplementing_dossiers_are_not_due(api, three):
    early, *_ = three
    assert api.complete("one_stop.pcc1", api.file_dossier(agency="pcc1").get_json()["code"], "intake",
                        {"decision": "supplement", "reason": "Thiếu trang"}).status_code == 200
    clock.set_global(vn(*MON, 9, 30))
    resp = api.complete("leader.pcc1", early, "assign", {"signer": "signer.pcc1"})
    resp = api.complete("signer.pcc1", early, "review_sign", {"decision": "reject", "reason": "Mờ"})
    resp = api.complete("leader.pcc1", early, "rework", {"decision": "cancel", "reason": "Rút hồ sơ"})
    assert resp.get_json()["dossier"]["status"] == "cancelled"
    clock.set_global(vn(*MON, 23, 0))
    body = api.get("/due", "leader.pcc1").get_json()
    assert early not in codes(body["overdue"]) and len(body["overdue"]) == 1


def test_remaining_follows_the_agency_calendar(api, three):
    early, nine, *_ = three
    assert api.call("PUT", "/agencies/pcc1/calendar", "admin",
                    json={"periods": [["07:30", "11:30"], ["13:00", "17:00"]]}).status_code == 200
    clock.set_global(vn(*MON, 12, 0))
    body = api.get("/due?soon_hours=8", "leader.pcc1").get_json()
    left = {i["code"]: i["remaining"] for i in body["due_soon"] + body["due_today"]}
    assert left[early] == "còn 1 giờ làm việc" and left[nine] == "còn 2 giờ làm việc"


def test_duration_texts():
    assert duration_text(1.25) == "1 giờ 15 phút" and duration_text(0.001) == "dưới 1 phút"
    assert remaining_text(2) == "còn 2 giờ làm việc" and remaining_text(-0.5) == "quá hạn 30 phút làm việc"
    assert remaining_text(0) == "đến hạn"


# -- the page ---------------------------------------------------------------------------------------------------

def login(client, username):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    data = {"username": username, "password": "demo"}
    if token:
        data["csrf_token"] = token.group(1)
    assert client.post("/login", data=data).status_code == 302


def test_due_page_for_staff(client, api, three):
    early, nine, *_ = three
    clock.set_global(vn(*MON, 14, 30))
    login(client, "leader.pcc1")
    page = client.get("/due").get_data(as_text=True)
    assert "Hồ sơ đến hạn" in page and "Hồ sơ tôi đang xử lý" in page
    assert nine in page and "còn 30 phút làm việc" in page  # the leader holds `assign` of both
    assert early in page and "quá hạn 30 phút làm việc" in page
    assert "Thứ Hai – Thứ Sáu, 07:30–11:30 và 13:30–17:00" in page
    assert re.search(r'href="/due"[^>]*>Hồ sơ đến hạn\s*<span class="badge">2</span>', page)
    agency = client.get("/due?scope=agency").get_data(as_text=True)
    assert nine in agency and "Phòng Công chứng số 1" in agency
    assert client.get("/due?scope=bogus").status_code == 400


def test_due_page_for_auditor_and_refused_to_citizens(client, api, three):
    _, nine, _, commune = three
    clock.set_global(vn(*MON, 14, 30))
    login(client, "auditor")
    page = client.get("/due").get_data(as_text=True)
    assert nine in page and commune in page and "Tất cả cơ quan" in page
    page = client.get("/due?agency=giaohieu").get_data(as_text=True)
    assert commune in page and nine not in page
    client.post("/logout", data={})
    with client.session_transaction() as s:
        s.clear()
    login(client, "citizen")
    assert client.get("/due").status_code == 403


# -- the calendar API -----------------------------------------------------------------------------------------

def test_calendar_api(api):
    body = api.get("/agencies/pcc1/calendar", "leader.pcc1").get_json()
    assert body["own"] is False and body["is_default"] is True
    assert body["effective"]["periods"] == [["07:30", "11:30"], ["13:30", "17:00"]]
    assert body["effective"]["cutoff"] == "15:00" and body["effective"]["weekdays"] == [0, 1, 2, 3, 4]

    resp = api.call("PUT", "/calendar", "admin", json={"extra_days_off": ["2026-11-27"]})
    assert resp.status_code == 200
    resp = api.call("PUT", "/agencies/pcc1/calendar", "admin",
                    json={"periods": [["08:00", "12:00"], ["13:00", "17:00"]], "makeup_days": ["2026-11-28"]})
    body = resp.get_json()
    assert resp.status_code == 200 and body["own"] and body["updated_by"] == "admin"
    assert body["effective"]["extra_days_off"] == ["2026-11-27"]  # from the default
    assert body["effective"]["makeup_days"] == ["2026-11-28"]
    other = api.get("/agencies/giaohieu/calendar", "justice_officer.giaohieu").get_json()
    assert other["own"] is False and other["effective"]["periods"][0] == ["07:30", "11:30"]
    assert other["effective"]["extra_days_off"] == ["2026-11-27"]

    resp = api.call("DELETE", "/agencies/pcc1/calendar", "admin")
    assert resp.status_code == 200 and resp.get_json()["own"] is False
    assert api.call("DELETE", "/calendar", "admin").get_json()["is_default"] is True


@pytest.mark.parametrize("config,field", [
    ({"periods": [["11:30", "07:30"]]}, "periods"),
    ({"periods": [["07:30", "11:30"], ["11:00", "17:00"]]}, "periods"),
    ({"periods": "07:30-11:30"}, "periods"),
    ({"periods": [["7h30", "11:30"]]}, "periods"),
    ({"weekdays": [0, 7]}, "weekdays"),
    ({"weekdays": [True]}, "weekdays"),
    ({"cutoff": 15}, "cutoff"),
    ({"extra_days_off": ["30/04/2026"]}, "extra_days_off"),
    ({"makeup_days": "2026-04-25"}, "makeup_days"),
    ({"lunch": "11:30"}, "lunch"),
])
def test_calendar_api_rejects_bad_settings(api, config, field):
    resp = api.call("PUT", "/agencies/pcc1/calendar", "admin", json=config)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_calendar" and field in error["details"]["fields"]
    assert api.get("/agencies/pcc1/calendar", "admin").get_json()["own"] is False  # nothing changed


def test_calendar_api_access(api):
    assert api.call("PUT", "/agencies/pcc1/calendar", "leader.pcc1", json={}).status_code == 403
    assert api.get("/agencies/pcc1/calendar", "leader.pacnam").status_code == 403
    assert api.get("/agencies/pcc1/calendar", "citizen").status_code == 403
    assert api.get("/calendar", "leader.pcc1").status_code == 403
    assert api.get("/calendar", "auditor").status_code == 200
    assert api.get("/agencies/khong-co/calendar", "admin").status_code == 404
    resp = api.call("PUT", "/calendar", "admin", data="không phải JSON", content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_json"
    assert api.call("PUT", "/agencies/khong-co/calendar", "admin", json={}).status_code == 404

