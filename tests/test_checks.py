"""The pre-save checks of a BPMN routing file (pure: no database, no Flask)."""
from __future__ import annotations

import pytest
from lxml import etree

from app.services.routing.checks import check_bpmn, default_registries
from app.engine.definitions import VARIANTS
from app.resources import shipped_process
from tests.fixtures.bpmn import edits


def errors(xml: str, registries=None) -> dict[str, set]:
    """code -> element ids of the errors found."""
    found: dict[str, set] = {}
    for p in check_bpmn(xml, registries).errors:
        found.setdefault(p.code, set()).add(p.element_id)
    return found


@pytest.mark.parametrize("variant", VARIANTS)
def test_shipped_routing_passes_every_check(variant):
    report = check_bpmn(shipped_process(variant))
    assert report.ok, report.summary()
    assert report.warnings == [], [p.message for p in report.warnings]
    assert report.human_tasks["intake"] == "one_stop"
    assert report.statuses["review_sign"] == "awaiting_signature"


def test_deputy_review_example_passes():
    report = check_bpmn(edits.add_deputy_review())
    assert report.ok, report.summary()
    assert report.human_tasks["deputy_review"] == "leader"
    assert report.statuses["deputy_review"] == "processing"


@pytest.mark.parametrize("sample, code, element", [
    (edits.unknown_lane, "unknown_lane", "assign"),
    (edits.unknown_operator, "unknown_operator", "receive"),
    (edits.missing_parameter, "missing_parameter", "notify_refused"),
    (edits.operator_id_clash, "id_clash", "receive_dossier"),
    (edits.missing_form, "missing_form", "legal_check"),
    (edits.dead_end, "dead_end", "deputy_review"),
    (edits.script_with_import, "script_forbidden", "compute_note"),
    (edits.bad_timer, "timer_unknown_data", "supplement_timeout"),
])
def test_each_mistake_is_named_with_its_element(sample, code, element):
    report = check_bpmn(sample())
    assert not report.ok
    found = [p for p in report.errors if p.code == code]
    assert found, [p.as_dict() for p in report.errors]
    assert element in {p.element_id for p in found}
    problem = next(p for p in found if p.element_id == element)
    assert element in problem.message  # the message names the element for people reading it without the diagram
    if problem.element_name:
        assert problem.element_name in problem.message


def test_mistakes_do_not_cascade():
    assert set(errors(edits.unknown_lane())) == {"unknown_lane"}
    assert set(errors(edits.unknown_operator())) == {"unknown_operator"}  # not also its timer
    assert set(errors(edits.missing_form())) == {"missing_form"}
    assert set(errors(edits.script_with_import())) == {"script_forbidden"}


@pytest.mark.parametrize("name, code", [
    ("malformed.bpmn", "xml_malformed"),
    ("xxe.bpmn", "xml_dtd_forbidden"),
    ("xxe_parameter_entity.bpmn", "xml_dtd_forbidden"),
    ("billion_laughs.bpmn", "xml_dtd_forbidden"),
    ("not_bpmn.xml", "not_bpmn"),
])
def test_unsafe_or_broken_xml_is_refused_first(name, code):
    report = check_bpmn(edits.fixture(name))
    assert [p.code for p in report.problems] == [code]


def test_xxe_never_reads_the_file():
    report = check_bpmn(edits.fixture("xxe.bpmn"))
    assert "root:" not in str(report.as_dict())


def _mutate(xml: str, fn) -> str:
    root = etree.fromstring(xml.encode())
    fn(root)
    return etree.tostring(root, encoding="unicode")


def _el(root, xpath):
    (el,) = root.xpath(xpath, namespaces=edits.NS)
    return el


def test_schema_errors_point_at_the_element():
    def break_schema(root):
        _el(root, "//bpmn:userTask[@id='seal']").set("priority", "high")
    report = check_bpmn(_mutate(edits.district_xml(), break_schema))
    schema = [p for p in report.errors if p.code == "bpmn_schema"]
    assert schema and schema[0].element_id == "seal"


@pytest.mark.parametrize("source, reason", [
    ("decision.__class__ == 'x'", "__class__"),
    ("open('/etc/passwd').read() == ''", "open"),
    ("__import__('socket') is None", "__import__"),
])
def test_conditions_are_restricted(source, reason):
    def edit(root):
        _el(root, "//bpmn:sequenceFlow[@id='f_gw_review_approve']/bpmn:conditionExpression").text = source
    report = check_bpmn(_mutate(edits.district_xml(), edit))
    found = [p for p in report.errors if p.code == "script_forbidden"]
    assert [p.element_id for p in found] == ["f_gw_review_approve"]
    assert reason in found[0].message


def test_timer_must_give_an_iso_value():
    def edit(root):
        _el(root, "//bpmn:boundaryEvent[@id='supplement_timeout']//bpmn:timeDuration").text = "'soon'"
    report = check_bpmn(_mutate(edits.district_xml(), edit))
    assert {(p.code, p.element_id) for p in report.errors} == {("timer_invalid", "supplement_timeout")}


def test_terminate_end_needs_a_status_prefix():
    def edit(root):
        end = _el(root, "//bpmn:endEvent[@id='end_refused']")
        end.set("id", "end_stopped")
        for el in root.xpath("//*[@targetRef='end_refused' or @bpmnElement='end_refused']"):
            for attr in ("targetRef", "bpmnElement"):
                if el.get(attr) == "end_refused":
                    el.set(attr, "end_stopped")
        for el in root.xpath("//*[text()='end_refused']"):
            el.text = "end_stopped"
    report = check_bpmn(_mutate(edits.district_xml(), edit))
    assert {(p.code, p.element_id) for p in report.errors} == {("end_status_unknown", "end_stopped")}


def test_user_task_outside_any_lane():
    def edit(root):
        ref = _el(root, "//bpmn:lane/bpmn:flowNodeRef[text()='seal']")
        ref.getparent().remove(ref)
    report = check_bpmn(_mutate(edits.district_xml(), edit))
    assert {(p.code, p.element_id) for p in report.errors} == {("task_without_lane", "seal")}


def test_operator_parameters_checked_by_name_and_value():
    def edit(root):
        op = _el(root, "//bpmn:serviceTask[@id='notify_refused']//spiffworkflow:serviceTaskOperator")
        params = op.find(f"{{{edits.SPIFF}}}parameters")
        _el(params, "spiffworkflow:parameter[@id='template']").set("value", "'sms_blast'")
        etree.SubElement(params, f"{{{edits.SPIFF}}}parameter", id="channel", type="str", value="'sms'")
    report = check_bpmn(_mutate(edits.district_xml(), edit))
    codes = sorted(p.code for p in report.errors if p.element_id == "notify_refused")
    assert codes == ["invalid_parameter", "unknown_parameter"]


def test_lane_role_nobody_holds_is_a_warning():
    registries = default_registries(staffed_roles=frozenset({"one_stop", "leader", "signer", "clerk", "citizen"}))
    commune = shipped_process("commune")
    report = check_bpmn(commune, registries)
    assert report.ok
    assert {p.element_id for p in report.warnings if p.code == "role_unstaffed"} == {"handle", "rework"}


def test_file_from_another_modeler_is_accepted():
    """Camunda Modeler adds its own namespaces, attributes and exporter; they do not matter to the checks."""
    xml = edits.add_deputy_review().replace(
        'exporter="certcopy"', 'exporter="Camunda Modeler" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" modeler:executionPlatform="Camunda Platform"', 1) \
        .replace('<bpmn:userTask id="deputy_review"', '<bpmn:userTask camunda:formKey="deputy" id="deputy_review"', 1)
    assert 'camunda:formKey' in xml
    report = check_bpmn(xml)
    assert report.ok, report.summary()
