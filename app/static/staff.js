/* Staff pages: the only script — draws the dossier's BPMN diagram with the path taken (bpmn-js, vendored). */
(function () {
  "use strict";
  var container = document.getElementById("bpmn-diagram");
  var source = document.getElementById("bpmn-data");
  if (!container || !source || typeof window.BpmnJS !== "function") { return; }
  var data = JSON.parse(source.textContent);
  var viewer = new window.BpmnJS({ container: container });
  viewer.importXML(data.xml).then(function () {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    function mark(ids, css) {
      ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, css); } });
    }
    mark(data.done, "path-done");
    mark(data.flows, "path-flow");
    mark(data.current, "path-current");
    canvas.zoom("fit-viewport", "auto");
    container.setAttribute("data-ready", "true");
  }).catch(function (err) {
    container.textContent = "Không vẽ được sơ đồ quy trình: " + (err && err.message ? err.message : err);
    container.setAttribute("data-ready", "error");
  });
}());
