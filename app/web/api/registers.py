"""JSON API /api/v1/registers: the clerk's certification registers (sổ chứng thực)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app.services import registers as register_service
from app.web.api.dossiers import json_body
from app.web.common.auth import api_user, system

bp = Blueprint("api_registers", __name__, url_prefix="/api/v1")


@bp.get("/registers")
def list_registers():
    """The registers the caller may see (the clerk's agency; every agency for auditors). ?usable=true: only
    the open registers within their dates, the ones offered at the seal step."""
    return jsonify(register_service.register_list(
        system(), api_user(), request.args.get("agency"),
        usable_only=request.args.get("usable", "").lower() in ("1", "true", "yes"),
        status=request.args.get("status") or None))


@bp.post("/registers")
def create_register():
    """Create a register: {"name": "01/2024", "start_number": 1, "opened_on", "closes_on"}."""
    register = register_service.create_register(system(), api_user(), json_body())
    return jsonify(register_service.register_detail(system(), api_user(), register.id)), 201


@bp.get("/registers/<int:register_id>")
def get_register(register_id):
    """One register with its entries (STT, applicant, document certified, number, date)."""
    return jsonify(register_service.register_detail(system(), api_user(), register_id))


@bp.patch("/registers/<int:register_id>")
def update_register(register_id):
    """Edit a register; the name and start number are locked once a number was given (409)."""
    register_service.update_register(system(), api_user(), register_id, json_body())
    return jsonify(register_service.register_detail(system(), api_user(), register_id))


@bp.delete("/registers/<int:register_id>")
def delete_register(register_id):
    """Delete a register while it is empty (409 otherwise)."""
    register_service.delete_register(system(), api_user(), register_id)
    return Response(status=204)


@bp.get("/registers/<int:register_id>/export.xlsx")
def export_register(register_id):
    """The register as an Excel file: header block and the table of entries."""
    data, filename = register_service.register_export(system(), api_user(), register_id)
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
