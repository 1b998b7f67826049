"""A person's in-app notifications, newest first."""
from __future__ import annotations

from sqlalchemy import select

from app.adapters.models import Dossier, Notification, User
from app.services.unit_of_work import reading


def notification_list(system, user: User, page: int, page_size: int) -> tuple[list[dict], bool]:
    """One page of the user's notifications ({id, message, created_at, read, code}) and whether more follow."""
    with reading(system) as session:
        rows = session.execute(
            select(Notification, Dossier.code).outerjoin(Dossier, Notification.dossier_id == Dossier.id)
            .where(Notification.user_id == user.id).order_by(Notification.id.desc())
            .offset((max(1, page) - 1) * page_size).limit(page_size + 1)).all()
    items = [{"id": n.id, "message": n.message, "created_at": n.created_at, "read": n.read_at is not None,
              "code": code} for n, code in rows[:page_size]]
    return items, len(rows) > page_size
