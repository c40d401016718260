/* p13n console: reorder a point's decisions by drag (the arrows stay as the keyboard way).
   A drop posts the new order to the list's data-order-url with the session's CSRF token and
   reloads the page, so what is shown is what was saved. */
(function () {
  "use strict";
  function setup(list) {
    var dragged = null;
    list.querySelectorAll("li[data-name]").forEach(function (li) {
      li.setAttribute("draggable", "true");
      li.addEventListener("dragstart", function (e) {
        dragged = li; li.classList.add("dragging");
        e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", li.dataset.name);
      });
      li.addEventListener("dragend", function () { li.classList.remove("dragging"); });
      li.addEventListener("dragover", function (e) {
        if (!dragged || dragged === li) return;
        e.preventDefault();
        var box = li.getBoundingClientRect();
        list.insertBefore(dragged, e.clientY < box.top + box.height / 2 ? li : li.nextSibling);
      });
    });
    list.addEventListener("drop", function (e) {
      if (!dragged) return;
      e.preventDefault(); dragged = null;
      var order = Array.prototype.map.call(list.querySelectorAll("li[data-name]"), function (li) { return li.dataset.name; });
      var body = new URLSearchParams();
      body.set("csrf_token", document.body.dataset.csrf || "");
      body.set("order", order.join(","));
      list.setAttribute("aria-busy", "true");
      fetch(list.dataset.orderUrl, { method: "POST", body: body, credentials: "same-origin" })
        .then(function () { window.location.reload(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("ol[data-order-url]").forEach(setup);
  });
})();
