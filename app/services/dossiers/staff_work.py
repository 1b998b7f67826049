"""Staff working a task from the pages: claiming and releasing it from the inbox, and submitting its form (for a
walk-in applicant without an account, the supplement brought to the counter)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.adapters.models import HumanTask, User
from app.domain.access import is_staff_of
from app.domain.task_forms import needs_pin, posted_values, takes_scan
from app.errors import AppError, NotFound
from app.services.dossiers import tasks
from app.services.queries.task_page import workable_task
from app.services.unit_of_work import reading


def claim_from_inbox(system, user: User, task_id: str, release: bool = False) -> HumanTask:
    """Take a task of the caller's agency (or give it back to the group). Another agency's task is unknown."""
    with reading(system) as session:
        row = session.get(HumanTask, task_id)
        if row is None or not is_staff_of(user, row.agency_id):
            raise NotFound("Không có công việc này (hoặc đã được xử lý).", code="unknown_task")
    return tasks.claim_task(system, user, task_id, release=release)


@dataclass(frozen=True)
class TaskPost:
    fields: Mapping[str, str]           # the task's form as posted (strings)
    pin: str | None = None              # signing tasks: unlocks the signing key
    scan: bytes | None = None           # supplement (required) or rework (an optional corrected scan)
    filename: str | None = None


@dataclass(frozen=True)
class TaskWorked:
    dossier_code: str
    task_name: str
    decision: str | None


class TaskRefused(AppError):
    """A refused submission (the service's error as it was), with what showing the form again needs: the
    dossier, the task and the values as the form's schema types them."""

    def __init__(self, error: AppError, dossier_code: str, task_name: str, values: dict):
        super().__init__(error.message, code=error.code, status=error.status, details=error.details)
        self.dossier_code, self.task_name, self.values = dossier_code, task_name, values


def submit_task(system, user: User, task_id: str, post: TaskPost) -> TaskWorked:
    """Work a task from its page. Raises NotFound, Forbidden or TaskDone (see `workable_task`) before anything
    is tried, TaskRefused when the work itself is refused."""
    with reading(system) as session:
        row = workable_task(session, user, task_id)
        name, code = row.name, row.dossier.code
    if name == "supplement":
        note = (post.fields.get("note") or "").strip() or None
        values = {"note": note}
        try:
            tasks.supplement(system, user, code, post.scan, note, filename=post.filename or "supplement.pdf")
        except AppError as exc:
            raise TaskRefused(exc, code, name, values) from exc
        return TaskWorked(code, name, None)
    values = posted_values(name, post.fields)
    try:
        dossier = tasks.complete_task(system, user, task_id, values, post.pin if needs_pin(name) else None,
                                         corrected_scan=post.scan if takes_scan(name) else None,
                                         filename=post.filename or "corrected.pdf")
    except AppError as exc:
        raise TaskRefused(exc, code, name, values) from exc
    return TaskWorked(dossier.code, name, values.get("decision"))
