"""Fixtures: a seeded template instance built once per worker, copied into a fresh instance per test
(SQLite file copy, or a PostgreSQL database created from a template when TEST_DATABASE_URL is set)."""
from __future__ import annotations

import io
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import clock, create_app
from app.bootstrap import prepare_system
from app.config import Settings
from app.replay import make_pdf
from app.system import System

PG_URL = os.environ.get("TEST_DATABASE_URL")
requires_pg = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL (.ci/run does)")


def _pg_admin():
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    return psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                           password=url.password, dbname="postgres", autocommit=True)


def _pg_url_for(dbname: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(database=dbname).render_as_string(hide_password=False)


def _pg_create(dbname: str, template: str | None = None) -> str:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"' + (f' TEMPLATE "{template}"' if template else ""))
    return _pg_url_for(dbname)


def _pg_drop(dbname: str) -> None:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@dataclass
class Template:
    folder: Path
    pg_name: str | None


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Template:
    folder = tmp_path_factory.mktemp("template") / "instance"
    pg_name = None
    overrides = {}
    if PG_URL:
        pg_name = f"certcopy_tpl_{os.getpid()}"
        overrides["database_url"] = _pg_create(pg_name)
    settings = Settings.load(folder, **overrides)
    system = prepare_system(settings, demo=True)
    system.db.engine.dispose()
    yield Template(folder, pg_name)
    if pg_name:
        _pg_drop(pg_name)


@pytest.fixture
def system(template, tmp_path) -> System:
    folder = tmp_path / "instance"
    shutil.copytree(template.folder, folder)
    pg_name = None
    if template.pg_name:
        pg_name = f"certcopy_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        url = _pg_create(pg_name, template=template.pg_name)
    else:
        url = f"sqlite:///{folder / 'certcopy.db'}"
    system = System(Settings.load(folder, database_url=url))
    yield system
    clock.set_global(None)
    system.db.engine.dispose()
    if pg_name:
        _pg_drop(pg_name)


@pytest.fixture
def app(system):
    return create_app(system=system)


@pytest.fixture
def client(app):
    return app.test_client()


class Api:
    """Calls the JSON API as a named demo user."""

    def __init__(self, client):
        self.client = client
        self.tokens: dict[str, str] = {}

    def login(self, username: str, password: str = "demo") -> str:
        if username not in self.tokens:
            resp = self.client.post("/api/v1/auth/token", json={"username": username, "password": password})
            assert resp.status_code == 200, resp.get_json()
            self.tokens[username] = resp.get_json()["token"]
        return self.tokens[username]

    def call(self, method: str, path: str, user: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if user:
            headers["Authorization"] = f"Bearer {self.login(user)}"
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path, user=None, **kw):
        return self.call("GET", path, user, **kw)

    def post(self, path, user=None, **kw):
        return self.call("POST", path, user, **kw)

    def file_dossier(self, user: str = "citizen", agency: str = "pcc1", pages: int = 2, pdf: bytes | None = None,
                     **fields):
        data = {"agency": agency, "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
                "delivery": "online", "payment": "counter", "declaration": "true", **fields}
        data["original"] = (io.BytesIO(pdf if pdf is not None else make_pdf(pages)), "ban-chinh.pdf")
        return self.post("/dossiers", user, data=data)

    def task_for(self, user: str, code: str, name: str) -> dict:
        tasks = self.get(f"/tasks?name={name}", user).get_json()
        found = [t for t in tasks if t["dossier"] == code]
        assert found, f"{user} has no {name} task for {code}: {tasks}"
        return found[0]

    def complete(self, user: str, code: str, name: str, data: dict, pin: str | None = None):
        task = self.task_for(user, code, name)
        body = {"data": data}
        if pin is not None:
            body["pin"] = pin
        return self.post(f"/tasks/{task['id']}/complete", user, json=body)


@pytest.fixture
def api(client) -> Api:
    return Api(client)
