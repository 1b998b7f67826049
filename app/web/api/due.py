"""JSON API (/api/v1) for deadlines: due dossiers (hồ sơ đến hạn), working calendars, the timer scheduler."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app import clock
from app.errors import BadRequest, Forbidden
from app.services.administration import calendars as agency_calendar
from app.services.queries.due import due_report, parse_scope, parse_soon_hours
from app.services.queries.scheduler import timer_status
from app.services.timers import tick
from app.web.common.auth import api_user, system

bp = Blueprint("api_due", __name__, url_prefix="/api/v1")


def _json_object() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON (lịch làm việc).", code="invalid_json")
    return data


@bp.get("/due")
def due():
    """Due dossiers: overdue, due soon, due today, with the working time left (scope=agency|mine)."""
    user = api_user()
    scope = parse_scope(request.args.get("scope"))
    soon_hours = parse_soon_hours(request.args.get("soon_hours"))
    lists = due_report(system(), user, clock.now(), scope=scope, agency_ref=request.args.get("agency") or None,
                       soon_hours=soon_hours)
    return jsonify(lists.as_dict())


# -- working calendars -----------------------------------------------------------------------------------------

@bp.get("/agencies/<ref>/calendar")
def agency_calendar_get(ref):
    """An agency's working calendar (its own settings and the calendar in effect)."""
    return jsonify(agency_calendar.readable_calendar(system(), api_user(), ref))


@bp.put("/agencies/<ref>/calendar")
def agency_calendar_put(ref):
    """Set an agency's working hours, weekdays, cutoff, extra days off and make-up days (admin)."""
    return jsonify(agency_calendar.save_config(system(), api_user(), ref, _json_object()))


@bp.delete("/agencies/<ref>/calendar")
def agency_calendar_delete(ref):
    """Drop an agency's own calendar: it follows the default again (admin)."""
    return jsonify(agency_calendar.reset_config(system(), api_user(), ref))


@bp.get("/calendar")
def default_calendar_get():
    """The default working calendar every agency starts from."""
    return jsonify(agency_calendar.readable_calendar(system(), api_user(), None))


@bp.put("/calendar")
def default_calendar_put():
    """Set the default working calendar, e.g. a province-wide extra day off or make-up day (admin)."""
    return jsonify(agency_calendar.save_config(system(), api_user(), None, _json_object()))


@bp.delete("/calendar")
def default_calendar_delete():
    """Back to the built-in calendar (Mon-Fri 07:30-11:30, 13:30-17:00, cutoff 15:00) (admin)."""
    return jsonify(agency_calendar.reset_config(system(), api_user(), None))


# -- the scheduler -------------------------------------------------------------------------------------------

def _require_operator() -> None:
    user = api_user()
    if not (user.has_role("admin") or user.has_role("auditor")):
        raise Forbidden("Chỉ quản trị viên hoặc kiểm tra viên mới xem được bộ hẹn giờ.")


@bp.get("/scheduler")
def scheduler_status():
    """Timer state: how many are due now, the next one, dossiers whose timers failed and wait for a retry."""
    _require_operator()
    body = timer_status(system(), clock.now())
    running = current_app.extensions.get("certcopy_scheduler")
    body["in_app"] = None if running is None else {
        "running": running.running, "interval_seconds": running.interval, "ticks": running.ticks,
        "last_tick": running.last_report.now.isoformat() if running.last_report else None,
        "last_error": running.last_error}
    return jsonify(body)


@bp.post("/scheduler/tick")
def scheduler_tick():
    """Run one tick now (admin): fire due timers, send due-soon notices, run the periodic jobs."""
    user = api_user()
    if not user.has_role("admin"):
        raise Forbidden("Chỉ quản trị viên mới chạy được bộ hẹn giờ.")
    report = tick(system(), clock.now())
    return jsonify({"now": report.now.isoformat(), "fired": report.fired, "failed": report.failed,
                    "skipped": report.skipped, "due_soon": report.due_soon, "jobs": report.jobs,
                    "errors": report.errors})
