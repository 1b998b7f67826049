"""In-app notifications (the engine writes one when a task starts waiting for someone): the list, opening one
(marks it read and goes to its dossier), marking all read, and the unread count in the top bar."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from app import clock
from app.errors import NotFound
from app.services import notifications as notification_service
from app.services.queries.badges import NOTIFICATIONS
from app.services.queries.notifications import notification_list
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.session import current_user, login_required

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PAGE_SIZE = 30
menu.register_top_bar_badge(NOTIFICATIONS)


@bp.app_context_processor
def _unread_badge():
    user = current_user()
    if user is None:
        return {}
    return {"notification_badge": menu.badges(user)[NOTIFICATIONS]}


@bp.get("")
@login_required()
def index():
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    items, has_next = notification_list(system(), current_user(), page, PAGE_SIZE)
    return render_template("staff/notifications.html", items=items, page=page, has_next=has_next)


@bp.post("/<int:notification_id>/open")
@login_required()
def open_one(notification_id):
    try:
        code = notification_service.open_notification(system(), current_user(), notification_id, clock.now())
    except NotFound as exc:
        abort(404, description=exc.message)
    return redirect(url_for("staff_dossiers.dossier", code=code) if code else url_for("notifications.index"))


@bp.post("/read-all")
@login_required()
def read_all():
    done = notification_service.mark_all_read(system(), current_user(), clock.now())
    flash(f"Đã đánh dấu {done} thông báo là đã đọc." if done else "Không có thông báo chưa đọc.", "success")
    return redirect(url_for("notifications.index"))
