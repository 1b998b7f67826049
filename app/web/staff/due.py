"""The *Hồ sơ đến hạn* page: overdue, due-soon and due-today dossiers of the caller or of their agency,
with the working time left by the agency's calendar."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from app import clock
from app.adapters.models import STAFF_ROLES
from app.domain.access import oversees_every_agency
from app.errors import AppError
from app.services.queries.badges import DUE
from app.services.queries.due import due_page, parse_scope, parse_soon_hours
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.session import current_user, login_required
from app.web.common.format import local_time, role_name, status_name

bp = Blueprint("due_pages", __name__)
READERS = (*STAFF_ROLES, "auditor", "admin")
WEEKDAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def calendar_summary(config: dict) -> str:
    """E.g. "Thứ Hai – Thứ Sáu, 07:30–11:30 và 13:30–17:00; nhận sau 15:00 tính từ ngày làm việc sau"."""
    days = config["weekdays"]
    if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        day_text = f"{WEEKDAY_NAMES[days[0]]} – {WEEKDAY_NAMES[days[-1]]}"
    else:
        day_text = ", ".join(WEEKDAY_NAMES[d] for d in days)
    periods = " và ".join(f"{a}–{b}" for a, b in config["periods"])
    return (f"{day_text}, {periods}; hồ sơ tiếp nhận sau {config['cutoff']} được tính hạn từ ngày làm việc "
            f"tiếp theo; nghỉ các ngày lễ, Tết theo quy định")


@bp.get("/due")
@login_required(*READERS)
def due_list():
    user = current_user()
    overseer = oversees_every_agency(user)
    try:
        scope = parse_scope(request.args.get("scope") or ("agency" if overseer else "mine"))
        soon_hours = parse_soon_hours(request.args.get("soon_hours"))
    except AppError as exc:
        abort(400, description=exc.message)
    now = clock.now()
    ref = request.args.get("agency") or None
    page = due_page(system(), user, now, scope=scope, agency_ref=ref, soon_hours=soon_hours)
    return render_template("due/index.html", lists=page.lists, scope=scope, now=now, agencies=page.agencies,
                           overseer=overseer, agency_ref=ref or "", soon_hours=soon_hours,
                           calendar_text=calendar_summary(page.calendar), local_time=local_time,
                           status_name=status_name, role_name=role_name)


menu.register("Hồ sơ đến hạn", "due_pages.due_list", READERS, order=15, badge=DUE)
