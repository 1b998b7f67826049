"""Notifications: in-app messages and the e-mail outbox (each message recorded once per dedup key)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Dossier, HumanTask, Notification, OutboxMessage, User, UserRole

TEMPLATES = {
    "supplement_requested": "Hồ sơ {code} cần bổ sung: {reason}",
    "refused": "Hồ sơ {code} bị từ chối tiếp nhận. Lý do: {reason}",
    "supplement_expired": "Hồ sơ {code} đã bị hủy vì quá hạn bổ sung.",
    "cancelled": "Hồ sơ {code} đã bị hủy. Lý do: {reason}",
    "result_ready": "Hồ sơ {code} đã có kết quả: bản sao điện tử đã được chứng thực.",
    "overdue": "Hồ sơ {code} đã quá hạn xử lý (hạn {due}).",
}
ROLE_FALLBACK = {"leader": "signer"}
TASK_WAITING = "Hồ sơ {code}: có việc chờ xử lý — {title}."


class Notifier:
    def __init__(self, settings):
        self.settings = settings

    def render(self, template: str, dossier: Dossier, data: dict) -> str:
        if template not in TEMPLATES:
            raise KeyError(f"unknown notification template '{template}'")
        due = dossier.due_at.astimezone().strftime("%H:%M %d/%m/%Y") if dossier.due_at else ""
        return TEMPLATES[template].format(code=dossier.code, reason=data.get("reason") or "", due=due)

    def staff_with_role(self, session: Session, agency_id: int, role: str) -> list[User]:
        """Active staff of the agency holding `role`; a commune has no `leader`: its chairman (signer) leads."""
        users = list(session.scalars(
            select(User).join(UserRole).where(User.agency_id == agency_id, UserRole.role == role, User.active)))
        if not users and role in ROLE_FALLBACK:
            return self.staff_with_role(session, agency_id, ROLE_FALLBACK[role])
        return users

    def notify(self, session: Session, dossier: Dossier, recipient: str, template: str, data: dict,
               now: datetime, dedup: str, attachment_sha256: str | None = None) -> dict:
        """Tell the citizen or the staff of a role about a dossier. Returns who was told (for the audit)."""
        message = self.render(template, dossier, data)
        told: list[str] = []
        if recipient == "citizen":
            users = [dossier.applicant] if dossier.applicant else []
        else:
            users = self.staff_with_role(session, dossier.agency_id, recipient)
        for user in users:
            session.add(Notification(user_id=user.id, dossier_id=dossier.id, message=message, created_at=now))
            told.append(user.username)
        email = dossier.applicant_email if recipient == "citizen" else None
        if email:
            key = f"{dossier.code}:{dedup}:email"
            if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)) is None:
                session.add(OutboxMessage(
                    dedup_key=key, channel="email", recipient=email, subject=f"Hồ sơ {dossier.code}",
                    body=message, attachment_sha256=attachment_sha256,
                    attachment_name=f"{dossier.code}.pdf" if attachment_sha256 else None, created_at=now))
            told.append(email)
        return {"recipient": recipient, "template": template, "to": told, "message": message}

    def tasks_waiting(self, session: Session, dossier: Dossier, tasks: list[HumanTask], now: datetime) -> None:
        """Tell the next people that a task waits for them (the assignee, or everyone holding the role)."""
        for task in tasks:
            if task.role == "citizen":
                users = [dossier.applicant] if dossier.applicant else []
            elif task.assignee_id:
                users = [session.get(User, task.assignee_id)]
            else:
                users = self.staff_with_role(session, dossier.agency_id, task.role)
            message = TASK_WAITING.format(code=dossier.code, title=task.title)
            for user in users:
                session.add(Notification(user_id=user.id, dossier_id=dossier.id, message=message, created_at=now))
