"""Dry run of a candidate routing: replay recorded histories in memory and compare the paths.

A recorded case (a finished dossier's events, or a path scenario) is a start moment plus steps: complete
user task X with data D at moment T, or fire the timers due at T. The candidate's workflow runs those steps
with operators stubbed for side effects (nothing is written, signed or sent) and the clock frozen at each
step's moment. The result says whether the candidate takes the same path to the same outcome, takes a
different path (waits for other tasks than the history did), gets stuck, or fails.

No database and no Flask: the inputs are plain data and a parsed spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app import clock
from app.engine.definitions import ParsedProcess
from app.engine.runtime import FINAL_STATUSES, STATUS_BY_TASK, Engine
from app.engine.scripting import CertcopyScriptEngine

MAX_AUTOMATIC_STEPS = 5_000   # an automatic loop (script → gateway → script …) is reported, not run forever

OUTCOME_NAMES = {
    "same": "Đi cùng đường",
    "different_path": "Đi đường khác",
    "different_outcome": "Kết quả khác",
    "stuck": "Bị kẹt",
    "error": "Lỗi khi chạy",
}


@dataclass
class ReplayStep:
    kind: str                      # "complete" | "timers"
    at: datetime
    task: str | None = None
    data: dict = field(default_factory=dict)
    expect_status: str | None = None


@dataclass
class RecordedCase:
    label: str                     # dossier code or scenario file name
    source: str                    # "dossier" | "scenario"
    started_at: datetime
    initial_data: dict
    steps: list[ReplayStep]
    expected_final: str | None
    expect_start_status: str | None = None
    title: str | None = None

    @property
    def recorded_path(self) -> list[str]:
        return [s.task for s in self.steps if s.kind == "complete"]


@dataclass
class CaseResult:
    label: str
    source: str
    outcome: str
    message: str
    recorded_path: list[str]
    candidate_path: list[str]
    final_status: str | None = None
    expected_final: str | None = None
    waiting: list[str] = field(default_factory=list)
    title: str | None = None

    def as_dict(self) -> dict:
        return {"label": self.label, "source": self.source, "outcome": self.outcome,
                "outcome_name": OUTCOME_NAMES[self.outcome], "message": self.message,
                "recorded_path": self.recorded_path, "candidate_path": self.candidate_path,
                "recorded_text": compress_path(self.recorded_path), "candidate_text": compress_path(self.candidate_path),
                "final_status": self.final_status, "expected_final": self.expected_final, "waiting": self.waiting,
                "title": self.title}


class DryRunContext:
    """What the stub operators see: the moment, the calendar and the settings; no session, no dossier."""

    def __init__(self, settings, calendar):
        self.settings = settings
        self.calendar = calendar

    @property
    def now(self) -> datetime:
        return clock.now()


def _receive(ctx, task):
    return ctx.calendar.due_at(ctx.now, ctx.settings.processing_hours).isoformat()


def _flag_overdue(ctx, task):
    return {"overdue": True, "due_at": task.data.get("due_at")}


def _notify(ctx, task, recipient, template):
    return {"to": [f"({recipient})"]}


def _sign(ctx, task, placement=None):
    return {"sha256": "dry-run", "signer": "dry-run", "placement": placement or "new_page"}


def _seal(ctx, task, register):
    return {"certification_number": 0, "register": str(register), "sha256": "dry-run"}


# Side-effect-free stand-ins for the registered operators; an operator without one returns {}.
DRY_RUN_OPERATORS = {
    "receive_dossier": _receive,
    "flag_overdue": _flag_overdue,
    "notify": _notify,
    "sign_copy": _sign,
    "seal_copy": _seal,
}


class _StubOperators(dict):
    def __init__(self, names):
        super().__init__({name: DRY_RUN_OPERATORS.get(name, lambda ctx, task, **params: {}) for name in names})

    def get(self, key, default=None):  # an operator registered later still gets a generic stub
        return super().get(key) or (lambda ctx, task, **params: {})


class TooManySteps(RuntimeError):
    pass


class DryRunner:
    """Replays cases against one parsed candidate."""

    def __init__(self, parsed: ParsedProcess, settings, calendar, operator_names):
        self.parsed = parsed
        context = DryRunContext(settings, calendar)
        self.script_engine = CertcopyScriptEngine(_StubOperators(operator_names), lambda: context)
        clock.install()

    def status(self, workflow: BpmnWorkflow) -> str:
        return Engine._status(workflow, Engine.ready_user_tasks(workflow))

    def _advance(self, workflow: BpmnWorkflow, at: datetime) -> None:
        count = [0]

        def guard(_task):
            count[0] += 1
            if count[0] > MAX_AUTOMATIC_STEPS:
                raise TooManySteps(f"quá {MAX_AUTOMATIC_STEPS} bước tự động liên tiếp (vòng lặp không có điểm dừng?)")

        with clock.frozen(at):
            while True:
                workflow.do_engine_steps(will_complete_task=guard)
                pending = [t for t in workflow.get_tasks(state=TaskState.READY) if not t.task_spec.manual]
                if not pending:
                    break

    def replay(self, case: RecordedCase) -> CaseResult:
        done: list[str] = []

        def result(outcome, message, workflow=None, final=None):
            waiting = [t.task_spec.name for t in Engine.ready_user_tasks(workflow)] if workflow is not None else []
            return CaseResult(case.label, case.source, outcome, message, case.recorded_path, list(done), final,
                              case.expected_final, waiting, case.title)

        workflow = None
        try:
            workflow = BpmnWorkflow(self.parsed.spec, self.parsed.subprocess_specs, script_engine=self.script_engine)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(case.initial_data)
            self._advance(workflow, case.started_at)
            if case.expect_start_status and self.status(workflow) != case.expect_start_status:
                return result("different_path", f"Khi nộp hồ sơ: trạng thái {self.status(workflow)}, lịch sử ghi "
                                                f"{case.expect_start_status}.", workflow)
            for number, step in enumerate(case.steps, start=1):
                if step.kind == "timers":
                    with clock.frozen(step.at):
                        workflow.refresh_timers()
                    self._advance(workflow, step.at)
                else:
                    ready = [t for t in Engine.ready_user_tasks(workflow) if t.task_spec.name == step.task]
                    if not ready:
                        if workflow.is_completed():
                            final = self.status(workflow)
                            return result("different_outcome", f"Bước {number}: lịch sử còn làm '{step.task}' nhưng "
                                                               f"quy trình mới đã kết thúc ({final}).", workflow, final)
                        waiting = [self._title(t.task_spec.name) for t in Engine.ready_user_tasks(workflow)]
                        if not waiting:
                            return result("stuck", f"Bước {number}: lịch sử làm '{self._title(step.task)}' nhưng quy "
                                                   "trình mới không có công việc nào chờ xử lý (bị kẹt).", workflow)
                        return result("different_path", f"Bước {number}: lịch sử làm '{self._title(step.task)}', quy "
                                                        f"trình mới chờ {', '.join(waiting)}.", workflow)
                    task = ready[0]
                    task.data.update(step.data)
                    with clock.frozen(step.at):
                        task.run()
                    done.append(step.task)
                    self._advance(workflow, step.at)
                if step.expect_status and self.status(workflow) != step.expect_status:
                    waiting = [self._title(t.task_spec.name) for t in Engine.ready_user_tasks(workflow)]
                    after = f" ({step.task})" if step.task else ""
                    then = f"quy trình mới chờ {', '.join(waiting)} — " if waiting else ""
                    return result("different_path", f"Sau bước {number}{after}: {then}trạng thái "
                                                    f"{self.status(workflow)}, lịch sử ghi {step.expect_status}.",
                                  workflow)
            if not workflow.is_completed():
                waiting = [self._title(t.task_spec.name) for t in Engine.ready_user_tasks(workflow)]
                if case.expected_final in FINAL_STATUSES:
                    what = f"còn chờ {', '.join(waiting)}" if waiting else "không còn việc nào để làm (bị kẹt)"
                    outcome = "different_path" if waiting else "stuck"
                    return result(outcome, f"Lịch sử đã kết thúc ({case.expected_final}) nhưng quy trình mới {what}.",
                                  workflow)
                status = self.status(workflow)
                if case.expected_final and status != case.expected_final:
                    return result("different_outcome", f"Trạng thái cuối {status}, lịch sử ghi {case.expected_final}.",
                                  workflow, status)
                return result("same", "Cùng đường đi và cùng trạng thái.", workflow, status)
            final = self.status(workflow)
            if case.expected_final and final != case.expected_final:
                return result("different_outcome", f"Kết thúc với trạng thái {final}, lịch sử ghi "
                                                   f"{case.expected_final}.", workflow, final)
            return result("same", "Cùng đường đi và cùng kết quả.", workflow, final)
        except TooManySteps as exc:
            return result("stuck", f"Bị kẹt: {exc}.", workflow)
        except Exception as exc:  # noqa: BLE001 - the candidate's own failure is the finding
            return result("error", f"Quy trình mới lỗi khi chạy: {type(exc).__name__}: {exc}", workflow)

    def _title(self, name: str | None) -> str:
        title = self.parsed.task_titles.get(name or "", name)
        return f"{name} ({title})" if title and title != name else str(name)


def compress_path(path: list[str]) -> str:
    """'intake → supplement → intake → supplement → intake → assign' as '(intake → supplement) ×2 → intake → assign'."""
    parts, i = [], 0
    while i < len(path):
        for size in (1, 2, 3):
            unit = path[i:i + size]
            if len(unit) < size:
                continue
            count = 1
            while path[i + count * size:i + (count + 1) * size] == unit:
                count += 1
            if count >= 2 and (size > 1 or count >= 3):
                text = " → ".join(unit)
                parts.append(f"({text}) ×{count}" if size > 1 else f"{text} ×{count}")
                i += count * size
                break
        else:
            parts.append(path[i])
            i += 1
    return " → ".join(parts)


def status_of_task(name: str) -> str:
    return STATUS_BY_TASK.get(name, "processing")


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    counts = {k: 0 for k in OUTCOME_NAMES}
    for r in results:
        counts[r.outcome] += 1
    return {"cases": len(results), "counts": counts,
            "differing": sum(v for k, v in counts.items() if k != "same")}
