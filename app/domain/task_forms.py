"""Task forms: one JSON Schema per user task in forms/, used for the HTML forms and to validate input; and what
each task asks of the person working it besides its form (a PIN, a scan, the postal item number)."""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from jsonschema import Draft202012Validator

from app import resources
from app.errors import Unprocessable

# Tasks that sign: the worker's PIN unlocks the signer's or the agency's signing key.
SIGNING_TASKS = frozenset({"review_sign", "seal"})
# Tasks that take a scan of the original: the supplement (required) and a corrected scan when the dossier comes
# back from the signer (optional; it replaces the scan to certify).
SCAN_TASKS = frozenset({"supplement", "rework"})
TRUE_WORDS = ("true", "on", "1", "yes")
FALSE_WORDS = ("false", "off", "0", "no")


def needs_pin(task_name: str) -> bool:
    return task_name in SIGNING_TASKS


def takes_scan(task_name: str) -> bool:
    return task_name in SCAN_TASKS


def asks_postal_tracking(task_name: str, delivery: str) -> bool:
    """The postal item number is asked at the return step only when the result goes by post (and is required
    there); otherwise the field is not offered."""
    return task_name == "return" and delivery == "post"


@lru_cache(maxsize=None)
def form_schema(task_name: str) -> dict:
    schema = resources.form(task_name)
    if schema is None:
        raise KeyError(f"no form for task '{task_name}'")
    Draft202012Validator.check_schema(schema)
    return schema


def validate_form(task_name: str, data: object) -> dict:
    """Validate `data` against the task's form. Returns every field of the form (defaults applied, absent
    optional fields as None) so values from an earlier task never leak into this task's decision."""
    schema = form_schema(task_name)
    if not isinstance(data, dict):
        raise Unprocessable("Dữ liệu của biểu mẫu phải là một đối tượng JSON.", code="invalid_form")
    errors = {}
    for err in sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path)):
        field = ".".join(str(p) for p in err.path) or _missing_field(err) or "_"
        errors.setdefault(field, _message(schema, field, err))
    if errors:
        raise Unprocessable("Biểu mẫu có trường không hợp lệ: " + ", ".join(sorted(errors)), code="invalid_form",
                            details={"fields": errors})
    cleaned = {}
    for name, prop in schema.get("properties", {}).items():
        cleaned[name] = data.get(name, prop.get("default"))
    return cleaned


def _missing_field(err) -> str | None:
    if err.validator == "required":
        return err.message.split("'")[1] if "'" in err.message else None
    return None


def _message(schema: dict, field: str, err) -> str:
    custom = schema.get("x-messages", {}).get(field, {}).get(err.validator)
    if custom:
        return custom
    title = schema.get("properties", {}).get(field, {}).get("title", field)
    if err.validator == "required":
        return f"Cần nhập {title}."
    if err.validator == "enum":
        return f"{title}: giá trị không hợp lệ."
    if err.validator == "additionalProperties":
        return f"Trường không có trong biểu mẫu: {err.message}"
    return f"{title}: {err.message}"


def posted_values(task_name: str, posted: Mapping[str, str]) -> dict:
    """The fields of the task's form from posted strings (an HTML form), typed as the schema says. Values that do
    not convert are kept as posted so validation names them; empty optional text is left out."""
    schema = form_schema(task_name)
    data: dict = {}
    for name, prop in schema.get("properties", {}).items():
        raw = posted.get(name)
        if raw is None:
            continue
        kind = prop.get("type")
        if kind == "boolean":
            word = raw.strip().lower()
            if word in TRUE_WORDS:
                data[name] = True
            elif word in FALSE_WORDS:
                data[name] = False
            else:
                data[name] = raw
        elif kind == "integer":
            text = raw.strip()
            if not text:
                continue
            try:
                data[name] = int(text)
            except ValueError:
                data[name] = text
        else:
            if not raw.strip():
                continue
            data[name] = raw
    return data
