"""Appointments (lịch hẹn): a citizen books an hourly slot to bring the original; staff move it with a reason
or turn it into a dossier when the citizen arrives.

Slots start hourly 8h–11h and 13h–16h on working days; each holds `capacity` places. A booking takes a place with
one conditional UPDATE (`booked < capacity`) on the slot's row, so two citizens racing for the last place get one
201 and one 409 on SQLite and PostgreSQL alike. Moves, cancellations and conversions are conditional updates on the
appointment's status, so a concurrent change is detected instead of lost.
"""
from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.adapters.db import next_counter
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.adapters.models import Agency, Appointment, AppointmentSlot, Dossier, User
from app.services.administration.calendars import calendar_for
from app.domain.calendar import VN_TZ
from app.domain.codes import appointment_code
from app.services.dossiers.filing import FiledDossier, file_dossier, filed_view
from app.services.queries.directory import agency_by_ref
from app.domain.procedures import PROCEDURES
from app.services.unit_of_work import reading, unit_of_work

SLOT_STARTS = ("08:00", "09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00")
DEFAULT_CAPACITY = 3
HORIZON_DAYS = 60
ACTIVE = ("booked", "moved")
STATUSES = ("booked", "moved", "converted", "cancelled")
STATUS_NAMES = {"booked": "Đã đặt lịch", "moved": "Đã dời lịch", "converted": "Đã tiếp nhận hồ sơ",
                "cancelled": "Đã hủy"}
VIEW_ROLES = ("one_stop", "justice_officer", "leader")
MOVE_ROLES = ("one_stop", "justice_officer")
CONVERT_ROLES = ("one_stop",)
MAX_REASON = 500


# -- plain rules -----------------------------------------------------------------------------------------------
def _field_error(field: str, message: str, code: str = "invalid_field") -> Unprocessable:
    return Unprocessable(message, code=code, details={"fields": {field: message}})


def slot_label(start: str) -> str:
    """'08:00' -> '8h00', as the portal shows it."""
    hour, minute = start.split(":")
    return f"{int(hour)}h{minute}"


def parse_day(value: object, field: str = "date") -> date:
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        raise _field_error(field, "Ngày hẹn phải có dạng YYYY-MM-DD.", "invalid_date") from None


def parse_slot(value: object, field: str = "slot") -> str:
    if value not in SLOT_STARTS:
        raise _field_error(field, "Giờ hẹn phải là một trong các khung giờ "
                                  f"{', '.join(slot_label(s) for s in SLOT_STARTS)}.", "invalid_slot")
    return value


def slot_moment(day: date, start: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(start), tzinfo=VN_TZ)


def booking_problem(calendar, day: date, start: str, now: datetime) -> tuple[str, str] | None:
    """Why `start` on `day` cannot be booked (code, Vietnamese message), or None."""
    today = now.astimezone(VN_TZ).date()
    if day > today + timedelta(days=HORIZON_DAYS):
        return "too_far", f"Chỉ đặt lịch hẹn trong vòng {HORIZON_DAYS} ngày tới."
    if not calendar.is_working_day(day):
        return "not_working_day", f"Ngày {day:%d/%m/%Y} không phải ngày làm việc."
    if slot_moment(day, start) <= now:
        return "slot_past", f"Giờ hẹn {slot_label(start)} ngày {day:%d/%m/%Y} đã qua."
    return None


def capacity_of(agency: Agency, settings) -> int:
    if agency.appointment_capacity:
        return agency.appointment_capacity
    configured = (settings.extra or {}).get("appointment_capacity") or os.environ.get("CERTCOPY_APPOINTMENT_CAPACITY")
    return int(configured) if configured else DEFAULT_CAPACITY


# -- slots -----------------------------------------------------------------------------------------------------
def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def take_place(session: Session, agency_id: int, day: date, start: str, capacity: int) -> bool:
    """Take one place in the slot if one is free (atomic; the row lock serialises racing bookings)."""
    insert = _insert(session)
    session.execute(insert(AppointmentSlot).values(agency_id=agency_id, day=day, start=start, booked=0)
                    .on_conflict_do_nothing(index_elements=["agency_id", "day", "start"]))
    taken = session.execute(update(AppointmentSlot)
                            .where(AppointmentSlot.agency_id == agency_id, AppointmentSlot.day == day,
                                   AppointmentSlot.start == start, AppointmentSlot.booked < capacity)
                            .values(booked=AppointmentSlot.booked + 1))
    return taken.rowcount == 1


def free_place(session: Session, agency_id: int, day: date, start: str) -> None:
    session.execute(update(AppointmentSlot)
                    .where(AppointmentSlot.agency_id == agency_id, AppointmentSlot.day == day,
                           AppointmentSlot.start == start, AppointmentSlot.booked > 0)
                    .values(booked=AppointmentSlot.booked - 1))


def free_slots(system, session: Session, agency: Agency, day: date, now: datetime | None = None) -> list[dict]:
    """The slots still offered on `day`: not past, not full, on a working day within the booking horizon."""
    now = now or clock.now()
    today = now.astimezone(VN_TZ).date()
    if day < today or day > today + timedelta(days=HORIZON_DAYS) \
            or not calendar_for(session, agency.id).is_working_day(day):
        return []
    capacity = capacity_of(agency, system.settings)
    used = dict(session.execute(select(AppointmentSlot.start, AppointmentSlot.booked)
                                .where(AppointmentSlot.agency_id == agency.id, AppointmentSlot.day == day)).all())
    offered = []
    for start in SLOT_STARTS:
        free = capacity - used.get(start, 0)
        if free > 0 and slot_moment(day, start) > now:
            offered.append({"start": start, "capacity": capacity, "free": free})
    return offered


def next_working_days(calendar, now: datetime, count: int = 10) -> list[date]:
    """Today (if some slot is still ahead) and the next working days, for quick choice on the booking page."""
    day = now.astimezone(VN_TZ).date()
    days = []
    while len(days) < count and day <= now.astimezone(VN_TZ).date() + timedelta(days=HORIZON_DAYS):
        if calendar.is_working_day(day) and slot_moment(day, SLOT_STARTS[-1]) > now:
            days.append(day)
        day += timedelta(days=1)
    return days


# -- lookups ---------------------------------------------------------------------------------------------------
def find_agency(session: Session, ref: object) -> Agency:
    if not ref:
        raise _field_error("agency", "Cần chọn cơ quan thực hiện (trường 'agency').")
    agency = agency_by_ref(session, ref)
    if agency is None:
        raise _field_error("agency", f"Không có cơ quan '{ref}'.", "unknown_agency")
    return agency


def is_staff_of(user: User, agency_id: int, roles=VIEW_ROLES) -> bool:
    return user.agency_id == agency_id and any(user.has_role(r) for r in roles)


def visible_appointment(session: Session, user: User, code: str) -> Appointment:
    appointment = session.scalar(select(Appointment).where(Appointment.code == code))
    if appointment is None or not (appointment.citizen_id == user.id or is_staff_of(user, appointment.agency_id)):
        raise NotFound("Không có lịch hẹn này.", code="unknown_appointment")
    return appointment


def appointments_query(user: User, day: date | None = None, status: str | None = None, q: str | None = None):
    """The citizen's own appointments, or the agency's for its staff; `status` may also be 'active'."""
    query = select(Appointment)
    if user.has_role("citizen"):
        query = query.where(Appointment.citizen_id == user.id)
    elif user.agency_id is not None and any(user.has_role(r) for r in VIEW_ROLES):
        query = query.where(Appointment.agency_id == user.agency_id)
    else:
        raise Forbidden("Bạn không được xem danh sách lịch hẹn.")
    if day is not None:
        query = query.where(Appointment.day == day)
    if status:
        if status == "active":
            query = query.where(Appointment.status.in_(ACTIVE))
        elif status in STATUSES:
            query = query.where(Appointment.status == status)
        else:
            raise Unprocessable("Trạng thái lịch hẹn không hợp lệ (booked, moved, converted, cancelled, active).",
                                code="invalid_status", details={"fields": {"status": "invalid"}})
    if q:
        like = f"%{q.strip()}%"
        query = query.join(User, Appointment.citizen_id == User.id).where(
            or_(Appointment.code.ilike(like), User.full_name.ilike(like), User.id_number.ilike(like)))
    return query.order_by(Appointment.day, Appointment.slot, Appointment.id)


def appointment_view(appointment: Appointment, for_staff: bool = False) -> dict:
    view = {
        "code": appointment.code, "agency": appointment.agency.code, "agency_name": appointment.agency.name,
        "procedure": appointment.procedure, "document_type": appointment.document_type,
        "date": appointment.day.isoformat(), "slot": appointment.slot, "status": appointment.status,
        "booked_date": appointment.booked_day.isoformat(), "booked_slot": appointment.booked_slot,
        "move_reason": appointment.move_reason,
        "moved_at": appointment.moved_at.isoformat() if appointment.moved_at else None,
        "dossier": appointment.dossier.code if appointment.dossier else None,
        "created_at": appointment.created_at.isoformat(),
    }
    if for_staff:
        citizen = appointment.citizen
        view["citizen"] = {"username": citizen.username, "full_name": citizen.full_name,
                           "id_number": citizen.id_number, "phone": citizen.phone, "email": citizen.email}
    return view


# -- use cases -------------------------------------------------------------------------------------------------
def _validated_time(calendar, fields: dict, now: datetime) -> tuple[date, str]:
    day = parse_day(fields.get("date"))
    start = parse_slot(fields.get("slot"))
    problem = booking_problem(calendar, day, start, now)
    if problem:
        raise _field_error("date" if problem[0] != "slot_past" else "slot", problem[1], problem[0])
    return day, start


def book(system, citizen: User, fields: dict, idempotency_key: str | None = None) -> tuple[Appointment, bool]:
    """A citizen books a slot. Returns (appointment, created); the same idempotency key books once."""
    if not citizen.has_role("citizen"):
        raise Forbidden("Chỉ công dân mới đặt lịch hẹn được.")
    now = clock.now()
    with system.db.session() as session:
        if idempotency_key:
            existing = session.scalar(select(Appointment).where(Appointment.idempotency_key == idempotency_key))
            if existing is not None:
                if existing.citizen_id != citizen.id:
                    raise Conflict("Khóa chống gửi trùng (Idempotency-Key) đã được dùng.", code="duplicate")
                return existing, False
        agency = find_agency(session, fields.get("agency"))
        procedure = str(fields.get("procedure") or "")
        if procedure not in PROCEDURES:
            raise _field_error("procedure", f"Không có thủ tục '{procedure}'.", "unknown_procedure")
        if agency.level not in PROCEDURES[procedure]["levels"]:
            raise _field_error("procedure", f"Thủ tục {procedure} không thực hiện tại {agency.name}.",
                               "procedure_not_offered")
        capacity = capacity_of(agency, system.settings)
        calendar = calendar_for(session, agency.id)
    document_type = str(fields.get("document_type") or "").strip()
    if not document_type or len(document_type) > 255:
        raise _field_error("document_type", "Cần nhập loại giấy tờ cần chứng thực (tối đa 255 ký tự).")
    day, start = _validated_time(calendar, fields, now)
    try:
        with unit_of_work(system) as session:
            if not take_place(session, agency.id, day, start, capacity):
                raise Conflict(f"Khung giờ {slot_label(start)} ngày {day:%d/%m/%Y} đã đủ lượt hẹn; "
                               "vui lòng chọn giờ khác.", code="slot_full", details={"fields": {"slot": "full"}})
            today = now.astimezone(VN_TZ).date()
            code = appointment_code(today, next_counter(session, f"appointment:{today:%d%m%y}"))
            appointment = Appointment(
                code=code, agency_id=agency.id, citizen_id=citizen.id, procedure=procedure,
                document_type=document_type, day=day, slot=start, booked_day=day, booked_slot=start,
                status="booked", idempotency_key=idempotency_key, created_at=now)
            session.add(appointment)
            session.flush()
            session.refresh(appointment)
            system.notifier.notify_appointment(session, appointment, "appointment_booked", now, dedup="booked")
    except IntegrityError:
        if not idempotency_key:
            raise
        return book(system, citizen, fields, idempotency_key)  # the same form raced itself: answer the winner
    return appointment, True


def _check_manager(user: User, appointment: Appointment, roles: tuple[str, ...], action: str) -> None:
    if not is_staff_of(user, appointment.agency_id, roles):
        raise Forbidden(f"Bạn không có quyền {action} lịch hẹn của cơ quan này.")


def _still(session: Session, appointment: Appointment, **values) -> None:
    """Apply `values` only if the appointment is unchanged since read (status, day, slot); else 409."""
    changed = session.execute(update(Appointment).where(
        Appointment.id == appointment.id, Appointment.status == appointment.status,
        Appointment.day == appointment.day, Appointment.slot == appointment.slot).values(**values))
    if changed.rowcount != 1:
        raise Conflict("Lịch hẹn vừa được người khác thay đổi; vui lòng tải lại.", code="appointment_changed")


def move(system, staff: User, code: str, fields: dict) -> Appointment:
    """Staff move an appointment to another free slot with a reason; the citizen is told (in-app, SMS, e-mail)."""
    now = clock.now()
    with system.db.session() as session:
        appointment = visible_appointment(session, staff, code)
        _check_manager(staff, appointment, MOVE_ROLES, "dời")
        capacity = capacity_of(appointment.agency, system.settings)
        calendar = calendar_for(session, appointment.agency_id)
    if appointment.status not in ACTIVE:
        raise Conflict(f"Lịch hẹn {code} {STATUS_NAMES[appointment.status].lower()}, không dời được.",
                       code="appointment_not_active")
    reason = str(fields.get("reason") or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise _field_error("reason", f"Cần nhập lý do dời lịch hẹn (tối đa {MAX_REASON} ký tự).")
    day, start = _validated_time(calendar, fields, now)
    if (day, start) == (appointment.day, appointment.slot):
        raise _field_error("slot", "Thời gian hẹn lại trùng với thời gian hẹn hiện tại.", "same_time")
    with unit_of_work(system) as session:
        _still(session, appointment, day=day, slot=start, status="moved", move_reason=reason, moved_at=now,
               moved_by_id=staff.id)
        if not take_place(session, appointment.agency_id, day, start, capacity):
            raise Conflict(f"Khung giờ {slot_label(start)} ngày {day:%d/%m/%Y} đã đủ lượt hẹn.", code="slot_full",
                           details={"fields": {"slot": "full"}})
        free_place(session, appointment.agency_id, appointment.day, appointment.slot)
        moved = session.scalars(select(Appointment).where(Appointment.id == appointment.id)
                                .execution_options(populate_existing=True)).one()
        system.notifier.notify_appointment(session, moved, "appointment_moved", now,
                                           dedup=f"moved:{now.isoformat()}", reason=reason)
    return moved


def cancel(system, user: User, code: str) -> Appointment:
    """The citizen (or the agency's staff) cancels an appointment still to come; its place is freed."""
    now = clock.now()
    with system.db.session() as session:
        appointment = visible_appointment(session, user, code)
        if appointment.citizen_id != user.id:
            _check_manager(user, appointment, MOVE_ROLES, "hủy")
    if appointment.status not in ACTIVE:
        raise Conflict(f"Lịch hẹn {code} {STATUS_NAMES[appointment.status].lower()}, không hủy được.",
                       code="appointment_not_active")
    with unit_of_work(system) as session:
        _still(session, appointment, status="cancelled")
        free_place(session, appointment.agency_id, appointment.day, appointment.slot)
        cancelled = session.scalars(select(Appointment).where(Appointment.id == appointment.id)
                                    .execution_options(populate_existing=True)).one()
        if appointment.citizen_id != user.id:
            system.notifier.notify_appointment(session, cancelled, "appointment_cancelled", now, dedup="cancelled")
    return cancelled


def convert_to_dossier(system, staff: User, code: str, fields: dict, upload: bytes | None,
                       filename: str = "original.pdf") -> tuple[FiledDossier, bool]:
    """The citizen came with the original: the one-stop officer scans it and files the dossier (started at intake),
    and the appointment is marked converted in the same unit of work.

    Idempotent: the dossier's idempotency key is the appointment's code, so a repeat returns the same dossier."""
    with reading(system) as session:
        appointment = visible_appointment(session, staff, code)
        _check_manager(staff, appointment, CONVERT_ROLES, "tiếp nhận hồ sơ từ")
        if appointment.status == "converted" and appointment.dossier is not None:
            return filed_view(session, appointment.dossier), False
        if appointment.status not in ACTIVE:
            raise Conflict(f"Lịch hẹn {code} {STATUS_NAMES[appointment.status].lower()}.",
                           code="appointment_not_active")
        filing = {
            "agency": appointment.agency.code, "procedure": appointment.procedure,
            "document_type": (fields.get("document_type") or "").strip() or appointment.document_type,
            "citizen": appointment.citizen.username, "copies": fields.get("copies", 1),
            "delivery": fields.get("delivery") or "online", "payment": fields.get("payment") or "counter",
            "declaration": fields.get("declaration", ""),
            "postal_address": fields.get("postal_address") or "", "postal_phone": fields.get("postal_phone") or "",
        }

    def mark_converted(session: Session, dossier: Dossier) -> None:
        _still(session, appointment, status="converted", dossier_id=dossier.id)

    return file_dossier(system, staff, filing, upload, filename, idempotency_key=f"appointment:{appointment.code}",
                        also=mark_converted)


def send_reminders(system, now: datetime | None = None) -> int:
    """Remind every citizen whose appointment is tomorrow (in-app, SMS, e-mail), once per appointment and day.

    For the scheduler: run it a few times a day; a second run (or another host) sends nothing new."""
    now = now or clock.now()
    tomorrow = now.astimezone(VN_TZ).date() + timedelta(days=1)
    with system.db.session() as session:
        ids = list(session.scalars(select(Appointment.id).where(
            Appointment.day == tomorrow, Appointment.status.in_(ACTIVE),
            or_(Appointment.reminded_for.is_(None), Appointment.reminded_for != tomorrow))))
    sent = 0
    for appointment_id in ids:
        with unit_of_work(system) as session:
            claimed = session.execute(update(Appointment).where(
                Appointment.id == appointment_id, Appointment.day == tomorrow, Appointment.status.in_(ACTIVE),
                or_(Appointment.reminded_for.is_(None), Appointment.reminded_for != tomorrow))
                .values(reminded_for=tomorrow))
            if claimed.rowcount != 1:
                continue
            appointment = session.get(Appointment, appointment_id)
            system.notifier.notify_appointment(session, appointment, "appointment_reminder", now,
                                               dedup=f"reminder:{tomorrow.isoformat()}")
            sent += 1
    return sent


def register_reminder_job() -> None:
    """Appointment reminders the day before run with the scheduler's tick (every 10 minutes is plenty)."""
    from app.services.timers import register_job

    register_job("appointment_reminders", send_reminders, every=timedelta(minutes=10))
