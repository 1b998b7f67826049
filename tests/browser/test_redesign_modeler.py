"""An administrator adds the deputy leader's review step to the district routing in the browser modeler,
dry-runs and activates it; new dossiers follow it while one started before stays on version 1; an auditor
then sees the new dossier's path on the diagram."""
from __future__ import annotations

from .conftest import log_in, log_out

ADD_DEPUTY_REVIEW = """() => {
  const modeler = window.certcopyModeler;
  const registry = modeler.get('elementRegistry');
  const modeling = modeler.get('modeling');
  const factory = modeler.get('elementFactory');
  const lane = registry.get('Lane_leader');
  const task = modeling.createShape(factory.createShape({type: 'bpmn:UserTask'}), {x: 1140, y: 940}, lane);
  const incoming = registry.filter(e => e.type === 'bpmn:SequenceFlow' && e.source.id === 'assign')[0];
  modeling.reconnectEnd(incoming, task, {x: 1090, y: 940});
  modeler.get('selection').select(task);
  return task.id;
}"""

CONNECT_TO_REVIEW = """() => {
  const modeler = window.certcopyModeler;
  const registry = modeler.get('elementRegistry');
  modeler.get('modeling').connect(registry.get('deputy_review'), registry.get('review_sign'));
  return registry.get('deputy_review').incoming.length + registry.get('deputy_review').outgoing.length;
}"""


def test_add_deputy_review_with_the_modeler(page, live_server, shots, api):
    old = api.file_dossier(agency="pacnam").get_json()["code"]
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/processes/district/1/edit")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.wait_for_selector("#modeler[data-ready=true]")
    assert page.evaluate(ADD_DEPUTY_REVIEW).startswith("Activity_")
    # the element box sets the id (which names the form) and the name
    page.fill("#element-id", "deputy_revue")
    assert "Chưa có biểu mẫu" in page.inner_text("#element-hint")
    page.fill("#element-id", "deputy_review")
    assert "Có biểu mẫu forms/deputy_review.json" in page.inner_text("#element-hint")
    page.fill("#element-name", "Phó trưởng phòng xem xét")
    page.click("#element-apply")
    assert page.locator("g.djs-element[data-element-id=deputy_review]").count() == 1

    # saved without an outgoing flow: refused, the dead end named and highlighted on the diagram
    page.click("#save-version")
    page.wait_for_selector("#save-problem-list li")
    assert "deputy_review" in page.inner_text("#save-problem-list")
    assert page.locator("g.djs-element.cc-problem[data-element-id=deputy_review]").count() == 1
    shots("dead-end-highlighted")

    assert page.evaluate(CONNECT_TO_REVIEW) == 2
    page.click("#save-version")
    page.wait_for_url(f"{live_server}/admin/processes/district/2")
    assert "Đã lưu phiên bản 2" in page.content()
    page.wait_for_selector("#diagram[data-ready=true]")
    assert page.locator("g.djs-element[data-element-id=deputy_review]").count() == 1
    with page.expect_navigation():
        page.click("#dry-run-button")
    page.wait_for_selector("#dry-run table")
    assert "Đi đường khác" in page.inner_text("#dry-run")
    shots("dry-run")
    with page.expect_navigation():
        page.click("#activate-button")
    page.wait_for_selector(".flash.success")
    assert "Đã áp dụng phiên bản 2 cho hồ sơ mới" in page.inner_text(".flash.success")

    # new dossiers follow version 2; the one filed before stays on version 1
    new = api.file_dossier(agency="pacnam").get_json()["code"]
    for code in (old, new):
        assert api.complete("one_stop.pacnam", code, "intake", {"decision": "accept"}).status_code == 200
        assert api.complete("leader.pacnam", code, "assign", {"signer": "signer.pacnam"}).status_code == 200
    assert [t["name"] for t in api.get(f"/dossiers/{new}", "auditor").get_json()["tasks"]] == ["deputy_review"]
    assert api.complete("leader.pacnam", new, "deputy_review", {"opinion": "Đồng ý trình ký."}).status_code == 200
    old_detail = api.get(f"/dossiers/{old}", "auditor").get_json()
    assert old_detail["process_version"] == 1 and [t["name"] for t in old_detail["tasks"]] == ["review_sign"]

    assert errors == []
    log_out(page)
    log_in(page, live_server, "auditor")
    page.goto(f"{live_server}/audit/dossiers/{new}")
    page.wait_for_selector("#diagram[data-ready=true]")
    assert page.locator("g.djs-element.cc-done[data-element-id=deputy_review]").count() == 1
    assert page.locator("g.djs-element.cc-current[data-element-id=review_sign]").count() == 1
    assert page.locator(".cc-duration-badge").count() >= 3
    assert "toàn vẹn" in page.inner_text("#chain-status")
    shots("auditor-history")
