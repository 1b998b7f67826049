"""Moving a running workflow to another version of its routing (SpiffWorkflow's diff/migrate).

The rule: a workflow may move only when no task whose definition changed (or was removed) has already run.
Tasks that wait (READY user tasks) are re-predicted from the new definition; waiting timers keep their
deadlines unless their own definition changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.engine.definitions import ParsedProcess

_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
RAN = TaskState.COMPLETED | TaskState.STARTED | TaskState.ERROR
IGNORED_ATTRIBUTES = {"documentation"}  # editing a task's description does not change how it runs


@dataclass
class MigrationPlan:
    allowed: bool
    reason: str | None
    changed: list[str] = field(default_factory=list)     # task specs whose definition changed
    removed: list[str] = field(default_factory=list)     # task specs the new version no longer has
    added: list[str] = field(default_factory=list)       # task specs only the new version has
    blocking: list[str] = field(default_factory=list)    # changed/removed tasks that already ran

    def as_dict(self) -> dict:
        return {"allowed": self.allowed, "reason": self.reason, "changed": self.changed, "removed": self.removed,
                "added": self.added, "blocking": self.blocking}


class MigrationRefused(Exception):
    def __init__(self, plan: MigrationPlan):
        super().__init__(plan.reason)
        self.plan = plan


def _visible(names) -> list[str]:
    """Spec names a person recognises (BPMN ids), not the library's internal join/split specs."""
    return sorted({n for n in names if n and not n.startswith(("Start", "End")) and "." not in n})


def plan_migration(workflow: BpmnWorkflow, target: ParsedProcess, titles: dict[str, str] | None = None):
    """Diff `workflow` against `target`; returns (plan, top-level diff)."""
    titles = titles or {}
    if workflow.subprocesses:
        return MigrationPlan(False, "Hồ sơ đang chạy quy trình con: chưa hỗ trợ chuyển phiên bản."), None
    top_diff, _ = diff_workflow(_registry, workflow, target.spec, target.subprocess_specs)
    spec_diff_changed = {}
    for task in top_diff.changed:
        spec_diff_changed[task.task_spec.name] = task
    changed_specs = {task.task_spec for task in top_diff.changed}
    removed_specs = {task.task_spec for task in top_diff.removed}
    old_names = set(workflow.spec.task_specs)
    added = [name for name in target.spec.task_specs if name not in old_names]
    blocking = []
    for task in workflow.get_tasks(state=RAN, skip_subprocesses=True):
        if task.task_spec in removed_specs or (task.task_spec in changed_specs
                                               and not _only_cosmetic(task.task_spec, target)):
            blocking.append(task.task_spec.name)
    plan = MigrationPlan(True, None, _visible(s.name for s in changed_specs), _visible(s.name for s in removed_specs),
                         _visible(added), _visible(blocking))
    if plan.blocking:
        names = ", ".join(f"{n} ({titles[n]})" if titles.get(n) and titles[n] != n else n for n in plan.blocking)
        plan.allowed = False
        plan.reason = f"Bước đã thực hiện bị thay đổi hoặc bị xóa trong phiên bản mới: {names}."
    return plan, top_diff


def _only_cosmetic(spec, target: ParsedProcess) -> bool:
    new = target.spec.task_specs.get(spec.name)
    if new is None:
        return False
    old_d, new_d = _registry.convert(spec), _registry.convert(new)
    keys = {k for k in set(old_d) | set(new_d) if old_d.get(k) != new_d.get(k)}
    return keys <= IGNORED_ATTRIBUTES | {"bpmn_name"}


def migrate(workflow: BpmnWorkflow, target: ParsedProcess, titles: dict[str, str] | None = None) -> MigrationPlan:
    """Move `workflow` to `target` in place, or raise MigrationRefused (the workflow is then unusable:
    the caller reloads it from the saved state)."""
    plan, top_diff = plan_migration(workflow, target, titles)
    if not plan.allowed:
        raise MigrationRefused(plan)
    changed = {t.task_spec.name for t in top_diff.changed}
    migrate_workflow(top_diff, workflow, target.spec, reset_mask=TaskState.READY)
    for task in list(workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True)):
        if task.task_spec.name in changed and task.id in workflow.tasks:
            task.reset_branch(None)
    workflow.subprocess_specs = target.subprocess_specs
    strays = sorted({t.task_spec.name for t in workflow.tasks.values()
                     if target.spec.task_specs.get(t.task_spec.name) is not t.task_spec})
    if strays:
        plan.allowed = False
        plan.reason = ("Không ánh xạ được các bước sang phiên bản mới: " + ", ".join(_visible(strays) or strays) + ".")
        raise MigrationRefused(plan)
    return plan
