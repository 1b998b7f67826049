"""The one transaction idiom of the use cases: `unit_of_work` for a state change, `reading` for reads.

A state change is one transaction: it commits when the block ends normally (`db.commit`, one round trip on
PostgreSQL when it can) and rolls back on any error, so a refused request changes nothing. A conflict the
database detects at commit (a unique key) surfaces as IntegrityError from the `with` statement, for the caller
to turn into a clear 409.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.adapters.db import commit


@contextmanager
def unit_of_work(system) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    session = system.db.session()
    try:
        yield session
        commit(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def reading(system) -> Iterator[Session]:
    """A session for reads; nothing is written (its transaction ends when the block does)."""
    with system.db.session() as session:
        yield session
