"""The database layer: rows queued for append-only tables, and how transactions end on PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text

from app.db import queue_insert
from app.models import Notification, User

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
