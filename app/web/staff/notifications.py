"""In-app notifications (the engine writes one when a task starts waiting for someone): the list, opening one
(marks it read and goes to its dossier), marking all read, and the unread count in the top bar."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select, update

from app import clock
from app.adapters.models import Dossier, Notification
from app.domain.access import is_staff_of
from app.services.queries.inbox import badge, unread_notifications
from app.web.common.auth import system
from app.web.common.session import current_user, login_required
from app.web.staff.reads import read_session

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PAGE_SIZE = 30


@bp.app_context_processor
def _unread_badge():
    user = current_user()
    if user is None:
        return {}
    with read_session() as session:
        return {"notification_badge": badge(unread_notifications(session, user))}


@bp.get("")
@login_required()
def index():
    user = current_user()
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    with system().db.session() as session:
        rows = session.execute(
            select(Notification, Dossier.code).outerjoin(Dossier, Notification.dossier_id == Dossier.id)
            .where(Notification.user_id == user.id).order_by(Notification.id.desc())
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
        items = [{"id": n.id, "message": n.message, "created_at": n.created_at, "read": n.read_at is not None,
                  "code": code} for n, code in rows[:PAGE_SIZE]]
    return render_template("staff/notifications.html", items=items, page=page, has_next=len(rows) > PAGE_SIZE)


@bp.post("/<int:notification_id>/open")
@login_required()
def open_one(notification_id):
    user = current_user()
    with system().db.session() as session, session.begin():
        row = session.get(Notification, notification_id)
        if row is None or row.user_id != user.id:
            abort(404, description="Không có thông báo này.")
        if row.read_at is None:
            row.read_at = clock.now()
        dossier = session.get(Dossier, row.dossier_id) if row.dossier_id else None
        target = None
        if dossier is not None and (is_staff_of(user, dossier.agency_id) or user.has_role("auditor")):
            target = url_for("staff_dossiers.dossier", code=dossier.code)
    return redirect(target or url_for("notifications.index"))


@bp.post("/read-all")
@login_required()
def read_all():
    user = current_user()
    with system().db.session() as session, session.begin():
        done = session.execute(update(Notification).where(Notification.user_id == user.id,
                                                          Notification.read_at.is_(None))
                               .values(read_at=clock.now())).rowcount
    flash(f"Đã đánh dấu {done} thông báo là đã đọc." if done else "Không có thông báo chưa đọc.", "success")
    return redirect(url_for("notifications.index"))
