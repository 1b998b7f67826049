"""Files the app reads at run time, shipped inside the package and read with `importlib.resources` (never a path
into the source tree, so a wheel installed anywhere finds them): the routing variants (the source tree's
`processes/`), the task forms (`forms/`) and the scenario library (`scenarios/`) that tests, `certcopy replay`
and the routing dry run share. `setup.py` maps each folder to its package here.
"""
from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

PROCESSES = "app.resources.processes"
FORMS = "app.resources.forms"
SCENARIOS = "app.resources.scenarios"


def shipped_process(variant: str) -> str:
    """The BPMN text of a routing variant as shipped (province, district, commune)."""
    return (files(PROCESSES) / f"copy_certification_{variant}.bpmn").read_text(encoding="utf-8")


def form_names() -> list[str]:
    """The user tasks that have a form, by name."""
    return sorted(entry.name[:-5] for entry in files(FORMS).iterdir() if entry.name.endswith(".json"))


@cache
def form(task_name: str) -> dict | None:
    """The JSON Schema of a user task's form, or None when the task has none."""
    entry = files(FORMS) / f"{task_name}.json"
    return json.loads(entry.read_text(encoding="utf-8")) if entry.is_file() else None


def scenario_texts() -> list[tuple[str, str]]:
    """The scenario library as (file name, JSON text), by name."""
    return sorted((entry.name, entry.read_text(encoding="utf-8"))
                  for entry in files(SCENARIOS).iterdir() if entry.name.endswith(".json"))
