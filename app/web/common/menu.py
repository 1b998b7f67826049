"""The menu each role sees, named as staff know it from the provincial system, with waiting counts.

Blueprints add their entries with `register(...)`; the base template shows the entries the user's roles allow.
An entry's badge is named by a key of app.services.queries.badges; every badge of a page (the menu's and the
top bar's) is read with one service call per request.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import g, url_for
from werkzeug.routing import BuildError

from app import clock
from app.services.queries.badges import badge_counts
from app.web.common.auth import system


@dataclass(frozen=True)
class MenuEntry:
    label: str
    endpoint: str
    roles: tuple[str, ...]
    count: Callable | None = None   # count(user) -> int, for a badge the badge service does not know
    order: int = 100
    badge: str | None = None        # the key of the entry's badge in app.services.queries.badges


_ENTRIES: list[MenuEntry] = []
_TOP_BAR: list[str] = []            # badges shown outside the menu, e.g. the unread notifications


def register(label: str, endpoint: str, roles: tuple[str, ...], count: Callable | None = None,
             order: int = 100, badge: str | None = None) -> None:
    if not any(e.endpoint == endpoint for e in _ENTRIES):
        _ENTRIES.append(MenuEntry(label, endpoint, roles, count, order, badge))


def register_top_bar_badge(key: str) -> None:
    if key not in _TOP_BAR:
        _TOP_BAR.append(key)


def _visible(user) -> list[tuple[MenuEntry, str]]:
    shown = []
    for entry in sorted(_ENTRIES, key=lambda e: e.order):
        if any(user.has_role(r) for r in entry.roles):
            try:
                shown.append((entry, url_for(entry.endpoint)))
            except BuildError:  # the blueprint is not registered in this app
                continue
    return shown


def badges(user) -> dict:
    """What every badge of the page shows to `user`: read once per request."""
    if "page_badges" not in g:
        keys = [entry.badge for entry, _ in _visible(user) if entry.badge] + _TOP_BAR
        g.page_badges = badge_counts(system(), user, keys, clock.now())
    return g.page_badges


def entries_for(user) -> list[dict]:
    if user is None:
        return []
    shown = []
    for entry, url in _visible(user):
        if entry.badge:
            count = badges(user)[entry.badge]
        else:
            count = entry.count(user) if entry.count else None
        shown.append({"label": entry.label, "url": url, "count": count})
    return shown
