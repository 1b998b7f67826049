"""The web layer parses the request, calls a service and renders: a view holds no SQL and opens no database
session. Checked on the source of the modules listed here (the rest of app/web joins the list as it is moved
over)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THIN_MODULES = sorted(
    [*(ROOT / "app/web/api").glob("*.py"), *(ROOT / "app/web/citizen").glob("*.py"),
     *(ROOT / "app/web/public").glob("*.py"), ROOT / "app/web/staff/walkin.py", ROOT / "app/web/staff/dossiers.py"])
STAFF_ADMIN_AUDIT_COMMON_MODULES = [ROOT / m for m in (
    "app/web/staff/inbox.py", "app/web/staff/notifications.py", "app/web/staff/due.py",
    "app/web/staff/appointments.py", "app/web/staff/registers.py", "app/web/staff/setup.py",
    "app/web/staff/reports.py", "app/web/staff/diagram.py", "app/web/staff/task_forms.py",
    "app/web/admin/agencies.py", "app/web/admin/processes.py", "app/web/audit/pages.py",
    "app/web/common/session.py", "app/web/common/auth.py", "app/web/common/menu.py", "app/web/common/format.py",
    "app/web/common/headers.py", "app/web/common/urls.py")]
FORBIDDEN_IMPORTS = ("sqlalchemy", "app.adapters.db")
SESSION_OPENERS = {"session", "unit_of_work", "reading"}  # system.db.session(), unit_of_work(system), reading(system)


def problems(source: str) -> list[str]:
    """What in `source` reaches the database itself: a forbidden import, a session opened, a session used."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            names = []
        bad = next((n for n in names if any(n == b or n.startswith(b + ".") for b in FORBIDDEN_IMPORTS)), None)
        if bad:
            found.append(f"line {node.lineno}: imports {bad}")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in SESSION_OPENERS:
                found.append(f"line {node.lineno}: calls {called}()")
        if isinstance(node, ast.Name) and node.id == "session" or isinstance(node, ast.arg) and node.arg == "session":
            found.append(f"line {node.lineno}: uses a session")
    return found


@pytest.mark.parametrize("path", THIN_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_view_module_holds_no_sql_and_opens_no_session(path):
    assert problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", STAFF_ADMIN_AUDIT_COMMON_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_staff_admin_audit_and_common_views_hold_no_sql(path):
    assert problems(path.read_text(encoding="utf-8")) == []


def test_the_check_finds_what_it_looks_for():
    bad = ("from sqlalchemy import select\nimport app.adapters.db\n"
           "def view(system):\n    with system.db.session() as session:\n        return session.scalar(select(1))\n"
           "def other(system):\n    with unit_of_work(system) as s:\n        pass\n")
    assert sorted(problems(bad)) == ["line 1: imports sqlalchemy", "line 2: imports app.adapters.db",
                                     "line 4: calls session()", "line 4: uses a session", "line 5: uses a session",
                                     "line 7: calls unit_of_work()"]
    assert problems("from app.adapters import db\n") == ["line 1: imports app.adapters.db"]
    assert problems("from app.services.queries.search import search_dossiers\n") == []
