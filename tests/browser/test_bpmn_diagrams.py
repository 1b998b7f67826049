"""bpmn-js (the vendored viewer) imports every shipped BPMN file without a warning and draws every element."""
from __future__ import annotations


import pytest

from app.engine.definitions import VARIANTS
from app.resources import shipped_process


@pytest.mark.parametrize("variant", VARIANTS)
def test_bpmn_js_draws_the_shipped_process(page, live_server, shots, variant):
    xml = shipped_process(variant)
    page.goto(f"{live_server}/login")
    page.set_content(f"""<!doctype html><html><head>
      <link rel="stylesheet" href="{live_server}/static/vendor/bpmn-js/diagram-js.css">
      <link rel="stylesheet" href="{live_server}/static/vendor/bpmn-js/bpmn-js.css">
      <script src="{live_server}/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"></script>
      </head><body><div id="canvas" style="width:1340px;height:740px"></div></body></html>""")
    result = page.evaluate("""async (xml) => {
        const viewer = new BpmnJS({container: '#canvas'});
        const {warnings} = await viewer.importXML(xml);
        viewer.get('canvas').zoom('fit-viewport');
        const ids = viewer.get('elementRegistry').getAll().map(e => e.id);
        return {warnings: warnings.map(w => w.message), ids};
    }""", xml)
    shots(f"{variant}-diagram")
    assert result["warnings"] == []
    for element in ("intake", "review_sign", "seal", "return", "deadline", "supplement_timeout", "end_returned"):
        assert element in result["ids"], element
