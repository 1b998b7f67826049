"""Schema versions: the migrations build exactly the models' schema, a database from before migrations is
upgraded keeping its data, several processes may upgrade at once, and the command line reports the version."""
from __future__ import annotations

import io
import os
import threading
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text

from app.adapters import schema
from app.cli import main
from app.config import Settings
from app.adapters.models import Base, User
from app.services.administration.accounts import authenticate

from .conftest import PG_URL, _pg_create, _pg_drop


@pytest.fixture
def empty_url(tmp_path):
    """An empty database: a SQLite file, or (TEST_DATABASE_URL) a new PostgreSQL database."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"certcopy_schema_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield _pg_create(name)
    _pg_drop(name)


def _differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


def _migrate(engine, target: str) -> None:
    with engine.begin() as connection:
        command.upgrade(schema._config(connection), target)


def test_migrations_from_nothing_build_exactly_the_models_schema(empty_url):
    engine = create_engine(empty_url)
    try:
        _migrate(engine, "head")
        assert _differences(engine) == []
        assert schema.state(engine).up_to_date
    finally:
        engine.dispose()


def test_an_empty_database_gets_the_models_and_the_newest_version(empty_url):
    engine = create_engine(empty_url)
    try:
        before = schema.upgrade(engine)
        assert before.current is None
        assert _differences(engine) == []
        assert schema.state(engine).current == schema.head_revision()
        again = schema.upgrade(engine)  # nothing left to do
        assert again.up_to_date
    finally:
        engine.dispose()


def test_a_database_from_before_migrations_is_upgraded_keeping_its_data(empty_url):
    """The earlier releases made their tables with create_all and kept no version: that schema is the
    baseline. Such a database, with data in it, comes out at the newest version with the data intact."""
    engine = create_engine(empty_url)
    try:
        _migrate(engine, schema.BASELINE)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
            connection.execute(text(
                "INSERT INTO agencies (code, slug, name, level) VALUES ('T1', 't1', 'Cơ quan thử', 'province')"))
        assert schema.state(engine).current is None
        schema.upgrade(engine)
        assert schema.state(engine).up_to_date
        assert _differences(engine) == []
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM agencies WHERE code = 'T1'")).scalar() == "Cơ quan thử"
    finally:
        engine.dispose()


def test_processes_starting_at_once_upgrade_once(empty_url):
    errors, engines = [], [create_engine(empty_url, connect_args={"timeout": 60} if "sqlite" in empty_url else {})
                           for _ in range(3)]
    barrier = threading.Barrier(len(engines))

    def start(engine):
        try:
            barrier.wait()
            schema.upgrade(engine)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with engines[0].connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert _differences(engines[0]) == []
    finally:
        for e in engines:
            e.dispose()


def test_db_commands_report_and_upgrade(tmp_path, empty_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", empty_url)
    folder = str(tmp_path / "instance")
    assert main(["db", "current", "--instance", folder]) == 1  # empty: an upgrade is pending
    assert "no version" in capsys.readouterr().out
    assert main(["db", "upgrade", "--instance", folder]) == 0
    assert f"to {schema.head_revision()}" in capsys.readouterr().out
    assert main(["db", "current", "--instance", folder]) == 0
    assert main(["db", "upgrade", "--instance", folder]) == 0
    assert "already at" in capsys.readouterr().out
    engine = create_engine(empty_url)
    try:
        assert "dossiers" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_create_admin_makes_an_administrator_who_can_log_in(tmp_path, empty_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", empty_url)
    folder = str(tmp_path / "instance")
    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-dai-1\n"))
    assert main(["create-admin", "quantri", "--full-name", "Nguyễn Văn Quản Trị", "--password-stdin",
                 "--instance", folder]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("ngan\n"))
    assert main(["create-admin", "quantri2", "--full-name", "Ai Đó", "--password-stdin", "--instance", folder]) == 2
    assert "Mật khẩu cần" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-dai-2\n"))
    assert main(["create-admin", "quantri", "--full-name", "Trùng Tên", "--password-stdin",
                 "--instance", folder]) == 2
    assert "đã có" in capsys.readouterr().err

    from app.system import System

    system = System(Settings.load(folder))
    try:
        with system.db.session() as session:
            admins = session.scalars(select(User).where(User.username.in_(["quantri", "quantri2"]))).all()
            assert [(u.username, u.roles, u.full_name) for u in admins] == [
                ("quantri", ["admin"], "Nguyễn Văn Quản Trị")]
        assert authenticate(system, "quantri", "mat-khau-dai-1").username == "quantri"
    finally:
        system.db.engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL (.ci/run does)")
def test_postgresql_servers_starting_at_once_upgrade_once(empty_url):
    """Separate processes (gunicorn workers, hosts) on one database: the advisory lock orders them."""
    import subprocess
    import sys

    code = ("import sys; from sqlalchemy import create_engine; from app.adapters import schema; "
            "schema.upgrade(create_engine(sys.argv[1]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, empty_url], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    failures = [p.stderr.read() for p in procs if p.wait() != 0]
    assert failures == []
    engine = create_engine(empty_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_wsgi_workers_starting_at_once_set_up_one_database(tmp_path, empty_url):
    """gunicorn workers import app.wsgi together on a fresh database: each serves, and the schema and the
    shipped processes exist once (one active version per variant)."""
    import subprocess
    import sys

    code = ("from app.wsgi import application; "
            "r = application.test_client().get('/api/v1/agencies'); assert r.status_code == 200, r.status_code")
    env = {**os.environ, "DATABASE_URL": empty_url, "CERTCOPY_INSTANCE": str(tmp_path / "instance")}
    env.pop("CERTCOPY_SCHEDULER", None)
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(3 if PG_URL else 1)]
    failures = [p.stderr.read() for p in procs if p.wait(timeout=180) != 0]
    assert failures == []
    engine = create_engine(empty_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT variant, count(*), sum(CASE WHEN active THEN 1 ELSE 0 END) FROM process_versions "
                "GROUP BY variant ORDER BY variant")).all()
        assert [tuple(r) for r in rows] == [("commune", 1, 1), ("district", 1, 1), ("province", 1, 1)]
        assert schema.state(engine).up_to_date
    finally:
        engine.dispose()
