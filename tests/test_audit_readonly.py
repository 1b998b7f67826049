"""Auditors read everything and change nothing: every write endpoint of the app (enumerated from the URL
map at run time, so endpoints added later are covered too) refuses the auditor, and the database is the same
afterwards."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.engine.audit import verify_chain
from app.adapters.models import Base, Dossier, HumanTask, Register

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REFUSED = {403, 404}
# Endpoints anyone may call, or that touch only the caller's own session/notifications, with the answers an
# auditor gets for an empty request. Every other write endpoint must answer 403 or 404.
EXCEPTIONS = {
    "api.token": {400, 401},                          # log in (public)
    "api.register": {400, 422},                       # citizen self-registration (public)
    "api.verify_pdf": {400},                          # public verification of a certified copy
    "verify_pages.check_file": {200, 422},            # the same, as a page (reads the upload, stores nothing)
    "pages.login": {200, 400, 401, 422},              # the login form (public)
    "citizen.register": {200, 400, 403, 422},         # citizen self-registration page (public)
    "api_citizen.provider_notification": {400, 401, 403, 404},  # payment provider callback (public, signed)
    "notifications.read_all": {200, 302, 303, 403},   # marks the caller's own notifications read
    "notifications.open_one": {302, 303, 403, 404},
    "api_citizen.mark_read": {200, 400, 403},
}
# Write endpoints that today validate the request (or the dossier's state) before the caller's role, so an
# auditor's empty request gets 409/422 instead of 403. Nothing changes (the snapshot below proves it), but the
# owners should check the role first; remove an entry once fixed.
CHECKS_ROLE_LATE = {
    "api_setup.upload_signature_image": {403, 422},
    "api_setup.upload_seal_image": {403, 422},
    "api_citizen.rate": {403, 404, 422},
}
SKIPPED = {"pages.logout": "ends the auditor's own session; tested by the login tests"}


def page_login(client, username: str) -> str:
    """Log in through the login form; returns the session's CSRF token."""
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
    assert resp.status_code in (302, 303), resp.status_code
    with client.session_transaction() as sess:
        return sess["csrf_token"]


def snapshot(system) -> dict:
    with system.db.session() as session:
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
        dossiers = sorted(session.execute(select(Dossier.code, Dossier.status, Dossier.event_seq,
                                                 Dossier.process_version_id, Dossier.fee_paid)).all())
        registers = sorted(session.execute(select(Register.id, Register.name, Register.next_number,
                                                  Register.closed)).all())
    return {"counts": counts, "dossiers": dossiers, "registers": registers}


def test_auditor_is_refused_by_every_write_endpoint(app, api, system):
    code = api.file_dossier(agency="pcc1").get_json()["code"]
    with system.db.session() as session:
        task_id = session.scalar(select(HumanTask.id).join(Dossier).where(Dossier.code == code))
        register_id = session.scalar(select(Register.id).join(Register.agency).where(Register.agency_id == Dossier.agency_id)
                                     .where(Dossier.code == code))
    values = {"code": code, "task_id": task_id, "register_id": register_id, "username": "signer.pcc1",
              "ref": "pcc1", "variant": "district", "version": 1, "reference": "none", "notification_id": 1}

    pages = app.test_client()
    csrf = page_login(pages, "auditor")
    token = api.login("auditor")
    before = snapshot(system)

    checked, wrong = [], []
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods & WRITE_METHODS)
        if not methods or rule.endpoint in SKIPPED:
            continue
        args = {name: values.get(name, 1 if "int" in str(rule._converters.get(name, "")).lower() else "x")
                for name in rule.arguments}
        _, path = rule.build(args, append_unknown=False)
        for method in methods:
            if path.startswith("/api/"):
                resp = api.client.open(path, method=method, json={},
                                       headers={"Authorization": f"Bearer {token}"})
            else:
                resp = pages.open(path, method=method, data={"csrf_token": csrf}, headers={"X-CSRF-Token": csrf})
            allowed = EXCEPTIONS.get(rule.endpoint) or CHECKS_ROLE_LATE.get(rule.endpoint) or REFUSED
            checked.append((method, path, resp.status_code))
            if resp.status_code not in allowed:
                wrong.append(f"{method} {path} ({rule.endpoint}) -> {resp.status_code}, expected {sorted(allowed)}")
    assert len(checked) >= 20, checked
    assert not wrong, "\n".join(wrong)
    assert snapshot(system) == before
    with system.db.session() as session:
        assert verify_chain(session).ok


def test_auditor_reads(api):
    code = api.file_dossier(agency="pacnam").get_json()["code"]
    assert api.get(f"/dossiers/{code}", "auditor").status_code == 200
    assert api.get("/audit/verify", "auditor").get_json()["ok"] is True
    assert api.get(f"/audit/dossiers/{code}", "auditor").status_code == 200
    assert api.get("/processes", "auditor").status_code == 200
    assert api.get("/processes/district/1.bpmn", "auditor").status_code == 200
