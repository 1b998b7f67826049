/* Glue between the certcopy pages and the vendored bpmn-js (viewer and modeler).
 *
 * A container with data-bpmn-view="<json script id>" shows a diagram read-only; the JSON holds `xml`, and
 * optionally `problems` (check results to highlight) and `path` (done/current elements, flows, durations).
 * A container with data-bpmn-edit="<json script id>" opens the modeler; the JSON holds `xml`, `save_url`
 * and `csrf`. The #save-version button saves through the page's own endpoint and shows the problems found.
 */
(function () {
  'use strict';

  function readData(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  function markProblems(instance, problems) {
    var canvas = instance.get('canvas');
    var overlays = instance.get('overlays');
    var registry = instance.get('elementRegistry');
    overlays.remove({type: 'cc-problem'});
    registry.forEach(function (element) {
      canvas.removeMarker(element.id, 'cc-problem');
      canvas.removeMarker(element.id, 'cc-warning');
    });
    var counts = {};
    (problems || []).forEach(function (problem, index) {
      var id = problem.element_id;
      if (!id || !registry.get(id)) { return; }
      canvas.addMarker(id, problem.severity === 'error' ? 'cc-problem' : 'cc-warning');
      counts[id] = (counts[id] || 0) + 1;
      overlays.add(id, 'cc-problem', {
        position: {top: -14, right: 14 * counts[id]},
        html: '<span class="cc-problem-badge ' + escapeHtml(problem.severity) + '" title="' +
          escapeHtml(problem.message) + '">' + (index + 1) + '</span>'
      });
    });
  }

  function showPath(instance, path) {
    if (!path) { return; }
    var canvas = instance.get('canvas');
    var overlays = instance.get('overlays');
    var registry = instance.get('elementRegistry');
    (path.done || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, 'cc-done'); } });
    (path.current || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, 'cc-current'); } });
    (path.flows || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, 'cc-flow-done'); } });
    Object.keys(path.durations || {}).forEach(function (id) {
      if (!registry.get(id)) { return; }
      var d = path.durations[id];
      overlays.add(id, 'cc-duration', {
        position: {bottom: 14, left: 0},
        html: '<span class="cc-duration-badge' + (d.waiting ? ' waiting' : '') + '">' + escapeHtml(d.text) + '</span>'
      });
    });
  }

  function linkProblemList(instance, list) {
    if (!list) { return; }
    list.addEventListener('click', function (event) {
      var item = event.target.closest('li[data-element]');
      if (!item || !item.dataset.element) { return; }
      var element = instance.get('elementRegistry').get(item.dataset.element);
      if (element) {
        instance.get('canvas').scrollToElement(element);
        if (instance.get('selection', false)) { instance.get('selection').select(element); }
      }
    });
  }

  function fit(instance) {
    var canvas = instance.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
  }

  async function view(container, data) {
    var viewer = new window.BpmnJS({container: container});
    try {
      await viewer.importXML(data.xml);
    } catch (err) {
      container.innerHTML = '<p class="field-error">Không hiển thị được sơ đồ: ' + escapeHtml(err.message) + '</p>';
      return null;
    }
    fit(viewer);
    markProblems(viewer, data.problems);
    showPath(viewer, data.path);
    linkProblemList(viewer, document.getElementById('problem-list'));
    window.certcopyViewer = viewer;
    return viewer;
  }

  function renderProblems(problems, message) {
    var box = document.getElementById('save-problems');
    var list = document.getElementById('save-problem-list');
    document.getElementById('save-message').textContent = message || '';
    list.innerHTML = '';
    (problems || []).forEach(function (p) {
      var li = document.createElement('li');
      li.className = p.severity;
      li.dataset.element = p.element_id || '';
      li.innerHTML = '<span class="cc-severity">' + (p.severity === 'error' ? 'Lỗi' : 'Lưu ý') + '</span> ' +
        (p.element_id ? '<code>' + escapeHtml(p.element_id) + '</code>' +
          (p.element_name ? ' <em>' + escapeHtml(p.element_name) + '</em>' : '') + ' — ' : '') +
        escapeHtml(p.message);
      list.appendChild(li);
    });
    box.hidden = false;
  }

  async function save(modeler, data, status) {
    status.textContent = 'Đang kiểm tra và lưu…';
    var result = await modeler.saveXML({format: true});
    var form = new FormData();
    form.append('csrf_token', data.csrf);
    form.append('file', new Blob([result.xml], {type: 'application/xml'}), 'process.bpmn');
    var response = await fetch(data.save_url, {
      method: 'POST', body: form, credentials: 'same-origin',
      headers: {'X-CSRF-Token': data.csrf, 'Accept': 'application/json'}
    });
    var body;
    try { body = await response.json(); } catch (err) { body = {ok: false, message: 'Lỗi máy chủ (' + response.status + ').'}; }
    if (body.ok) {
      status.textContent = 'Đã lưu phiên bản ' + body.version + '.';
      window.location.href = body.url;
      return body;
    }
    status.textContent = '';
    renderProblems(body.problems, body.message);
    markProblems(modeler, body.problems);
    return body;
  }

  var TYPE_NAMES = {
    'bpmn:UserTask': 'Công việc (user task)', 'bpmn:ManualTask': 'Công việc (manual task)', 'bpmn:Task': 'Công việc',
    'bpmn:ServiceTask': 'Bước tự động', 'bpmn:ScriptTask': 'Bước script', 'bpmn:Lane': 'Làn (vai trò)',
    'bpmn:SequenceFlow': 'Luồng', 'bpmn:ExclusiveGateway': 'Cổng rẽ nhánh', 'bpmn:ParallelGateway': 'Cổng song song',
    'bpmn:StartEvent': 'Sự kiện bắt đầu', 'bpmn:EndEvent': 'Sự kiện kết thúc', 'bpmn:BoundaryEvent': 'Sự kiện biên',
    'bpmn:IntermediateCatchEvent': 'Sự kiện chờ', 'bpmn:Participant': 'Bể (pool)', 'bpmn:Process': 'Quy trình'
  };
  var HUMAN = ['bpmn:UserTask', 'bpmn:ManualTask', 'bpmn:Task'];

  /* The small properties box: id and name of the selected element (the modeler alone cannot set an id). */
  function elementPanel(modeler, data) {
    var panel = document.getElementById('element-panel');
    if (!panel) { return; }
    var idInput = document.getElementById('element-id');
    var nameInput = document.getElementById('element-name');
    var hint = document.getElementById('element-hint');
    var registry = modeler.get('elementRegistry');
    var current = null;

    function describe() {
      if (!current) { return; }
      var type = current.businessObject.$type;
      var id = idInput.value.trim();
      if (HUMAN.indexOf(type) >= 0) {
        hint.textContent = (data.forms || []).indexOf(id) >= 0 ? 'Có biểu mẫu forms/' + id + '.json.'
          : 'Chưa có biểu mẫu forms/' + id + '.json: cần thêm tệp biểu mẫu trước khi lưu.';
      } else if (type === 'bpmn:Lane') {
        var role = nameInput.value.trim();
        hint.textContent = (data.roles || []).indexOf(role) >= 0 ? 'Vai trò: ' + role + '.'
          : 'Tên làn phải là mã vai trò: ' + (data.roles || []).join(', ') + '.';
      } else {
        hint.textContent = '';
      }
    }

    modeler.on('selection.changed', function (event) {
      var selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
      if (selected && selected.type === 'label') { selected = selected.labelTarget; }
      current = selected;
      panel.hidden = !selected;
      if (!selected) { return; }
      var bo = selected.businessObject;
      document.getElementById('element-type').textContent = TYPE_NAMES[bo.$type] || bo.$type;
      idInput.value = bo.id || '';
      nameInput.value = bo.name || '';
      idInput.setAttribute('list', HUMAN.indexOf(bo.$type) >= 0 ? 'known-forms' : '');
      nameInput.setAttribute('list', bo.$type === 'bpmn:Lane' ? 'known-roles' : '');
      describe();
    });
    idInput.addEventListener('input', describe);
    nameInput.addEventListener('input', describe);
    panel.addEventListener('submit', function (event) {
      event.preventDefault();
      if (!current) { return; }
      var id = idInput.value.trim();
      var bo = current.businessObject;
      if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(id)) {
        hint.textContent = 'Mã chỉ gồm chữ Latinh không dấu, số, "_", "-", "." và không bắt đầu bằng số.';
        return;
      }
      if (id !== bo.id && (registry.get(id) || modeler.get('moddle').ids.assigned(id))) {
        hint.textContent = 'Mã "' + id + '" đã được dùng cho phần tử khác.';
        return;
      }
      var props = {name: nameInput.value.trim() || undefined};
      if (id !== bo.id) { props.id = id; }
      modeler.get('modeling').updateProperties(current, props);
      hint.textContent = 'Đã áp dụng.';
    });
  }

  async function edit(container, data) {
    var modeler = new window.BpmnJS({container: container, keyboard: {bindTo: document}});
    try {
      await modeler.importXML(data.xml);
    } catch (err) {
      container.innerHTML = '<p class="field-error">Không mở được sơ đồ: ' + escapeHtml(err.message) + '</p>';
      return null;
    }
    fit(modeler);
    var status = document.getElementById('save-status');
    var button = document.getElementById('save-version');
    button.addEventListener('click', function () {
      button.disabled = true;
      save(modeler, data, status).catch(function (err) {
        status.textContent = 'Không lưu được: ' + err.message;
      }).finally(function () { button.disabled = false; });
    });
    linkProblemList(modeler, document.getElementById('save-problem-list'));
    elementPanel(modeler, data);
    window.certcopyModeler = modeler;
    return modeler;
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-bpmn-view]').forEach(function (el) {
      view(el, readData(el.dataset.bpmnView)).then(function () { el.dataset.ready = 'true'; });
    });
    document.querySelectorAll('[data-bpmn-edit]').forEach(function (el) {
      edit(el, readData(el.dataset.bpmnEdit)).then(function () { el.dataset.ready = 'true'; });
    });
  });

  window.certcopyProcesses = {view: view, edit: edit, markProblems: markProblems};
}());
