/* Citizen portal: progressive enhancement only. Forms marked data-upload-progress are sent with
   XMLHttpRequest so a progress bar can show the upload; the server's answer (the next page, or the same form
   with its error messages) then replaces the page. Without JavaScript the forms submit normally. */
(function () {
  "use strict";
  if (!window.FormData || !window.XMLHttpRequest) { return; }

  function show(box, percent, message) {
    if (!box) { return; }
    box.hidden = false;
    var bar = box.querySelector("progress");
    var text = box.querySelector(".upload-progress-text");
    if (bar) {
      if (percent === null) { bar.removeAttribute("value"); } else { bar.value = percent; }
    }
    if (text) { text.textContent = message; }
  }

  function replacePage(xhr) {
    var finalUrl = xhr.responseURL;
    document.open();
    document.write(xhr.responseText);
    document.close();
    if (finalUrl && xhr.status < 400 && finalUrl !== window.location.href) {
      try { window.history.replaceState(null, "", finalUrl); } catch (e) { /* another origin: keep the URL */ }
    }
  }

  function enhance(form) {
    form.addEventListener("submit", function (event) {
      var file = form.querySelector("input[type=file]");
      if (!file || !file.files || !file.files.length) { return; }  /* nothing to upload: submit normally */
      event.preventDefault();
      var box = form.querySelector(".upload-progress");
      var buttons = form.querySelectorAll("button[type=submit]");
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      show(box, 0, "Đang tải tệp lên… 0%");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var percent = Math.round(e.loaded * 100 / e.total);
          show(box, percent, "Đang tải tệp lên… " + percent + "%");
        }
      });
      xhr.upload.addEventListener("load", function () { show(box, null, "Đã tải lên, đang kiểm tra tệp…"); });
      xhr.addEventListener("load", function () { replacePage(xhr); });
      xhr.addEventListener("error", function () {
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        show(box, 0, "Mất kết nối khi tải tệp lên. Vui lòng thử lại.");
      });
      xhr.send(data);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-upload-progress]"), enhance);
}());
