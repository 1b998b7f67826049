"""Process definitions: BPMN files parsed safely, versioned by SHA-256, cached per version."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.errors import Unprocessable

VARIANTS = ("province", "district", "commune")


def sha256_text(xml: str) -> str:
    return hashlib.sha256(xml.encode("utf-8")).hexdigest()


class BpmnRejected(Unprocessable):
    code = "invalid_bpmn"


def parse_xml_safely(xml: str | bytes) -> etree._Element:
    """Parse BPMN XML with no DTD, no entity expansion and no network (XXE-safe)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise BpmnRejected(f"The BPMN file is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.internalDTD is not None or root.getroottree().docinfo.doctype:
        raise BpmnRejected("The BPMN file declares a DTD; DTDs and entities are not allowed")
    return root


_validator_lock = threading.Lock()
_validator: BpmnValidator | None = None


def bpmn_validator() -> BpmnValidator:
    global _validator
    with _validator_lock:
        if _validator is None:
            _validator = BpmnValidator()
        return _validator


@dataclass(frozen=True)
class ParsedProcess:
    process_id: str
    spec: object
    subprocess_specs: dict
    task_titles: dict[str, str]   # task spec name -> BPMN name
    task_lanes: dict[str, str]    # user task name -> lane (role)


def parse_process(xml: str) -> ParsedProcess:
    root = parse_xml_safely(xml)
    parser = SpiffBpmnParser(validator=bpmn_validator())  # a fresh parser per version (duplicate ids raise)
    try:
        parser.add_bpmn_xml(root, filename="process.bpmn")
        process_ids = [pid for pid in parser.get_process_ids()
                       if parser.get_process_parser(pid).node.get("isExecutable", "false") == "true"]
        if len(process_ids) != 1:
            raise BpmnRejected(f"Expected exactly one executable process, found {len(process_ids)}")
        pid = process_ids[0]
        spec = parser.get_spec(pid)
        subprocess_specs = parser.get_subprocess_specs(pid)
    except BpmnRejected:
        raise
    except Exception as exc:  # the parser's own errors name the element
        raise BpmnRejected(f"SpiffWorkflow cannot parse the BPMN: {exc}") from None
    titles, lanes = {}, {}
    for name, task_spec in spec.task_specs.items():
        titles[name] = getattr(task_spec, "bpmn_name", None) or name
        if getattr(task_spec, "manual", False):
            lanes[name] = task_spec.lane
    return ParsedProcess(pid, spec, subprocess_specs, titles, lanes)


class ProcessCache:
    """Parsed specs by ProcessVersion id; a version's XML never changes, so entries never go stale."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_sha: dict[str, ParsedProcess] = {}
        self._by_version_id: dict[int, ParsedProcess] = {}

    def get(self, sha256: str, xml: str) -> ParsedProcess:
        parsed = self._by_sha.get(sha256)
        if parsed is None:
            parsed = parse_process(xml)
            with self._lock:
                self._by_sha.setdefault(sha256, parsed)
        return self._by_sha[sha256]

    def for_version(self, version_id: int, load_version) -> ParsedProcess:
        """By ProcessVersion id, so a cached version needs no database read; `load_version()` gives the row."""
        parsed = self._by_version_id.get(version_id)
        if parsed is None:
            version = load_version()
            parsed = self.get(version.sha256, version.bpmn_xml)
            with self._lock:
                self._by_version_id.setdefault(version_id, parsed)
        return parsed
