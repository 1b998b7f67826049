"""Running a dossier's workflow: start, complete a user task, fire due timers, and project the result
(status, inbox rows, next timer, audit events) back into the database. Callers hold the dossier lock."""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import clock
from app.adapters.models import Dossier, HumanTask, User
from app.services.queries.roster import OpenTask, Roster, open_tasks
from app.engine import state
from app.engine.audit import append_event
from app.engine.definitions import ParsedProcess, ProcessCache
from app.engine.scripting import CertcopyScriptEngine

STATUS_BY_TASK = {
    "intake": "submitted",
    "supplement": "awaiting_supplement",
    "assign": "processing",
    "handle": "processing",
    "rework": "processing",
    "review_sign": "awaiting_signature",
    "seal": "awaiting_seal",
    "return": "awaiting_return",
}
FINAL_STATUSES = ("returned", "refused", "cancelled")
# A finished workflow's status comes from the end event it reached: ids start with end_<status>.


@dataclass
class StepContext:
    """What operators may use during one engine step. Never serialized; the PIN lives only here."""
    session: Session
    dossier: Dossier
    actor: User | None
    actor_name: str
    role: str | None
    now: datetime
    services: Any
    pin: str | None = None
    task_data: dict = field(default_factory=dict)
    told: set[tuple[str, str]] = field(default_factory=set)  # (username, message) already sent in this step
    roster: Roster = field(default_factory=Roster)  # staff per role; a scheduler tick shares one across dossiers
    known_inbox: list[OpenTask] | None = None  # the inbox rows, when the caller read them with the dossier's lock

    def inbox(self) -> list[OpenTask]:
        """The dossier's inbox rows as they stood when the step began (read once; the step's end rewrites them)."""
        if self.known_inbox is None:
            self.known_inbox = open_tasks(self.session, self.dossier.id)
        return self.known_inbox

    def inbox_rewritten(self) -> None:
        self.known_inbox = None


class Engine:
    def __init__(self, operators: dict, services: Any):
        self.cache = ProcessCache()
        self.services = services
        self._context: contextvars.ContextVar[StepContext] = contextvars.ContextVar("certcopy_step")
        self.script_engine = CertcopyScriptEngine(operators, self._context.get)
        clock.install()

    # -- loading and saving -------------------------------------------------------------------------
    def parsed(self, dossier: Dossier) -> ParsedProcess:
        return self.cache.for_version(dossier.process_version_id, lambda: dossier.process_version)

    def load(self, dossier: Dossier) -> BpmnWorkflow:
        parsed = self.parsed(dossier)
        return state.load(dossier.workflow_state, parsed.spec, parsed.subprocess_specs, self.script_engine)

    # -- operations -----------------------------------------------------------------------------------
    def start(self, ctx: StepContext, initial_data: dict) -> BpmnWorkflow:
        parsed = self.parsed(ctx.dossier)
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(initial_data)
        self._advance(ctx, workflow)
        self._project(ctx, workflow)
        return workflow

    def complete(self, ctx: StepContext, workflow: BpmnWorkflow, task_id: str, data: dict) -> None:
        task = self.ready_task(workflow, task_id)
        task.data.update(data)
        token = self._context.set(ctx)
        try:
            with clock.frozen(ctx.now):
                task.run()
        finally:
            self._context.reset(token)
        self._advance(ctx, workflow)
        self._project(ctx, workflow)

    def fire_timers(self, ctx: StepContext, workflow: BpmnWorkflow) -> None:
        token = self._context.set(ctx)
        try:
            with clock.frozen(ctx.now):
                workflow.refresh_timers()
        finally:
            self._context.reset(token)
        self._advance(ctx, workflow)
        self._project(ctx, workflow)

    @staticmethod
    def ready_task(workflow: BpmnWorkflow, task_id: str):
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            if str(task.id) == task_id:
                return task
        return None

    @staticmethod
    def ready_user_tasks(workflow: BpmnWorkflow) -> list:
        return workflow.get_tasks(state=TaskState.READY, manual=True)

    # -- internals ------------------------------------------------------------------------------------
    def _advance(self, ctx: StepContext, workflow: BpmnWorkflow) -> None:
        """Run engine steps (gateways, service tasks, fired timers) until only user tasks and timers wait."""
        def did_complete(task):
            spec = task.task_spec
            if isinstance(spec, ServiceTask):
                result = task.data.get(spec.result_variable)
                append_event(ctx.session, ctx.dossier, at=ctx.now, actor=ctx.actor_name, role=ctx.role,
                             kind="service_completed", task=spec.name,
                             data={"operator": spec.operation_name, "result": result})
            elif isinstance(spec, CatchingEvent) and isinstance(spec.event_definition, TimerEventDefinition):
                append_event(ctx.session, ctx.dossier, at=ctx.now, actor="system", role=None, kind="timer_fired",
                             task=spec.name, data={"timer": spec.bpmn_name or spec.name})

        token = self._context.set(ctx)
        try:
            with clock.frozen(ctx.now):
                while True:
                    workflow.do_engine_steps(did_complete_task=did_complete)
                    pending = [t for t in workflow.get_tasks(state=TaskState.READY) if not t.task_spec.manual]
                    if not pending:
                        break
        finally:
            self._context.reset(token)

    def _project(self, ctx: StepContext, workflow: BpmnWorkflow) -> None:
        """Bring the dossier row and the inbox table in line with the workflow."""
        session, dossier = ctx.session, ctx.dossier
        parsed = self.parsed(dossier)
        ready = self.ready_user_tasks(workflow)
        dossier.status = self._status(workflow, ready)
        if dossier.status in FINAL_STATUSES and dossier.finished_at is None:
            dossier.finished_at = ctx.now
        dossier.next_timer_at = self._next_timer(workflow)
        dossier.workflow_state = state.dump(workflow)

        existing = {task.id for task in ctx.inbox()}
        ready_ids = {str(t.id) for t in ready}
        stale = [hid for hid in existing if hid not in ready_ids]
        if stale:
            session.execute(delete(HumanTask).where(HumanTask.id.in_(stale)))
        created = []
        for task in ready:
            tid = str(task.id)
            if tid in existing:
                continue
            role = parsed.task_lanes.get(task.task_spec.name) or "one_stop"
            row = HumanTask(
                id=tid, dossier_id=dossier.id, name=task.task_spec.name,
                title=parsed.task_titles.get(task.task_spec.name, task.task_spec.name), role=role,
                agency_id=dossier.agency_id,
                citizen_id=dossier.applicant_id if role == "citizen" else None,
                assignee_id=self._assignee_id(session, dossier, role, task.data),
                created_at=ctx.now, due_at=dossier.due_at if role != "citizen" else None,
            )
            session.add(row)
            created.append(row)
        if stale or created:
            session.flush()  # the inbox as it now stands, for whatever the step reads next
            ctx.inbox_rewritten()
        if created:
            self.services.notifier.tasks_waiting(session, dossier, created, ctx.now, ctx.roster)

    @staticmethod
    def _assignee_id(session: Session, dossier: Dossier, role: str, data: dict) -> int | None:
        """A task in lane X goes to the user named by the data field X (e.g. `signer` chosen at `assign`)."""
        username = data.get(role)
        if not isinstance(username, str):
            return None
        return session.scalar(select(User.id).where(User.username == username,
                                                    User.agency_id == dossier.agency_id))

    @staticmethod
    def _status(workflow: BpmnWorkflow, ready: list) -> str:
        if workflow.is_completed():
            for task in workflow.get_tasks(state=TaskState.COMPLETED):
                name = task.task_spec.name
                for final in FINAL_STATUSES:
                    if name.startswith(f"end_{final}"):
                        return final
            return "cancelled"
        statuses = [STATUS_BY_TASK.get(t.task_spec.name, "processing") for t in ready]
        for candidate in ("awaiting_return", "awaiting_seal", "awaiting_signature", "processing",
                          "awaiting_supplement", "submitted"):
            if candidate in statuses:
                return candidate
        return "processing"

    @staticmethod
    def _next_timer(workflow: BpmnWorkflow) -> datetime | None:
        moments = []
        for event in workflow.waiting_events():
            if event.event_type in ("TimeDateEventDefinition", "DurationTimerEventDefinition") and event.value:
                moments.append(TimerEventDefinition.get_datetime(event.value))
        return min(moments) if moments else None
