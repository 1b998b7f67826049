"""The statistics page: per agency and period, a server-rendered SVG chart (no script) and an Excel export."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from markupsafe import Markup

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
    filters = _filters()
    shown = report_service.report_page(system(), current_user(), filters["from"] or None, filters["to"] or None,
                                       filters["agency"] or None)
    if shown.error is not None:
        return render_template("reports/index.html", error=shown.error.message, filters=filters,
                               choices=shown.choices, report=None, columns=report_service.COLUMNS), shown.error.status
    report = shown.report
    filters.update({"from": report.period.start.isoformat(), "to": report.period.end.isoformat()})
    return render_template("reports/index.html", error=None, filters=filters, choices=shown.choices, report=report,
                           columns=report_service.COLUMNS, chart=Markup(report_service.chart_svg(report)))


@bp.get("/summary.xlsx")
@login_required(*ROLES)
def export():
    filters = _filters()
    period = report_service.parse_period(filters["from"] or None, filters["to"] or None)
    report = report_service.report_for(system(), current_user(), filters["agency"] or None, period)
    name = f"thong-ke-{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}.xlsx"
    return Response(report_service.report_xlsx(report),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
