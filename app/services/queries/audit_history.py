"""A dossier's complete history for auditors: events, the path taken on the diagram with the time spent at
each step, the documents with their SHA-256 (re-hashed from the file store), and the hash-chain check."""
from __future__ import annotations

import hashlib
from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.engine.audit import ChainReport, verify_chain
from app.services.routing.checks import BPMN_NS, FLOW_NODE_TAGS
from app.engine.definitions import parse_xml_safely
from app.errors import NotFound
from app.adapters.models import Document, Dossier, Event, ProcessVersion
from app.services.queries.audit_export import KIND_NAMES
from app.domain.calendar import VN_TZ
from app.domain.procedures import ROLE_NAMES
from app.services.unit_of_work import reading

DOCUMENT_KINDS = {
    "original": "Bản scan bản chính",
    "original_repaired": "Bản chính (đã sửa cấu trúc PDF)",
    "original_cleaned": "Bản chính (đã gỡ mã lệnh, tệp đính kèm)",
    "supplement": "Bản bổ sung",
    "signed_copy": "Bản sao đã ký",
    "certified_copy": "Bản sao điện tử có chứng thực",
}


def human_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return "dưới 1 phút"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} ngày")
    if hours:
        parts.append(f"{hours} giờ")
    if minutes and not days:
        parts.append(f"{minutes} phút")
    return " ".join(parts) or "dưới 1 phút"


def vn_time(moment: datetime | None) -> str:
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S") if moment else ""


def _diagram_index(xml: str):
    root = parse_xml_safely(xml)
    nodes, flows = set(), {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        local = el.tag.split("}", 1)[1]
        if local in FLOW_NODE_TAGS and el.get("id"):
            nodes.add(el.get("id"))
        elif local == "sequenceFlow":
            flows[(el.get("sourceRef"), el.get("targetRef"))] = el.get("id")
    return nodes, flows


def path_taken(system, dossier: Dossier, events: list[Event], now: datetime) -> dict:
    """Elements done and waiting, the flows taken, and the time each human step took (or has waited)."""
    nodes, flow_ids = _diagram_index(dossier.process_version.bpmn_xml)
    workflow = system.engine.load(dossier)
    completed_at = {e.task_id: e.at for e in events if e.kind == "task_completed" and e.task_id}
    submitted = next((e.at for e in events if e.kind == "submitted"), dossier.submitted_at)

    def visible_ancestor(task):
        parent = task.parent
        while parent is not None and parent.task_spec.name not in nodes:
            parent = parent.parent
        return parent

    def ready_at(task):
        parent = task.parent
        while parent is not None:
            if str(parent.id) in completed_at:
                return completed_at[str(parent.id)]
            parent = parent.parent
        return submitted

    done, current, flows, durations = set(), set(), set(), {}
    for task in workflow.tasks.values():
        name = task.task_spec.name
        if name not in nodes:
            continue
        if task.state == TaskState.COMPLETED:
            done.add(name)
        elif task.state & (TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            current.add(name)
        else:
            continue
        ancestor = visible_ancestor(task)
        if ancestor is not None and (ancestor.task_spec.name, name) in flow_ids:
            flows.add(flow_ids[(ancestor.task_spec.name, name)])
        if task.task_spec.manual:
            waiting = task.state == TaskState.READY
            end = now if waiting else completed_at.get(str(task.id))
            if end is None:
                continue
            entry = durations.setdefault(name, {"seconds": 0.0, "count": 0, "waiting": False})
            entry["seconds"] += (end - ready_at(task)).total_seconds()
            entry["count"] += 1
            entry["waiting"] = entry["waiting"] or waiting
    for entry in durations.values():
        entry["text"] = human_duration(entry["seconds"]) + (f" ({entry['count']} lần)" if entry["count"] > 1 else "")
    return {"done": sorted(done - current), "current": sorted(current), "flows": sorted(flows),
            "durations": durations}


def document_rows(system, session, dossier: Dossier) -> list[dict]:
    rows = []
    for doc in session.scalars(select(Document).where(Document.dossier_id == dossier.id).order_by(Document.id)):
        try:
            intact = hashlib.sha256(system.files.get(doc.sha256)).hexdigest() == doc.sha256
        except (OSError, ValueError):
            intact = None  # the file is missing from the store
        rows.append({"kind": doc.kind, "kind_name": DOCUMENT_KINDS.get(doc.kind, doc.kind), "filename": doc.filename,
                     "size": doc.size, "pages": doc.pages, "sha256": doc.sha256, "created_at": doc.created_at.isoformat(),
                     "created_text": vn_time(doc.created_at), "intact": intact})
    return rows


def dossier_history(session, system, code: str, now: datetime, as_json: bool = False) -> dict:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None:
        raise NotFound("Không có hồ sơ này.", code="unknown_dossier")
    events = list(session.scalars(select(Event).where(Event.dossier_id == dossier.id).order_by(Event.seq)))
    versions = dict(session.execute(select(ProcessVersion.id, ProcessVersion.version)).all())
    titles = system.engine.parsed(dossier).task_titles
    event_rows = [{
        "seq": e.seq, "at": e.at.isoformat(), "at_text": vn_time(e.at), "actor": e.actor, "role": e.role,
        "role_name": ROLE_NAMES.get(e.role or "", e.role or ""), "kind": e.kind,
        "kind_name": KIND_NAMES.get(e.kind, e.kind), "task": e.task,
        "task_title": titles.get(e.task, e.task) if e.task else None, "data": e.data,
        "process_version": versions.get(e.process_version_id), "hash": e.hash, "prev_hash": e.prev_hash,
    } for e in events]
    try:
        path = path_taken(system, dossier, events, now)
        path_error = None
    except Exception as exc:  # noqa: BLE001 - the history is still shown without the drawn path
        path, path_error = {"done": [], "current": [], "flows": [], "durations": {}}, str(exc)
    history = {
        "dossier": {"code": dossier.code, "status": dossier.status, "variant": dossier.variant,
                    "agency": dossier.agency.code, "agency_name": dossier.agency.name,
                    "applicant": dossier.applicant_name, "document_type": dossier.document_type,
                    "submitted_at": dossier.submitted_at.isoformat(), "submitted_text": vn_time(dossier.submitted_at),
                    "finished_at": dossier.finished_at.isoformat() if dossier.finished_at else None,
                    "finished_text": vn_time(dossier.finished_at),
                    "process_version": dossier.process_version.version},
        "events": event_rows,
        "documents": document_rows(system, session, dossier),
        "path": {**path, "version": dossier.process_version.version, "error": path_error},
        "chain": verify_chain(session, dossier.code).as_dict(),
    }
    if not as_json:
        history["diagram_xml"] = dossier.process_version.bpmn_xml
    return history


def history_of(system, code: str, now: datetime, as_json: bool = False) -> dict:
    """`dossier_history` read in its own session."""
    with reading(system) as session:
        return dossier_history(session, system, code, now, as_json=as_json)


def chain_check(system, dossier_code: str | None = None) -> ChainReport:
    """Recompute the hash chain of every dossier's events (or one dossier's)."""
    with reading(system) as session:
        return verify_chain(session, dossier_code)
