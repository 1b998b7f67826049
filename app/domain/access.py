"""Who may see and do what: plain rules over users, dossiers and inbox rows."""
from __future__ import annotations

from app.adapters.models import STAFF_ROLES, Dossier, HumanTask, User

# The inbox queues staff know from the provincial system, and the roles that work each of them.
QUEUE_ROLES: dict[str, tuple[str, ...]] = {
    "intake": ("one_stop",),
    "assign": ("leader",),
    "handle": ("justice_officer",),
    "sign": ("signer",),
    "seal": ("clerk",),
    "return": ("one_stop",),
}


def is_staff_of(user: User, agency_id: int) -> bool:
    return user.agency_id == agency_id and any(user.has_role(r) for r in STAFF_ROLES)


def oversees_every_agency(user: User) -> bool:
    """Auditors and administrators look across agencies; staff only at their own."""
    return user.has_role("auditor") or user.has_role("admin")


def can_view_dossier(user: User, dossier: Dossier) -> bool:
    return (dossier.applicant_id == user.id or is_staff_of(user, dossier.agency_id) or user.has_role("auditor"))


def may_see_on_staff_pages(user: User, agency_id: int) -> bool:
    """The staff pages show a dossier to its agency's staff and to auditors."""
    return is_staff_of(user, agency_id) or user.has_role("auditor")


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


def may_work_on_staff_pages(user: User, dossier: Dossier, task: HumanTask) -> str | None:
    """As `may_work`, and a citizen with an account supplements the dossier on the portal, not at the counter."""
    reason = may_work(user, dossier, task)
    if reason is None and task.role == "citizen" and dossier.applicant_id is not None:
        return "Người yêu cầu có tài khoản tự bổ sung hồ sơ trên cổng dịch vụ công."
    return reason


def keeps_registers_of(user: User, agency_code: str) -> bool:
    """The clerk keeps the certification registers of their own agency."""
    return user.has_role("clerk") and user.agency is not None and user.agency.code == agency_code


def inbox_refusal(user: User, queue: str | None = None) -> str | None:
    """None when `user` may open the inbox (or one of its queues); otherwise the reason why not."""
    if queue is not None and not any(user.has_role(r) for r in QUEUE_ROLES.get(queue, ())):
        return "Chức năng này dành cho vai trò khác."
    if user.agency_id is None or not any(user.has_role(r) for r in STAFF_ROLES):
        return "Tài khoản chưa thuộc cơ quan nào nên không có công việc."
    return None
