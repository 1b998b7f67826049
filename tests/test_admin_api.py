"""Administration through the JSON API: agencies (code, name, level, parent) and users (several roles in one
agency, active, password reset), with every refusal a clear 4xx that changes nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from app.adapters.models import Agency, Event, HumanTask, User
from tests.test_api_dossiers import error_code


def agency_body(**over):
    return {"code": "000.38.06.H03", "name": "Ủy ban nhân dân xã Bằng Thành", "level": "commune",
            "parent": "000.00.38.H03", **over}


def count(system, model) -> int:
    with system.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_admin_creates_edits_and_deletes_an_agency(api):
    resp = api.post("/agencies", "admin", json=agency_body())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body == {"code": "000.38.06.H03", "slug": "000-38-06-h03", "name": "Ủy ban nhân dân xã Bằng Thành",
                    "level": "commune", "level_label": "Cấp xã", "parent": "000.00.38.H03", "has_seal_image": False}
    listed = {a["code"]: a for a in api.get("/agencies").get_json()}
    assert listed["000.38.06.H03"]["parent"] == "000.00.38.H03"
    edited = api.call("PATCH", "/agencies/000.38.06.H03", "admin",
                      json={"name": "UBND xã Bằng Thành", "slug": "bangthanh", "code": "000.38.07.H03"})
    assert edited.status_code == 200 and edited.get_json()["slug"] == "bangthanh"
    assert edited.get_json()["code"] == "000.38.07.H03"
    assert api.call("DELETE", "/agencies/bangthanh", "admin").status_code == 204
    assert api.call("DELETE", "/agencies/bangthanh", "admin").status_code == 404


def test_agency_input_rules(api, system):
    before = count(system, Agency)
    cases = [
        (agency_body(code="abc def"), 422, "invalid_field"),
        (agency_body(name=""), 422, "missing_field"),
        (agency_body(level="ward"), 422, "invalid_field"),
        (agency_body(parent="000.38.05.H03", level="district"), 422, "invalid_parent"),  # a commune above a district
        (agency_body(parent="nowhere"), 422, "unknown_agency"),
        (agency_body(code="000.17.01.H03"), 409, "duplicate"),
        (agency_body(slug="pcc1"), 409, "duplicate"),
        (agency_body(extra=1), 422, "unknown_field"),
    ]
    for body, status, code in cases:
        resp = api.post("/agencies", "admin", json=body)
        assert resp.status_code == status and error_code(resp) == code, (body, resp.get_json())
    assert api.post("/agencies", "clerk.pcc1", json=agency_body()).status_code == 403
    assert api.post("/agencies", "admin", data="nope").status_code == 400
    assert count(system, Agency) == before
    cycle = api.call("PATCH", "/agencies/pacnam", "admin", json={"parent": "giaohieu", "level": "commune"})
    assert cycle.status_code == 422 and error_code(cycle) == "invalid_parent"
    in_use = api.call("DELETE", "/agencies/pcc1", "admin")
    assert in_use.status_code == 409 and "người dùng" in in_use.get_json()["error"]["message"]
    api.file_dossier()
    renamed = api.call("PATCH", "/agencies/pcc1", "admin", json={"code": "000.17.99.H03"})
    assert renamed.status_code == 409 and error_code(renamed) == "agency_in_use"


def test_user_with_several_roles_in_one_agency(api, system):
    resp = api.post("/users", "admin", json={"username": "hoang.an", "full_name": "Hoàng Văn An",
                                             "title": "Phó Trưởng phòng", "email": "an@example.vn",
                                             "agency": "pacnam", "roles": ["one_stop", "clerk"]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["roles"] == ["clerk", "one_stop"] and body["agency"] == "000.00.38.H03"
    password = body["password"]
    assert len(password) >= 12
    token = api.post("/auth/token", json={"username": "hoang.an", "password": password})
    assert token.status_code == 200 and token.get_json()["user"]["roles"] == ["clerk", "one_stop"]
    api.tokens["hoang.an"] = token.get_json()["token"]
    assert [r["agency"] for r in api.get("/registers", "hoang.an").get_json()] == ["000.00.38.H03"]
    code = api.file_dossier("hoang.an", agency="pacnam", email="dan@example.vn").get_json()["code"]
    assert api.task_for("hoang.an", code, "intake")

    users = api.get("/users?agency=pacnam", "admin").get_json()
    assert "hoang.an" in [u["username"] for u in users] and "citizen" not in [u["username"] for u in users]
    assert [u["username"] for u in api.get("/users?role=citizen", "admin").get_json()] == ["citizen"]
    assert api.get("/users", "clerk.pcc1").status_code == 403


def test_user_input_rules(api, system):
    before = count(system, User)
    base = {"username": "nguoi.moi", "full_name": "Người Mới", "agency": "pcc1", "roles": ["clerk"]}
    cases = [
        ({**base, "username": "A B"}, 422, "invalid_field"),
        ({**base, "roles": []}, 422, "missing_field"),
        ({**base, "roles": ["citizen"]}, 422, "invalid_field"),
        ({**base, "roles": ["wizard"]}, 422, "invalid_field"),
        ({**base, "agency": None}, 422, "agency_required"),
        ({**base, "agency": "nowhere"}, 422, "unknown_agency"),
        ({**base, "email": "not-an-email"}, 422, "invalid_field"),
        ({**base, "password": "short"}, 422, "invalid_field"),
        ({**base, "username": "clerk.pcc1"}, 409, "duplicate"),
    ]
    for body, status, code in cases:
        resp = api.post("/users", "admin", json=body)
        assert resp.status_code == status and error_code(resp) == code, (body, resp.get_json())
    assert count(system, User) == before
    auditor = api.post("/users", "admin", json={"username": "thanh.tra", "full_name": "Thanh tra viên",
                                                "roles": ["auditor"], "password": "mat-khau-dai"})
    assert auditor.status_code == 201 and "password" not in auditor.get_json()
    assert api.call("PATCH", "/users/clerk.pcc1", "admin", json={"username": "x"}).status_code == 422
    assert api.call("PATCH", "/users/nobody", "admin", json={"active": False}).status_code == 404
    self_lock = api.call("PATCH", "/users/admin", "admin", json={"active": False})
    assert self_lock.status_code == 409 and error_code(self_lock) == "self_lockout"
    assert api.call("PATCH", "/users/citizen", "admin", json={"full_name": "X"}).status_code == 403
    assert api.call("PATCH", "/users/citizen", "admin", json={"active": False}).status_code == 200


def test_deactivating_ends_access_and_releases_held_tasks(api, system):
    code = api.file_dossier().get_json()["code"]
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete("leader.pcc1", code, "assign", {"signer": "signer.pcc1"}).status_code == 200
    assert api.task_for("signer.pcc1", code, "review_sign")["assignee"] == "signer.pcc1"
    api.login("signer.pcc1")
    resp = api.call("PATCH", "/users/signer.pcc1", "admin", json={"active": False})
    assert resp.status_code == 200 and resp.get_json()["released_tasks"] == 1
    assert resp.get_json()["active"] is False
    assert api.get("/tasks", "signer.pcc1").status_code == 401  # the old token no longer works
    assert api.post("/auth/token", json={"username": "signer.pcc1", "password": "demo"}).status_code == 401
    with system.db.session() as session:
        task = session.scalar(select(HumanTask).where(HumanTask.name == "review_sign"))
        assert task.assignee_id is None
        released = session.scalar(select(Event).where(Event.kind == "released", Event.actor == "admin"))
        assert released is not None and released.task == "review_sign"
    assert api.get("/audit/verify", "auditor").get_json()["ok"] is True


def test_password_reset_generates_once_and_ends_sessions(api):
    old = api.login("clerk.pcc1")
    resp = api.post("/users/clerk.pcc1/password", "admin")
    assert resp.status_code == 200
    new = resp.get_json()["password"]
    assert api.get("/registers", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert api.post("/auth/token", json={"username": "clerk.pcc1", "password": "demo"}).status_code == 401
    assert api.post("/auth/token", json={"username": "clerk.pcc1", "password": new}).status_code == 200
    chosen = api.post("/users/clerk.pcc1/password", "admin", json={"password": "mot-mat-khau-moi"})
    assert chosen.status_code == 200 and "password" not in chosen.get_json()
    assert api.post("/users/clerk.pcc1/password", "admin", json={"password": "ngan"}).status_code == 422
    assert api.post("/users/clerk.pcc1/password", "clerk.pacnam").status_code == 403
