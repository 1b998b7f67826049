"""Redesigning the district routing through the API: bad files refused, the deputy review step uploaded,
dry-run, activated; new dossiers follow it while older ones finish on theirs; migration of running ones."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.engine.audit import verify_chain
from app.adapters.models import Dossier, Event, ProcessActivation, ProcessVersion
from tests.fixtures.bpmn import edits


def versions(api):
    return [(v["variant"], v["version"], v["active"]) for v in api.get("/processes", "admin").get_json()]


def upload(api, xml: str | bytes, user="admin", variant="district"):
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return api.post(f"/processes/{variant}", user, data=data, content_type="application/xml")


def file_at(api, stage: str) -> str:
    """A district dossier advanced to `stage` ('intake', 'assign', 'review_sign')."""
    resp = api.file_dossier(agency="pacnam")
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["code"]
    if stage in ("assign", "review_sign"):
        assert api.complete("one_stop.pacnam", code, "intake", {"decision": "accept"}).status_code == 200
    if stage == "review_sign":
        assert api.complete("leader.pacnam", code, "assign", {"signer": "signer.pacnam"}).status_code == 200
    return code


def register_id(api) -> int:
    return api.get("/registers", "clerk.pacnam").get_json()[0]["id"]


def finish_from_review(api, code: str) -> dict:
    r = api.complete("signer.pacnam", code, "review_sign", {"decision": "approve"}, pin="demo")
    assert r.status_code == 200, r.get_json()
    r = api.complete("clerk.pacnam", code, "seal", {"register": register_id(api)}, pin="demo")
    assert r.status_code == 200, r.get_json()
    r = api.complete("one_stop.pacnam", code, "return", {"fee_paid": True})
    assert r.status_code == 200, r.get_json()
    return api.get(f"/dossiers/{code}", "auditor").get_json()


BAD_SAMPLES = [
    ("malformed", lambda: edits.fixture("malformed.bpmn"), "xml_malformed", None),
    ("xxe", lambda: edits.fixture("xxe.bpmn"), "xml_dtd_forbidden", None),
    ("unknown lane", edits.unknown_lane, "unknown_lane", "assign"),
    ("unknown operator", edits.unknown_operator, "unknown_operator", "receive"),
    ("missing form", edits.missing_form, "missing_form", "legal_check"),
    ("dead end", edits.dead_end, "dead_end", "deputy_review"),
    ("script with import", edits.script_with_import, "script_forbidden", "compute_note"),
]


def test_bad_files_are_refused_with_their_problem_and_change_nothing(api, system):
    before = versions(api)
    for label, sample, code, element in BAD_SAMPLES:
        resp = upload(api, sample())
        assert resp.status_code == 422, (label, resp.get_json())
        error = resp.get_json()["error"]
        assert error["code"] == "invalid_bpmn"
        problems = [p for p in error["details"]["problems"] if p["severity"] == "error"]
        assert code in {p["code"] for p in problems}, (label, problems)
        if element:
            assert element in {p["element_id"] for p in problems if p["code"] == code}, label
        assert "lỗi" in error["message"]
    # as a multipart file too, and a file that is not UTF-8
    resp = api.post("/processes/district", "admin",
                    data={"file": (io.BytesIO(edits.unknown_lane().encode()), "district.bpmn")})
    assert resp.status_code == 422 and resp.get_json()["error"]["details"]["problems"][0]["code"] == "unknown_lane"
    resp = upload(api, "<?xml version='1.0'?><x>\xe9</x>".encode("latin-1"))
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "invalid_bpmn"
    assert upload(api, b"").status_code == 400
    assert upload(api, edits.district_xml(), variant="county").status_code == 404
    assert versions(api) == before
    with system.db.session() as session:
        assert session.scalar(select(ProcessVersion).where(ProcessVersion.variant == "district",
                                                           ProcessVersion.active)).version == 1


def test_only_administrators_redesign(api):
    xml = edits.add_deputy_review()
    for user in ("auditor", "leader.pacnam", "citizen"):
        assert upload(api, xml, user=user).status_code == 403
    assert api.post("/processes/district/1/activate", "auditor").status_code == 403
    assert api.post("/processes/district/1/dry-run", "leader.pacnam").status_code == 403
    assert api.post("/processes/district/1/migrate", "auditor", json={"dossiers": []}).status_code == 403
    assert upload(api, xml, user=None).status_code == 401


def test_unchanged_routing_replays_every_history_the_same_way(api):
    # a finished dossier (refused at intake) adds a recorded history to the scenario library
    code = file_at(api, "intake")
    assert api.complete("one_stop.pacnam", code, "intake",
                        {"decision": "refuse", "reason": "Không phải bản chính"}).status_code == 200
    for variant in ("province", "district", "commune"):
        report = api.post(f"/processes/{variant}/1/dry-run", "admin").get_json()
        assert report["summary"]["cases"] >= 9, variant
        assert report["summary"]["differing"] == 0, [c for c in report["cases"] if c["outcome"] != "same"]
    district = api.get("/processes/district/1/dry-run", "admin").get_json()
    assert code in {c["label"] for c in district["cases"] if c["source"] == "dossier"}


def test_deputy_review_upload_dry_run_activate(api, system):
    old = file_at(api, "assign")                      # started on version 1, waiting for the leader
    refused = file_at(api, "intake")
    api.complete("one_stop.pacnam", refused, "intake", {"decision": "refuse", "reason": "Thiếu trang"})

    resp = upload(api, edits.add_deputy_review())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["version"] == 2 and body["active"] is False and body["report"]["ok"]
    assert {"id": "deputy_review", "name": "Phó trưởng phòng xem xét", "role": "leader",
            "status": "processing"} in body["report"]["user_tasks"]
    assert upload(api, edits.add_deputy_review()).status_code == 200   # same content: no new version

    resp = api.post("/processes/district/2/activate", "admin")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "dry_run_required"

    report = api.post("/processes/district/2/dry-run", "admin").get_json()
    cases = {c["label"]: c for c in report["cases"]}
    assert cases[refused]["outcome"] == "same"                            # refused at intake: untouched
    happy = cases["district_happy.json"]
    assert happy["outcome"] == "different_path"
    assert "deputy_review" in happy["message"]
    assert happy["candidate_path"] == ["intake", "assign"]
    assert report["summary"]["differing"] >= 1

    resp = api.post("/processes/district/2/activate", "admin")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"variant": "district", "version": 2, "active": True, "previous": 1, "changed": True}
    assert ("district", 2, True) in versions(api) and ("district", 1, False) in versions(api)

    # a new dossier follows the new version: the deputy reviews between assignment and signature
    new = file_at(api, "assign")
    assert api.get(f"/dossiers/{new}", "auditor").get_json()["process_version"] == 2
    assert api.complete("leader.pacnam", new, "assign", {"signer": "signer.pacnam"}).status_code == 200
    detail = api.get(f"/dossiers/{new}", "auditor").get_json()
    assert detail["status"] == "processing"
    assert [t["name"] for t in detail["tasks"]] == ["deputy_review"]
    resp = api.complete("leader.pacnam", new, "deputy_review", {})
    assert resp.status_code == 422                                         # its form requires the opinion
    resp = api.complete("leader.pacnam", new, "deputy_review", {"opinion": "Hồ sơ đầy đủ, đề nghị ký."})
    assert resp.status_code == 200 and resp.get_json()["dossier"]["status"] == "awaiting_signature"
    final = finish_from_review(api, new)
    assert final["status"] == "returned"
    assert [e["task"] for e in final["history"] if e["kind"] == "task_completed"] == \
        ["intake", "assign", "deputy_review", "review_sign", "seal", "return"]

    # the dossier started before finishes on version 1, without the deputy step
    assert api.complete("leader.pacnam", old, "assign", {"signer": "signer.pacnam"}).status_code == 200
    assert api.get(f"/dossiers/{old}", "auditor").get_json()["status"] == "awaiting_signature"
    final = finish_from_review(api, old)
    assert final["status"] == "returned" and final["process_version"] == 1
    assert "deputy_review" not in {e["task"] for e in final["history"]}

    # the two recorded histories now replay: each the same way on its own version, differently on the other
    on_v1 = {c["label"]: c for c in api.post("/processes/district/1/dry-run", "admin").get_json()["cases"]}
    on_v2 = {c["label"]: c for c in api.post("/processes/district/2/dry-run", "admin").get_json()["cases"]}
    assert on_v1[old]["outcome"] == "same" and on_v2[new]["outcome"] == "same"
    assert on_v2[old]["outcome"] == "different_path" and on_v1[new]["outcome"] == "different_path"
    assert "deputy_review" in on_v1[new]["message"] and on_v1[new]["candidate_path"] == ["intake", "assign"]

    with system.db.session() as session:
        activation = session.scalar(select(ProcessActivation))
        assert activation.activated_by == "admin"
        assert verify_chain(session).ok


def test_migrating_running_dossiers(api, system):
    waiting_intake = file_at(api, "intake")
    waiting_assign = file_at(api, "assign")
    past_assign = file_at(api, "review_sign")
    assert upload(api, edits.add_deputy_review()).status_code == 201

    resp = api.post("/processes/district/2/migrate", "admin", json={"dossiers": [waiting_intake]})
    assert resp.status_code == 409 and "chưa được kích hoạt" in resp.get_json()["error"]["message"]

    api.post("/processes/district/2/dry-run", "admin")
    api.post("/processes/district/2/activate", "admin")
    plans = {d["code"]: d["plan"] for d in api.get("/processes/district/2/migration", "admin").get_json()["dossiers"]}
    assert plans[waiting_intake]["allowed"] and plans[waiting_assign]["allowed"]
    assert not plans[past_assign]["allowed"] and plans[past_assign]["blocking"] == ["assign"]

    resp = api.post("/processes/district/2/migrate", "admin",
                    json={"dossiers": [waiting_intake, waiting_assign, past_assign]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert {m["code"] for m in body["migrated"]} == {waiting_intake, waiting_assign}
    assert [r["code"] for r in body["refused"]] == [past_assign]
    assert "assign" in body["refused"][0]["reason"]

    resp = api.post("/processes/district/2/migrate", "admin", json={"dossiers": [past_assign]})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "migration_refused"
    refused_detail = api.get(f"/dossiers/{past_assign}", "auditor").get_json()
    assert refused_detail["process_version"] == 1 and refused_detail["status"] == "awaiting_signature"
    assert "migrated" not in {e["kind"] for e in refused_detail["history"]}

    detail = api.get(f"/dossiers/{waiting_assign}", "auditor").get_json()
    assert detail["process_version"] == 2 and [t["name"] for t in detail["tasks"]] == ["assign"]
    migrated = [e for e in detail["history"] if e["kind"] == "migrated"]
    assert len(migrated) == 1 and migrated[0]["actor"] == "admin"
    assert migrated[0]["data"]["from_version"] == 1 and migrated[0]["data"]["to_version"] == 2
    # after migration the dossier follows the new routing
    assert api.complete("leader.pacnam", waiting_assign, "assign", {"signer": "signer.pacnam"}).status_code == 200
    assert [t["name"] for t in api.get(f"/dossiers/{waiting_assign}", "auditor").get_json()["tasks"]] == \
        ["deputy_review"]
    assert api.complete("one_stop.pacnam", waiting_intake, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete("leader.pacnam", waiting_intake, "assign", {"signer": "signer.pacnam"}).status_code == 200
    assert [t["name"] for t in api.get(f"/dossiers/{waiting_intake}", "auditor").get_json()["tasks"]] == \
        ["deputy_review"]

    resp = api.post("/processes/district/2/migrate", "admin", json={"dossiers": [waiting_assign]})
    assert resp.status_code == 409   # already on version 2
    with system.db.session() as session:
        assert verify_chain(session).ok
        events = session.scalars(select(Event).where(Event.kind == "migrated")).all()
        assert {session.get(Dossier, e.dossier_id).code for e in events} == {waiting_intake, waiting_assign}


@pytest.mark.parametrize("body", [None, {"dossiers": "x"}, {"dossiers": []}, {"dossiers": [1]}])
def test_migrate_needs_a_list_of_codes(api, body):
    resp = api.post("/processes/district/1/migrate", "admin", json=body) if body is not None else \
        api.post("/processes/district/1/migrate", "admin", data="x", content_type="text/plain")
    assert resp.status_code == 400


def test_unknown_version_and_variant(api):
    assert api.post("/processes/district/9/dry-run", "admin").status_code == 404
    assert api.post("/processes/county/1/activate", "admin").status_code == 404
    assert api.get("/processes/district/1/dry-run", "admin").status_code == 404   # never run
    check = api.get("/processes/district/1/check", "auditor").get_json()
    assert check["ok"] and check["errors"] == []


def test_activation_rechecks_the_version(api, system, monkeypatch):
    assert upload(api, edits.add_deputy_review()).status_code == 201
    api.post("/processes/district/2/dry-run", "admin")
    from app.domain import task_forms as forms
    real = forms.form_schema

    def without_deputy_form(name):
        if name == "deputy_review":
            raise KeyError(name)
        return real(name)
    monkeypatch.setattr(forms, "form_schema", without_deputy_form)   # the form file was removed meanwhile
    resp = api.post("/processes/district/2/activate", "admin")
    assert resp.status_code == 422
    assert "deputy_review" in {p["element_id"] for p in resp.get_json()["error"]["details"]["problems"]}
    assert ("district", 1, True) in versions(api)
