"""JSON API /api/v1/reports: statistics per agency and period, as JSON and as an Excel file."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app.services.queries import reports as report_service
from app.web.common.auth import api_user, system

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")


def _report():
    user = api_user()
    period = report_service.parse_period(request.args.get("from"), request.args.get("to"))
    return report_service.report_for(system(), user, request.args.get("agency"), period)


@bp.get("/reports/summary")
def summary():
    """Per agency (?agency=) and period (?from=&to=, YYYY-MM-DD): filed, received, returned on time and late,
    refused, cancelled, average processing time in working hours, fees collected."""
    return jsonify(_report().as_dict())


@bp.get("/reports/summary.xlsx")
def summary_xlsx():
    """The same statistics as an Excel file."""
    report = _report()
    name = f"thong-ke-{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}.xlsx"
    return Response(report_service.report_xlsx(report),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
