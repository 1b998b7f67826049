"""Task forms: one JSON Schema per user task in forms/, used for the HTML forms and to validate input."""
from __future__ import annotations

from functools import lru_cache

from jsonschema import Draft202012Validator

from app import resources
from app.errors import Unprocessable


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
