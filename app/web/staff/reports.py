"""The statistics page: per agency and period, a server-rendered SVG chart (no script) and an Excel export."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from markupsafe import Markup

from app.errors import AppError
from app.services.queries import reports as report_service
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.session import current_user, login_required

bp = Blueprint("reports_pages", __name__, url_prefix="/reports")
ROLES = ("admin", "auditor", "leader")

menu.register("Báo cáo thống kê", "reports_pages.index", ROLES, order=90)


def _filters() -> dict:
    return {k: request.args.get(k, "") for k in ("from", "to", "agency")}


@bp.get("/")
@login_required(*ROLES)
def index():
    user = current_user()
    filters = _filters()
    with system().db.session() as session:
        choices = report_service.reportable_agencies(session, user)
        choices = [{"code": a.code, "name": a.name} for a in choices]
        try:
            period = report_service.parse_period(filters["from"] or None, filters["to"] or None)
            agencies = report_service.reportable_agencies(session, user, filters["agency"] or None)
            report = report_service.build_report(session, agencies, period)
        except AppError as exc:
            return render_template("reports/index.html", error=exc.message, filters=filters, choices=choices,
                                   report=None, columns=report_service.COLUMNS), exc.status
    filters.update({"from": report.period.start.isoformat(), "to": report.period.end.isoformat()})
    return render_template("reports/index.html", error=None, filters=filters, choices=choices, report=report,
                           columns=report_service.COLUMNS, chart=Markup(report_service.chart_svg(report)))


@bp.get("/summary.xlsx")
@login_required(*ROLES)
def export():
    filters = _filters()
    period = report_service.parse_period(filters["from"] or None, filters["to"] or None)
    with system().db.session() as session:
        agencies = report_service.reportable_agencies(session, current_user(), filters["agency"] or None)
        report = report_service.build_report(session, agencies, period)
    name = f"thong-ke-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
    return Response(report_service.report_xlsx(report),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
