/* Key form (templates/apikeys/form.html): show the per-model limit rows of ticked models only, and
   disable the hidden ones so they are not sent. Without this file every row shows, and the server turns
   a limit on an unticked model into a field error instead of dropping it. */
(function () {
  "use strict";

  /* PatternFly's responsive table rows set their own display, which beats the hidden attribute. */
  function hide(element, hidden) {
    element.hidden = hidden;
    element.style.display = hidden ? "none" : "";
  }

  function sync(form) {
    var ticked = {};
    form.querySelectorAll("input[name=model_ids]").forEach(function (box) { ticked[box.value] = box.checked; });
    var any = false;
    form.querySelectorAll("[data-portal-model-limit-row]").forEach(function (row) {
      /* A row with errors stays visible so its message is never hidden from the user. */
      var shown = Boolean(ticked[row.getAttribute("data-portal-model-limit-row")]) ||
        row.hasAttribute("data-portal-has-errors");
      any = any || shown;
      hide(row, !shown);
      row.querySelectorAll("input, select").forEach(function (field) {
        field.disabled = !shown || field.hasAttribute("data-portal-locked");
      });
    });
    var table = form.querySelector("[data-portal-model-limits]");
    var empty = form.querySelector("[data-portal-model-limits-empty]");
    if (table) { hide(table, !any); }
    if (empty) { hide(empty, any); }
  }

  document.querySelectorAll("form[data-portal-key-form]").forEach(function (form) {
    sync(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "model_ids") { sync(form); }
    });
  });
})();
