"""JSON API /api/v1 (see shared/API.md): a thin layer over the service layer."""
from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request

from app import clock
from app.adapters.models import User
from app.domain.calendar import VN_TZ
from app.domain.procedures import procedures_list
from app.errors import BadRequest, Forbidden, NotFound
from app.services.administration import accounts
from app.services.dossiers import tasks
from app.services.dossiers.filing import file_dossier
from app.services.queries import dossiers as dossier_reads
from app.services.queries.agencies import agency_choices
from app.services.queries.audit_export import EventFilter, event_list
from app.services.queries.audit_history import chain_check
from app.services.queries.inbox import api_task_views
from app.services.queries.search import search_dossiers
from app.services.queries.views import iso, user_view
from app.services.routing.versions import version_list, version_xml
from app.services.verification import lookup_entry, verify_document
from app.web.common.auth import api_user, system

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PAGE_SIZE = 50


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", code="invalid_json")
    return data


def page_arg() -> int:
    try:
        page = int(request.args.get("page", 1))
    except ValueError:
        raise BadRequest("Tham số 'page' phải là số nguyên.", code="invalid_page") from None
    if page < 1:
        raise BadRequest("Tham số 'page' phải từ 1.", code="invalid_page")
    return page


def moment_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"Tham số '{name}' phải là thời điểm ISO-8601.", code="invalid_parameter") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value


# -- authentication ------------------------------------------------------------------------------------
@bp.post("/auth/token")
def token():
    body = json_body()
    user = accounts.authenticate(system(), body.get("username"), body.get("password"))
    tok, expires = current_app.extensions["certcopy_tokens"].issue(user.id, user.token_generation)
    return jsonify({"token": tok, "expires_at": iso(expires), "user": user_view(user)})


@bp.post("/auth/register")
def register():
    user = accounts.register_citizen(system(), json_body())
    return jsonify({"username": user.username, "full_name": user.full_name}), 201


# -- reference data ------------------------------------------------------------------------------------
@bp.get("/agencies")
def agencies():
    return jsonify([a.as_dict() for a in agency_choices(system())])


@bp.get("/procedures")
def procedures():
    return jsonify(procedures_list())


# -- dossiers ------------------------------------------------------------------------------------------
@bp.post("/dossiers")
def create_dossier():
    user = api_user()
    upload = request.files.get("original")
    dossier, created = file_dossier(system(), user, request.form.to_dict(), upload.read() if upload else None,
                                    (upload.filename if upload else "") or "original.pdf",
                                    idempotency_key=request.headers.get("Idempotency-Key"))
    body = {"code": dossier.code, "status": dossier.status, "fee": dossier.fee_view(), "due_at": iso(dossier.due_at)}
    return jsonify(body), 201 if created else 200


@bp.get("/dossiers/<code>")
def get_dossier(code):
    return jsonify(dossier_reads.dossier_detail(system(), api_user(), code, clock.now()))


@bp.get("/dossiers")
def list_dossiers():
    """Dossiers the caller may see, newest first: staff their agency's, auditors all, a citizen their own.
    ?q= any part of the code, the applicant's name, their ID number or the document (every word must match);
    ?status=, ?agency= (code or slug), ?page=."""
    user = api_user()
    found = search_dossiers(system(), user, request.args.get("q"), status=request.args.get("status") or None,
                            agency=request.args.get("agency") or None, page=page_arg(), page_size=PAGE_SIZE)
    items = [{"code": d.code, "status": d.status, "agency": d.agency, "applicant": d.applicant,
              "document_type": d.document_type, "submitted_at": iso(d.submitted_at), "due_at": iso(d.due_at),
              "overdue": d.overdue} for d in found.items]
    return jsonify({"items": items, "page": found.page, "page_size": found.page_size, "total": found.total})


@bp.post("/dossiers/<code>/supplement")
def supplement(code):
    user = api_user()
    upload = request.files.get("original")
    dossier = tasks.supplement(system(), user, code, upload.read() if upload else None, request.form.get("note"),
                               filename=(upload.filename if upload else "") or "supplement.pdf")
    return jsonify({"code": dossier.code, "status": dossier.status})


@bp.get("/dossiers/<code>/result.pdf")
def result_pdf(code):
    data = dossier_reads.certified_copy(system(), api_user(), code)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{code}.pdf"'})


# -- tasks ---------------------------------------------------------------------------------------------
@bp.get("/tasks")
def list_tasks():
    """The READY tasks the caller may work, soonest due first."""
    user = api_user()
    page = page_arg()
    return jsonify(api_task_views(system(), user, clock.now(), role=request.args.get("role"),
                                  name=request.args.get("name"), due_before=moment_arg("due_before"), page=page,
                                  page_size=PAGE_SIZE))


@bp.get("/tasks/<task_id>")
def get_task(task_id):
    return jsonify(dossier_reads.task_detail(system(), api_user(), task_id, clock.now()))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id):
    row = tasks.claim_task(system(), api_user(), task_id)
    return jsonify({"id": row.id, "assignee": api_user().username})


@bp.post("/tasks/<task_id>/release")
def release(task_id):
    row = tasks.claim_task(system(), api_user(), task_id, release=True)
    return jsonify({"id": row.id, "assignee": None})


@bp.post("/tasks/<task_id>/complete")
def complete(task_id):
    """Complete a task: JSON {"data", "pin"}, or multipart with a `data` JSON field, `pin` and an optional
    corrected scan `original` (accepted at `rework`)."""
    user = api_user()
    upload = None
    if request.mimetype == "multipart/form-data":
        try:
            data = json.loads(request.form.get("data") or "{}")
        except ValueError:
            raise BadRequest("Trường 'data' phải là JSON.", code="invalid_json") from None
        pin = request.form.get("pin")
        upload = request.files.get("original")
    else:
        body = json_body()
        data, pin = body.get("data", {}), body.get("pin")
    if pin is not None and not isinstance(pin, str):
        raise BadRequest("'pin' phải là chuỗi.", code="invalid_pin")
    dossier = tasks.complete_task(system(), user, task_id, data, pin,
                                  corrected_scan=upload.read() if upload else None,
                                  filename=(upload.filename if upload else "") or "corrected.pdf")
    return jsonify({"dossier": {"code": dossier.code, "status": dossier.status},
                    "next_tasks": dossier_reads.open_tasks(system(), dossier.code, clock.now())})


# -- processes and audit -------------------------------------------------------------------------------
def require_role(user: User, *roles: str) -> None:
    if not any(user.has_role(r) for r in roles):
        raise Forbidden("Bạn không có quyền thực hiện thao tác này.")


@bp.get("/processes")
def processes():
    require_role(api_user(), "admin", "auditor")
    return jsonify(version_list(system()))


@bp.get("/processes/<variant>/<int:version>.bpmn")
def process_xml(variant, version):
    require_role(api_user(), "admin", "auditor")
    return Response(version_xml(system(), variant, version), mimetype="application/xml")


@bp.get("/audit/events")
def audit_events():
    require_role(api_user(), "auditor")
    page = page_arg()
    filters = EventFilter(dossier=request.args.get("dossier") or None, actor=request.args.get("actor") or None,
                          kind=request.args.get("kind") or None, start=moment_arg("from"), end=moment_arg("to"))
    return jsonify(event_list(system(), filters, page, PAGE_SIZE))


@bp.get("/audit/verify")
def audit_verify():
    require_role(api_user(), "auditor", "admin")
    return jsonify(chain_check(system()).as_dict())


# -- public verification -------------------------------------------------------------------------------
@bp.post("/verify")
def verify_pdf():
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("Cần tải lên tệp PDF (trường 'file').", code="missing_file")
    return jsonify(verify_document(system(), upload.read()))


@bp.get("/verify/<int:number>")
def verify_number(number):
    entry = lookup_entry(system(), number, request.args.get("register"), request.args.get("date"))
    if entry is None:
        raise NotFound("Không có số chứng thực này trong sổ.", code="unknown_certification")
    return jsonify(entry)
