"""Read models: the JSON shapes of API.md, shared by the API and the pages."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.adapters.models import Dossier, Event, HumanTask, User


def iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def fee_view(dossier: Dossier) -> dict:
    return {"pages": dossier.pages, "copies": dossier.copies, "amount_vnd": dossier.fee_amount,
            "paid": dossier.fee_paid}


def task_view(task: HumanTask, now=None) -> dict:
    return {
        "id": task.id, "dossier": task.dossier.code, "name": task.name, "title": task.title, "role": task.role,
        "assignee": task.assignee.username if task.assignee else None, "created_at": iso(task.created_at),
        "due_at": iso(task.due_at), "overdue": bool(task.due_at and now and task.due_at < now),
    }


def event_view(event: Event) -> dict:
    return {"seq": event.seq, "at": iso(event.at), "actor": event.actor, "role": event.role, "kind": event.kind,
            "task": event.task, "data": event.data, "hash": event.hash}


def dossier_view(session: Session, dossier: Dossier, now=None, with_history: bool = True) -> dict:
    tasks = session.scalars(select(HumanTask).where(HumanTask.dossier_id == dossier.id)
                            .order_by(HumanTask.created_at)).all()
    applicant = dossier.applicant
    view = {
        "code": dossier.code, "status": dossier.status, "variant": dossier.variant, "agency": dossier.agency.code,
        "procedure": dossier.procedure, "document_type": dossier.document_type,
        "process_version": dossier.process_version.version,
        "applicant": {"username": applicant.username if applicant else None, "full_name": dossier.applicant_name,
                      "email": dossier.applicant_email or (applicant.email if applicant else None)},
        "delivery": dossier.delivery, "payment": dossier.payment, "fee": fee_view(dossier),
        "postal_address": dossier.postal_address, "postal_phone": dossier.postal_phone,
        "postal_tracking": dossier.postal_tracking,
        "submitted_at": iso(dossier.submitted_at), "received_at": iso(dossier.received_at),
        "due_at": iso(dossier.due_at), "overdue": dossier.overdue, "finished_at": iso(dossier.finished_at),
        "tasks": [{"id": t.id, "name": t.name, "title": t.title, "role": t.role,
                   "assignee": t.assignee.username if t.assignee else None, "due_at": iso(t.due_at)} for t in tasks],
        "result": None,
    }
    if dossier.result_sha256 and dossier.register is not None:
        view["result"] = {
            "certification_number": dossier.certification_number, "register": dossier.register.full_name,
            "certified_at": iso(dossier.certified_at), "download": f"/api/v1/dossiers/{dossier.code}/result.pdf",
        }
    if with_history:
        events = session.scalars(select(Event).where(Event.dossier_id == dossier.id).order_by(Event.seq))
        view["history"] = [event_view(e) for e in events]
    return view


def user_view(user: User) -> dict:
    return {"username": user.username, "full_name": user.full_name, "roles": user.roles,
            "agency": user.agency.code if user.agency else None}
