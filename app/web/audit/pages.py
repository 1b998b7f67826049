"""Auditor pages (read-only): search events across dossiers, export them, a dossier's full history with its
path on the diagram, and the hash-chain verification."""
from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from sqlalchemy import select

from app import clock
from app.engine.audit import EVENT_KINDS, verify_chain
from app.errors import AppError
from app.adapters.models import Agency, Dossier
from app.services.queries import audit_export, audit_history
from app.web.common.auth import system
from app.web.common.menu import register as menu_register
from app.web.common.session import login_required

bp = Blueprint("audit_pages", __name__, url_prefix="/audit")
menu_register("Tra cứu nhật ký", "audit_pages.search", ("auditor",), order=85)
menu_register("Kiểm tra toàn vẹn nhật ký", "audit_pages.verify", ("auditor", "admin"), order=86)


@bp.get("/")
@login_required("auditor")
def search():
    if code := (request.args.get("code") or "").strip():
        return redirect(url_for("audit_pages.dossier", code=code))
    error, rows, total = None, [], 0
    page = 1
    try:
        filters = audit_export.EventFilter.from_args(request.args)
        page = audit_export.page_arg(request.args)
    except AppError as exc:
        filters, error = audit_export.EventFilter(), exc.message
    with system().db.session() as session:
        if error is None:
            rows, total = audit_export.search(session, filters, page)
            rows = [audit_export.row_view(r) for r in rows]
        agencies = session.scalars(select(Agency).order_by(Agency.name)).all()
    for row in rows:
        row["at_text"] = audit_history.vn_time(_parse(row["at"]))
    pages = max(1, -(-total // audit_export.PAGE_SIZE))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit/search.html", rows=rows, total=total, page=page, pages=pages, args=args,
                           agencies=agencies, kinds=EVENT_KINDS, kind_names=audit_export.KIND_NAMES, error=error)


def _parse(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso)


@bp.get("/events.<fmt>")
@login_required("auditor")
def export(fmt):
    filters = audit_export.EventFilter.from_args(request.args)
    with system().db.session() as session:
        if fmt == "csv":
            body, mimetype = audit_export.to_csv(session, filters), "text/csv; charset=utf-8"
        elif fmt == "xlsx":
            body = audit_export.to_xlsx(session, filters)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            return render_template("error.html", title="Không tìm thấy trang",
                                   message="Định dạng xuất phải là CSV hoặc Excel.", status=404), 404
    name = f"nhat-ky-{clock.now():%Y%m%d-%H%M}.{fmt}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/dossiers/<code>")
@login_required("auditor")
def dossier(code):
    with system().db.session() as session:
        history = audit_history.dossier_history(session, system(), code, clock.now())
    return render_template("audit/dossier.html", h=history)


@bp.get("/verify")
@login_required("auditor", "admin")
def verify():
    with system().db.session() as session:
        report = verify_chain(session)
        dossiers = session.scalar(select(Dossier.id).limit(1)) is not None
    return render_template("audit/verify.html", report=report, checked_at=audit_history.vn_time(clock.now()),
                           any_dossier=dossiers)
