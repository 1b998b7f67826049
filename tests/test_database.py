"""The database layer: rows queued for append-only tables, the commit of a step, and how transactions end and
connections are checked on PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import event, func, inspect, select, text

from app.adapters import db as database
from app.adapters.db import commit, lock_dossier, queue_insert
from app.engine.audit import append_event
from app.adapters.models import Dossier, Event, Notification, User

from .conftest import requires_pg

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)


def _count(session) -> int:
    return session.scalar(select(func.count(Notification.id)))


def _queue(session, user_id: int, message: str) -> None:
    queue_insert(session, Notification, user_id=user_id, dossier_id=None, message=message, created_at=NOW)


def _user_id(system) -> int:
    with system.db.session() as session:
        return session.scalar(select(User.id).where(User.username == "one_stop.pcc1"))


def test_queued_rows_are_seen_by_the_next_query_and_written_once(system):
    user_id = _user_id(system)
    with system.db.session() as session, session.begin():
        before = _count(session)
        _queue(session, user_id, "một")
        _queue(session, user_id, "hai")
        assert _count(session) == before + 2  # written before the query, as autoflush would
        _queue(session, user_id, "ba")
    with system.db.session() as session:
        messages = session.scalars(select(Notification.message).where(Notification.user_id == user_id)
                                   .order_by(Notification.id)).all()
    assert messages[-3:] == ["một", "hai", "ba"]
    assert len(messages) == before + 3


def test_queued_rows_wait_inside_no_autoflush_and_are_written_at_commit(system):
    user_id = _user_id(system)
    with system.db.session() as session, session.begin():
        before = _count(session)
        with session.no_autoflush:
            _queue(session, user_id, "chờ")
            assert _count(session) == before
    with system.db.session() as session:
        assert _count(session) == before + 1


def test_queued_rows_are_dropped_on_rollback(system):
    user_id = _user_id(system)
    with system.db.session() as session:
        before = _count(session)
    with pytest.raises(RuntimeError), system.db.session() as session, session.begin():
        _queue(session, user_id, "không ghi")
        raise RuntimeError("the step failed")
    with system.db.session() as session:
        assert _count(session) == before
        session.execute(select(User.id).limit(1))  # a later transaction on the session writes nothing either
        session.commit()
        assert _count(session) == before


@requires_pg
def test_postgresql_read_only_transactions_keep_prepared_statements(system):
    """psycopg forgets prepared statements on ROLLBACK; a transaction that only read ends with COMMIT."""
    engine = system.db.engine
    with engine.connect() as conn:
        for _ in range(6):  # psycopg prepares a statement on its 5th execution
            conn.execute(select(User.id).where(User.username == "one_stop.pcc1")).all()
        conn.rollback()
        prepared = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
        conn.rollback()
    assert prepared >= 1


@requires_pg
def test_postgresql_a_transaction_that_wrote_still_rolls_back(system):
    user_id = _user_id(system)
    with system.db.session() as session:
        before = _count(session)
    session = system.db.session()
    session.execute(text("INSERT INTO notifications (user_id, message, created_at) VALUES (:u, 'x', now())"),
                    {"u": user_id})
    session.execute(select(User.id).limit(1))
    session.close()  # no commit: the insert must be undone
    with system.db.session() as session:
        assert _count(session) == before


# -- the commit of a step ----------------------------------------------------------------------------------------

def _any_dossier_code(system, api) -> str:
    resp = api.file_dossier(agency="pcc1")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["code"]


def _step(session, code: str, user_id: int, later: datetime):
    """What a timer step leaves to write: the dossier's changed columns (UTC time, text, flag), an audit event
    with JSON data and a notification."""
    dossier = lock_dossier(session, code)
    dossier.overdue, dossier.next_timer_at, dossier.timer_error = True, later, "lỗi thử"
    append_event(session, dossier, at=later, actor="system", role=None, kind="notified", task="notify_overdue",
                 data={"to": ["leader.pcc1"], "template": "overdue"})
    _queue(session, user_id, "Hồ sơ quá hạn")
    return dossier


def test_commit_writes_the_step_whole_and_leaves_the_session_clean(system, api):
    code, user_id = _any_dossier_code(system, api), _user_id(system)
    later = datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc)
    statements = []
    event.listen(system.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    session = system.db.session()
    dossier = _step(session, code, user_id, later)
    statements.clear()
    commit(session)
    if not system.db.is_sqlite:  # one pipeline: the ORM sent nothing itself
        assert statements == []
    assert not session.dirty and not inspect(dossier).modified
    assert session.info.get(database._QUEUED) is None
    session.close()
    with system.db.session() as check:
        row = check.scalar(select(Dossier).where(Dossier.code == code))
        assert (row.overdue, row.next_timer_at, row.timer_error) == (True, later, "lỗi thử")
        last = check.scalars(select(Event).where(Event.dossier_id == row.id).order_by(Event.seq.desc())).first()
        assert (last.seq, last.hash, last.data) == (row.event_seq, row.event_head,
                                                    {"to": ["leader.pcc1"], "template": "overdue"})
        assert check.scalar(select(func.count(Notification.id)).where(Notification.message == "Hồ sơ quá hạn")) == 1


def test_commit_that_fails_writes_nothing(system, api):
    code, user_id = _any_dossier_code(system, api), _user_id(system)
    with system.db.session() as session:
        before = session.scalar(select(Dossier.event_seq).where(Dossier.code == code))
    session = system.db.session()
    dossier = _step(session, code, user_id, datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc))
    queue_insert(session, Notification, user_id=10**9, dossier_id=None, message="không ai", created_at=NOW)  # no user
    with pytest.raises(Exception, match="(?i)foreign key"):
        commit(session)
    assert inspect(dossier).modified  # nothing was taken as written
    session.rollback()
    session.close()
    with system.db.session() as check:
        row = check.scalar(select(Dossier).where(Dossier.code == code))
        assert (row.overdue, row.timer_error, row.event_seq) == (False, None, before)
        assert check.scalar(select(func.count(Notification.id)).where(Notification.message == "Hồ sơ quá hạn")) == 0


def test_commit_of_new_rows_and_sql_expressions_goes_through_the_orm(system, api):
    code, user_id = _any_dossier_code(system, api), _user_id(system)
    session = system.db.session()
    session.add(Notification(user_id=user_id, dossier_id=None, message="mới", created_at=NOW))
    commit(session)
    dossier = lock_dossier(session, code)
    before = dossier.loop_rounds
    dossier.loop_rounds = Dossier.loop_rounds + 2  # computed by the database
    commit(session)
    session.close()
    with system.db.session() as check:
        assert check.scalar(select(func.count(Notification.id)).where(Notification.message == "mới")) == 1
        assert check.scalar(select(Dossier.loop_rounds).where(Dossier.code == code)) == before + 2


# -- connections the server dropped --------------------------------------------------------------------------------

@requires_pg
def test_postgresql_a_dropped_idle_connection_is_replaced_before_use(system, monkeypatch):
    engine = system.db.engine
    with engine.connect() as victim, engine.connect() as admin:  # two pooled connections; one ends the other
        pid = victim.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        victim.rollback()
        assert admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar()
        admin.commit()
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # both connections count as idle long enough
    for _ in range(2):  # whichever connection the pool hands out first, the dropped one is replaced
        with system.db.session() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
            session.commit()


@requires_pg
def test_postgresql_commit_failing_after_rows_were_sent_keeps_none_of_them(system, api, monkeypatch):
    """The rows already sent in the pipeline are rolled back, not committed as if the transaction had only read."""
    code, user_id = _any_dossier_code(system, api), _user_id(system)
    with system.db.session() as session:
        before = session.scalar(select(func.count(Event.id)))

    def broken(*_args):
        raise RuntimeError("the update could not be built")
    monkeypatch.setattr(database, "_update_sql", broken)
    session = system.db.session()
    _step(session, code, user_id, datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc))
    with pytest.raises(RuntimeError):
        commit(session)
    session.rollback()
    session.close()
    with system.db.session() as check:
        assert check.scalar(select(func.count(Event.id))) == before
        assert check.scalar(select(func.count(Notification.id)).where(Notification.message == "Hồ sơ quá hạn")) == 0
