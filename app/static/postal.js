/* Postal delivery fields (địa chỉ nhận kết quả qua bưu chính): shown only while "post" is the chosen delivery.
   Hidden fields are disabled so they are not sent. Without JavaScript they are simply visible; the server
   checks the rule either way. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-postal-fields]"), function (box) {
    var form = box.closest("form");
    if (!form) { return; }
    var controls = form.querySelectorAll("[name=delivery]");
    if (!controls.length) { return; }

    function chosen() {
      for (var i = 0; i < controls.length; i++) {
        var c = controls[i];
        if (c.type === "radio") { if (c.checked) { return c.value; } } else { return c.value; }
      }
      return "";
    }

    function update() {
      var post = chosen() === "post";
      box.hidden = !post;
      Array.prototype.forEach.call(box.querySelectorAll("input, textarea"), function (input) {
        input.disabled = !post;
      });
    }

    Array.prototype.forEach.call(controls, function (c) { c.addEventListener("change", update); });
    update();
  });
}());
