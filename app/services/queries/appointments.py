"""Appointments as people read them: the free slots of an agency's day and the next working days when booking, a
citizen's own appointments, the agency's list and a move's choices for its staff, the API's lists and details."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.adapters.models import Appointment, User
from app.services import appointments
from app.services.administration.calendars import calendar_for
from app.services.queries.directory import agency_by_ref
from app.services.unit_of_work import reading


@dataclass(frozen=True)
class BookingChoices:
    slots: list[dict]          # the free slots of the day asked for: [{"start", "capacity", "free"}]
    days: list[date]           # the next working days with a slot still ahead
    problem: str | None        # why the day asked for offers no slot


def booking_choices(system, agency_ref: str, day: date | None, now: datetime) -> BookingChoices:
    """The slots an agency still offers on `day`, and the next working days to choose from."""
    with reading(system) as session:
        agency = agency_by_ref(session, agency_ref)
        if agency is None:
            return BookingChoices(slots=[], days=[], problem=None)
        calendar = calendar_for(session, agency.id)
        slots = appointments.free_slots(system, session, agency, day, now) if day else []
    problem = None
    if day and not slots:
        found = appointments.booking_problem(calendar, day, appointments.SLOT_STARTS[-1], now)
        problem = found[1] if found else f"Ngày {day:%d/%m/%Y} đã hết giờ hẹn trống; vui lòng chọn ngày khác."
    return BookingChoices(slots=slots, days=appointments.next_working_days(calendar, now), problem=problem)


def my_appointments(system, citizen: User) -> list[dict]:
    """The citizen's appointments, the latest first."""
    with reading(system) as session:
        rows = session.scalars(select(Appointment).options(joinedload(Appointment.dossier))
                               .where(Appointment.citizen_id == citizen.id)
                               .order_by(Appointment.day.desc(), Appointment.slot.desc())).all()
        return [appointments.appointment_view(a) for a in rows]


def agency_slots(system, agency_ref: str, day: date, now: datetime) -> list[dict]:
    """GET /agencies/{ref}/slots: the slots an agency still offers on `day`."""
    with reading(system) as session:
        return appointments.free_slots(system, session, appointments.find_agency(session, agency_ref), day, now)


def appointment_detail(system, user: User, code: str) -> dict:
    """One appointment for its citizen, or with the citizen's contact details for the agency's staff."""
    with reading(system) as session:
        appointment = appointments.visible_appointment(session, user, code)
        return appointments.appointment_view(appointment, for_staff=appointment.citizen_id != user.id)


def appointment_list(system, user: User, day: date | None = None, status: str | None = None, q: str | None = None,
                     page: int = 1, page_size: int = 50) -> list[dict]:
    """GET /appointments: the citizen's own, or the agency's for its staff (with the citizen's contact details)."""
    query = appointments.appointments_query(user, day, status, q).options(joinedload(Appointment.dossier))
    for_staff = not user.has_role("citizen")
    with reading(system) as session:
        rows = session.scalars(query.offset((page - 1) * page_size).limit(page_size)).all()
        return [appointments.appointment_view(a, for_staff=for_staff) for a in rows]


def upcoming_count(session: Session, agency_id: int | None, today: date) -> int:
    """The agency's appointments still to come (booked or moved, today or later): the menu badge."""
    if agency_id is None:
        return 0
    return session.scalar(select(func.count(Appointment.id)).where(
        Appointment.agency_id == agency_id, Appointment.status.in_(appointments.ACTIVE),
        Appointment.day >= today)) or 0


def staff_list(system, user: User, *, day: date | None, status: str | None, q: str | None, limit: int) -> dict:
    """The agency's appointments for its staff (`status` None: every status), and what the caller may do."""
    query = appointments.appointments_query(user, day, status, q)
    with reading(system) as session:
        items = [appointments.appointment_view(a, for_staff=True) for a in session.scalars(query.limit(limit))]
    return {"items": items, "can_move": any(user.has_role(r) for r in appointments.MOVE_ROLES),
            "can_convert": any(user.has_role(r) for r in appointments.CONVERT_ROLES)}


def move_choices(system, user: User, code: str, day: date | None, now: datetime) -> dict:
    """What moving an appointment offers: the appointment, the free slots of `day`, the next working days."""
    with reading(system) as session:
        appointment = appointments.visible_appointment(session, user, code)
        view = appointments.appointment_view(appointment, for_staff=True)
        agency = appointment.agency
        slots = appointments.free_slots(system, session, agency, day, now) if day else []
        days = appointments.next_working_days(calendar_for(session, agency.id), now)
    return {"appointment": view, "slots": slots, "days": days}
