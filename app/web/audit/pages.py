"""Auditor pages (read-only): search events across dossiers, export them, a dossier's full history with its
path on the diagram, and the hash-chain verification."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, redirect, render_template, request, url_for

from app import clock
from app.engine.audit import EVENT_KINDS
from app.errors import AppError
from app.services.queries import audit_export, audit_history
from app.web.common.auth import system
from app.web.common.menu import register as menu_register
from app.web.common.session import login_required

bp = Blueprint("audit_pages", __name__, url_prefix="/audit")
menu_register("Tra cứu nhật ký", "audit_pages.search", ("auditor",), order=85)
menu_register("Kiểm tra toàn vẹn nhật ký", "audit_pages.verify", ("auditor", "admin"), order=86)
EXPORT_FORMATS = ("csv", "xlsx")


@bp.get("/")
@login_required("auditor")
def search():
    if code := (request.args.get("code") or "").strip():
        return redirect(url_for("audit_pages.dossier", code=code))
    error, filters, page = None, None, 1
    try:
        filters = audit_export.EventFilter.from_args(request.args)
        page = audit_export.page_arg(request.args)
    except AppError as exc:
        filters, error = None, exc.message
    rows, total, agencies = audit_export.event_search(system(), filters, page)
    for row in rows:
        row["at_text"] = audit_history.vn_time(datetime.fromisoformat(row["at"]))
    pages = max(1, -(-total // audit_export.PAGE_SIZE))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit/search.html", rows=rows, total=total, page=page, pages=pages, args=args,
                           agencies=agencies, kinds=EVENT_KINDS, kind_names=audit_export.KIND_NAMES, error=error)


@bp.get("/events.<fmt>")
@login_required("auditor")
def export(fmt):
    filters = audit_export.EventFilter.from_args(request.args)
    if fmt not in EXPORT_FORMATS:
        return render_template("error.html", title="Không tìm thấy trang",
                               message="Định dạng xuất phải là CSV hoặc Excel.", status=404), 404
    body, mimetype = audit_export.export(system(), filters, fmt)
    name = f"nhat-ky-{clock.now():%Y%m%d-%H%M}.{fmt}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/dossiers/<code>")
@login_required("auditor")
def dossier(code):
    return render_template("audit/dossier.html", h=audit_history.history_of(system(), code, clock.now()))


@bp.get("/verify")
@login_required("auditor", "admin")
def verify():
    return render_template("audit/verify.html", report=audit_history.chain_check(system()),
                           checked_at=audit_history.vn_time(clock.now()))
