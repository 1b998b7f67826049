"""The menu each role sees, named as staff know it from the provincial system, with waiting counts.

Blueprints add their entries with `register(...)`; the base template shows the entries the user's roles allow.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for
from werkzeug.routing import BuildError


@dataclass(frozen=True)
class MenuEntry:
    label: str
    endpoint: str
    roles: tuple[str, ...]
    count: Callable | None = None   # count(user) -> int, for the badge
    order: int = 100


_ENTRIES: list[MenuEntry] = []


def register(label: str, endpoint: str, roles: tuple[str, ...], count: Callable | None = None,
             order: int = 100) -> None:
    if not any(e.endpoint == endpoint for e in _ENTRIES):
        _ENTRIES.append(MenuEntry(label, endpoint, roles, count, order))


def entries_for(user) -> list[dict]:
    if user is None:
        return []
    shown = []
    for entry in sorted(_ENTRIES, key=lambda e: e.order):
        if any(user.has_role(r) for r in entry.roles):
            try:
                url = url_for(entry.endpoint)
            except BuildError:  # the blueprint is not registered in this app
                continue
            shown.append({"label": entry.label, "url": url, "count": entry.count(user) if entry.count else None})
    return shown
