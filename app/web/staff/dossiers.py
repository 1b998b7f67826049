"""Staff pages about one dossier: search (Tra cứu hồ sơ), the dossier page (details, documents, history
timeline, BPMN diagram with the path taken), its documents shown inline, and the intake receipt."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from app import clock
from app.adapters.models import STAFF_ROLES
from app.domain.access import may_work
from app.engine.runtime import FINAL_STATUSES
from app.errors import AppError
from app.services.queries.dossier_page import staff_document, staff_document_page, staff_dossier_page
from app.services.queries.dossiers import intake_receipt
from app.services.queries.search import MAX_QUERY, search_dossiers
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.format import STATUS_NAMES, choice_title, local_time, role_name
from app.web.common.session import current_user, login_required
from app.web.staff.diagram import EVENT_KINDS_DONE, path_markers, process_graph

RECIPIENT_NAMES = {"citizen": "người yêu cầu", "task_holder": "người đang xử lý hồ sơ"}
bp = Blueprint("staff_dossiers", __name__, url_prefix="/staff/dossiers")
VIEWERS = (*STAFF_ROLES, "auditor")
PAGE_SIZE = 25


def _what(event, graph, people: dict, registers: dict) -> str | None:
    data = event.data or {}
    name = graph.names.get(event.task, event.task) if event.task else ""
    kind = event.kind
    if kind == "submitted":
        return "Tạo hồ sơ trực tiếp tại Bộ phận một cửa" if data.get("walk_in") else "Nộp hồ sơ trực tuyến"
    if kind == "task_completed":
        if "decision" in data and data["decision"]:
            return f"{name}: {choice_title(event.task, 'decision', data['decision'])}"
        if event.task == "assign":
            signer = data.get("signer")
            return f"{name}: giao cho {people.get(signer, signer)}"
        if event.task == "seal":
            return f"{name}: chọn sổ {registers.get(data.get('register'), data.get('register'))}"
        if event.task == "return":
            return f"{name} (đã thu lệ phí)" if data.get("fee_paid") else name
        if event.task == "supplement":
            return f"{name}: đã tải bản scan bổ sung"
        return name
    if kind == "service_completed":
        result = data.get("result")
        operator = data.get("operator")
        if operator == "notify":
            return None  # the `notified` event that follows says who was told
        if operator == "seal_copy" and isinstance(result, dict):
            return f"{name}: số chứng thực {result.get('certification_number')}/ĐT, quyển {result.get('register')}"
        if operator == "sign_copy" and isinstance(result, dict):
            signer = result.get("signer")
            return f"{name}: {people.get(signer, signer)}"
        if operator == "receive_dossier" and isinstance(result, str):
            from datetime import datetime
            try:
                return f"{name}: hạn xử lý {local_time(datetime.fromisoformat(result))}"
            except ValueError:
                return name
        return name
    if kind == "notified":
        told = ", ".join(people.get(t, t) for t in data.get("to", [])) or "không có người nhận"
        target = RECIPIENT_NAMES.get(data.get("recipient")) or role_name(data.get("recipient"))
        return f"Gửi thông báo tới {target}: {told}"
    if kind == "timer_fired":
        return name or "Đến hạn"
    if kind in ("claimed", "released"):
        return f"{'Nhận việc' if kind == 'claimed' else 'Trả lại việc'} «{name}»"
    if kind == "cancelled":
        return "Hồ sơ bị hủy"
    if kind == "migrated":
        return "Chuyển sang phiên bản quy trình mới"
    return kind


def timeline(events, graph, people: dict, registers: dict) -> list[dict]:
    rows = []
    for event in events:
        what = _what(event, graph, people, registers)
        if what is None:
            continue
        data = event.data or {}
        rows.append({"seq": event.seq, "at": event.at, "actor": event.actor,
                     "actor_name": people.get(event.actor, "Hệ thống" if event.actor == "system" else event.actor),
                     "role": role_name(event.role) if event.role else ("Hệ thống" if event.actor == "system" else ""),
                     "kind": event.kind, "what": what, "reason": data.get("reason") or data.get("note") or ""})
    return rows


def diagram_data(dossier, graph, events, tasks) -> dict:
    xml = dossier.process_version.bpmn_xml
    markers = path_markers(graph, [e.task for e in events if e.kind in EVENT_KINDS_DONE and e.task],
                           [t.name for t in tasks], dossier.status if dossier.status in FINAL_STATUSES else None)
    return {"xml": xml, "done": markers.done, "current": markers.current, "flows": markers.flows}


# -- pages ---------------------------------------------------------------------------------------------------
@bp.get("")
@login_required(*STAFF_ROLES)
def search():
    """Tra cứu hồ sơ: the agency's dossiers by code, applicant, ID number or document, newest first."""
    user = current_user()
    q = (request.args.get("q") or "").strip()
    status = request.args.get("status") or ""
    if status not in STATUS_NAMES:
        status = ""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    context = dict(q=q[:MAX_QUERY], status=status, page=page, statuses=STATUS_NAMES, items=[], has_next=False)
    try:
        found = search_dossiers(system(), user, q, status=status or None, page=page, page_size=PAGE_SIZE)
    except AppError as exc:
        if exc.status == 403:
            raise
        return render_template("staff/dossiers.html", error=exc.message, **context), exc.status
    return render_template("staff/dossiers.html", **{**context, "items": found.items, "has_next": found.has_next})


@bp.get("/<code>")
@login_required(*VIEWERS)
def dossier(code):
    user = current_user()
    now = clock.now()
    found = staff_dossier_page(system(), user, code)
    row = found.dossier
    graph = process_graph(row.process_version.bpmn_xml)
    task_rows = [{"id": t.id, "name": t.name, "title": t.title, "role": t.role, "due_at": t.due_at,
                  "assignee": t.assignee.full_name if t.assignee else None,
                  "workable": may_work(user, row, t) is None and (t.role != "citizen" or row.applicant_id is None)}
                 for t in found.tasks]
    return render_template(
        "staff/dossier.html", d=row, applicant=row.applicant, tasks=task_rows, documents=found.documents,
        shown=found.shown, shown_pages=found.shown_pages,
        history=timeline(found.events, graph, found.people, found.registers),
        diagram=diagram_data(row, graph, found.events, found.tasks),
        overdue_now=bool(row.due_at and row.due_at < now and row.status not in FINAL_STATUSES),
        signer=row.signed_by.full_name if row.signed_by else None,
        register=row.register.full_name if row.register else None,
        viewer_page=page_arg(found.shown_pages, default=found.shown_pages if row.result_sha256 else 1),
        saved_to_store=found.saved_to_store)


def page_arg(pages: int | None, default: int = 1) -> int:
    """The page of the document viewer (?p=), within the document."""
    try:
        page = int(request.args.get("p", default))
    except ValueError:
        page = default
    return min(max(1, page), max(1, pages or 1))


@bp.get("/<code>/documents/<int:doc_id>")
@login_required(*VIEWERS)
def document(code, doc_id):
    data, filename = staff_document(system(), current_user(), code, doc_id)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename) or "tai-lieu.pdf"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{safe}"',
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"})


@bp.get("/<code>/documents/<int:doc_id>/pages/<int:page>.png")
@login_required(*VIEWERS)
def document_page(code, doc_id, page):
    png = staff_document_page(system(), current_user(), code, doc_id, page)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/<code>/receipt.pdf")
@login_required(*VIEWERS)
def receipt(code):
    pdf = intake_receipt(system(), current_user(), code)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="phieu-tiep-nhan-{code}.pdf"'})


menu.register("Tra cứu hồ sơ", "staff_dossiers.search", STAFF_ROLES, order=80)
