"""The audit chain is tamper-evident."""
from __future__ import annotations

import subprocess
import sys

from sqlalchemy import delete, select, update

from app.adapters.models import Event


def _history(api):
    code = api.file_dossier().get_json()["code"]
    api.complete("one_stop.pcc1", code, "intake", {"decision": "supplement", "reason": "Thiếu"})
    return code


def test_verify_ok_then_altered_row_is_named(api, system):
    code = _history(api)
    report = api.get("/audit/verify", "auditor").get_json()
    assert report["ok"] is True and report["checked"] >= 3 and report["first_bad"] is None
    with system.db.session() as session, session.begin():
        session.execute(update(Event).where(Event.seq == 2).values(actor="someone.else"))
    report = api.get("/audit/verify", "auditor").get_json()
    assert report == {**report, "ok": False, "first_bad": 2, "dossier": code}
    assert api.get("/audit/verify", "citizen").status_code == 403


def test_missing_last_event_is_found(api, system):
    code = _history(api)
    with system.db.session() as session, session.begin():
        last = session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1))
        session.execute(delete(Event).where(Event.seq == last))
    report = api.get("/audit/verify", "auditor").get_json()
    assert report["ok"] is False and report["dossier"] == code


def test_audit_verify_command(api, system):
    _history(api)
    folder = str(system.settings.instance_path)
    env = {"DATABASE_URL": system.settings.database_url}
    import os
    run = subprocess.run([sys.executable, "-m", "app.cli", "audit", "verify", "--instance", folder],
                         capture_output=True, text=True, env={**os.environ, **env})
    assert run.returncode == 0 and run.stdout.startswith("ok:"), run.stdout + run.stderr
    with system.db.session() as session, session.begin():
        session.execute(update(Event).where(Event.seq == 1).values(data={"forged": True}))
    run = subprocess.run([sys.executable, "-m", "app.cli", "audit", "verify", "--instance", folder],
                         capture_output=True, text=True, env={**os.environ, **env})
    assert run.returncode == 1 and "ALTERED" in run.stdout


def test_events_filter_for_auditor(api):
    code = _history(api)
    events = api.get(f"/audit/events?dossier={code}&kind=task_completed", "auditor").get_json()
    assert len(events) == 1 and events[0]["task"] == "intake" and events[0]["actor"] == "one_stop.pcc1"
    assert api.get("/audit/events", "one_stop.pcc1").status_code == 403
