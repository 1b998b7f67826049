"""Notifications: one service for in-app messages, e-mail and SMS.

In-app messages are `Notification` rows; e-mail and SMS are `OutboxMessage` rows that app/adapters/outbox.py sends
after the commit. Everything is written inside the caller's transaction, so a step that fails queues nothing, and
every outbox row carries a `dedup_key` so a retried step queues each message once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.adapters.db import queue_insert
from app.adapters.models import Appointment, Dossier, HumanTask, Notification, OutboxMessage, User
from app.domain.access import may_see_on_staff_pages
from app.domain.calendar import VN_TZ
from app.errors import NotFound
from app.services.queries.roster import Roster
from app.services.unit_of_work import unit_of_work

TEMPLATES = {
    "supplement_requested": "Hồ sơ {code} cần bổ sung: {reason}",
    "refused": "Hồ sơ {code} bị từ chối tiếp nhận. Lý do: {reason}",
    "supplement_expired": "Hồ sơ {code} đã bị hủy vì quá hạn bổ sung.",
    "cancelled": "Hồ sơ {code} đã bị hủy. Lý do: {reason}",
    "result_ready": "Hồ sơ {code} đã có kết quả: bản sao điện tử đã được chứng thực.{postal}",
    "overdue": "Hồ sơ {code} đã quá hạn xử lý (hạn {due}).",
    "fee_paid": "Đã nhận lệ phí {amount} đồng của hồ sơ {code}. Cảm ơn bạn.",
}
SUBJECTS = {
    "supplement_requested": "Yêu cầu bổ sung hồ sơ {code}",
    "refused": "Hồ sơ {code} bị từ chối tiếp nhận",
    "supplement_expired": "Hồ sơ {code} đã bị hủy",
    "cancelled": "Hồ sơ {code} đã bị hủy",
    "result_ready": "Kết quả chứng thực hồ sơ {code}",
    "fee_paid": "Đã nhận lệ phí hồ sơ {code}",
}
APPOINTMENT_TEMPLATES = {
    "appointment_booked": "Đặt lịch hẹn thành công. Mã lịch hẹn {code}: {slot} ngày {day} tại {agency}. "
                          "Vui lòng mang theo bản chính giấy tờ cần chứng thực.",
    "appointment_moved": "Lịch hẹn {code} được dời sang {slot} ngày {day} tại {agency}. Lý do: {reason}",
    "appointment_reminder": "Nhắc lịch hẹn {code}: {slot} ngày {day} tại {agency}. "
                            "Vui lòng mang theo bản chính giấy tờ cần chứng thực.",
    "appointment_cancelled": "Lịch hẹn {code} ({slot} ngày {day}) đã được hủy.",
}
APPOINTMENT_SUBJECTS = {
    "appointment_booked": "Xác nhận lịch hẹn {code}",
    "appointment_moved": "Lịch hẹn {code} được dời",
    "appointment_reminder": "Nhắc lịch hẹn {code}",
    "appointment_cancelled": "Hủy lịch hẹn {code}",
}
# appended to result_ready when the result was sent by post
RESULT_BY_POST = " Kết quả đã được gửi qua bưu chính tới {address}, số hiệu bưu gửi: {tracking}."
TASK_WAITING = "Hồ sơ {code}: có việc chờ xử lý — {title}."


def _slot_label(start: str) -> str:
    hour, minute = start.split(":")
    return f"{int(hour)}h{minute}"


def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


class Notifier:
    def __init__(self, settings):
        self.settings = settings

    # -- rendering -------------------------------------------------------------------------------------------
    def render(self, template: str, dossier: Dossier, data: dict) -> str:
        if template not in TEMPLATES:
            raise KeyError(f"unknown notification template '{template}'")
        due = dossier.due_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if dossier.due_at else ""
        postal = ""
        if dossier.delivery == "post" and dossier.postal_tracking:
            postal = RESULT_BY_POST.format(address=dossier.postal_address or "", tracking=dossier.postal_tracking)
        return TEMPLATES[template].format(code=dossier.code, reason=data.get("reason") or "", due=due,
                                          amount=vnd(dossier.fee_amount), postal=postal)

    def dossier_link(self, code: str) -> str:
        return f"{self.settings.public_base_url}/cong-dan/ho-so/{code}"

    # -- channels --------------------------------------------------------------------------------------------
    @staticmethod
    def queue(session: Session, *, dedup_key: str, channel: str, recipient: str, subject: str, body: str,
              now: datetime, attachment_sha256: str | None = None, attachment_name: str | None = None) -> bool:
        """Queue one e-mail or SMS unless a message with this key was queued before. True when queued now."""
        session.flush()  # earlier rows of this transaction must be visible to the check below
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)) is not None:
            return False
        session.add(OutboxMessage(dedup_key=dedup_key, channel=channel, recipient=recipient, subject=subject[:255],
                                  body=body, attachment_sha256=attachment_sha256, attachment_name=attachment_name,
                                  created_at=now, attempts=0))
        return True

    def tell_person(self, session: Session, *, user: User | None, email: str | None, phone: str | None,
                    message: str, subject: str, now: datetime, dedup: str, dossier_id: int | None = None,
                    link: str | None = None, attachment_sha256: str | None = None,
                    attachment_name: str | None = None) -> list[str]:
        """In-app for an account, e-mail and SMS when an address or number is known. Returns who was told."""
        told: list[str] = []
        if user is not None:
            queue_insert(session, Notification, user_id=user.id, dossier_id=dossier_id, message=message, created_at=now)
            told.append(user.username)
        if email:
            body = message + (f"\n\nXem chi tiết: {link}" if link else "")
            self.queue(session, dedup_key=f"{dedup}:email", channel="email", recipient=email, subject=subject,
                       body=body, now=now, attachment_sha256=attachment_sha256, attachment_name=attachment_name)
            told.append(email)
        if phone:
            self.queue(session, dedup_key=f"{dedup}:sms", channel="sms", recipient=phone, subject="", body=message,
                       now=now)
            told.append(f"sms:{phone}")
        return told

    # -- dossiers --------------------------------------------------------------------------------------------
    def notify(self, session: Session, dossier: Dossier, recipient: str, template: str, data: dict,
               now: datetime, dedup: str, attachment_sha256: str | None = None, roster: Roster | None = None) -> dict:
        """Tell the citizen or the staff of a role about a dossier. Returns who was told (for the audit)."""
        message = self.render(template, dossier, data)
        if recipient == "citizen":
            applicant = dossier.applicant
            subject = SUBJECTS.get(template, "Hồ sơ {code}").format(code=dossier.code)
            told = self.tell_person(
                session, user=applicant, email=dossier.applicant_email or (applicant.email if applicant else None),
                phone=applicant.phone if applicant else None, message=message, subject=subject, now=now,
                dedup=f"{dossier.code}:{dedup}", dossier_id=dossier.id,
                link=self.dossier_link(dossier.code) if applicant else None, attachment_sha256=attachment_sha256,
                attachment_name=f"{dossier.code}.pdf" if attachment_sha256 else None)
        else:
            told = []
            for member in (roster or Roster()).staff(session, dossier.agency_id, recipient):
                queue_insert(session, Notification, user_id=member.id, dossier_id=dossier.id, message=message, created_at=now)
                told.append(member.username)
        return {"recipient": recipient, "template": template, "to": told, "message": message}

    def tasks_waiting(self, session: Session, dossier: Dossier, tasks: list[HumanTask], now: datetime,
                      roster: Roster | None = None) -> None:
        """Tell the next people that a task waits for them (the assignee, or everyone holding the role)."""
        for task in tasks:
            if task.role == "citizen":
                user_ids = [dossier.applicant_id] if dossier.applicant_id else []
            elif task.assignee_id:
                user_ids = [task.assignee_id]
            else:
                user_ids = [m.id for m in (roster or Roster()).staff(session, dossier.agency_id, task.role)]
            message = TASK_WAITING.format(code=dossier.code, title=task.title)
            for user_id in user_ids:
                queue_insert(session, Notification, user_id=user_id, dossier_id=dossier.id, message=message, created_at=now)

    # -- appointments ----------------------------------------------------------------------------------------
    def render_appointment(self, template: str, appointment: Appointment, reason: str | None = None) -> str:
        if template not in APPOINTMENT_TEMPLATES:
            raise KeyError(f"unknown notification template '{template}'")
        return APPOINTMENT_TEMPLATES[template].format(
            code=appointment.code, slot=_slot_label(appointment.slot), day=appointment.day.strftime("%d/%m/%Y"),
            agency=appointment.agency.name, reason=reason or "")

    def notify_appointment(self, session: Session, appointment: Appointment, template: str, now: datetime,
                           dedup: str, reason: str | None = None) -> list[str]:
        """Tell the citizen who booked an appointment (in-app, e-mail, SMS) that it was booked, moved, …"""
        citizen = appointment.citizen
        message = self.render_appointment(template, appointment, reason)
        subject = APPOINTMENT_SUBJECTS[template].format(code=appointment.code)
        return self.tell_person(session, user=citizen, email=citizen.email, phone=citizen.phone, message=message,
                                subject=subject, now=now, dedup=f"{appointment.code}:{dedup}",
                                link=f"{self.settings.public_base_url}/cong-dan/lich-hen")


# -- reading them ----------------------------------------------------------------------------------------------
def open_notification(system, user: User, notification_id: int, now: datetime) -> str | None:
    """Mark one of the user's notifications read. Returns the code of its dossier when the user may open that
    dossier on the staff pages."""
    with unit_of_work(system) as session:
        row = session.get(Notification, notification_id)
        if row is None or row.user_id != user.id:
            raise NotFound("Không có thông báo này.", code="unknown_notification")
        if row.read_at is None:
            row.read_at = now
        dossier = session.get(Dossier, row.dossier_id) if row.dossier_id else None
        if dossier is not None and may_see_on_staff_pages(user, dossier.agency_id):
            return dossier.code
        return None


def mark_all_read(system, user: User, now: datetime) -> int:
    """Mark every unread notification of the user read; how many were."""
    with unit_of_work(system) as session:
        return session.execute(update(Notification).where(Notification.user_id == user.id,
                                                          Notification.read_at.is_(None))
                               .values(read_at=now)).rowcount


def read_latest(system, user: User, now: datetime, limit: int = 100) -> list[dict]:
    """The user's latest notifications ({id, message, created_at, read, code}), as they were before this reading,
    which marks them all read."""
    with unit_of_work(system) as session:
        rows = session.execute(
            select(Notification, Dossier.code).outerjoin(Dossier, Notification.dossier_id == Dossier.id)
            .where(Notification.user_id == user.id).order_by(Notification.id.desc()).limit(limit)).all()
        items = [{"id": n.id, "message": n.message, "created_at": n.created_at, "read": n.read_at is not None,
                  "code": code} for n, code in rows]
        session.execute(update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
                        .values(read_at=now))
    return items
