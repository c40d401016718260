/* p13n console, Measure pages: a form with class "confirm" asks before it is sent (lifecycle
   moves, identity splits); its question is the form's data-confirm. No inline script (CSP). */
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("confirm")) return;
    if (!window.confirm(form.dataset.confirm || "Are you sure?")) e.preventDefault();
  }, true);
})();
