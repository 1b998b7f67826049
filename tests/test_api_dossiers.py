"""The JSON API end to end: filing, tasks, permissions, bad input (a clear 4xx that changes nothing)."""
from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from app.adapters.models import Document, Dossier, Event
from app.replay import make_pdf


def count(system, model) -> int:
    with system.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def error_code(resp) -> str:
    body = resp.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]["code"]


def accept_and_route(api, code, slug="pcc1"):
    assert api.complete(f"one_stop.{slug}", code, "intake", {"decision": "accept"}).status_code == 200
    resp = api.complete(f"leader.{slug}", code, "assign", {"signer": f"signer.{slug}"})
    assert resp.status_code == 200, resp.get_json()
    return resp


def test_login_and_bad_credentials(api):
    resp = api.post("/auth/token", json={"username": "citizen", "password": "demo"})
    body = resp.get_json()
    assert resp.status_code == 200 and body["user"]["roles"] == ["citizen"] and body["expires_at"]
    assert error_code(api.post("/auth/token", json={"username": "citizen", "password": "nope"})) == "invalid_credentials"
    assert api.get("/tasks").status_code == 401
    assert api.get("/tasks", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert api.post("/auth/token", data="not json").status_code == 400


def test_reference_data(api):
    agencies = api.get("/agencies").get_json()
    assert {a["level"] for a in agencies} == {"province", "district", "commune"}
    procedures = {p["code"]: p for p in api.get("/procedures").get_json()}
    assert procedures["2.000843"]["levels"] == ["province", "district"]
    assert "commune" in procedures["2.000815"]["levels"]


def test_file_dossier_code_fee_and_due(api, system):
    resp = api.file_dossier(pages=3)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert re.fullmatch(r"000\.17\.01\.H03-\d{6}-0001", body["code"])
    assert body["fee"] == {"pages": 3, "copies": 1, "amount_vnd": 5000}
    assert body["status"] == "submitted" and body["due_at"]
    second = api.file_dossier(pages=1, copies="2").get_json()
    assert second["code"].endswith("-0002") and second["fee"]["amount_vnd"] == 4000
    detail = api.get(f"/dossiers/{body['code']}", "citizen").get_json()
    assert detail["variant"] == "province" and detail["process_version"] == 1
    assert [t["name"] for t in detail["tasks"]] == ["intake"]
    assert [e["kind"] for e in detail["history"]] == ["submitted"]


def test_bad_uploads_are_refused_and_store_nothing(api, system):
    before = (count(system, Dossier), count(system, Document), count(system, Event))
    assert api.file_dossier(pdf=b"GIF89a not a pdf").status_code == 415
    assert error_code(api.file_dossier(pdf=b"")) in ("empty_pdf", "not_pdf")
    assert api.file_dossier(pdf=make_pdf(1)[:200]).status_code == 422
    resp = api.post("/dossiers", "citizen", data={"agency": "pcc1", "procedure": "2.000815", "document_type": "x",
                                                  "copies": "1", "declaration": "true"})
    assert error_code(resp) == "missing_file"
    assert error_code(api.file_dossier(declaration="false")) == "declaration_required"
    assert error_code(api.file_dossier(agency="giaohieu", procedure="2.000843")) == "procedure_not_offered"
    assert error_code(api.file_dossier(agency="nowhere")) == "unknown_agency"
    assert api.file_dossier(copies="0").status_code == 422
    assert api.file_dossier(delivery="pigeon").status_code == 422
    assert (count(system, Dossier), count(system, Document), count(system, Event)) == before


def test_file_over_the_limit_is_413(api, system):
    system.settings.max_upload_bytes = 50_000
    resp = api.file_dossier(pdf=make_pdf(1) + b"%" * 60_000)
    assert resp.status_code == 413 and error_code(resp) == "pdf_too_large"
    assert count(system, Dossier) == 0


def test_idempotency_key_files_once(api, system):
    def data():
        return {"agency": "pcc1", "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
                "declaration": "true", "original": (io.BytesIO(make_pdf(1)), "a.pdf")}

    first = api.post("/dossiers", "citizen", data=data(), headers={"Idempotency-Key": "form-123"})
    again = api.post("/dossiers", "citizen", data=data(), headers={"Idempotency-Key": "form-123"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["code"] == again.get_json()["code"]
    assert count(system, Dossier) == 1


def test_walk_in_with_email_and_wrong_agency(api):
    resp = api.file_dossier("one_stop.pacnam", agency="pacnam", email="nguoidan@example.vn")
    assert resp.status_code == 201, resp.get_json()
    detail = api.get(f"/dossiers/{resp.get_json()['code']}", "one_stop.pacnam").get_json()
    assert detail["applicant"]["email"] == "nguoidan@example.vn" and detail["delivery"] == "email"
    assert detail["applicant"]["full_name"] == "nguoidan@example.vn"
    named = api.file_dossier("one_stop.pacnam", agency="pacnam", email="b@example.vn", applicant_name="Lò Văn Bình")
    assert api.get(f"/dossiers/{named.get_json()['code']}", "one_stop.pacnam").get_json()["applicant"][
        "full_name"] == "Lò Văn Bình"
    assert api.file_dossier("one_stop.pacnam", agency="pcc1", email="a@example.vn").status_code == 403
    assert error_code(api.file_dossier("one_stop.pacnam", agency="pacnam")) == "invalid_field"
    assert error_code(api.file_dossier("one_stop.pacnam", agency="pacnam", citizen="ghost")) == "unknown_citizen"
    by_id = api.file_dossier("one_stop.pacnam", agency="pacnam", citizen="001090012345")
    assert by_id.status_code == 201


def test_inbox_permissions(api):
    code = api.file_dossier().get_json()["code"]
    assert api.get("/tasks", "one_stop.pacnam").get_json() == []
    assert api.get(f"/dossiers/{code}", "one_stop.pacnam").status_code == 404
    task = api.task_for("one_stop.pcc1", code, "intake")
    assert api.post(f"/tasks/{task['id']}/complete", "leader.pcc1", json={"data": {"decision": "accept"}}).status_code == 403
    assert api.post(f"/tasks/{task['id']}/complete", "citizen", json={"data": {"decision": "accept"}}).status_code == 403
    assert api.get(f"/tasks/{task['id']}", "one_stop.pacnam").status_code == 404
    detail = api.get(f"/tasks/{task['id']}", "one_stop.pcc1").get_json()
    assert detail["form"]["properties"]["decision"]["enum"] == ["accept", "supplement", "refuse"]


def test_form_validation_and_domain_rules(api, system):
    code = api.file_dossier().get_json()["code"]
    resp = api.complete("one_stop.pcc1", code, "intake", {"decision": "refuse"})
    assert resp.status_code == 422 and "reason" in resp.get_json()["error"]["details"]["fields"]
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "maybe"}).status_code == 422
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept", "x": 1}).status_code == 422
    assert api.post(f"/tasks/{api.task_for('one_stop.pcc1', code, 'intake')['id']}/complete", "one_stop.pcc1",
                    data="nope").status_code == 400
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    resp = api.complete("leader.pcc1", code, "assign", {"signer": "clerk.pcc1"})
    assert error_code(resp) == "unknown_signer"
    assert api.complete("leader.pcc1", code, "assign", {"signer": "signer.pacnam"}).status_code == 422


def test_task_assigned_to_signer_and_completed_twice_is_409(api):
    code = api.file_dossier().get_json()["code"]
    task = api.task_for("one_stop.pcc1", code, "intake")
    ok = api.post(f"/tasks/{task['id']}/complete", "one_stop.pcc1", json={"data": {"decision": "accept"}})
    assert ok.status_code == 200 and ok.get_json()["dossier"]["status"] == "processing"
    again = api.post(f"/tasks/{task['id']}/complete", "one_stop.pcc1", json={"data": {"decision": "accept"}})
    assert again.status_code == 409 and error_code(again) == "task_not_ready"
    assert api.post("/tasks/00000000-0000-0000-0000-000000000000/complete", "one_stop.pcc1",
                    json={"data": {}}).status_code == 404
    api.complete("leader.pcc1", code, "assign", {"signer": "signer.pcc1"})
    review = api.task_for("signer.pcc1", code, "review_sign")
    assert review["assignee"] == "signer.pcc1"


def test_wrong_pin_changes_nothing(api, system):
    code = api.file_dossier().get_json()["code"]
    accept_and_route(api, code)
    before = api.get(f"/dossiers/{code}", "auditor").get_json()
    resp = api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="wrong")
    assert resp.status_code == 422 and error_code(resp) == "wrong_pin"
    assert error_code(api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"})) == "pin_required"
    after = api.get(f"/dossiers/{code}", "auditor").get_json()
    assert after["status"] == "awaiting_signature" and after["history"] == before["history"]
    assert after["tasks"] == before["tasks"]


def test_full_province_path_result_and_fee_rule(api, system):
    code = api.file_dossier(pages=3).get_json()["code"]
    accept_and_route(api, code)
    resp = api.complete("signer.pcc1", code, "review_sign", {"decision": "approve", "placement": "last_page"},
                        pin="demo")
    assert resp.status_code == 200 and resp.get_json()["dossier"]["status"] == "awaiting_seal"
    register = _register_id(system, "pcc1")
    resp = api.complete("clerk.pcc1", code, "seal", {"register": register}, pin="demo")
    assert resp.status_code == 200, resp.get_json()
    resp = api.complete("one_stop.pcc1", code, "return", {"fee_paid": False})
    assert resp.status_code == 422 and error_code(resp) == "fee_unpaid"
    resp = api.complete("one_stop.pcc1", code, "return", {"fee_paid": True})
    assert resp.status_code == 200 and resp.get_json()["dossier"]["status"] == "returned"
    detail = api.get(f"/dossiers/{code}", "citizen").get_json()
    assert detail["result"]["certification_number"] == 1
    assert detail["result"]["register"].endswith("-SCTĐT/BS")
    assert detail["fee"]["paid"] is True and detail["tasks"] == []
    pdf = api.get(detail["result"]["download"].removeprefix("/api/v1"), "citizen")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert api.get(f"/dossiers/{code}/result.pdf", "one_stop.pacnam").status_code == 404
    verified = api.post("/verify", data={"file": (io.BytesIO(pdf.get_data()), "x.pdf")}).get_json()
    assert verified["valid"] is True and verified["dossier"]["certification_number"] == 1
    assert [s["field"] for s in verified["signatures"]] == ["attestation", "seal"]
    kinds = [e["kind"] for e in detail["history"]]
    assert kinds.count("task_completed") == 5 and "service_completed" in kinds and "notified" in kinds
    for event in detail["history"]:
        assert "pin" not in event["data"]
    entry = api.get(f"/verify/1?register={detail['result']['register']}").get_json()
    assert entry["certification_number"] == 1


def _register_id(system, slug):
    from app.adapters.models import Agency, Register
    with system.db.session() as session:
        return session.scalar(select(Register.id).join(Agency).where(Agency.slug == slug))


def test_citizen_lists_own_dossiers_and_staff_their_agency(api):
    mine = api.file_dossier().get_json()["code"]
    api.file_dossier("one_stop.pacnam", agency="pacnam", email="x@example.vn")
    listed = api.get("/dossiers", "citizen").get_json()
    assert [d["code"] for d in listed["items"]] == [mine]
    staff = api.get("/dossiers", "one_stop.pacnam").get_json()
    assert staff["total"] == 1 and staff["items"][0]["agency"] == "000.00.38.H03"
    assert api.get("/dossiers?page=0", "citizen").status_code == 400
    assert api.get("/dossiers", "admin").status_code == 403


def test_claim_and_release(api):
    code = api.file_dossier().get_json()["code"]
    task = api.task_for("one_stop.pcc1", code, "intake")
    assert api.post(f"/tasks/{task['id']}/claim", "one_stop.pcc1").status_code == 200
    assert api.task_for("one_stop.pcc1", code, "intake")["assignee"] == "one_stop.pcc1"
    assert api.post(f"/tasks/{task['id']}/claim", "leader.pcc1").status_code == 403
    assert api.post(f"/tasks/{task['id']}/release", "one_stop.pcc1").status_code == 200
    assert api.task_for("one_stop.pcc1", code, "intake")["assignee"] is None


def test_processes_for_admin_only(api):
    versions = api.get("/processes", "admin").get_json()
    assert {v["variant"] for v in versions} == {"province", "district", "commune"}
    assert all(v["active"] and v["version"] == 1 for v in versions)
    xml = api.get("/processes/commune/1.bpmn", "admin")
    assert xml.status_code == 200 and b"copy_certification_commune" in xml.get_data()
    assert api.get("/processes", "citizen").status_code == 403
    assert api.get("/processes/commune/9.bpmn", "admin").status_code == 404


def test_unknown_api_route_is_json_404(api):
    resp = api.get("/nothing-here")
    assert resp.status_code == 404 and error_code(resp) == "not_found"


def test_supplement_loop_replaces_the_scan(api, system):
    code = api.file_dossier(pages=1).get_json()["code"]
    api.complete("one_stop.pcc1", code, "intake", {"decision": "supplement", "reason": "Thiếu trang"})
    assert api.get(f"/dossiers/{code}", "citizen").get_json()["status"] == "awaiting_supplement"
    assert api.post(f"/dossiers/{code}/supplement", "one_stop.pcc1",
                    data={"original": (io.BytesIO(make_pdf(4)), "b.pdf")}).status_code == 403
    bad = api.post(f"/dossiers/{code}/supplement", "citizen", data={"original": (io.BytesIO(b"x"), "b.txt")})
    assert bad.status_code == 415
    ok = api.post(f"/dossiers/{code}/supplement", "citizen",
                  data={"original": (io.BytesIO(make_pdf(4)), "b.pdf"), "note": "Đã bổ sung"})
    assert ok.status_code == 200 and ok.get_json()["status"] == "submitted"
    detail = api.get(f"/dossiers/{code}", "citizen").get_json()
    assert detail["fee"]["pages"] == 4 and detail["fee"]["amount_vnd"] == 6000
    again = api.post(f"/dossiers/{code}/supplement", "citizen",
                     data={"original": (io.BytesIO(make_pdf(1)), "b.pdf")})
    assert again.status_code == 409


def test_loops_are_bounded(api, monkeypatch):
    from app.services.dossiers import tasks as dossiers

    monkeypatch.setattr(dossiers, "MAX_LOOP_ROUNDS", 2)
    code = api.file_dossier().get_json()["code"]
    for _ in range(2):
        assert api.complete("one_stop.pcc1", code, "intake", {"decision": "supplement", "reason": "Mờ"}).status_code == 200
        assert api.post(f"/dossiers/{code}/supplement", "citizen",
                        data={"original": (io.BytesIO(make_pdf(1)), "b.pdf")}).status_code == 200
    resp = api.complete("one_stop.pcc1", code, "intake", {"decision": "supplement", "reason": "Mờ"})
    assert resp.status_code == 422 and error_code(resp) == "too_many_rounds"
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "refuse", "reason": "Không đủ"}).status_code == 200


def test_openapi_lists_the_contract(api):
    doc = api.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for path, method in [("/auth/token", "post"), ("/dossiers", "post"), ("/dossiers/{code}", "get"),
                         ("/tasks/{task_id}/complete", "post"), ("/audit/verify", "get")]:
        assert method in doc["paths"][path], path
    assert "security" not in doc["paths"]["/auth/token"]["post"]
    assert doc["paths"]["/tasks"]["get"]["security"] == [{"bearer": []}]


def test_rework_resubmits_with_a_corrected_scan(api, system):
    code = api.file_dossier(pages=2).get_json()["code"]
    accept_and_route(api, code)
    api.complete("signer.pcc1", code, "review_sign", {"decision": "reject", "reason": "Trang 2 bị mờ"})
    task = api.task_for("leader.pcc1", code, "rework")
    bad = api.post(f"/tasks/{task['id']}/complete", "leader.pcc1",
                   data={"data": '{"decision": "resubmit"}', "original": (io.BytesIO(b"nope"), "x.pdf")})
    assert bad.status_code == 415
    resp = api.post(f"/tasks/{task['id']}/complete", "leader.pcc1",
                    data={"data": '{"decision": "resubmit", "reason": "Đã scan lại"}',
                          "original": (io.BytesIO(make_pdf(5)), "scan-lai.pdf")})
    assert resp.status_code == 200 and resp.get_json()["dossier"]["status"] == "awaiting_signature"
    detail = api.get(f"/dossiers/{code}", "leader.pcc1").get_json()
    assert detail["fee"]["pages"] == 5 and detail["fee"]["amount_vnd"] == 7000
    intake_like = api.file_dossier().get_json()["code"]
    task = api.task_for("one_stop.pcc1", intake_like, "intake")
    refused = api.post(f"/tasks/{task['id']}/complete", "one_stop.pcc1",
                       data={"data": '{"decision": "accept"}', "original": (io.BytesIO(make_pdf(1)), "a.pdf")})
    assert refused.status_code == 422 and error_code(refused) == "scan_not_accepted"


def test_same_form_twice_at_once_files_one_dossier(app, api, system):
    import threading

    token = api.login("citizen")
    results = []
    barrier = threading.Barrier(6)

    def send():
        client = app.test_client()
        barrier.wait()
        resp = client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-42"},
                           data={"agency": "pcc1", "procedure": "2.000815", "document_type": "Học bạ", "copies": "1",
                                 "declaration": "true", "original": (io.BytesIO(make_pdf(1)), "a.pdf")})
        results.append((resp.status_code, resp.get_json().get("code")))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in results) == [200] * 5 + [201]
    assert len({c for _, c in results}) == 1 and count(system, Dossier) == 1


def test_citizen_gets_the_copy_only_when_returned(api, system):
    code = api.file_dossier().get_json()["code"]
    accept_and_route(api, code)
    api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo")
    api.complete("clerk.pcc1", code, "seal", {"register": _register_id(system, "pcc1")}, pin="demo")
    assert api.get(f"/dossiers/{code}/result.pdf", "citizen").status_code == 404
    assert api.get(f"/dossiers/{code}/result.pdf", "one_stop.pcc1").status_code == 200
    api.complete("one_stop.pcc1", code, "return", {"fee_paid": True})
    assert api.get(f"/dossiers/{code}/result.pdf", "citizen").status_code == 200


def test_deadline_follows_the_agency_calendar(api):
    from datetime import datetime

    from app import clock
    from app.domain.calendar import VN_TZ

    resp = api.call("PUT", "/agencies/pcc1/calendar", "admin", json={"extra_days_off": ["2026-11-26"]})
    assert resp.status_code == 200, resp.get_json()
    clock.set_global(datetime(2026, 11, 25, 16, 0, tzinfo=VN_TZ))  # Wednesday, after 15:00
    code = api.file_dossier().get_json()["code"]
    api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"})
    due = datetime.fromisoformat(api.get(f"/dossiers/{code}", "auditor").get_json()["due_at"])
    assert due.astimezone(VN_TZ) == datetime(2026, 11, 27, 11, 30, tzinfo=VN_TZ)  # Thursday is off at pcc1
    other = api.file_dossier(agency="pacnam").get_json()["code"]
    api.complete("one_stop.pacnam", other, "intake", {"decision": "accept"})
    due = datetime.fromisoformat(api.get(f"/dossiers/{other}", "auditor").get_json()["due_at"])
    assert due.astimezone(VN_TZ) == datetime(2026, 11, 26, 11, 30, tzinfo=VN_TZ)


def test_public_verification_pages(api, client, system):
    code = api.file_dossier().get_json()["code"]
    accept_and_route(api, code)
    api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo")
    api.complete("clerk.pcc1", code, "seal", {"register": _register_id(system, "pcc1")}, pin="demo")
    detail = api.get(f"/dossiers/{code}", "auditor").get_json()["result"]
    page = client.get(f"/verify/{detail['certification_number']}?register={detail['register']}")
    assert page.status_code == 200 and "Số chứng thực có trong sổ chứng thực" in page.get_data(as_text=True)
    assert client.get("/verify/999").status_code == 404
    pdf = api.get(f"/dossiers/{code}/result.pdf", "clerk.pcc1").get_data()
    form = client.get("/verify/").get_data(as_text=True)
    import re
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    resp = client.post("/verify/", data={"csrf_token": token, "file": (io.BytesIO(pdf), "copy.pdf")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Bản sao hợp lệ" in html and "Con dấu cơ quan" in html
    tampered = pdf + b"\n% appended\n"
    resp = client.post("/verify/", data={"csrf_token": token, "file": (io.BytesIO(tampered[:-400] + b"x" * 400), "c.pdf")})
    assert "KHÔNG hợp lệ" in resp.get_data(as_text=True)
