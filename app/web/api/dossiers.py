"""JSON API /api/v1 (see shared/API.md): a thin layer over the service layer."""
from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import func, or_, select

from app import clock
from app.engine.audit import verify_chain
from app.errors import BadRequest, Forbidden, NotFound
from app.adapters.models import Agency, Dossier, Event, HumanTask, ProcessVersion, User
from app.services.administration import accounts
from app.services.queries import inbox
from app.services.dossiers import handling as dossier_service
from app.domain.access import can_view_dossier
from app.services.queries.directory import agency_ref_matches
from app.domain.task_forms import form_schema
from app.domain.procedures import procedures_list
from app.services.queries.views import dossier_view, event_view, iso, task_view, user_view
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
        from app.domain.calendar import VN_TZ
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
    with system().db.session() as session:
        rows = session.scalars(select(Agency).order_by(Agency.id)).all()
        return jsonify([{"code": a.code, "slug": a.slug, "name": a.name, "level": a.level,
                         "parent": a.parent.code if a.parent else None} for a in rows])


@bp.get("/procedures")
def procedures():
    return jsonify(procedures_list())


# -- dossiers ------------------------------------------------------------------------------------------
def _load_visible(session, code: str, user: User) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or not can_view_dossier(user, dossier):
        raise NotFound("Không có hồ sơ này.", code="unknown_dossier")
    return dossier


@bp.post("/dossiers")
def create_dossier():
    user = api_user()
    upload = request.files.get("original")
    data = upload.read() if upload else None
    dossier, created = dossier_service.submit_dossier(
        system(), user, request.form.to_dict(), data, filename=(upload.filename if upload else "") or "original.pdf",
        idempotency_key=request.headers.get("Idempotency-Key"))
    with system().db.session() as session:
        dossier = session.get(Dossier, dossier.id)
        body = {"code": dossier.code, "status": dossier.status,
                "fee": {"pages": dossier.pages, "copies": dossier.copies, "amount_vnd": dossier.fee_amount},
                "due_at": iso(dossier.due_at)}
    return jsonify(body), 201 if created else 200


@bp.get("/dossiers/<code>")
def get_dossier(code):
    user = api_user()
    with system().db.session() as session:
        return jsonify(dossier_view(session, _load_visible(session, code, user), clock.now()))


@bp.get("/dossiers")
def list_dossiers():
    user = api_user()
    page = page_arg()
    query = select(Dossier)
    if user.has_role("auditor"):
        pass
    elif user.has_role("citizen"):
        query = query.where(Dossier.applicant_id == user.id)
    elif user.agency_id is not None and user.roles:
        query = query.where(Dossier.agency_id == user.agency_id)
    else:
        raise Forbidden("Bạn không được xem danh sách hồ sơ.")
    if status := request.args.get("status"):
        query = query.where(Dossier.status == status)
    if agency := request.args.get("agency"):
        query = query.join(Agency, Dossier.agency_id == Agency.id).where(agency_ref_matches(agency))
    if q := request.args.get("q"):
        like = f"%{q}%"
        query = query.where(or_(Dossier.code.ilike(like), Dossier.applicant_name.ilike(like)))
    with system().db.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(Dossier.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
        items = [{"code": d.code, "status": d.status, "agency": d.agency.code, "applicant": d.applicant_name,
                  "document_type": d.document_type, "submitted_at": iso(d.submitted_at), "due_at": iso(d.due_at),
                  "overdue": d.overdue} for d in rows]
    return jsonify({"items": items, "page": page, "page_size": PAGE_SIZE, "total": total})


@bp.post("/dossiers/<code>/supplement")
def supplement(code):
    user = api_user()
    upload = request.files.get("original")
    dossier = dossier_service.supplement(system(), user, code, upload.read() if upload else None,
                                         request.form.get("note"),
                                         filename=(upload.filename if upload else "") or "supplement.pdf")
    return jsonify({"code": dossier.code, "status": dossier.status})


@bp.get("/dossiers/<code>/result.pdf")
def result_pdf(code):
    user = api_user()
    with system().db.session() as session:
        dossier = _load_visible(session, code, user)
        if not dossier.result_sha256:
            raise NotFound("Hồ sơ chưa có bản sao được chứng thực.", code="no_result")
        if dossier.applicant_id == user.id and dossier.status != "returned":
            # The citizen receives the copy when the one-stop desk returns it (fee settled), not at sealing.
            raise NotFound("Bản sao chưa được trả kết quả.", code="no_result")
        data = system().files.get(dossier.result_sha256)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{code}.pdf"'})


# -- tasks ---------------------------------------------------------------------------------------------
@bp.get("/tasks")
def list_tasks():
    """The READY tasks the caller may work, soonest due first."""
    user = api_user()
    page = page_arg()
    now = clock.now()
    with system().db.session() as session:
        rows = inbox.api_tasks(session, user, now, role=request.args.get("role"), name=request.args.get("name"),
                               due_before=moment_arg("due_before"), page=page, page_size=PAGE_SIZE)
        return jsonify([task_view(t, now) for t in rows])


def _visible_task(session, task_id: str, user: User) -> HumanTask:
    row = session.get(HumanTask, task_id)
    if row is None or not can_view_dossier(user, row.dossier):
        raise NotFound("Không có công việc này (hoặc đã được xử lý).", code="unknown_task")
    return row


@bp.get("/tasks/<task_id>")
def get_task(task_id):
    user = api_user()
    with system().db.session() as session:
        row = _visible_task(session, task_id, user)
        view = task_view(row, clock.now())
        view["form"] = form_schema(row.name)
        view["dossier_detail"] = dossier_view(session, row.dossier, clock.now(), with_history=False)
        return jsonify(view)


@bp.post("/tasks/<task_id>/claim")
def claim(task_id):
    row = dossier_service.claim_task(system(), api_user(), task_id)
    return jsonify({"id": row.id, "assignee": api_user().username})


@bp.post("/tasks/<task_id>/release")
def release(task_id):
    row = dossier_service.claim_task(system(), api_user(), task_id, release=True)
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
    dossier = dossier_service.complete_task(system(), user, task_id, data, pin,
                                            corrected_scan=upload.read() if upload else None,
                                            filename=(upload.filename if upload else "") or "corrected.pdf")
    now = clock.now()
    with system().db.session() as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.dossier_id == dossier.id)).all()
        return jsonify({"dossier": {"code": dossier.code, "status": dossier.status},
                        "next_tasks": [task_view(t, now) for t in rows]})


# -- processes and audit -------------------------------------------------------------------------------
def require_role(user: User, *roles: str) -> None:
    if not any(user.has_role(r) for r in roles):
        raise Forbidden("Bạn không có quyền thực hiện thao tác này.")


@bp.get("/processes")
def processes():
    require_role(api_user(), "admin", "auditor")
    with system().db.session() as session:
        rows = session.scalars(select(ProcessVersion).order_by(ProcessVersion.variant, ProcessVersion.version))
        return jsonify([{"variant": v.variant, "version": v.version, "sha256": v.sha256, "active": v.active,
                         "created_at": iso(v.created_at), "created_by": v.created_by} for v in rows])


@bp.get("/processes/<variant>/<int:version>.bpmn")
def process_xml(variant, version):
    require_role(api_user(), "admin", "auditor")
    with system().db.session() as session:
        row = session.scalar(select(ProcessVersion).where(ProcessVersion.variant == variant,
                                                          ProcessVersion.version == version))
        if row is None:
            raise NotFound("Không có phiên bản quy trình này.", code="unknown_process_version")
        return Response(row.bpmn_xml, mimetype="application/xml")


@bp.get("/audit/events")
def audit_events():
    require_role(api_user(), "auditor")
    page = page_arg()
    query = select(Event).join(Dossier, Event.dossier_id == Dossier.id)
    if code := request.args.get("dossier"):
        query = query.where(Dossier.code == code)
    if actor := request.args.get("actor"):
        query = query.where(Event.actor == actor)
    if kind := request.args.get("kind"):
        query = query.where(Event.kind == kind)
    if start := moment_arg("from"):
        query = query.where(Event.at >= start)
    if end := moment_arg("to"):
        query = query.where(Event.at <= end)
    with system().db.session() as session:
        rows = session.scalars(query.order_by(Event.at, Event.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
        return jsonify([{**event_view(e), "dossier": e.dossier.code} for e in rows])


@bp.get("/audit/verify")
def audit_verify():
    require_role(api_user(), "auditor", "admin")
    with system().db.session() as session:
        return jsonify(verify_chain(session).as_dict())


# -- public verification -------------------------------------------------------------------------------
@bp.post("/verify")
def verify_pdf():
    from app.services.verification import verify_document
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("Cần tải lên tệp PDF (trường 'file').", code="missing_file")
    return jsonify(verify_document(system(), upload.read()))


@bp.get("/verify/<int:number>")
def verify_number(number):
    from app.services.verification import lookup_entry
    entry = lookup_entry(system(), number, request.args.get("register"), request.args.get("date"))
    if entry is None:
        raise NotFound("Không có số chứng thực này trong sổ.", code="unknown_certification")
    return jsonify(entry)
