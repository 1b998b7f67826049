"""Exactly once: two schedulers (two Systems, as two gunicorn workers or hosts would be) tick at the same
moment over 500 due timers; every timer fires once, every notice is sent once, the history stays intact."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app import clock
from app.config import Settings
from app.engine.audit import verify_chain
from app.adapters.models import Dossier, Event, Notification
from app.domain.calendar import VN_TZ
from app.services.timers import tick
from app.system import System
from bench.timers import clone_dossiers

from .conftest import PG_URL, requires_pg

DUE = 500


def _receive_one(api) -> str:
    clock.set_global(datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
    code = api.file_dossier(agency="pcc1").get_json()["code"]
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    clock.set_global(None)
    return code


def _two_schedulers_fire_each_timer_once(system, api):
    template = _receive_one(api)
    clone_dossiers(system, template, DUE - 1, "CONC", full=True)
    other = System(Settings.load(system.settings.instance_path, database_url=system.settings.database_url))
    now = datetime(2026, 11, 23, 15, 30, tzinfo=VN_TZ)
    start = threading.Barrier(2)
    reports, crashes = [None, None], []

    def scheduler(i, sys_):
        try:
            start.wait()
            reports[i] = tick(sys_, now)
        except BaseException as exc:  # surfaced below
            crashes.append(exc)

    threads = [threading.Thread(target=scheduler, args=(i, s)) for i, s in enumerate((system, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    other.db.engine.dispose()
    assert not crashes, crashes
    assert sum(r.failed for r in reports) == 0, [r.errors[:3] for r in reports]
    assert sum(r.fired for r in reports) == DUE, [r.summary() for r in reports]

    with system.db.session() as session:
        fired = session.execute(select(Event.dossier_id, func.count()).where(Event.kind == "timer_fired")
                                .group_by(Event.dossier_id)).all()
        assert len(fired) == DUE and {n for _, n in fired} == {1}
        overdue = session.scalar(select(func.count(Dossier.id)).where(Dossier.overdue))
        assert overdue == DUE
        assert session.scalar(select(func.count(Dossier.id)).where(Dossier.next_timer_at.is_not(None))) == 0
        # leader.pcc1 leads the agency and holds `assign`: one overdue message per dossier, no more
        told = session.scalar(select(func.count(Notification.id)).where(Notification.message.contains("quá hạn")))
        assert told == DUE
        assert verify_chain(session).ok
    return reports


@requires_pg
def test_two_schedulers_on_postgresql_fire_each_timer_once(system, api):
    reports = _two_schedulers_fire_each_timer_once(system, api)
    # Both did real work: SKIP LOCKED lets them share the rows instead of queueing behind each other.
    assert all(r.fired > 0 for r in reports), [r.summary() for r in reports]


@pytest.mark.skipif(bool(PG_URL), reason="the PostgreSQL run has its own variant of this test")
def test_two_schedulers_threaded_on_sqlite_fire_each_timer_once(system, api):
    _two_schedulers_fire_each_timer_once(system, api)
