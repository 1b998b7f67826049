"""The waiting counts a page shows beside its menu entries and in its top bar, read together in one session.

A badge is named by a key: `TASKS` (every task in the caller's inbox), `queue_badge(queue)` (one of the inbox
queues), `DUE` (the caller's dossiers due by the end of today), `APPOINTMENTS` (the agency's appointments still
to come), `NOTIFICATIONS` (unread notifications). Each value is what the badge shows: inbox and notification
counts stop at "99+"; the due and appointment badges are hidden (None) when nothing waits.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from app.adapters.models import User
from app.domain.calendar import VN_TZ
from app.services.queries.appointments import upcoming_count
from app.services.queries.due import due_count
from app.services.queries.inbox import InboxFilter, badge, count_tasks, queue_filter, unread_notifications
from app.services.unit_of_work import reading

TASKS = "tasks"
DUE = "due"
APPOINTMENTS = "appointments"
NOTIFICATIONS = "notifications"
QUEUE_PREFIX = "queue:"


def queue_badge(queue: str) -> str:
    return QUEUE_PREFIX + queue


def badge_counts(system, user: User, keys: Iterable[str], now: datetime) -> dict[str, int | str | None]:
    """What each badge in `keys` shows to `user` at `now`."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    with reading(system) as session:
        return {key: _shown(session, user, key, now) for key in keys}


def _shown(session: Session, user: User, key: str, now: datetime) -> int | str | None:
    if key == TASKS:
        return badge(count_tasks(session, user, InboxFilter(), now))
    if key.startswith(QUEUE_PREFIX):
        return badge(count_tasks(session, user, queue_filter(key[len(QUEUE_PREFIX):]), now))
    if key == DUE:
        return due_count(session, user, now) or None
    if key == APPOINTMENTS:
        return upcoming_count(session, user.agency_id, now.astimezone(VN_TZ).date()) or None
    if key == NOTIFICATIONS:
        return badge(unread_notifications(session, user))
    raise KeyError(f"no badge '{key}'")
