"""The database schema and its versions: Alembic migrations (app/adapters/migrations) bring a database made by any
earlier certcopy release up to the models, keeping its data.

- An empty database gets the models' tables and is marked as being at the newest revision.
- A database from before migrations existed (its tables but no `alembic_version`) had the baseline schema:
  it is marked as the baseline, then upgraded.
- Otherwise the pending migrations run, in one transaction on PostgreSQL (DDL is transactional there).

Several processes may start at once against one PostgreSQL database (gunicorn workers, hosts): an advisory
lock makes them upgrade one after the other; the second finds nothing left to do. Within one process a lock
does the same (Alembic keeps its migration context in a module global). SQLite, the embedded default, is
served by one process.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from app.adapters.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001_baseline"  # the schema of the releases before migrations
_LOCK_KEY = 0x63657274  # "cert": the advisory lock taken while upgrading
_PROCESS_LOCK = threading.Lock()


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # revision the database is at (None: not marked)
    head: str            # newest revision this code knows

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def state(engine: Engine) -> SchemaState:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return SchemaState(current, head_revision())


def serialize_setup(connection) -> None:
    """PostgreSQL: hold, until the caller's transaction ends, the lock that orders processes setting up one
    database at the same moment (schema upgrade, shipped processes). Takes a connection or a session."""
    dialect = connection.dialect if isinstance(connection, Connection) else connection.get_bind().dialect
    if dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def upgrade(engine: Engine) -> SchemaState:
    """Bring the database to the newest revision (see the module docstring); returns where it was."""
    with _PROCESS_LOCK, engine.begin() as connection:
        serialize_setup(connection)
        current = MigrationContext.configure(connection).get_current_revision()
        config = _config(connection)
        if current is None:
            if inspect(connection).has_table("dossiers"):
                command.stamp(config, BASELINE)
            else:
                Base.metadata.create_all(connection)
                command.stamp(config, "head")
                return SchemaState(None, head_revision())
        command.upgrade(config, "head")
    return SchemaState(current, head_revision())
