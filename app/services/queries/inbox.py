"""The staff inbox: READY user tasks a person may work, read as index range scans.

Every list is read per (agency, role) or per (agency, task name) with `ORDER BY due_at, id LIMIT n`, which the
indexes `ix_inbox_agency_role_due` / `ix_inbox_agency_name_due` answer without reading the whole queue, so the
cost of a page does not grow with the number of dossiers in the database. Several roles or task names are read
one query each and merged here. Counts for the menu badges stop at COUNT_CAP.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.adapters.models import STAFF_ROLES, Dossier, HumanTask, Notification, User
from app.domain.calendar import VN_TZ
from app.services.queries.views import task_view
from app.services.unit_of_work import reading

PAGE_SIZE = 25
COUNT_CAP = 99          # badges show "99+" beyond this
MAX_QUERY_LENGTH = 100

# The menus staff know from the provincial system: queue -> the task names it lists.
QUEUES: dict[str, tuple[str, ...]] = {
    "intake": ("intake",),
    "assign": ("assign", "rework"),      # leader (province, district): assignment and dossiers a signer returned
    "handle": ("handle", "rework"),      # commune justice officer: handling and returned dossiers
    "sign": ("review_sign",),
    "seal": ("seal",),
    "return": ("return",),
}
DUE_FILTERS = ("overdue", "today", "later")


@dataclass(frozen=True)
class InboxFilter:
    names: tuple[str, ...] = ()        # task names (empty: every task)
    role: str | None = None            # one of the caller's roles
    due: str | None = None             # overdue | today | later
    due_before: datetime | None = None
    q: str | None = None               # text in the dossier code or the applicant's name


@dataclass
class InboxPage:
    tasks: list[HumanTask]
    page: int
    page_size: int
    has_next: bool
    filters: InboxFilter = field(default_factory=InboxFilter)


def working_roles(user: User) -> list[str]:
    """The staff roles in which `user` receives tasks (none without an agency)."""
    if user is None or user.agency_id is None:
        return []
    return [r for r in user.roles if r in STAFF_ROLES]


def _end_of_day(now: datetime) -> datetime:
    local = now.astimezone(VN_TZ)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))


def _base(user: User, role: str, name: str | None, flt: InboxFilter, now: datetime):
    query = select(HumanTask).where(HumanTask.agency_id == user.agency_id, HumanTask.role == role,
                                    or_(HumanTask.assignee_id.is_(None), HumanTask.assignee_id == user.id))
    if name is not None:
        query = query.where(HumanTask.name == name)
    if flt.due == "overdue":
        query = query.where(HumanTask.due_at < now)
    elif flt.due == "today":
        query = query.where(HumanTask.due_at >= now, HumanTask.due_at < _end_of_day(now))
    elif flt.due == "later":
        query = query.where(HumanTask.due_at >= _end_of_day(now))
    if flt.due_before is not None:
        query = query.where(HumanTask.due_at <= flt.due_before)
    if flt.q:
        like = "%" + flt.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.join(Dossier, HumanTask.dossier_id == Dossier.id).where(
            or_(Dossier.code.ilike(like, escape="\\"), Dossier.applicant_name.ilike(like, escape="\\")))
    return query


def part_query(user: User, role: str, name: str | None, flt: InboxFilter, now: datetime, limit: int):
    """One (role, task name) slice of the inbox, soonest due first: an index range scan, stopped at `limit`."""
    return _base(user, role, name, flt, now).order_by(HumanTask.due_at, HumanTask.id).limit(limit)


def _parts(user: User, flt: InboxFilter) -> list[tuple[str, str | None]]:
    """(role, task name) pairs to read, one query each."""
    roles = working_roles(user)
    if flt.role:
        roles = [r for r in roles if r == flt.role]
    names: list[str | None] = list(dict.fromkeys(flt.names)) or [None]
    return [(role, name) for role in roles for name in names]


def _sort_key(task: HumanTask):
    # NULL due times last, as PostgreSQL orders them (staff tasks always carry the dossier's due time)
    return (task.due_at is None, task.due_at or datetime.max.replace(tzinfo=VN_TZ), task.id)


def list_tasks(session: Session, user: User, flt: InboxFilter, now: datetime, page: int = 1,
               page_size: int = PAGE_SIZE) -> InboxPage:
    """One page of the caller's READY tasks (unassigned or assigned to the caller), soonest due first."""
    page = max(1, page)
    want = page * page_size + 1           # enough from every part to know the merged page and whether more follow
    parts = _parts(user, flt)
    chunks = []
    for role, name in parts:
        chunks.append(session.scalars(part_query(user, role, name, flt, now, want)).all())
    merged = list(heapq.merge(*chunks, key=_sort_key)) if len(chunks) > 1 else (chunks[0] if chunks else [])
    start = (page - 1) * page_size
    window = merged[start:start + page_size]
    return InboxPage(tasks=window, page=page, page_size=page_size, has_next=len(merged) > start + page_size,
                     filters=flt)


def inbox_page(system, user: User, flt: InboxFilter, now: datetime, page: int = 1,
               page_size: int = PAGE_SIZE) -> InboxPage:
    """`list_tasks` in a read of its own; the tasks come with their dossier and holder loaded."""
    with reading(system) as session:
        return list_tasks(session, user, flt, now, page, page_size)


def count_tasks(session: Session, user: User, flt: InboxFilter, now: datetime, cap: int = COUNT_CAP) -> int:
    """How many tasks wait, counting at most cap + 1 (the badge shows "cap+")."""
    total = 0
    for role, name in _parts(user, flt):
        inner = _base(user, role, name, flt, now).with_only_columns(HumanTask.id).limit(cap + 1 - total).subquery()
        total += session.scalar(select(func.count()).select_from(inner)) or 0
        if total > cap:
            break
    return total


def badge(count: int, cap: int = COUNT_CAP) -> str | int:
    return f"{cap}+" if count > cap else count


def queue_filter(queue: str | None, **kwargs) -> InboxFilter:
    return InboxFilter(names=QUEUES.get(queue, ()) if queue else (), **kwargs)


def citizen_tasks(session: Session, user: User, page: int = 1, page_size: int = PAGE_SIZE) -> list[HumanTask]:
    """A citizen's own waiting tasks (supplements), newest first."""
    query = (select(HumanTask).where(HumanTask.citizen_id == user.id)
             .order_by(HumanTask.created_at.desc(), HumanTask.id)
             .offset((max(1, page) - 1) * page_size).limit(page_size))
    return list(session.scalars(query).unique())


def api_tasks(session: Session, user: User, now: datetime, *, role: str | None = None, name: str | None = None,
              due_before: datetime | None = None, page: int = 1, page_size: int = 50) -> list[HumanTask]:
    """The rows of GET /api/v1/tasks: a citizen's own tasks, or the staff inbox as index range scans."""
    if user.has_role("citizen"):
        return citizen_tasks(session, user, page, page_size)
    flt = InboxFilter(names=(name,) if name else (), role=role, due_before=due_before)
    if role and role not in working_roles(user):
        return []
    return list_tasks(session, user, flt, now, page, page_size).tasks


def api_task_views(system, user: User, now: datetime, *, role: str | None = None, name: str | None = None,
                   due_before: datetime | None = None, page: int = 1, page_size: int = 50) -> list[dict]:
    """GET /api/v1/tasks: the READY tasks the caller may work, soonest due first, in the API's task shape."""
    with reading(system) as session:
        rows = api_tasks(session, user, now, role=role, name=name, due_before=due_before, page=page,
                         page_size=page_size)
        return [task_view(t, now) for t in rows]


# -- notifications -----------------------------------------------------------------------------------------
def unread_notifications(session: Session, user: User, cap: int = COUNT_CAP) -> int:
    inner = (select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None))
             .limit(cap + 1).subquery())
    return session.scalar(select(func.count()).select_from(inner)) or 0
