"""Pre-save checks of a BPMN routing file: each problem names the BPMN element (id and name) so the
administrator's diagram can highlight it.

Pure functions over the XML text and a few registries (roles, operators, forms); no database, no Flask.
A version may be saved only when `check_bpmn(...).ok` (no problem of severity "error").
"""
from __future__ import annotations

import ast
import inspect
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lxml import etree

from app.errors import AppError
from app.engine.definitions import BpmnRejected, bpmn_validator, parse_xml_safely
from app.engine import expressions, timer_values

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "spiffworkflow": SPIFF_NS}

LANE_ROLES = ("citizen", "one_stop", "leader", "justice_officer", "signer", "clerk")
# A finished dossier's status comes from the id of the terminate end event it reached (see runtime.py).
END_STATUS_PREFIXES = ("end_returned", "end_refused", "end_cancelled")
HUMAN_TASK_TAGS = ("userTask", "manualTask", "task")
ACTIVITY_TAGS = HUMAN_TASK_TAGS + ("serviceTask", "scriptTask", "sendTask", "receiveTask", "businessRuleTask",
                                   "callActivity", "subProcess")
FLOW_NODE_TAGS = ACTIVITY_TAGS + ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                                  "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
                                  "eventBasedGateway", "complexGateway")
MAX_ID_LENGTH = 64          # HumanTask.name and Event.task columns
MAX_TEXT_BYTES = 2_000_000  # a routing diagram is tens of kilobytes; refuse anything absurd
DOCTYPE_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

TAG_NAMES = {
    "userTask": "công việc", "manualTask": "công việc", "task": "công việc", "serviceTask": "bước tự động",
    "scriptTask": "bước script", "startEvent": "sự kiện bắt đầu", "endEvent": "sự kiện kết thúc",
    "intermediateCatchEvent": "sự kiện chờ", "boundaryEvent": "sự kiện biên", "exclusiveGateway": "cổng rẽ nhánh",
    "parallelGateway": "cổng song song", "inclusiveGateway": "cổng rẽ nhánh", "sequenceFlow": "luồng",
}


@dataclass(frozen=True)
class Problem:
    code: str
    message: str                       # Vietnamese, names the element
    element_id: str | None = None      # the BPMN element to highlight (flow node, flow, lane or process)
    element_name: str | None = None
    severity: str = "error"            # "error" blocks saving; "warning" is shown only
    line: int | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "element_id": self.element_id,
                "element_name": self.element_name, "severity": self.severity, "line": self.line}


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    process_id: str | None = None
    human_tasks: dict[str, str] = field(default_factory=dict)     # task id -> lane (role)
    task_titles: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)        # task id -> dossier status while it waits
    service_tasks: dict[str, str] = field(default_factory=dict)   # task id -> operator

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"ok": self.ok, "errors": [p.as_dict() for p in self.errors],
                "warnings": [p.as_dict() for p in self.warnings], "process_id": self.process_id,
                "user_tasks": [{"id": k, "name": self.task_titles.get(k, k), "role": v,
                                "status": self.statuses.get(k)} for k, v in self.human_tasks.items()],
                "service_tasks": [{"id": k, "operator": v} for k, v in self.service_tasks.items()]}

    def summary(self) -> str:
        return "; ".join(p.message for p in self.errors)


@dataclass(frozen=True)
class Registries:
    """What a routing file may refer to: the roles lanes name, the operators, the task forms."""
    roles: tuple[str, ...]
    operators: Mapping[str, Callable]
    form_exists: Callable[[str], bool]
    form_fields: Callable[[str], dict]           # task name -> {field: JSON Schema property}
    notification_templates: tuple[str, ...]
    initial_data: Mapping[str, object]           # data every dossier starts with
    status_of: Callable[[str], str]              # user task name -> dossier status while it waits
    staffed_roles: frozenset[str] | None = None  # roles someone at an agency of this level holds (warn if not)


def default_registries(staffed_roles: frozenset[str] | None = None, supplement_timeout: str = "P15D") -> Registries:
    from app.domain.task_forms import form_schema
    from app.services.notifications import TEMPLATES
    from app.services.dossiers.operators import OPERATORS
    from app.engine.runtime import STATUS_BY_TASK

    def form_exists(name: str) -> bool:
        try:
            form_schema(name)
        except KeyError:
            return False
        return True

    def form_fields(name: str) -> dict:
        try:
            return dict(form_schema(name).get("properties", {}))
        except KeyError:
            return {}

    return Registries(roles=LANE_ROLES, operators=OPERATORS, form_exists=form_exists, form_fields=form_fields,
                      notification_templates=tuple(TEMPLATES),
                      initial_data={"supplement_timeout": supplement_timeout, "dossier": "000.00.00.H00-000000-0000"},
                      status_of=lambda name: STATUS_BY_TASK.get(name, "processing"), staffed_roles=staffed_roles)


# -- helpers -----------------------------------------------------------------------------------------------
def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _label(el) -> str:
    name = el.get("name")
    kind = TAG_NAMES.get(_local(el), _local(el))
    return f"{kind} '{el.get('id')}'" + (f" ({name})" if name else "")


def _Label(el) -> str:
    text = _label(el)
    return text[:1].upper() + text[1:]


def operator_parameters(operator: Callable) -> tuple[set[str], set[str]]:
    """(required, allowed) parameter names of an operator(ctx, task, **params)."""
    params = list(inspect.signature(operator).parameters.values())[2:]
    allowed = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    required = {p.name for p in params if p.name in allowed and p.default is p.empty}
    return required, allowed


def _sample_value(prop: dict):
    if prop.get("enum"):
        return prop["enum"][0]
    if "default" in prop:
        return prop["default"]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return {"integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}.get(kind, "mẫu")


_validator_lock = threading.Lock()


class Checker:
    def __init__(self, xml_text: str, registries: Registries):
        self.xml_text = xml_text
        self.reg = registries
        self.report = CheckReport()
        self.root = None
        self.process = None
        self.by_id: dict[str, etree._Element] = {}

    # -- entry -----------------------------------------------------------------------------------------
    def run(self) -> CheckReport:
        if not self._parse_safely():
            return self.report
        self._check_schema()
        if not self._find_process():
            return self.report
        self._index()
        self._check_ids()
        self._check_spiff_parse()
        self._check_lanes_and_forms()
        self._check_service_tasks()
        self._check_scripts_and_conditions()
        self._check_timers()
        self._check_paths()
        self._check_end_events()
        self._check_diagram()
        self.report.problems.sort(key=lambda p: p.severity != "error")  # errors first, each group in file order
        return self.report

    def add(self, code: str, message: str, el=None, severity: str = "error", element_id: str | None = None,
            line: int | None = None) -> None:
        if el is not None:
            anchor = self._anchor(el)
            element_id = element_id or (anchor.get("id") if anchor is not None else None)
            name = anchor.get("name") if anchor is not None else None
            line = line or el.sourceline
        else:
            anchor_el = self.by_id.get(element_id) if element_id else None
            name = anchor_el.get("name") if anchor_el is not None else None
        self.report.problems.append(Problem(code, message, element_id, name, severity, line))

    def _anchor(self, el):
        """The nearest element bpmn-js draws (flow node, flow, lane, participant or process)."""
        node = el
        while node is not None:
            if isinstance(node.tag, str) and etree.QName(node).namespace == BPMN_NS and node.get("id") \
                    and _local(node) in FLOW_NODE_TAGS + ("sequenceFlow", "lane", "process", "participant"):
                return node
            node = node.getparent()
        return None

    # -- 1. XML well-formed and safe ----------------------------------------------------------------------
    def _parse_safely(self) -> bool:
        raw = self.xml_text.encode("utf-8")
        if len(raw) > MAX_TEXT_BYTES:
            self.add("bpmn_too_large", f"Tệp BPMN quá lớn ({len(raw) // 1024} KB, tối đa {MAX_TEXT_BYTES // 1024} KB).")
            return False
        if DOCTYPE_RE.search(raw):
            self.add("xml_dtd_forbidden", "Tệp BPMN khai báo DTD hoặc thực thể (DOCTYPE/ENTITY): không được phép "
                                          "vì có thể đọc tệp trên máy chủ (XXE).")
            return False
        try:
            self.root = parse_xml_safely(raw)
        except BpmnRejected as exc:
            if "DTD" in exc.message:
                self.add("xml_dtd_forbidden", "Tệp BPMN khai báo DTD hoặc thực thể: không được phép.")
            else:
                detail = exc.message.split(": ", 1)[-1]
                self.add("xml_malformed", f"Tệp không phải XML hợp lệ: {detail}")
            return False
        if etree.QName(self.root).localname != "definitions" or etree.QName(self.root).namespace != BPMN_NS:
            self.add("not_bpmn", "Tệp không phải BPMN 2.0: phần tử gốc phải là bpmn:definitions "
                                 f"(namespace {BPMN_NS}).")
            return False
        return True

    # -- 2. valid BPMN 2.0 (XSD) --------------------------------------------------------------------------
    def _check_schema(self) -> None:
        lines = {}
        for el in self.root.iter():
            if isinstance(el.tag, str):
                lines.setdefault(el.sourceline, el)
        validator = bpmn_validator()
        with _validator_lock:
            validator.preprocess(self.root)
            valid = validator.validator.validate(self.root)
            errors = [] if valid else [(e.line, e.message) for e in validator.validator.error_log]
        for line, message in errors[:20]:
            el = lines.get(line)
            self.add("bpmn_schema", f"Không đúng lược đồ BPMN 2.0 (dòng {line}): {message}", el, line=line)

    def _find_process(self) -> bool:
        processes = self.root.findall(f"{{{BPMN_NS}}}process")
        executable = [p for p in processes if p.get("isExecutable", "false") == "true"]
        if len(executable) != 1:
            self.add("executable_process", "Tệp phải có đúng một quy trình thực thi được (isExecutable=\"true\"), "
                                           f"tìm thấy {len(executable)}.")
            return False
        self.process = executable[0]
        self.report.process_id = self.process.get("id")
        return True

    def _index(self) -> None:
        for el in self.root.iter():
            if isinstance(el.tag, str) and etree.QName(el).namespace == BPMN_NS and el.get("id"):
                self.by_id.setdefault(el.get("id"), el)
        self.nodes = [el for el in self.process.iter() if isinstance(el.tag, str)
                      and etree.QName(el).namespace == BPMN_NS and _local(el) in FLOW_NODE_TAGS]
        self.flows = [el for el in self.process.iter(f"{{{BPMN_NS}}}sequenceFlow")]
        for el in self.nodes:
            if el.get("name"):
                self.report.task_titles[el.get("id")] = el.get("name")

    # -- ids: unique, short, no clash with extension ids (SpiffWorkflow indexes every id) -----------------
    def _check_ids(self) -> None:
        seen: dict[str, etree._Element] = {}
        for el in self.root.iter():
            if not isinstance(el.tag, str) or not el.get("id") or etree.QName(el).namespace != BPMN_NS:
                continue
            if el.get("id") in seen:
                self.add("duplicate_id", f"Mã '{el.get('id')}' được dùng cho hai phần tử.", el)
            seen[el.get("id")] = el
        for el in self.nodes:
            if len(el.get("id", "")) > MAX_ID_LENGTH:
                self.add("id_too_long", f"Mã của {_label(el)} dài quá {MAX_ID_LENGTH} ký tự.", el)
        for el in self.root.iter(f"{{{SPIFF_NS}}}*"):
            ext_id = el.get("id")
            if ext_id and ext_id in seen and _local(el) != "parameter":
                owner = self._anchor(el)
                self.add("id_clash", f"Mã toán tử '{ext_id}' trùng với mã của {_label(seen[ext_id])}: "
                                     "đặt mã bước khác tên toán tử (ví dụ '{0}_task').".format(ext_id),
                         owner if owner is not None else el)

    # -- 3. SpiffWorkflow parses it -------------------------------------------------------------------------
    def _check_spiff_parse(self) -> None:
        from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
        from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

        parser = SpiffBpmnParser()  # a fresh parser per file (duplicate process ids raise)
        try:
            parser.add_bpmn_xml(parse_xml_safely(self.xml_text.encode("utf-8")), filename="process.bpmn")
            spec = parser.get_spec(self.process.get("id"))
        except ValidationException as exc:
            element_id = getattr(exc, "id", None) or None
            where = f" tại phần tử '{element_id}'" if element_id else ""
            self.add("spiff_parse", f"SpiffWorkflow không đọc được quy trình{where}: {exc}".rstrip(". ") + ".",
                     element_id=element_id if element_id in self.by_id else None)
            return
        except Exception as exc:  # noqa: BLE001 - any parser failure is a problem of the file
            self.add("spiff_parse", f"SpiffWorkflow không đọc được quy trình: {exc}")
            return
        for name, task_spec in spec.task_specs.items():
            if getattr(task_spec, "manual", False) and name not in self.by_id:
                self.add("spiff_parse", f"SpiffWorkflow tạo công việc '{name}' không có trong sơ đồ.")

    # -- 4/5. lanes are roles, human tasks have forms ---------------------------------------------------------
    def _lanes(self) -> dict[str, etree._Element]:
        lane_of = {}
        for lane in self.process.iter(f"{{{BPMN_NS}}}lane"):
            for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
                if ref.text:
                    lane_of[ref.text.strip()] = lane
        return lane_of

    def _check_lanes_and_forms(self) -> None:
        lane_of = self._lanes()
        for el in self.nodes:
            if _local(el) not in HUMAN_TASK_TAGS:
                continue
            tid = el.get("id")
            lane = lane_of.get(tid)
            role = (lane.get("name") or "").strip() if lane is not None else None
            if lane is None:
                self.add("task_without_lane", f"{_Label(el)} không nằm trong làn (lane) nào: "
                                              "làn cho biết vai trò xử lý.", el)
            elif role not in self.reg.roles:
                self.add("unknown_lane", f"{_Label(el)} nằm trong làn '{role}' không phải vai trò đã "
                                         f"biết ({', '.join(self.reg.roles)}).", el)
            else:
                self.report.human_tasks[tid] = role
                self.report.statuses[tid] = self.reg.status_of(tid)
                if self.reg.staffed_roles is not None and role not in self.reg.staffed_roles:
                    self.add("role_unstaffed", f"{_Label(el)}: chưa có cán bộ nào giữ vai trò '{role}' "
                                               "ở cơ quan cấp này; công việc sẽ không ai nhận được.", el,
                             severity="warning")
            if not self.reg.form_exists(tid):
                self.add("missing_form", f"{_Label(el)} chưa có biểu mẫu: cần tệp forms/{tid}.json "
                                         "(JSON Schema các trường của công việc).", el)
        for lane in self.process.iter(f"{{{BPMN_NS}}}lane"):
            role = (lane.get("name") or "").strip()
            if role not in self.reg.roles and not any(
                    lane_of.get(r.text.strip()) is lane and _local(self.by_id.get(r.text.strip(), lane)) in HUMAN_TASK_TAGS
                    for r in lane.findall(f"{{{BPMN_NS}}}flowNodeRef") if r.text):
                self.add("unknown_lane", f"Làn '{lane.get('id')}' có tên '{role}' không phải vai trò đã biết "
                                         f"({', '.join(self.reg.roles)}).", lane, severity="warning")

    # -- 6. service tasks: registered operator, complete parameters ---------------------------------------------
    def _check_service_tasks(self) -> None:
        for el in self.nodes:
            if _local(el) != "serviceTask":
                continue
            ops = el.findall(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}serviceTaskOperator")
            if not ops:
                self.add("service_without_operator", f"{_Label(el)} không khai báo toán tử "
                                                      "(spiffworkflow:serviceTaskOperator).", el)
                continue
            op = ops[0]
            name = op.get("id") or ""
            operator = self.reg.operators.get(name)
            if operator is None:
                self.add("unknown_operator", f"{_Label(el)} gọi toán tử '{name}' chưa được đăng ký "
                                             f"(có: {', '.join(sorted(self.reg.operators))}).", el)
                continue
            self.report.service_tasks[el.get("id")] = name
            required, allowed = operator_parameters(operator)
            given = {}
            for param in op.iter(f"{{{SPIFF_NS}}}parameter"):
                given[param.get("id") or ""] = param
            for missing in sorted(required - set(given)):
                self.add("missing_parameter", f"{_Label(el)}: toán tử '{name}' thiếu tham số "
                                              f"'{missing}'.", el)
            for extra in sorted(set(given) - allowed):
                self.add("unknown_parameter", f"{_Label(el)}: toán tử '{name}' không có tham số "
                                              f"'{extra}' (có: {', '.join(sorted(allowed)) or 'không có'}).", el)
            for pname, param in given.items():
                value = (param.get("value") or "").strip()
                if not value:
                    self.add("empty_parameter", f"{_Label(el)}: tham số '{pname}' chưa có giá trị "
                                                "(biểu thức Python, ví dụ 'citizen' trong dấu nháy).", el)
                    continue
                if not self._restricted(value, "eval", el, f"tham số '{pname}'"):
                    continue
                self._check_literal_parameter(el, name, pname, value)
            if not op.get("resultVariable"):
                self.add("no_result_variable", f"{_Label(el)}: nên đặt resultVariable để lưu kết quả "
                                               "của toán tử.", el, severity="warning")

    def _check_literal_parameter(self, el, operator: str, pname: str, value: str) -> None:
        try:
            literal = expressions.evaluate(value, {})
        except expressions.ExpressionError:
            return  # an expression over task data: checked by the dry run
        if operator == "notify" and pname == "recipient" and literal not in self.reg.roles:
            self.add("invalid_parameter", f"{_Label(el)}: người nhận '{literal}' không phải vai trò "
                                          f"đã biết ({', '.join(self.reg.roles)}).", el)
        if operator == "notify" and pname == "template" and literal not in self.reg.notification_templates:
            self.add("invalid_parameter", f"{_Label(el)}: mẫu thông báo '{literal}' không có "
                                          f"(có: {', '.join(self.reg.notification_templates)}).", el)

    # -- 9. scripts and conditions are restricted ------------------------------------------------------------
    def _restricted(self, source: str, mode: str, el, what: str) -> bool:
        try:
            (expressions.compile_expression if mode == "eval" else expressions.compile_script)(source)
        except expressions.ExpressionRejected as exc:
            self.add("script_forbidden", f"{_Label(el if self._anchor(el) is None else self._anchor(el))}: {what} không được phép — "
                                         f"{exc.message}.", el)
            return False
        return True

    def _check_scripts_and_conditions(self) -> None:
        for el in self.process.iter(f"{{{BPMN_NS}}}scriptTask"):
            fmt = (el.get("scriptFormat") or "python").lower()
            if fmt not in ("python", "text/x-python"):
                self.add("script_format", f"{_Label(el)}: chỉ hỗ trợ script Python, không hỗ trợ "
                                          f"'{fmt}'.", el)
            script = el.findtext(f"{{{BPMN_NS}}}script") or ""
            self._restricted(script, "exec", el, "script")
        for tag in ("preScript", "postScript"):
            for el in self.process.iter(f"{{{SPIFF_NS}}}{tag}"):
                self._restricted(el.text or "", "exec", el, tag)
        for flow in self.flows:
            cond = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            if cond is not None and (cond.text or "").strip():
                self._restricted(cond.text.strip(), "eval", flow, "điều kiện rẽ nhánh")

    # -- 8. timer expressions evaluate ---------------------------------------------------------------------------
    def sample_data(self) -> dict:
        data = dict(self.reg.initial_data)
        for tid in self.report.human_tasks:
            for name, prop in self.reg.form_fields(tid).items():
                data.setdefault(name, _sample_value(prop if isinstance(prop, dict) else {}))
        now = datetime.now(UTC)
        self.unknown_results = set()
        for el in self.nodes:
            op = el.find(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}serviceTaskOperator")
            if op is not None and op.get("resultVariable") and op.get("id") not in self.reg.operators:
                self.unknown_results.add(op.get("resultVariable"))  # already reported as unknown_operator
            elif op is not None and op.get("resultVariable"):
                value = (now + timedelta(hours=4)).isoformat() if op.get("id") == "receive_dossier" else {}
                data.setdefault(op.get("resultVariable"), value)
        return data

    def _check_timers(self) -> None:
        data = self.sample_data()
        now = datetime.now(UTC)
        for definition in self.process.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
            event = definition.getparent()
            exprs = [c for c in definition if isinstance(c.tag, str)
                     and _local(c) in ("timeDate", "timeDuration", "timeCycle")]
            if not exprs:
                self.add("timer_without_expression", f"{_Label(event)}: bộ hẹn giờ chưa có biểu thức "
                                                     "(timeDate, timeDuration hoặc timeCycle).", event)
                continue
            expr_el = exprs[0]
            source = (expr_el.text or "").strip()
            if not source:
                self.add("timer_without_expression", f"{_Label(event)}: biểu thức hẹn giờ để trống.",
                         event)
                continue
            if not self._restricted(source, "eval", event, "biểu thức hẹn giờ"):
                continue
            names = {n.id for n in ast.walk(expressions.compile_expression(source).tree) if isinstance(n, ast.Name)}
            if names & self.unknown_results:
                continue  # its value comes from an operator already reported as unknown
            try:
                value = expressions.evaluate(source, dict(data))
            except expressions.UnknownName as exc:
                self.add("timer_unknown_data", f"{_Label(event)}: biểu thức hẹn giờ '{source}' dùng "
                                               f"dữ liệu '{exc.name}' mà hồ sơ không có. Chuỗi ISO 8601 phải đặt trong "
                                               "dấu nháy, ví dụ \"PT4H\".", event)
                continue
            except expressions.ExpressionError as exc:
                self.add("timer_invalid", f"{_Label(event)}: không tính được biểu thức hẹn giờ "
                                          f"'{source}': {exc.message}", event)
                continue
            try:
                timer_values.check(_local(expr_el), value, now)
            except timer_values.TimerValueRejected as exc:
                self.add("timer_invalid", f"{_Label(event)}: biểu thức hẹn giờ '{source}' không dùng được: "
                                          f"{exc}.", event)

    # -- 7. every path from the start reaches an end -------------------------------------------------------------
    def _check_paths(self) -> None:
        top = [el for el in self.nodes if el.getparent() is self.process]
        ids = {el.get("id") for el in top}
        out: dict[str, set[str]] = {i: set() for i in ids}
        for flow in self.flows:
            src, dst = flow.get("sourceRef"), flow.get("targetRef")
            if flow.getparent() is not self.process:
                continue
            for ref, end in ((src, "nguồn"), (dst, "đích")):
                if ref not in ids:
                    self.add("dangling_flow", f"Luồng '{flow.get('id')}' có {end} '{ref}' không có trong quy trình.",
                             flow)
            if src in ids and dst in ids:
                out[src].add(dst)
        for el in top:
            if _local(el) == "boundaryEvent" and el.get("attachedToRef") in ids:
                out[el.get("attachedToRef")].add(el.get("id"))
        starts = [el.get("id") for el in top if _local(el) == "startEvent"]
        ends = {el.get("id") for el in top if _local(el) == "endEvent"}
        if len(starts) != 1:
            self.add("start_event", f"Quy trình phải có đúng một sự kiện bắt đầu, có {len(starts)}.",
                     element_id=self.process.get("id"))
            if not starts:
                return
        if not ends:
            self.add("no_end_event", "Quy trình không có sự kiện kết thúc nào.", element_id=self.process.get("id"))
        reached = _reach(starts, out)
        incoming: dict[str, set[str]] = {i: set() for i in ids}
        for src, dsts in out.items():
            for dst in dsts:
                incoming[dst].add(src)
        finishing = _reach(ends, incoming)
        for el in top:
            tid = el.get("id")
            if tid in reached and tid not in finishing:
                why = "không có luồng đi ra" if not out[tid] and tid not in ends else "mọi đường đi tiếp đều không tới"
                self.add("dead_end", f"{_Label(el)}: ngõ cụt — {why} sự kiện kết thúc.", el)
            elif tid not in reached:
                self.add("unreachable", f"{_Label(el)} không thể tới được từ sự kiện bắt đầu.", el,
                         severity="warning")

    def _check_end_events(self) -> None:
        for el in self.nodes:
            if _local(el) != "endEvent":
                continue
            terminates = el.find(f"{{{BPMN_NS}}}terminateEventDefinition") is not None
            if terminates and not el.get("id", "").startswith(END_STATUS_PREFIXES):
                self.add("end_status_unknown", f"{_Label(el)} kết thúc hồ sơ nhưng mã không bắt đầu bằng "
                                               f"{', '.join(END_STATUS_PREFIXES)}: trạng thái cuối sẽ không xác định "
                                               "(ghi là 'cancelled').", el)
        if not any(_local(el) == "endEvent" and el.get("id", "").startswith("end_returned") for el in self.nodes):
            self.add("no_return_end", "Không có sự kiện kết thúc 'end_returned…': không đường nào trả kết quả cho "
                                      "người dân.", element_id=self.process.get("id"), severity="warning")

    # -- diagram information so bpmn-js can show it ---------------------------------------------------------------
    def _check_diagram(self) -> None:
        shapes = {el.get("bpmnElement") for el in self.root.iter(f"{{{BPMNDI_NS}}}BPMNShape")}
        edges = {el.get("bpmnElement") for el in self.root.iter(f"{{{BPMNDI_NS}}}BPMNEdge")}
        if not shapes and not edges:
            self.add("no_diagram", "Tệp không có thông tin sơ đồ (BPMNDiagram): quy trình chạy được nhưng không "
                                   "hiển thị được trên trình xem.", element_id=self.process.get("id"),
                     severity="warning")
            return
        for el in self.nodes:
            if el.get("id") not in shapes and el.getparent() is self.process:
                self.add("no_shape", f"{_Label(el)} không có hình trên sơ đồ.", el, severity="warning")


def _reach(starts: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen, stack = set(), list(starts)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return seen


def check_bpmn(xml: str, registries: Registries | None = None) -> CheckReport:
    """Run every pre-save check on a BPMN text; never raises for a bad file."""
    return Checker(xml, registries or default_registries()).run()


def decode_upload(data: bytes) -> str:
    """The text of an uploaded BPMN file (UTF-8, optional BOM)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AppError("Tệp BPMN phải mã hóa UTF-8.", code="invalid_bpmn", status=422,
                       details={"problems": [Problem("xml_encoding", "Tệp BPMN phải mã hóa UTF-8.").as_dict()]}) \
            from None
