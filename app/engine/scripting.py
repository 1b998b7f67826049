"""The script engine BPMN runs with: expressions and scripts go through the whitelist evaluator in
`expressions` (never Python's eval/exec), timer values are bounded before SpiffWorkflow sees them, and
service tasks dispatch to the operators the caller registers.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app import clock
from app.errors import AppError, Unprocessable
from app.engine import expressions, timer_values


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's environment interface over the whitelist evaluator."""

    def evaluate(self, expression, context, external_context=None):
        names = {**external_context, **context} if external_context else context
        return expressions.evaluate(expression, names)

    def execute(self, script, context, external_context=None):
        expressions.execute(script, context)
        return True

    def call_service(self, context, **kwargs):
        raise expressions.ExpressionRejected("bước tự động chỉ gọi được các toán tử đã đăng ký")


class ExpressionStepFailed(Unprocessable):
    """An administrator's expression, script or timer value failed in a step; nothing of the step is kept."""
    code = "expression_failed"


Operator = Callable[..., object]


class ServiceError(AppError):
    status, code = 500, "service_failed"


class CertcopyScriptEngine(PythonScriptEngine):
    """Script engine whose service tasks call registered operators.

    `context_provider()` returns the per-call context object (dossier, session, actor, PIN) that the
    operators receive; it lives outside the workflow data so secrets are never serialized.
    """

    def __init__(self, operators: Mapping[str, Operator], context_provider: Callable[[], object]):
        super().__init__(environment=SafeEnvironment())
        self.operators = operators
        self.context_provider = context_provider

    def validate(self, expression):
        expressions.compile_expression(expression)

    def evaluate(self, task, expression, external_context=None):
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition) and expression == definition.expression:
                timer_values.check(timer_values.kind_of(definition), value, clock.now())
            return value
        except (expressions.ExpressionError, timer_values.TimerValueRejected) as exc:
            raise self._failed(task, expression, exc) from None

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context)
        except expressions.ExpressionError as exc:
            raise self._failed(task, script, exc) from None

    @staticmethod
    def _failed(task, source: str, exc: Exception) -> ExpressionStepFailed:
        spec = task.task_spec
        element = getattr(spec, "bpmn_id", None) or spec.name
        label = getattr(spec, "bpmn_name", None) or element
        return ExpressionStepFailed(
            f"Biểu thức của bước '{label}' ({element}) trong quy trình không chạy được: {exc}. "
            "Quản trị viên cần sửa quy trình; hồ sơ giữ nguyên.",
            details={"element": element, "expression": source[:200]})

    def call_service(self, task, operation_name=None, operation_params=None, **_kwargs):
        # Replaces the library's version, whose error path refers to an undefined name (see PITFALLS.md).
        operator = self.operators.get(operation_name)
        if operator is None:
            raise ServiceError(f"No operator '{operation_name}' is registered (service task {task.task_spec.name})",
                               code="unknown_operator")
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        context = self.context_provider()
        session = getattr(context, "session", None)
        # Operators' reads never depend on rows they have not flushed themselves; the step flushes once at the end.
        with session.no_autoflush if session is not None else contextlib.nullcontext():
            result = operator(context, task, **params)
        return json.dumps(result)
