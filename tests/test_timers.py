"""Timers with a controllable clock (no sleeping): the deadline, the supplement timeout and the due-soon
notice in every variant, retries with backoff, periodic jobs, the 15:00 rule end to end, `certcopy tick`."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from app import clock, create_app
from app.adapters.models import Dossier, Event, HumanTask, Notification, OutboxMessage, User
from app.services import timers
from app.domain.calendar import VN_TZ
from app.services.timers import backoff, claim_once, register_job, tick, unregister_job

from .conftest import requires_pg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENCY = {"province": "pcc1", "district": "pacnam", "commune": "giaohieu"}
VARIANTS = tuple(AGENCY)
MON = (2026, 11, 23)  # Monday 23 Nov 2026, no holiday (24 Nov is)


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def receive(api, agency: str, at: datetime, **fields) -> str:
    """File a dossier and accept it at intake at `at` (its processing deadline starts)."""
    clock.set_global(at)
    resp = api.file_dossier(agency=agency, **fields)
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["code"]
    assert api.complete(f"one_stop.{agency}", code, "intake", {"decision": "accept"}).status_code == 200
    return code


def dossier(system, code) -> Dossier:
    with system.db.session() as session:
        return session.scalar(select(Dossier).where(Dossier.code == code))


def told(system, code, contains: str) -> list[str]:
    """Usernames that got an in-app message about the dossier containing `contains` (one entry per message)."""
    with system.db.session() as session:
        rows = session.execute(select(User.username, Notification.message).join(User, User.id == Notification.user_id)
                               .join(Dossier, Dossier.id == Notification.dossier_id).where(Dossier.code == code)
                               .order_by(Notification.id)).all()
    return [u for u, m in rows if contains in m]


def events(system, code) -> list[Event]:
    with system.db.session() as session:
        return session.scalars(select(Event).join(Dossier, Dossier.id == Event.dossier_id)
                               .where(Dossier.code == code).order_by(Event.seq)).all()


def inbox(system, code) -> list[str]:
    with system.db.session() as session:
        return sorted(session.scalars(select(HumanTask.name).join(Dossier, Dossier.id == HumanTask.dossier_id)
                                      .where(Dossier.code == code)))


# -- the deadline: flagged, leader and current holder told, nothing cancelled ---------------------------------

HOLDERS = {  # after intake (and, for district, assignment): who holds the dossier, who leads the agency
    "province": (["leader.pcc1"], ["leader.pcc1"]),
    "district": (["signer.pacnam"], ["leader.pacnam"]),
    "commune": (["justice_officer.giaohieu"], ["signer.giaohieu"]),  # a commune's chairman (signer) leads
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_deadline_flags_and_tells_leader_and_holder(system, api, variant):
    agency = AGENCY[variant]
    code = receive(api, agency, vn(*MON, 9, 0))
    if variant == "district":
        assert api.complete(f"leader.{agency}", code, "assign", {"signer": f"signer.{agency}"}).status_code == 200
    before = inbox(system, code)
    due = dossier(system, code)
    assert due.due_at == vn(*MON, 15, 0) and due.next_timer_at == due.due_at

    assert tick(system, vn(*MON, 14, 59)).fired == 0
    assert tick(system, vn(*MON, 15, 0)).fired == 0  # due means strictly past, as SpiffWorkflow decides
    report = tick(system, vn(*MON, 15, 0, 1))
    assert (report.fired, report.failed) == (1, 0)

    row = dossier(system, code)
    assert row.overdue and row.next_timer_at is None
    assert row.status == ("awaiting_signature" if variant == "district" else "processing")
    assert inbox(system, code) == before  # nothing cancelled
    holders, leaders = HOLDERS[variant]
    overdue_told = told(system, code, "quá hạn xử lý")
    assert sorted(overdue_told) == sorted(set(holders + leaders))  # each person once, leader-holder too
    kinds = [(e.kind, e.task) for e in events(system, code)]
    assert ("timer_fired", "deadline") in kinds
    notified = {e.task: e.data for e in events(system, code) if e.kind == "notified"}
    assert notified["notify_overdue"]["to"] == leaders
    assert sorted(notified["notify_overdue_holders"]["to"]) == sorted(set(holders) - set(leaders))
    assert notified["notify_overdue_holders"]["recipient"] == "task_holder"

    # Fires once: later ticks find nothing; the work goes on.
    assert tick(system, vn(*MON, 16, 0)).fired == 0
    assert len([e for e in events(system, code) if e.kind == "timer_fired"]) == 1
    step = {"province": ("leader", "assign", {"signer": "signer.pcc1"}),
            "district": ("signer", "review_sign", {"decision": "reject", "reason": "Bản scan mờ"}),
            "commune": ("justice_officer", "handle", {"decision": "submit"})}[variant]
    assert api.complete(f"{step[0]}.{agency}", code, step[1], step[2]).status_code == 200


@requires_pg
def test_postgresql_a_deadline_step_writes_in_one_pipeline(system, api):
    """Locking and reading go through SQLAlchemy; the events, notices and the dossier's new state are written by
    `db.commit` with the COMMIT in one round trip, so SQLAlchemy sends no write of its own."""
    code = receive(api, "pcc1", vn(*MON, 9, 0))
    statements = []
    event.listen(system.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert timers.fire_dossier_timers(system, code, vn(*MON, 15, 0, 1))
    writes = [s for s in statements if s.lstrip()[:6].upper() != "SELECT"]
    assert writes == []
    row = dossier(system, code)
    assert row.overdue and row.next_timer_at is None and len(told(system, code, "quá hạn xử lý")) == 1


# -- the supplement timeout: interrupting, cancels and tells the citizen -----------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_supplement_timeout_cancels_and_tells_citizen(system, api, variant):
    agency = AGENCY[variant]
    start = vn(*MON, 9, 0)
    clock.set_global(start)
    code = api.file_dossier(agency=agency).get_json()["code"]
    resp = api.complete(f"one_stop.{agency}", code, "intake", {"decision": "supplement", "reason": "Bản scan mờ"})
    assert resp.status_code == 200 and resp.get_json()["dossier"]["status"] == "awaiting_supplement"
    assert dossier(system, code).next_timer_at == start + timedelta(days=15)

    assert tick(system, start + timedelta(days=15)).fired == 0
    assert dossier(system, code).status == "awaiting_supplement"
    assert tick(system, start + timedelta(days=15, seconds=1)).fired == 1
    row = dossier(system, code)
    assert row.status == "cancelled" and row.finished_at == start + timedelta(days=15, seconds=1)
    assert row.next_timer_at is None and inbox(system, code) == []
    assert told(system, code, "quá hạn bổ sung") == ["citizen"]
    kinds = [(e.kind, e.task) for e in events(system, code)]
    assert ("timer_fired", "supplement_timeout") in kinds and kinds[-1] == ("cancelled", None)
    assert tick(system, start + timedelta(days=20)).fired == 0


def test_supplement_timeout_is_configurable_and_mails_walk_in_citizens(system, api):
    system.settings.supplement_timeout = "P2D"
    start = vn(*MON, 9, 0)
    clock.set_global(start)
    resp = api.file_dossier(user="one_stop.pcc1", agency="pcc1", email="nguoidan@example.vn")
    code = resp.get_json()["code"]
    assert api.complete("one_stop.pcc1", code, "intake",
                        {"decision": "supplement", "reason": "Thiếu trang 2"}).status_code == 200
    assert dossier(system, code).next_timer_at == start + timedelta(days=2)
    assert tick(system, start + timedelta(days=1, hours=23)).fired == 0
    assert tick(system, start + timedelta(days=2, minutes=1)).fired == 1
    assert dossier(system, code).status == "cancelled"
    with system.db.session() as session:
        mails = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "nguoidan@example.vn")).all()
    assert any("quá hạn bổ sung" in m.body for m in mails)


def test_supplement_answered_in_time_stops_the_timeout(system, api):
    from app.replay import make_pdf
    import io

    start = vn(*MON, 9, 0)
    clock.set_global(start)
    code = api.file_dossier(agency="giaohieu").get_json()["code"]
    api.complete("one_stop.giaohieu", code, "intake", {"decision": "supplement", "reason": "Bản scan mờ"})
    clock.set_global(start + timedelta(days=3))
    resp = api.post(f"/dossiers/{code}/supplement", "citizen",
                    data={"original": (io.BytesIO(make_pdf(2)), "bo-sung.pdf")})
    assert resp.status_code == 200 and resp.get_json()["status"] == "submitted"
    assert dossier(system, code).next_timer_at is None
    assert tick(system, start + timedelta(days=16)).fired == 0
    assert dossier(system, code).status == "submitted"


# -- due soon: one working hour before the deadline -------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_due_soon_notice_one_working_hour_before(system, api, variant):
    agency = AGENCY[variant]
    code = receive(api, agency, vn(*MON, 9, 0))  # due 15:00
    holder = {"province": "leader.pcc1", "district": "leader.pacnam", "commune": "justice_officer.giaohieu"}[variant]
    assert tick(system, vn(*MON, 13, 59)).due_soon == 0
    report = tick(system, vn(*MON, 14, 0))
    assert (report.due_soon, report.fired) == (1, 0)
    assert told(system, code, "sắp đến hạn xử lý") == [holder]
    assert "còn 1 giờ làm việc (hạn 15:00 23/11/2026)" in _messages(system, code)[-1]
    (event,) = [e for e in events(system, code) if e.kind == "notified" and e.data["template"] == "due_soon"]
    assert event.data["to"] == [holder] and event.data["working_hours_left"] == 1.0
    assert tick(system, vn(*MON, 14, 30)).due_soon == 0  # once
    assert tick(system, vn(*MON, 15, 1)).fired == 1  # and the deadline still fires
    assert told(system, code, "sắp đến hạn xử lý") == [holder]


def _messages(system, code):
    with system.db.session() as session:
        return list(session.scalars(select(Notification.message).join(Dossier, Dossier.id == Notification.dossier_id)
                                    .where(Dossier.code == code).order_by(Notification.id)))


def test_due_soon_counts_working_hours_across_the_lunch_break(system, api):
    code = receive(api, "pcc1", vn(*MON, 8, 0))  # 08:00-11:30 is 3.5 h, then 13:30-14:00: due 14:00
    assert dossier(system, code).due_at == vn(*MON, 14, 0)
    assert tick(system, vn(*MON, 10, 59)).due_soon == 0
    assert tick(system, vn(*MON, 11, 0)).due_soon == 1  # 11:00-11:30 and 13:30-14:00: one working hour


def test_no_due_soon_notice_once_overdue_or_while_supplementing(system, api):
    late = receive(api, "pcc1", vn(*MON, 9, 0))
    clock.set_global(vn(*MON, 9, 0))
    waiting = api.file_dossier(agency="pcc1").get_json()["code"]  # never received: its clock does not run
    report = tick(system, vn(*MON, 15, 30))  # the scheduler was down until after the deadline
    assert (report.fired, report.due_soon) == (1, 0)
    assert told(system, late, "sắp đến hạn") == [] and told(system, waiting, "sắp đến hạn") == []


def test_deadline_and_due_soon_use_the_agency_calendar(system, api):
    # pcc1 breaks for lunch 11:30-13:00 (its own calendar); giaohieu keeps the default 11:30-13:30.
    assert api.call("PUT", "/agencies/pcc1/calendar", "admin",
                    json={"periods": [["07:30", "11:30"], ["13:00", "17:00"]]}).status_code == 200
    own = receive(api, "pcc1", vn(*MON, 8, 0))
    default = receive(api, "giaohieu", vn(*MON, 8, 0))
    assert dossier(system, own).due_at == vn(*MON, 13, 30)  # 08:00-11:30 + 13:00-13:30
    assert dossier(system, default).due_at == vn(*MON, 14, 0)  # 08:00-11:30 + 13:30-14:00
    assert tick(system, vn(*MON, 10, 59)).due_soon == 0
    assert tick(system, vn(*MON, 11, 0)).due_soon == 2  # one working hour left on each one's own calendar
    assert told(system, default, "sắp đến hạn") == ["justice_officer.giaohieu"]
    assert told(system, own, "sắp đến hạn") == ["leader.pcc1"]
    assert tick(system, vn(*MON, 11, 30)).due_soon == 0  # told once


# -- retries with backoff; one failure never blocks the others ---------------------------------------------------

def test_backoff_doubles_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(50) == timedelta(hours=1)


def test_failing_timer_is_retried_with_backoff_and_blocks_no_one(system, api, monkeypatch):
    codes = [receive(api, "pcc1", vn(*MON, 9, 0)) for _ in range(3)]
    broken = codes[1]
    render = system.notifier.render
    down = {"on": True}

    def flaky_render(template, dossier_row, data):
        if dossier_row.code == broken and down["on"]:
            raise ConnectionError("máy chủ thông báo không trả lời")
        return render(template, dossier_row, data)

    monkeypatch.setattr(system.notifier, "render", flaky_render)
    first = vn(*MON, 15, 1)
    report = tick(system, first)
    assert (report.fired, report.failed) == (2, 1) and broken in report.errors[0]
    row = dossier(system, broken)
    assert (row.timer_attempts, row.timer_retry_at) == (1, first + timedelta(seconds=30))
    assert "ConnectionError" in row.timer_error
    assert not row.overdue and [e for e in events(system, broken) if e.kind == "timer_fired"] == []  # rolled back
    assert all(dossier(system, c).overdue for c in (codes[0], codes[2]))

    assert tick(system, first + timedelta(seconds=20)).failed == 0  # waiting for its retry
    assert tick(system, first + timedelta(seconds=31)).failed == 1
    row = dossier(system, broken)
    assert (row.timer_attempts, row.timer_retry_at) == (2, first + timedelta(seconds=91))
    down["on"] = False
    assert tick(system, first + timedelta(seconds=60)).fired == 0
    assert tick(system, first + timedelta(seconds=92)).fired == 1
    row = dossier(system, broken)
    assert row.overdue and (row.timer_attempts, row.timer_retry_at, row.timer_error) == (0, None, None)
    assert len([e for e in events(system, broken) if e.kind == "timer_fired"]) == 1
    assert told(system, broken, "quá hạn xử lý") == ["leader.pcc1"]


def test_scheduler_status_lists_failing_timers(system, api, monkeypatch):
    code = receive(api, "pcc1", vn(*MON, 9, 0))
    monkeypatch.setattr(system.notifier, "render", lambda *a: (_ for _ in ()).throw(OSError("SMS gateway down")))
    clock.set_global(vn(*MON, 15, 1))
    tick(system, vn(*MON, 15, 1))
    body = api.get("/scheduler", "auditor").get_json()
    assert body["due_now"] == 1 and body["failing"][0]["code"] == code
    assert body["failing"][0]["attempts"] == 1 and "SMS gateway down" in body["failing"][0]["error"]
    assert api.get("/scheduler", "leader.pcc1").status_code == 403
    assert api.post("/scheduler/tick", "auditor").status_code == 403
    monkeypatch.undo()
    clock.set_global(vn(*MON, 15, 5))
    resp = api.post("/scheduler/tick", "admin")
    assert resp.status_code == 200 and resp.get_json()["fired"] == 1
    assert api.get("/scheduler", "admin").get_json()["failing"] == []


# -- periodic jobs (the hook appointment reminders use) ------------------------------------------------------------

def test_periodic_jobs_run_each_tick_and_back_off_when_failing(system):
    calls = []

    def reminders(sys_, now):
        calls.append(now)
        if len(calls) == 2:
            raise RuntimeError("hộp thư đầy")
        return 3

    register_job("test_reminders", reminders)
    try:
        t0 = vn(*MON, 8, 0)
        assert tick(system, t0).jobs["test_reminders"] == 3
        report = tick(system, t0 + timedelta(seconds=5))
        assert "test_reminders" not in report.jobs and "hộp thư đầy" in report.errors[0]
        tick(system, t0 + timedelta(seconds=20))  # backing off (30 s)
        assert len(calls) == 2
        assert tick(system, t0 + timedelta(seconds=40)).jobs["test_reminders"] == 3
    finally:
        unregister_job("test_reminders")
    assert "test_reminders" not in {j.name for j in timers.registered_jobs()}


def test_claim_once_across_transactions(system):
    now = vn(*MON, 8, 0)
    with system.db.session() as session, session.begin():
        assert claim_once(session, "reminder:CTĐT-241126-0001:2026-11-23", now)
    with system.db.session() as session, session.begin():
        assert not claim_once(session, "reminder:CTĐT-241126-0001:2026-11-23", now)
        assert claim_once(session, "reminder:CTĐT-241126-0002:2026-11-23", now)
    with system.db.session() as session:
        session.begin()
        assert claim_once(session, "reminder:rolled-back", now)
        session.rollback()  # the work failed: the claim goes with it
    with system.db.session() as session, session.begin():
        assert claim_once(session, "reminder:rolled-back", now)


# -- the APScheduler inside the app ----------------------------------------------------------------------------

def test_app_scheduler_runs_the_tick(system, monkeypatch):
    from app.scheduler import JOB_ID, TimerScheduler

    ran = threading.Event()
    register_job("test_probe", lambda sys_, now: ran.set() or 1)
    scheduler = TimerScheduler(system, interval=3600).start()
    try:
        assert scheduler.running and scheduler.next_run_time() is not None
        scheduler._scheduler.modify_job(JOB_ID, next_run_time=datetime.now(VN_TZ))  # run it now, not in an hour
        assert ran.wait(60), "the scheduled tick did not run"
        for _ in range(600):
            if scheduler.ticks:
                break
            threading.Event().wait(0.05)
        assert scheduler.ticks >= 1 and scheduler.last_report.jobs["test_probe"] == 1
    finally:
        scheduler.stop()
        unregister_job("test_probe")
    assert not scheduler.running


def test_create_app_starts_the_scheduler_when_enabled(system, monkeypatch):
    monkeypatch.setenv("CERTCOPY_SCHEDULER", "on")
    monkeypatch.setenv("CERTCOPY_TICK_SECONDS", "3600")
    app = create_app(system=system)
    scheduler = app.extensions["certcopy_scheduler"]
    try:
        assert scheduler.running and scheduler.interval == 3600
    finally:
        scheduler.stop()
    monkeypatch.setenv("CERTCOPY_SCHEDULER", "")
    assert "certcopy_scheduler" not in create_app(system=system).extensions


# -- the 15:00 rule, end to end --------------------------------------------------------------------------------

RULE_CASES = [
    # received at, due at
    pytest.param(vn(2026, 11, 20, 15, 30), vn(2026, 11, 23, 11, 30), id="friday-after-15h"),
    pytest.param(vn(2026, 11, 20, 14, 30), vn(2026, 11, 23, 9, 0), id="friday-before-15h"),
    pytest.param(vn(2026, 2, 13, 16, 0), vn(2026, 2, 23, 11, 30), id="before-lunar-new-year"),
    pytest.param(vn(2025, 4, 25, 15, 30), vn(2025, 4, 26, 11, 30), id="make-up-saturday"),
]


@pytest.mark.parametrize("received_at,due_at", RULE_CASES)
def test_fifteen_hour_rule_sets_the_deadline_timer(system, api, received_at, due_at):
    code = receive(api, "pcc1", received_at)
    body = api.get(f"/dossiers/{code}", "auditor").get_json()
    assert datetime.fromisoformat(body["due_at"]) == due_at
    assert dossier(system, code).next_timer_at == due_at
    assert tick(system, due_at - timedelta(microseconds=1)).fired == 0
    assert tick(system, due_at + timedelta(seconds=1)).fired == 1
    assert dossier(system, code).overdue


# -- `certcopy tick` -----------------------------------------------------------------------------------------------

def test_tick_command_fires_as_of_the_given_moment(system, api, capsys, monkeypatch):
    from app.cli import main

    code = receive(api, "pcc1", vn(*MON, 9, 0))
    instance = str(system.settings.instance_path)
    monkeypatch.setenv("DATABASE_URL", system.settings.database_url)
    assert main(["tick", "--instance", instance, "--now", "2026-11-23T14:30:00+07:00"]) == 0
    out = capsys.readouterr().out
    assert "0 dossier(s) had due timers" in out and "1 due-soon notice(s)" in out
    assert main(["tick", "--instance", instance, "--now", "2026-11-23T15:30:00"]) == 2
    assert "UTC offset" in capsys.readouterr().err
    assert main(["tick", "--instance", instance, "--now", "hôm qua"]) == 2
    assert "ISO-8601" in capsys.readouterr().err
    # As cron runs it: a separate process.
    env = dict(os.environ, DATABASE_URL=system.settings.database_url)
    run = subprocess.run([sys.executable, "-m", "app.cli", "tick", "--instance", instance,
                          "--now", "2026-11-23T15:30:00+07:00"], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "tick as of 2026-11-23T15:30:00+07:00: 1 dossier(s) had due timers" in run.stdout
    row = dossier(system, code)
    assert row.overdue and [e.at for e in events(system, code) if e.kind == "timer_fired"] == [vn(*MON, 15, 30)]


def test_tick_finds_due_dossiers_batch_after_batch(system, api, monkeypatch):
    monkeypatch.setattr(timers, "BATCH", 2)
    codes = [receive(api, "giaohieu", vn(*MON, 9, 0)) for _ in range(5)]
    report = tick(system, vn(*MON, 15, 1))
    assert report.fired == 5
    with system.db.session() as session:
        assert session.scalar(select(func.count(Dossier.id)).where(Dossier.code.in_(codes), Dossier.overdue)) == 5


def test_a_timer_that_does_not_fire_is_looked_at_again_later_not_every_tick(system, api, monkeypatch):
    code = receive(api, "pcc1", vn(*MON, 9, 0))
    monkeypatch.setattr(system.engine, "fire_timers", lambda ctx, workflow: None)  # e.g. a broken timer expression
    now = vn(*MON, 15, 1)
    tick(system, now)
    row = dossier(system, code)
    assert row.timer_attempts == 1 and row.timer_retry_at == now + timedelta(seconds=30)
    assert "không chạy" in row.timer_error
    assert tick(system, now + timedelta(seconds=5)).fired == 0  # not picked again until the retry
    monkeypatch.undo()
    assert tick(system, now + timedelta(seconds=31)).fired == 1
    assert dossier(system, code).timer_attempts == 0 and dossier(system, code).overdue


def test_finished_dossier_with_a_stale_timer_is_cleaned_up(system, api):
    from sqlalchemy import update

    code = receive(api, "pcc1", vn(*MON, 9, 0))
    with system.db.session() as session, session.begin():
        session.execute(update(Dossier).where(Dossier.code == code).values(status="cancelled"))
    report = tick(system, vn(*MON, 15, 1))
    assert (report.fired, report.skipped) == (0, 1)
    assert dossier(system, code).next_timer_at is None
    assert tick(system, vn(*MON, 15, 2)).skipped == 0
