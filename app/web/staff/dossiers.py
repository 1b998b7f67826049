"""Staff pages about one dossier: search (Tra cứu hồ sơ), the dossier page (details, documents, history
timeline, BPMN diagram with the path taken), its documents shown inline, and the intake receipt."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, url_for
from sqlalchemy import or_, select

from app import clock
from app.engine.runtime import FINAL_STATUSES
from app.adapters.models import STAFF_ROLES, Document, Dossier, Event, HumanTask, Register, User
from app.services.dossiers import documents as citizen_documents
from app.domain.access import is_staff_of, may_work
from app.adapters.preview import document_pages, page_png
from app.services.dossiers.receipts import intake_receipt_pdf
from app.web.common import menu
from app.web.common.auth import system
from app.web.common.session import current_user, login_required
from app.web.staff.diagram import EVENT_KINDS_DONE, path_markers, process_graph
from app.web.common.format import STATUS_NAMES, choice_title, local_time, role_name

RECIPIENT_NAMES = {"citizen": "người yêu cầu", "task_holder": "người đang xử lý hồ sơ"}
bp = Blueprint("staff_dossiers", __name__, url_prefix="/staff/dossiers")
VIEWERS = (*STAFF_ROLES, "auditor")
PAGE_SIZE = 25
MAX_QUERY = 100


def load_visible(session, code: str, user: User) -> Dossier:
    """The dossier if `user` may see it on the staff pages; 404 otherwise (also for another agency's)."""
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or not (is_staff_of(user, dossier.agency_id) or user.has_role("auditor")):
        abort(404, description="Không có hồ sơ này (hoặc bạn không được xem hồ sơ này).")
    return dossier


def current_original(session, dossier: Dossier) -> Document | None:
    """The document that will be certified: the latest upload whose content is the dossier's original."""
    docs = session.scalars(select(Document).where(Document.dossier_id == dossier.id).order_by(Document.id)).all()
    matching = [d for d in docs if d.sha256 == dossier.original_sha256]
    return matching[-1] if matching else next((d for d in docs if d.kind == "original"), None)


def shown_document(session, dossier: Dossier, task_name: str | None = None) -> tuple[Document | None, int]:
    """What a task looks at, and its page count: the signed copy at the seal step, the certified copy at
    return (both opened on their last page, the attestation), otherwise the scan being certified."""
    kind = {"seal": "signed_copy", "return": "certified_copy"}.get(task_name or "")
    doc = None
    if kind:
        doc = session.scalars(select(Document).where(Document.dossier_id == dossier.id, Document.kind == kind)
                              .order_by(Document.id.desc())).first()
    doc = doc or current_original(session, dossier)
    return doc, (document_pages(system().files, doc) if doc else 1)


def documents(session, dossier: Dossier) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.dossier_id == dossier.id).order_by(Document.id)))


def full_names(session, usernames) -> dict[str, str]:
    names = [u for u in set(usernames) if u and u != "system"]
    if not names:
        return {}
    return dict(session.execute(select(User.username, User.full_name).where(User.username.in_(names))).all())


def _what(event: Event, graph, people: dict, registers: dict) -> str | None:
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


def timeline(session, dossier: Dossier, events: list[Event], graph) -> list[dict]:
    people = full_names(session, [e.actor for e in events] +
                        [(e.data or {}).get("signer") for e in events] +
                        [t for e in events if e.kind == "notified" for t in (e.data or {}).get("to", [])] +
                        [((e.data or {}).get("result") or {}).get("signer") for e in events
                         if isinstance((e.data or {}).get("result"), dict)])
    register_ids = [(e.data or {}).get("register") for e in events if e.task == "seal"]
    registers = {}
    if register_ids:
        registers = {r.id: r.full_name for r in session.scalars(select(Register).where(
            Register.id.in_([i for i in register_ids if isinstance(i, int)])))}
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


def diagram_data(dossier: Dossier, events: list[Event], tasks: list[HumanTask]) -> dict:
    xml = dossier.process_version.bpmn_xml
    graph = process_graph(xml)
    markers = path_markers(graph, [e.task for e in events if e.kind in EVENT_KINDS_DONE and e.task],
                           [t.name for t in tasks], dossier.status if dossier.status in FINAL_STATUSES else None)
    return {"xml": xml, "done": markers.done, "current": markers.current, "flows": markers.flows}


# -- pages ---------------------------------------------------------------------------------------------------
@bp.get("")
@login_required(*STAFF_ROLES)
def search():
    user = current_user()
    if user.agency_id is None:
        abort(403)
    q = (request.args.get("q") or "").strip()[:MAX_QUERY]
    status = request.args.get("status") or ""
    if status and status not in STATUS_NAMES:
        status = ""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    query = select(Dossier).where(Dossier.agency_id == user.agency_id)
    if status:
        query = query.where(Dossier.status == status)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Dossier.code.ilike(like, escape="\\"), Dossier.applicant_name.ilike(like, escape="\\"),
                                Dossier.document_type.ilike(like, escape="\\")))
    with system().db.session() as session:
        rows = session.scalars(query.order_by(Dossier.id.desc()).offset((page - 1) * PAGE_SIZE)
                               .limit(PAGE_SIZE + 1)).all()
        items = [{"code": d.code, "status": d.status, "applicant": d.applicant_name, "document_type": d.document_type,
                  "submitted_at": d.submitted_at, "due_at": d.due_at, "overdue": d.overdue} for d in rows[:PAGE_SIZE]]
    return render_template("staff/dossiers.html", items=items, q=q, status=status, page=page,
                           has_next=len(rows) > PAGE_SIZE, statuses=STATUS_NAMES)


@bp.get("/<code>")
@login_required(*VIEWERS)
def dossier(code):
    user = current_user()
    now = clock.now()
    with system().db.session() as session:
        row = load_visible(session, code, user)
        events = session.scalars(select(Event).where(Event.dossier_id == row.id).order_by(Event.seq)).all()
        tasks = session.scalars(select(HumanTask).where(HumanTask.dossier_id == row.id)
                                .order_by(HumanTask.created_at)).all()
        graph = process_graph(row.process_version.bpmn_xml)
        task_rows = [{"id": t.id, "name": t.name, "title": t.title, "role": t.role, "due_at": t.due_at,
                      "assignee": t.assignee.full_name if t.assignee else None,
                      "workable": may_work(user, row, t) is None and (t.role != "citizen" or row.applicant_id is None)}
                     for t in tasks]
        docs = documents(session, row)
        shown, shown_pages = shown_document(session, row, "return" if row.result_sha256 else None)
        applicant = row.applicant
        context = dict(
            d=row, applicant=applicant, tasks=task_rows, documents=docs, shown=shown, shown_pages=shown_pages,
            history=timeline(session, row, events, graph), diagram=diagram_data(row, events, tasks),
            overdue_now=bool(row.due_at and row.due_at < now and row.status not in FINAL_STATUSES),
            signer=row.signed_by.full_name if row.signed_by else None,
            register=row.register.full_name if row.register else None,
            viewer_page=page_arg(shown_pages, default=shown_pages if row.result_sha256 else 1),
            saved_to_store=citizen_documents.result_saved(session, row),
        )
        return render_template("staff/dossier.html", **context)


def page_arg(pages: int | None, default: int = 1) -> int:
    """The page of the document viewer (?p=), within the document."""
    try:
        page = int(request.args.get("p", default))
    except ValueError:
        page = default
    return min(max(1, page), max(1, pages or 1))


def _document(session, code: str, doc_id: int) -> tuple[Dossier, Document]:
    row = load_visible(session, code, current_user())
    doc = session.get(Document, doc_id)
    if doc is None or doc.dossier_id != row.id:
        abort(404, description="Không có tài liệu này trong hồ sơ.")
    return row, doc


@bp.get("/<code>/documents/<int:doc_id>")
@login_required(*VIEWERS)
def document(code, doc_id):
    with system().db.session() as session:
        _, doc = _document(session, code, doc_id)
        data = system().files.get(doc.sha256)
        filename = doc.filename
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename) or "tai-lieu.pdf"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{safe}"',
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"})


@bp.get("/<code>/documents/<int:doc_id>/pages/<int:page>.png")
@login_required(*VIEWERS)
def document_page(code, doc_id, page):
    with system().db.session() as session:
        _, doc = _document(session, code, doc_id)
        sha, pages = doc.sha256, document_pages(system().files, doc)
    if not 1 <= page <= pages:
        abort(404, description=f"Tài liệu có {pages} trang.")
    png = page_png(system().files, system().settings.instance_path, sha, page)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/<code>/receipt.pdf")
@login_required(*VIEWERS)
def receipt(code):
    with system().db.session() as session:
        row = load_visible(session, code, current_user())
        pdf = intake_receipt_pdf(session, row)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="phieu-tiep-nhan-{code}.pdf"'})


def dossier_url(code: str) -> str:
    return url_for("staff_dossiers.dossier", code=code)


menu.register("Tra cứu hồ sơ", "staff_dossiers.search", STAFF_ROLES, order=80)
