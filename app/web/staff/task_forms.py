"""Task forms in HTML: fields drawn from forms/<task>.json (Vietnamese titles, enum titles), and the messages of
a refused form placed next to its fields. Posted strings are typed by app.domain.task_forms.posted_values."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.task_forms import form_schema

LONG_TEXT = 255


@dataclass
class FormField:
    name: str
    kind: str                      # radio | select | textarea | text | number | checkbox
    label: str
    description: str = ""
    required: bool = False
    value: object = None
    error: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)


def _conditional_required(schema: dict) -> set[str]:
    then = schema.get("then", {})
    return set(then.get("required", []))


def build_fields(task: str, values: dict, errors: dict, choices: dict[str, list[tuple[str, str]]] | None = None
                 ) -> list[FormField]:
    """The fields of task `task` with the current values and error messages."""
    schema = form_schema(task)
    choices = choices or {}
    required = set(schema.get("required", []))
    sometimes = _conditional_required(schema)
    out = []
    for name, prop in schema.get("properties", {}).items():
        kind, options = "text", []
        if name in choices:
            kind, options = "select", choices[name]
        elif "enum" in prop:
            titles = prop.get("x-enum-titles") or prop["enum"]
            kind, options = "radio", [(str(v), t) for v, t in zip(prop["enum"], titles, strict=False)]
        elif prop.get("type") == "boolean":
            kind = "checkbox"
        elif prop.get("type") == "integer":
            kind = "number"
        elif prop.get("type") == "string" and prop.get("maxLength", 0) > LONG_TEXT:
            kind = "textarea"
        value = values.get(name, prop.get("default"))
        out.append(FormField(name=name, kind=kind, label=prop.get("title", name),
                             description=prop.get("description", ""), required=name in required,
                             value=value, error=errors.get(name), choices=options))
        if name in sometimes and not out[-1].description:
            out[-1].description = "Bắt buộc trong một số trường hợp."
    return out


def field_errors(exc) -> dict[str, str]:
    """Per-field messages from a service error; codes like "required" become the error's own sentence."""
    fields = (exc.details or {}).get("fields") or {}
    out = {}
    for name, message in fields.items():
        text = str(message)
        out[name] = text if " " in text else exc.message
    if exc.code in ("pin_required", "wrong_pin"):
        out["pin"] = exc.message
    if exc.code in ("unknown_register", "register_closed"):
        out.setdefault("register", exc.message)
    return out
