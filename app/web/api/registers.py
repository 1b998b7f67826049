"""JSON API /api/v1/registers: the clerk's certification registers (sổ chứng thực)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app.adapters.models import Register
from app.services import registers as register_service
from app.services.registers import today_vn
from app.web.api.dossiers import json_body
from app.web.common.auth import api_user, system

bp = Blueprint("api_registers", __name__, url_prefix="/api/v1")


@bp.get("/registers")
def list_registers():
    """The registers the caller may see (the clerk's agency; every agency for auditors). ?usable=true: only
    the open registers within their dates, the ones offered at the seal step."""
    user = api_user()
    query = register_service.visible_query(user, request.args.get("agency"))
    today = today_vn()
    with system().db.session() as session:
        rows = session.scalars(query.order_by(Register.opened_on.desc(),
                                              Register.id.desc())).all()
        views = [register_service.register_view(session, r, today) for r in rows]
    if request.args.get("usable", "").lower() in ("1", "true", "yes"):
        views = [v for v in views if v["usable"]]
    if status := request.args.get("status"):
        views = [v for v in views if v["status"] == status]
    return jsonify(views)


@bp.post("/registers")
def create_register():
    """Create a register: {"name": "01/2024", "start_number": 1, "opened_on", "closes_on"}."""
    register = register_service.create_register(system(), api_user(), json_body())
    with system().db.session() as session:
        row = session.get(Register, register.id)
        return jsonify(register_service.register_view(session, row, today_vn(), with_entries=True)), 201


@bp.get("/registers/<int:register_id>")
def get_register(register_id):
    """One register with its entries (STT, applicant, document certified, number, date)."""
    user = api_user()
    with system().db.session() as session:
        register = register_service.get_visible(session, user, register_id)
        return jsonify(register_service.register_view(session, register, today_vn(), with_entries=True))


@bp.patch("/registers/<int:register_id>")
def update_register(register_id):
    """Edit a register; the name and start number are locked once a number was given (409)."""
    register_service.update_register(system(), api_user(), register_id, json_body())
    with system().db.session() as session:
        row = session.get(Register, register_id)
        return jsonify(register_service.register_view(session, row, today_vn(), with_entries=True))


@bp.delete("/registers/<int:register_id>")
def delete_register(register_id):
    """Delete a register while it is empty (409 otherwise)."""
    register_service.delete_register(system(), api_user(), register_id)
    return Response(status=204)


@bp.get("/registers/<int:register_id>/export.xlsx")
def export_register(register_id):
    """The register as an Excel file: header block and the table of entries."""
    user = api_user()
    with system().db.session() as session:
        register = register_service.get_visible(session, user, register_id)
        data = register_service.export_xlsx(session, register)
        filename = register_service.export_filename(register)
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
