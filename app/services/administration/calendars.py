"""Working calendars per agency, stored in the database (table `agency_calendars`).

A row with scope "default" applies to every agency; a row with scope "agency:<id>" overrides it for one
agency, key by key (an agency that sets only `periods` keeps the default's extra days off). Without any row
the calendar is `calendar.default_calendar()` (Mon-Fri 07:30-11:30, 13:30-17:00, cutoff 15:00, Vietnamese
public holidays). Reading is one small indexed query; building a calendar is cached per configuration.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.errors import Forbidden, Unprocessable
from app.adapters.models import STAFF_ROLES, Agency, AgencyCalendar, User
from app.domain.calendar import (
    CalendarConfigError,
    WorkingCalendar,
    calendar_from_config,
    calendar_to_config,
    default_calendar,
)
from app.services.queries.directory import find_agency
from app.services.unit_of_work import reading, unit_of_work

DEFAULT_SCOPE = "default"


def agency_scope(agency_id: int) -> str:
    return f"agency:{agency_id}"


def merge_configs(default: dict | None, own: dict | None) -> dict:
    return {**(default or {}), **(own or {})}


def effective_config(session: Session, agency_id: int | None) -> dict:
    scopes = [DEFAULT_SCOPE] + ([agency_scope(agency_id)] if agency_id is not None else [])
    stored = dict(session.execute(select(AgencyCalendar.scope, AgencyCalendar.config)
                                  .where(AgencyCalendar.scope.in_(scopes))).all())
    own = stored.get(agency_scope(agency_id)) if agency_id is not None else None
    return merge_configs(stored.get(DEFAULT_SCOPE), own)


def calendar_for(session: Session, agency_id: int | None) -> WorkingCalendar:
    """The working calendar of an agency (None: the default every agency starts from)."""
    return calendar_from_config(effective_config(session, agency_id))


def calendars_by_agency(session: Session) -> tuple[WorkingCalendar, dict[int, WorkingCalendar]]:
    """(the default calendar, {agency id: calendar} for the agencies that have their own)."""
    rows = session.execute(select(AgencyCalendar.scope, AgencyCalendar.agency_id, AgencyCalendar.config)).all()
    default_config = next((config for scope, _, config in rows if scope == DEFAULT_SCOPE), None)
    default = calendar_from_config(default_config)
    own = {agency_id: calendar_from_config(merge_configs(default_config, config))
           for scope, agency_id, config in rows if scope != DEFAULT_SCOPE and agency_id is not None}
    return default, own


# -- reading and changing the configuration (API) ---------------------------------------------------------


def may_read(user: User, agency: Agency | None) -> bool:
    if user.has_role("admin") or user.has_role("auditor"):
        return True
    return agency is not None and user.agency_id == agency.id and any(user.has_role(r) for r in STAFF_ROLES)


def calendar_view(session: Session, agency: Agency | None) -> dict:
    scope = agency_scope(agency.id) if agency else DEFAULT_SCOPE
    row = session.scalar(select(AgencyCalendar).where(AgencyCalendar.scope == scope))
    calendar = calendar_for(session, agency.id if agency else None)
    return {
        "agency": agency.code if agency else None,
        "own": row is not None,
        "stored": row.config if row else {},
        "effective": calendar_to_config(calendar),
        "is_default": calendar == default_calendar(),
        "updated_at": row.updated_at.isoformat() if row else None,
        "updated_by": row.updated_by if row else None,
    }


def readable_calendar(system, user: User, agency_ref: str | None) -> dict:
    """The calendar view of an agency (or, without `agency_ref`, the default) for a user who may read it: the
    agency's own staff, administrators and auditors."""
    with reading(system) as session:
        agency = find_agency(session, agency_ref) if agency_ref else None
        if not may_read(user, agency):
            if agency is None:
                raise Forbidden("Chỉ quản trị viên hoặc kiểm tra viên mới xem được lịch làm việc mặc định.")
            raise Forbidden("Bạn chỉ xem được lịch làm việc của cơ quan mình.")
        return calendar_view(session, agency)


def validate_config(config) -> dict:
    """Check a configuration; returns it normalised (only the keys given). Raises Unprocessable."""
    try:
        calendar = calendar_from_config(config)
    except CalendarConfigError as exc:
        raise Unprocessable(exc.message, code="invalid_calendar", details={"fields": {exc.field: exc.message}}) \
            from None
    full = calendar_to_config(calendar)
    return {key: full[key] for key in (config or {})}


def save_config(system, actor: User, agency_ref: str | None, config) -> dict:
    """Store an agency's calendar (or the default when agency_ref is None); admin only."""
    if not actor.has_role("admin"):
        raise Forbidden("Chỉ quản trị viên mới thay đổi được lịch làm việc.")
    clean = validate_config(config)
    now = clock.now()
    with unit_of_work(system) as session:
        agency = find_agency(session, agency_ref) if agency_ref else None
        scope = agency_scope(agency.id) if agency else DEFAULT_SCOPE
        row = session.scalar(select(AgencyCalendar).where(AgencyCalendar.scope == scope).with_for_update())
        if row is None:
            row = AgencyCalendar(scope=scope, agency_id=agency.id if agency else None)
            session.add(row)
        row.config, row.updated_at, row.updated_by = clean, now, actor.username
        session.flush()
        return calendar_view(session, agency)


def reset_config(system, actor: User, agency_ref: str | None) -> dict:
    """Drop an agency's own calendar (it follows the default again), or the stored default."""
    if not actor.has_role("admin"):
        raise Forbidden("Chỉ quản trị viên mới thay đổi được lịch làm việc.")
    with unit_of_work(system) as session:
        agency = find_agency(session, agency_ref) if agency_ref else None
        scope = agency_scope(agency.id) if agency else DEFAULT_SCOPE
        row = session.scalar(select(AgencyCalendar).where(AgencyCalendar.scope == scope))
        if row is not None:
            session.delete(row)
            session.flush()
        return calendar_view(session, agency)
