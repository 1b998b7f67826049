"""Who holds a role at an agency, read once per engine step or scheduler tick.

A step's notices (the leader, the holders of the current tasks, the next task's role) and a tick's notices
over many dossiers of one agency ask the same question again and again; a `Roster` answers each
(agency, role) once and keeps the answer for its own lifetime. A tick's notices therefore all go to the
staff list as it stood when the tick began, which is what one person sending them by hand would do.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.adapters.models import HumanTask, User, UserRole

# A commune has no leader: its chairman, who signs, stands in.
ROLE_FALLBACK = {"leader": "signer"}


class StaffMember(NamedTuple):
    id: int
    username: str


class OpenTask(NamedTuple):
    """One inbox row of a dossier, with what deciding who holds it needs."""
    id: str
    role: str
    created_at: datetime
    assignee_id: int | None
    assignee_username: str | None
    assignee_active: bool | None


OPEN_TASK_COLUMNS = (HumanTask.id, HumanTask.role, HumanTask.created_at, HumanTask.assignee_id, User.username,
                     User.active)


def open_tasks(session: Session, dossier_id: int) -> list[OpenTask]:
    """A dossier's inbox rows (its READY user tasks), oldest first."""
    return as_open_tasks(session.execute(
        select(*OPEN_TASK_COLUMNS).outerjoin(User, User.id == HumanTask.assignee_id)
        .where(HumanTask.dossier_id == dossier_id)))


def as_open_tasks(rows) -> list[OpenTask]:
    """OpenTasks, oldest first, from rows of OPEN_TASK_COLUMNS (rows of an outer join without a task skipped)."""
    return sorted((OpenTask(*row) for row in rows if row[0] is not None), key=lambda t: (t.created_at, t.id))


class Roster:
    def __init__(self) -> None:
        self._staff: dict[tuple[int, str], list[StaffMember]] = {}

    def staff(self, session: Session, agency_id: int, role: str) -> list[StaffMember]:
        """Active staff of the agency holding `role` (or its stand-in role when nobody holds it), by id."""
        key = (agency_id, role)
        if key not in self._staff:
            members = [StaffMember(*row) for row in session.execute(
                select(User.id, User.username).join(UserRole, UserRole.user_id == User.id)
                .where(User.agency_id == agency_id, UserRole.role == role, User.active).order_by(User.id))]
            if not members and role in ROLE_FALLBACK:
                members = self.staff(session, agency_id, ROLE_FALLBACK[role])
            self._staff[key] = members
        return self._staff[key]

    def task_holders(self, session: Session, agency_id: int, tasks: list[OpenTask]) -> list[StaffMember]:
        """Who holds these inbox tasks: the assignee (if active), else every member of the task's role at the
        agency; each person once, in the order of the tasks. Citizen tasks are left out."""
        holders: dict[int, StaffMember] = {}
        for task in tasks:
            if task.role == "citizen":
                continue
            if task.assignee_id is not None:
                if task.assignee_active:
                    holders.setdefault(task.assignee_id, StaffMember(task.assignee_id, task.assignee_username))
                continue
            for member in self.staff(session, agency_id, task.role):
                holders.setdefault(member.id, member)
        return list(holders.values())
