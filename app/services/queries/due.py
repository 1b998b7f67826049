"""Due dossiers (hồ sơ đến hạn): overdue, due soon, due today — per agency or for one member of staff —
with the working time left by the agency's calendar.

A dossier's processing clock runs from its receipt (`received_at`, set when intake accepts it) until it is
finished; while the citizen supplements it nothing is due from staff, so such dossiers are not listed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from app.engine.runtime import FINAL_STATUSES
from app.errors import BadRequest, Forbidden
from app.adapters.models import STAFF_ROLES, Agency, Dossier, HumanTask, User
from app.services.administration.calendars import calendar_view, calendars_by_agency
from app.domain.access import oversees_every_agency
from app.domain.calendar import VN_TZ, WorkingCalendar
from app.services.queries.directory import find_agency
from app.services.unit_of_work import reading

NOT_RUNNING = (*FINAL_STATUSES, "awaiting_supplement")
SOON_HOURS = 1.0
MAX_SOON_HOURS = 40.0
LIST_LIMIT = 200
SCOPES = ("agency", "mine")


# -- remaining working time ----------------------------------------------------------------------------------

def duration_text(hours: float) -> str:
    """1.25 -> "1 giờ 15 phút" (working time; minutes rounded down, under a minute -> "dưới 1 phút")."""
    minutes = int(round(abs(hours) * 60, 6))
    if minutes == 0:
        return "dưới 1 phút"
    h, m = divmod(minutes, 60)
    parts = ([f"{h} giờ"] if h else []) + ([f"{m} phút"] if m else [])
    return " ".join(parts)


def remaining_text(remaining_hours: float) -> str:
    if remaining_hours < 0 or remaining_hours == 0:
        return f"quá hạn {duration_text(remaining_hours)} làm việc" if remaining_hours else "đến hạn"
    return f"còn {duration_text(remaining_hours)} làm việc"


def remaining_working_hours(calendar: WorkingCalendar, now: datetime, due_at: datetime) -> float:
    """Working hours left until due_at; negative (working hours past it) once overdue."""
    if due_at > now:
        return calendar.working_hours_between(now, due_at)
    return -calendar.working_hours_between(due_at, now)


def soon_threshold(calendar: WorkingCalendar, now: datetime, hours: float) -> datetime:
    """The latest due moment with at most `hours` working hours left at `now` (a break after it counts too)."""
    reach = calendar.add_working_hours(now, hours)
    return calendar.next_working_start(reach + timedelta(microseconds=1))


# -- the lists -------------------------------------------------------------------------------------------------

@dataclass
class DueItem:
    code: str
    status: str
    agency: str
    applicant: str
    document_type: str
    received_at: datetime | None
    due_at: datetime
    overdue: bool
    remaining_hours: float
    tasks: list[dict]

    @property
    def remaining_text(self) -> str:
        return remaining_text(self.remaining_hours)

    def as_dict(self) -> dict:
        return {"code": self.code, "status": self.status, "agency": self.agency, "applicant": self.applicant,
                "document_type": self.document_type,
                "received_at": self.received_at.isoformat() if self.received_at else None,
                "due_at": self.due_at.isoformat(), "overdue": self.overdue,
                "remaining_working_hours": round(self.remaining_hours, 4), "remaining": self.remaining_text,
                "tasks": self.tasks}


@dataclass
class DueLists:
    now: datetime
    scope: str
    agency: Agency | None
    soon_hours: float
    overdue: list[DueItem] = field(default_factory=list)
    due_soon: list[DueItem] = field(default_factory=list)
    due_today: list[DueItem] = field(default_factory=list)
    overdue_total: int = 0

    @property
    def counts(self) -> dict:
        return {"overdue": self.overdue_total, "due_soon": len(self.due_soon), "due_today": len(self.due_today)}

    def as_dict(self) -> dict:
        return {"now": self.now.isoformat(), "scope": self.scope,
                "agency": ({"code": self.agency.code, "name": self.agency.name} if self.agency else None),
                "soon_hours": self.soon_hours, "counts": self.counts,
                "overdue": [i.as_dict() for i in self.overdue], "due_soon": [i.as_dict() for i in self.due_soon],
                "due_today": [i.as_dict() for i in self.due_today]}


def parse_scope(value: str | None) -> str:
    scope = value or "agency"
    if scope not in SCOPES:
        raise BadRequest("Tham số 'scope' phải là 'agency' (cả cơ quan) hoặc 'mine' (của tôi).", code="invalid_scope")
    return scope


def parse_soon_hours(value: str | None) -> float:
    if value in (None, ""):
        return SOON_HOURS
    try:
        hours = float(value)
    except ValueError:
        raise BadRequest("Tham số 'soon_hours' phải là số giờ làm việc.", code="invalid_soon_hours") from None
    if not 0 < hours <= MAX_SOON_HOURS:
        raise BadRequest(f"Tham số 'soon_hours' phải lớn hơn 0 và không quá {MAX_SOON_HOURS:g}.",
                         code="invalid_soon_hours")
    return hours


def _staff_roles(user: User) -> list[str]:
    return [r for r in user.roles if r in STAFF_ROLES]


def resolve_agency(user: User, agency: Agency | None) -> Agency | None:
    """Staff see their own agency; auditors and administrators any (None: every agency)."""
    if user.has_role("auditor") or user.has_role("admin"):
        return agency
    if not _staff_roles(user) or user.agency_id is None:
        raise Forbidden("Chỉ cán bộ của cơ quan mới xem được danh sách hồ sơ đến hạn.")
    if agency is not None and agency.id != user.agency_id:
        raise Forbidden("Bạn chỉ xem được hồ sơ đến hạn của cơ quan mình.")
    return user.agency


def _mine_filter(user: User):
    """Dossiers with a READY task the user holds: assigned to them, or unassigned in a role they hold."""
    roles = _staff_roles(user)
    held = or_(HumanTask.assignee_id == user.id,
               and_(HumanTask.assignee_id.is_(None), HumanTask.role.in_(roles),
                    HumanTask.agency_id == user.agency_id)) if roles else HumanTask.assignee_id == user.id
    return exists().where(HumanTask.dossier_id == Dossier.id, held)


def _running(query, user: User, scope: str, agency: Agency | None):
    query = query.where(Dossier.received_at.is_not(None), Dossier.due_at.is_not(None),
                        Dossier.status.not_in(NOT_RUNNING))
    if agency is not None:
        query = query.where(Dossier.agency_id == agency.id)
    if scope == "mine":
        query = query.where(_mine_filter(user))
    return query


def _end_of_day(now: datetime) -> datetime:
    today = now.astimezone(VN_TZ).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=VN_TZ)


def due_lists(session: Session, user: User, now: datetime, *, scope: str = "agency", agency: Agency | None = None,
              soon_hours: float = SOON_HOURS, limit: int = LIST_LIMIT) -> DueLists:
    agency = resolve_agency(user, agency)
    result = DueLists(now=now, scope=scope, agency=agency, soon_hours=soon_hours)
    default, own = calendars_by_agency(session)

    def calendar(agency_id: int) -> WorkingCalendar:
        return own.get(agency_id, default)

    # The widest reach any agency's "soon" can have: every calendar in play is asked.
    in_play = {calendar(agency.id)} if agency else {default, *own.values()}
    upper = max([_end_of_day(now)] + [soon_threshold(c, now, soon_hours) for c in in_play])

    overdue_q = _running(select(Dossier), user, scope, agency).where(Dossier.due_at <= now)
    result.overdue_total = session.scalar(select(func.count()).select_from(overdue_q.subquery()))
    upcoming_q = _running(select(Dossier), user, scope, agency).where(Dossier.due_at > now, Dossier.due_at <= upper)
    rows = list(session.scalars(overdue_q.order_by(Dossier.due_at, Dossier.id).limit(limit)))
    rows += list(session.scalars(upcoming_q.order_by(Dossier.due_at, Dossier.id).limit(limit)))
    tasks = _tasks_by_dossier(session, [d.id for d in rows])
    end_of_day = _end_of_day(now)
    for dossier in rows:
        cal = calendar(dossier.agency_id)
        left = remaining_working_hours(cal, now, dossier.due_at)
        item = DueItem(code=dossier.code, status=dossier.status, agency=dossier.agency.code,
                       applicant=dossier.applicant_name, document_type=dossier.document_type,
                       received_at=dossier.received_at, due_at=dossier.due_at,
                       overdue=dossier.due_at <= now or dossier.overdue, remaining_hours=left,
                       tasks=tasks.get(dossier.id, []))
        if dossier.due_at <= now:
            result.overdue.append(item)
        elif dossier.due_at <= soon_threshold(cal, now, soon_hours) and left <= soon_hours:
            result.due_soon.append(item)
        elif dossier.due_at < end_of_day:
            result.due_today.append(item)
    return result


def due_report(system, user: User, now: datetime, *, scope: str = "agency", agency_ref: str | None = None,
               soon_hours: float = SOON_HOURS) -> DueLists:
    """`due_lists` for an agency named by code or slug (the caller's own by default), read in its own session."""
    with reading(system) as session:
        agency = find_agency(session, agency_ref) if agency_ref else None
        return due_lists(session, user, now, scope=scope, agency=agency, soon_hours=soon_hours)


@dataclass
class DuePage:
    lists: DueLists
    agencies: list[Agency]      # the agencies an overseer may choose among (none for staff)
    calendar: dict              # the working calendar in effect for the agency shown (the default for all)


def due_page(system, user: User, now: datetime, *, scope: str, agency_ref: str | None = None,
             soon_hours: float = SOON_HOURS) -> DuePage:
    """The *Hồ sơ đến hạn* page: the lists, the agencies to choose from and the calendar they are counted by."""
    with reading(system) as session:
        agencies = list(session.scalars(select(Agency).order_by(Agency.id))) if oversees_every_agency(user) else []
        agency = find_agency(session, agency_ref) if agency_ref else None
        lists = due_lists(session, user, now, scope=scope, agency=agency, soon_hours=soon_hours)
        calendar = calendar_view(session, lists.agency)["effective"]
    return DuePage(lists=lists, agencies=agencies, calendar=calendar)


def _tasks_by_dossier(session: Session, dossier_ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    if not dossier_ids:
        return out
    rows = session.scalars(select(HumanTask).where(HumanTask.dossier_id.in_(dossier_ids))
                           .order_by(HumanTask.created_at))
    for t in rows:
        out.setdefault(t.dossier_id, []).append({"name": t.name, "title": t.title, "role": t.role,
                                                  "assignee": t.assignee.username if t.assignee else None,
                                                  "assignee_name": t.assignee.full_name if t.assignee else None})
    return out


def due_count(session: Session, user: User, now: datetime) -> int:
    """For the menu badge: the caller's dossiers that are overdue or due by the end of today."""
    roles = _staff_roles(user)
    if not roles or user.agency_id is None:
        return 0
    # Driven by the inbox (live tasks only), not by the agency's whole history of dossiers.
    held = or_(HumanTask.assignee_id == user.id,
               and_(HumanTask.assignee_id.is_(None), HumanTask.role.in_(roles),
                    HumanTask.agency_id == user.agency_id))
    # The task rows carry the dossier's deadline; the dossier is only probed by primary key.
    received = select(Dossier.id).where(Dossier.id == HumanTask.dossier_id, Dossier.received_at.is_not(None),
                                        Dossier.status.not_in(NOT_RUNNING)).exists()
    query = select(func.count(func.distinct(HumanTask.dossier_id))).where(
        held, HumanTask.due_at < _end_of_day(now), received)
    return session.scalar(query) or 0
