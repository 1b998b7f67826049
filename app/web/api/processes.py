"""JSON API for redesigning routing (admin) and exporting the audit trail (auditor), under /api/v1.

GET /processes and GET /processes/{variant}/{version}.bpmn live in app/web/api/dossiers.py; this blueprint adds
the writes.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app import clock
from app.errors import BadRequest, Conflict, Forbidden
from app.services.queries import audit_export, audit_history
from app.services.routing import redesign
from app.web.common.auth import api_user, system

bp = Blueprint("api_processes", __name__, url_prefix="/api/v1")


def _require(*roles: str):
    user = api_user()
    if not any(user.has_role(r) for r in roles):
        raise Forbidden("Bạn không có quyền thực hiện thao tác này.")
    return user


def _bpmn_body() -> bytes:
    upload = request.files.get("file")
    if upload is not None:
        return upload.read()
    data = request.get_data(cache=False)
    if not data:
        raise BadRequest("Cần gửi nội dung BPMN (thân yêu cầu XML, hoặc tệp ở trường 'file').", code="missing_bpmn")
    return data


@bp.post("/processes/<variant>")
def save_process(variant):
    user = _require("admin")
    redesign.check_variant(variant)
    version, report, created = redesign.save_version(system(), variant, _bpmn_body(), user.username)
    return jsonify({"variant": variant, "version": version.version, "sha256": version.sha256,
                    "active": version.active, "created": created, "report": report.as_dict()}), 201 if created else 200


@bp.get("/processes/<variant>/<int:version>/check")
def check_process(variant, version):
    _require("admin", "auditor")
    return jsonify(redesign.version_check(system(), variant, version))


@bp.post("/processes/<variant>/<int:version>/dry-run")
def dry_run(variant, version):
    user = _require("admin")
    return jsonify(redesign.dry_run(system(), variant, version, user.username))


@bp.get("/processes/<variant>/<int:version>/dry-run")
def last_dry_run(variant, version):
    _require("admin", "auditor")
    return jsonify(redesign.last_dry_run_report(system(), variant, version))


@bp.post("/processes/<variant>/<int:version>/activate")
def activate(variant, version):
    user = _require("admin")
    return jsonify(redesign.activate_version(system(), variant, version, user.username))


@bp.get("/processes/<variant>/<int:version>/migration")
def migration_plans(variant, version):
    _require("admin")
    return jsonify(redesign.migration_plans(system(), variant, version))


@bp.post("/processes/<variant>/<int:version>/migrate")
def migrate(variant, version):
    user = _require("admin")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", code="invalid_json")
    result = redesign.migrate_dossiers(system(), variant, version, body.get("dossiers"), user)
    if not result["migrated"]:
        raise Conflict("Không hồ sơ nào được chuyển sang phiên bản mới.", code="migration_refused",
                       details={"refused": result["refused"]})
    return jsonify(result)


# -- audit ------------------------------------------------------------------------------------------------
@bp.get("/audit/events/export")
def export_events():
    _require("auditor")
    filters = audit_export.EventFilter.from_args(request.args)
    fmt = request.args.get("format", "csv")
    body, mimetype = audit_export.export(system(), filters, fmt)
    name = f"nhat-ky-{clock.now():%Y%m%d-%H%M}.{fmt}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/audit/search")
def search_events():
    _require("auditor")
    filters = audit_export.EventFilter.from_args(request.args)
    page = audit_export.page_arg(request.args)
    items, total = audit_export.search_page(system(), filters, page)
    return jsonify({"items": items, "page": page, "page_size": audit_export.PAGE_SIZE, "total": total})


@bp.get("/audit/dossiers/<code>")
def dossier_history(code):
    _require("auditor")
    return jsonify(audit_history.history_of(system(), code, clock.now(), as_json=True))
