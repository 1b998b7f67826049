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


def test_the_check_finds_what_it_looks_for():
    bad = ("from sqlalchemy import select\nimport app.adapters.db\n"
           "def view(system):\n    with system.db.session() as session:\n        return session.scalar(select(1))\n"
           "def other(system):\n    with unit_of_work(system) as s:\n        pass\n")
    assert sorted(problems(bad)) == ["line 1: imports sqlalchemy", "line 2: imports app.adapters.db",
                                     "line 4: calls session()", "line 4: uses a session", "line 5: uses a session",
                                     "line 7: calls unit_of_work()"]
    assert problems("from app.adapters import db\n") == ["line 1: imports app.adapters.db"]
    assert problems("from app.services.queries.search import search_dossiers\n") == []
