"""Database engine (PostgreSQL reads end with COMMIT), sessions, queued rows for append-only tables, the commit
of a step (one round trip on PostgreSQL), the per-dossier lock and named counters."""
from __future__ import annotations

import time
from functools import lru_cache

from sqlalchemy import bindparam, create_engine, event, insert, inspect, select, update
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.sql.elements import ClauseElement

from app.adapters.models import Counter, Dossier


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, pool_size=20,
                               max_overflow=20)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    _end_reads_with_commit(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """PostgreSQL: test a pooled connection before use when it has been idle a while.

    A connection the server or the network dropped (a restart, an idle timeout) is replaced before a request
    or a timer step uses it, as SQLAlchemy's `pool_pre_ping` does; but a connection given back moments ago is
    not pinged again, which would cost three round trips on every checkout (a scheduler tick checks out one
    connection per dossier). Should the server go away within those seconds, the first statement on each such
    connection fails, and SQLAlchemy then invalidates the whole pool."""
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _note_idle(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure: the pool replaces this connection
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


WROTE = "certcopy_wrote"  # Connection.info: this transaction wrote, so it must roll back, never commit, on error


def _end_reads_with_commit(engine: Engine) -> None:
    """PostgreSQL: end a transaction that only read with COMMIT instead of ROLLBACK.

    psycopg forgets every prepared statement of a connection on ROLLBACK (and sends DEALLOCATE ALL), so
    ending each read-only request that way would make every query be parsed and planned afresh. A transaction
    that wrote anything, or failed, still rolls back."""
    from psycopg.pq import TransactionStatus

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn, _cursor, statement, _params, _context, _executemany):
        if not conn.info.get(WROTE) and statement.lstrip()[:6].upper() != "SELECT":
            conn.info[WROTE] = True  # DML, DDL, savepoints, anything but a plain query

    @event.listens_for(engine, "rollback")
    def _commit_reads(conn):
        dbapi = conn.connection.dbapi_connection
        if not conn.info.pop(WROTE, False) and dbapi.info.transaction_status == TransactionStatus.INTRANS:
            try:
                dbapi.commit()  # nothing to undo; the ROLLBACK that follows finds no transaction and is skipped
            except Exception:  # noqa: BLE001 - the connection broke: the rollback that follows reports it
                pass

    @event.listens_for(engine, "commit")
    def _forget_writes(conn):
        conn.info.pop(WROTE, None)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessions, "before_flush", _write_queued)
        event.listen(self.sessions, "before_commit", _write_queued)
        event.listen(self.sessions, "do_orm_execute", _write_queued_before_read)
        event.listen(self.sessions, "after_soft_rollback", _forget_queued)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        return self.sessions()


# -- append-only rows ------------------------------------------------------------------------------------------
_QUEUED = "certcopy_queued_rows"


def queue_insert(session: Session, model, **values) -> None:
    """Add one row to an append-only table (audit events, notifications) without building an ORM object. Queued
    rows behave like objects added to the session: they are written, in one INSERT per table, when the session
    next autoflushes (before a query), flushes or commits; a rollback drops them. Pass the same columns for
    every row of a table."""
    session.info.setdefault(_QUEUED, {}).setdefault(model.__table__, []).append(values)


def _write_queued(session: Session, *_args) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        connection = session.connection()
        for table, rows in queued.items():
            connection.execute(insert(table), rows)


def _write_queued_before_read(state) -> None:
    session = state.session
    if session.autoflush and session.info.get(_QUEUED):  # as autoflush: not inside `no_autoflush`
        _write_queued(session)


def _forget_queued(session: Session, _previous_transaction) -> None:
    session.info.pop(_QUEUED, None)


# -- the commit of a step ---------------------------------------------------------------------------------------

def commit(session: Session) -> None:
    """Commit the session's transaction.

    On PostgreSQL, when all that is left to write is queued rows and changed columns of loaded objects (a timer
    step: its events, notifications and the dossier's new state), those statements and the COMMIT are sent in
    one psycopg pipeline: one round trip to the server instead of one per statement. Anything else (new or
    deleted objects, changed relationships, SQL expressions as values, a savepoint) is committed by the ORM as
    usual. Either way the transaction commits whole or not at all; on an error nothing is marked written and the
    caller rolls back."""
    plan = _pipeline_plan(session)
    if plan is None:
        session.commit()
        return
    updates, queued = plan
    dialect = session.get_bind().dialect
    connection = session.connection()
    connection.info[WROTE] = True  # statements sent past SQLAlchemy: a failure below must roll them back
    dbapi = connection.connection.dbapi_connection
    with dbapi.pipeline(), dbapi.cursor() as cursor:
        for table, rows in queued.items():
            columns = tuple(table.c[key] for key in rows[0])
            cursor.executemany(_insert_sql(dialect, table, columns), [_bound(dialect, columns, row) for row in rows])
        for state, changes in updates:
            columns = tuple(changes)
            params = _bound(dialect, columns, {column.key: value for column, value in changes.items()})
            params["pk_"] = state.identity[0]
            cursor.execute(_update_sql(dialect, state.mapper.local_table, columns), params)
        dbapi.commit()
    session.info.pop(_QUEUED, None)
    for state, _ in updates:
        # Written: the ORM now holds the object's values as committed (what its own flush does after an UPDATE),
        # so the commit below has nothing to flush; the connection has no transaction left to end.
        state._commit_all(state.dict, session.identity_map)
    session.commit()


def _pipeline_plan(session: Session):
    """([(instance state, {column: new value})], queued rows) when `commit` can pipeline what is left, else None."""
    if session.get_bind().dialect.name != "postgresql" or not session.in_transaction() \
            or session.in_nested_transaction() or session.new or session.deleted:
        return None
    updates = []
    for obj in session.dirty:
        state = inspect(obj)
        mapper = state.mapper
        if len(mapper.primary_key) != 1 or len(mapper.tables) != 1:
            return None
        changes = {}
        for key, before in state.committed_state.items():  # the attributes set since load, as the ORM's flush
            if key not in mapper.column_attrs:
                if state.attrs[key].history.has_changes():
                    return None  # a relationship changed
                continue
            (column,) = mapper.column_attrs[key].columns
            value = state.dict.get(key)
            if column.primary_key or column.onupdate is not None or column.server_onupdate is not None \
                    or isinstance(value, ClauseElement):
                return None  # the ORM knows how to write these (generated values, SQL expressions)
            if before is not NO_VALUE and before == value:
                continue  # set again to the value it had
            changes[column] = value
        if changes:
            updates.append((state, changes))
    return updates, session.info.get(_QUEUED, {})


def _bound(dialect: Dialect, columns, values: dict) -> dict:
    """Parameters of a compiled statement, each through its column type's bind processing (JSON, UTC times, …)."""
    params = {}
    for column in columns:
        processor = _bind_processor(dialect, column)
        value = values[column.key]
        params[column.key] = processor(value) if processor is not None else value
    return params


@lru_cache(maxsize=1024)
def _bind_processor(dialect: Dialect, column):
    return column.type.dialect_impl(dialect).bind_processor(dialect)


@lru_cache(maxsize=256)
def _insert_sql(dialect: Dialect, table, columns: tuple) -> str:
    stmt = insert(table).inline().values({column: bindparam(column.key, type_=column.type) for column in columns})
    return str(stmt.compile(dialect=dialect))


@lru_cache(maxsize=256)
def _update_sql(dialect: Dialect, table, columns: tuple) -> str:
    (pk,) = table.primary_key.columns
    stmt = update(table).where(pk == bindparam("pk_", type_=pk.type)).values(
        {column: bindparam(column.key, type_=column.type) for column in columns})
    return str(stmt.compile(dialect=dialect))


def lock_dossier(session: Session, code: str) -> Dossier | None:
    """Lock one dossier's row for the rest of the transaction and return it fresh.

    PostgreSQL: SELECT … FOR UPDATE. SQLite: the first statement of the transaction is a write to that
    row, which takes the database write lock before anything is read, so no stale snapshot can be used.
    """
    if session.get_bind().dialect.name == "sqlite":
        if not take_sqlite_write_lock(session, code):
            return None
        return session.scalars(select(Dossier).where(Dossier.code == code)
                               .execution_options(populate_existing=True)).one()
    dossier = session.scalars(
        select(Dossier).where(Dossier.code == code).with_for_update(of=Dossier)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if dossier is not None:
        dossier.lock_version += 1
    return dossier


def take_sqlite_write_lock(session: Session, code: str) -> bool:
    """SQLite: write to the dossier's row as the transaction's first statement, which takes the database write
    lock before anything is read. False when there is no such dossier."""
    return session.execute(
        update(Dossier).where(Dossier.code == code).values(lock_version=Dossier.lock_version + 1)).rowcount > 0


def next_counter(session: Session, key: str) -> int:
    """Atomically increment and return the named counter (1 for a new key)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(Counter).values(key=key, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=[Counter.key], set_={"value": Counter.value + 1})
    return session.execute(stmt.returning(Counter.value)).scalar_one()
