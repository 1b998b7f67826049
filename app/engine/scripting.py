"""The script environment BPMN expressions, scripts and service tasks run in.

Expressions are Python (SpiffWorkflow's convention) but restricted: no imports, no dunder or private
attribute access, and only a whitelist of builtins plus the working-time calendar functions. Service
tasks dispatch to the operators registered in `app.services.operators`.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import json
from collections.abc import Callable, Mapping
from functools import lru_cache

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from ..errors import AppError
from ..services import calendar

SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "isinstance", "len", "list", "max",
        "min", "range", "round", "set", "sorted", "str", "sum", "tuple", "zip", "True", "False", "None",
    )
}

EXPRESSION_FUNCTIONS: dict[str, Callable] = {
    "add_working_hours": calendar.add_working_hours,
    "due_at_for": calendar.due_at,
    "working_hours_between": calendar.working_hours_between,
    "subtract_working_hours": calendar.subtract_working_hours,
}

FORBIDDEN_NODES = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Lambda, ast.AsyncFunctionDef,
                   ast.ClassDef, ast.Await, ast.Yield, ast.YieldFrom)
FORBIDDEN_NAMES = {"eval", "exec", "open", "compile", "getattr", "setattr", "delattr", "globals", "locals",
                   "vars", "input", "breakpoint", "__import__", "type", "object", "memoryview"}


class ScriptRejected(ValueError):
    """A BPMN expression or script uses something the environment does not allow."""


@lru_cache(maxsize=4096)
def check_source(source: str, mode: str = "exec") -> None:
    """Raise ScriptRejected when `source` imports, touches dunders/private names or forbidden builtins."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScriptRejected(f"syntax error: {exc.msg} (line {exc.lineno})") from None
    for node in ast.walk(tree):
        if isinstance(node, FORBIDDEN_NODES):
            raise ScriptRejected(f"'{type(node).__name__}' is not allowed in BPMN scripts")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ScriptRejected(f"access to attribute '{node.attr}' is not allowed")
        if isinstance(node, ast.Name) and (node.id.startswith("__") or node.id in FORBIDDEN_NAMES):
            raise ScriptRejected(f"name '{node.id}' is not allowed")


class RestrictedEnvironment(TaskDataEnvironment):
    def __init__(self):
        super().__init__({"__builtins__": SAFE_BUILTINS, **EXPRESSION_FUNCTIONS})

    def evaluate(self, expression, context, external_context=None):
        check_source(expression, "eval")
        return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        check_source(script, "exec")
        return super().execute(script, context, external_context)


Operator = Callable[..., object]


class ServiceError(AppError):
    status, code = 500, "service_failed"


class CertcopyScriptEngine(PythonScriptEngine):
    """Script engine whose service tasks call registered operators.

    `context_provider()` returns the per-call context object (dossier, session, actor, PIN) that the
    operators receive; it lives outside the workflow data so secrets are never serialized.
    """

    def __init__(self, operators: Mapping[str, Operator], context_provider: Callable[[], object]):
        super().__init__(environment=RestrictedEnvironment())
        self.operators = operators
        self.context_provider = context_provider

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
