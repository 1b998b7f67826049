"""The path a dossier took through its BPMN diagram: which elements are done, which wait now, which sequence
flows were followed. Worked out from the process XML (parsed safely) and the dossier's audit events; bpmn-js
draws the result as canvas markers."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from app.engine.definitions import parse_xml_safely

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODES = ("startEvent", "endEvent", "userTask", "serviceTask", "scriptTask", "task", "exclusiveGateway",
              "parallelGateway", "inclusiveGateway", "eventBasedGateway", "intermediateCatchEvent",
              "intermediateThrowEvent", "boundaryEvent", "manualTask", "sendTask", "receiveTask")
GATEWAYS = ("exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")
EVENT_KINDS_DONE = ("task_completed", "service_completed", "timer_fired")


@dataclass(frozen=True)
class ProcessGraph:
    kinds: dict[str, str]                        # element id -> BPMN tag (userTask, endEvent, ...)
    names: dict[str, str]                        # element id -> name shown in the diagram
    flows: dict[str, tuple[str, str]]            # flow id -> (source, target)
    attached_to: dict[str, str]                  # boundary event id -> the activity it is attached to


@lru_cache(maxsize=32)
def process_graph(bpmn_xml: str) -> ProcessGraph:
    root = parse_xml_safely(bpmn_xml)
    kinds, names, flows, attached = {}, {}, {}, {}
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.tag.startswith("{" + BPMN_NS + "}"):
            continue
        tag = element.tag.split("}", 1)[1]
        ident = element.get("id")
        if not ident:
            continue
        if tag in FLOW_NODES:
            kinds[ident] = tag
            names[ident] = element.get("name") or ident
            if tag == "boundaryEvent" and element.get("attachedToRef"):
                attached[ident] = element.get("attachedToRef")
        elif tag == "sequenceFlow":
            flows[ident] = (element.get("sourceRef"), element.get("targetRef"))
    return ProcessGraph(kinds, names, flows, attached)


@dataclass(frozen=True)
class PathMarkers:
    done: list[str]
    current: list[str]
    flows: list[str]


def path_markers(graph: ProcessGraph, done_tasks: list[str], current_tasks: list[str], final_status: str | None
                 ) -> PathMarkers:
    """`done_tasks`: element ids from the events (tasks completed, services run, timers fired), in order;
    `current_tasks`: the ids of the READY user tasks; `final_status`: returned/refused/cancelled when finished."""
    done = {t for t in done_tasks if t in graph.kinds}
    current = {t for t in current_tasks if t in graph.kinds}
    if done or current:
        done |= {i for i, k in graph.kinds.items() if k == "startEvent"}
    reached = done | current

    def sources(node):
        return [s for s, t in graph.flows.values() if t == node]

    def targets(node):
        return [t for s, t in graph.flows.values() if s == node]

    # gateways between reached elements were passed (iterate: gateways can follow each other)
    changed = True
    while changed:
        changed = False
        for ident, kind in graph.kinds.items():
            if kind in GATEWAYS and ident not in done:
                if any(s in done for s in sources(ident)) and \
                        any(_leads_to(graph, t, reached) for t in targets(ident)):
                    done.add(ident)
                    reached.add(ident)
                    changed = True
    if final_status:
        for ident, kind in graph.kinds.items():
            if kind == "endEvent" and ident.startswith(f"end_{final_status}") and any(s in done for s in
                                                                                      sources(ident)):
                done.add(ident)
                reached.add(ident)
    taken = []
    for flow_id, (source, target) in graph.flows.items():
        if source in done and target in reached:
            taken.append(flow_id)
    for boundary, activity in graph.attached_to.items():
        if boundary in done:
            done.add(activity)
    return PathMarkers(done=sorted(done - current), current=sorted(current), flows=sorted(taken))


def _leads_to(graph: ProcessGraph, start: str, reached: set[str], seen: set[str] | None = None) -> bool:
    """Whether `start` is reached, or is a gateway through which a reached element follows."""
    if start in reached:
        return True
    if graph.kinds.get(start) not in GATEWAYS:
        return False
    seen = seen or set()
    if start in seen:
        return False
    seen.add(start)
    return any(_leads_to(graph, t, reached, seen) for s, t in graph.flows.values() if s == start)
