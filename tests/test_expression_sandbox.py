"""Administrator BPMN never runs code on the server: payloads in conditions, timers and scripts are refused
when the routing is saved, and a version stored before these checks fails the step cleanly (422 naming the
element, the task still ready, nothing kept) instead of running them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.adapters.models import Dossier
from app.services.routing import versions as processes
from tests.fixtures.bpmn import edits
from tests.test_expressions import GENERATOR_FRAMES


def _touch_payload(marker) -> str:
    """The red-team payload, made to create a file when it runs."""
    return GENERATOR_FRAMES.replace("('os')", f"('pathlib').Path('{marker}').touch()")


def _upload(api, xml: str):
    return api.post("/processes/district", "admin", data=xml.encode(), content_type="application/xml")


def _problems(resp) -> set[tuple[str, str]]:
    assert resp.status_code == 422, resp.get_json()
    return {(p["code"], p["element_id"]) for p in resp.get_json()["error"]["details"]["problems"]
            if p["severity"] == "error"}


def test_a_timer_payload_is_refused_at_save_without_running(api, tmp_path):
    marker = tmp_path / "pwned"
    resp = _upload(api, edits.with_timer("supplement_timeout", "timeDuration", _touch_payload(marker)))
    assert ("script_forbidden", "supplement_timeout") in _problems(resp)
    assert not marker.exists()
    assert "gi_frame" not in resp.get_data(as_text=True).replace(_touch_payload(marker), "")


@pytest.mark.parametrize("source", [
    GENERATOR_FRAMES, "sum(range(10**12)) > 0", "getattr(decision, 'upper')", "type(decision) == str",
    "().__class__ is None", "decision['__class__'] == 1", "decision.__class__ == 1",
])
def test_condition_payloads_are_refused_at_save(api, source):
    resp = _upload(api, edits.with_condition("f_gw_review_approve", source))
    assert ("script_forbidden", "f_gw_review_approve") in _problems(resp)


@pytest.mark.parametrize("kind, value", [
    ("timeDuration", "'P999999999Y'"), ("timeDuration", "'PT0S'"), ("timeCycle", "'R/PT1S'"),
    ("timeDate", "'9999-01-01T00:00:00+07:00'"),
])
def test_unbounded_timer_values_are_refused_at_save(api, kind, value):
    resp = _upload(api, edits.with_timer("supplement_timeout", kind, value))
    assert ("timer_invalid", "supplement_timeout") in _problems(resp)


def test_a_script_loop_is_refused_at_save(api):
    resp = _upload(api, edits.script_with_import().replace("import os\nnote = os.listdir('/')", "while True:\n    pass"))
    assert ("script_forbidden", "compute_note") in _problems(resp)


def _store_unchecked(system, xml: str) -> None:
    """A version saved before the checks existed: stored and made active without the pre-save check."""
    with system.db.session() as session, session.begin():
        processes.activate(session, processes.add_version(session, "district", xml, created_by="admin"))


def _status(system, code: str) -> str:
    with system.db.session() as session:
        return session.scalar(select(Dossier.status).where(Dossier.code == code))


def test_a_stored_condition_payload_fails_the_step_and_changes_nothing(api, system, tmp_path):
    marker = tmp_path / "pwned"
    _store_unchecked(system, edits.with_condition("f_gw_intake_accept", _touch_payload(marker)))
    code = api.file_dossier(agency="pacnam").get_json()["code"]
    resp = api.complete("one_stop.pacnam", code, "intake", {"decision": "accept"})
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "expression_failed" and error["details"]["element"] == "gw_intake"
    assert "toán tử :=" in error["message"]
    assert not marker.exists()
    assert _status(system, code) == "submitted"
    assert api.task_for("one_stop.pacnam", code, "intake")


@pytest.mark.parametrize("value", ["'P999999999Y'", "'PT0S'", "'R/PT1S'"])
def test_a_stored_unbounded_timer_fails_the_step_and_changes_nothing(api, system, value):
    kind = "timeCycle" if value.startswith("'R") else "timeDuration"
    _store_unchecked(system, edits.with_timer("supplement_timeout", kind, value))
    code = api.file_dossier(agency="pacnam").get_json()["code"]
    with system.db.session() as session:
        before = session.scalar(select(Dossier.workflow_state).where(Dossier.code == code))
    resp = api.complete("one_stop.pacnam", code, "intake", {"decision": "supplement", "reason": "Thiếu trang 2"})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["details"]["element"] == "supplement_timeout"
    with system.db.session() as session:
        assert session.scalar(select(Dossier.workflow_state).where(Dossier.code == code)) == before
    assert _status(system, code) == "submitted"
    assert api.task_for("one_stop.pacnam", code, "intake")

