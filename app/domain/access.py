"""Who may see and do what: plain rules over users, dossiers and inbox rows."""
from __future__ import annotations

from app.adapters.models import STAFF_ROLES, Dossier, HumanTask, User


def is_staff_of(user: User, agency_id: int) -> bool:
    return user.agency_id == agency_id and any(user.has_role(r) for r in STAFF_ROLES)


def can_view_dossier(user: User, dossier: Dossier) -> bool:
    return (dossier.applicant_id == user.id or is_staff_of(user, dossier.agency_id) or user.has_role("auditor"))


def may_work(user: User, dossier: Dossier, task: HumanTask) -> str | None:
    """None when `user` may work `task`; otherwise the reason (in Vietnamese) why not."""
    if task.role == "citizen":
        if dossier.applicant_id == user.id:
            return None
        if dossier.applicant_id is None and user.has_role("one_stop") and user.agency_id == dossier.agency_id:
            return None  # a walk-in citizen without an account brings the supplement to the counter
        return "Chỉ người nộp hồ sơ mới bổ sung được hồ sơ này."
    if not user.has_role(task.role) or user.agency_id != dossier.agency_id:
        return "Bạn không có vai trò xử lý công việc này tại cơ quan của hồ sơ."
    if task.assignee_id is not None and task.assignee_id != user.id:
        return "Công việc này đã được giao cho người khác."
    return None
