"""Workflow state (de)serialization without the spec: a dossier is pinned to its ProcessVersion, whose
parsed spec is cached once, so each saved state holds only the instance (tasks, data, events)."""
from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class PinnedSpecWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = PinnedSpecWorkflowConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))
VERSION_KEY = _serializer.VERSION_KEY


def dump(workflow: BpmnWorkflow) -> str:
    registry = _serializer.registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
        dct[VERSION_KEY] = _serializer.VERSION
        return json.dumps(dct, cls=_serializer._encoder_cls, separators=(",", ":"))
    finally:
        registry._encoder_mode = False


def load(state: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    dct = json.loads(state)
    if dct.get(VERSION_KEY) != _serializer.VERSION:
        raise RuntimeError(f"workflow state has serializer version {dct.get(VERSION_KEY)!r}, "
                           f"expected {_serializer.VERSION!r}: migrate it first")
    dct.pop(VERSION_KEY)
    workflow = _serializer.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
