/* litemaas web shell: progressive enhancements only. Every page works without this file; with it the
   sidebar collapses, menus close like menus, the theme switches without a reload, secrets copy with one
   click and destructive actions confirm in a dialog. Event delegation keeps htmx-swapped content working. */
(function () {
  "use strict";

  var THEME_KEY = "litemaas-theme";
  var WIDE = window.matchMedia("(min-width: 75rem)"); /* PatternFly's xl breakpoint: sidebar docked */
  var DARK = window.matchMedia("(prefers-color-scheme: dark)");

  /* ------------------------------------------------------------ sidebar */
  function sidebar() { return document.querySelector("[data-portal-sidebar]"); }
  function sidebarVisible(el) {
    return WIDE.matches ? !el.classList.contains("pf-m-collapsed") : el.classList.contains("pf-m-expanded");
  }
  function syncNavToggle() {
    var el = sidebar(), button = document.querySelector("[data-portal-nav-toggle]");
    if (!el || !button) { return; }
    var visible = sidebarVisible(el);
    button.setAttribute("aria-expanded", visible ? "true" : "false");
    el.toggleAttribute("inert", !visible);
  }
  function toggleSidebar(force) {
    var el = sidebar();
    if (!el) { return; }
    var show = typeof force === "boolean" ? force : !sidebarVisible(el);
    if (WIDE.matches) { el.classList.toggle("pf-m-collapsed", !show); } else { el.classList.toggle("pf-m-expanded", show); }
    syncNavToggle();
  }
  WIDE.addEventListener("change", function () {
    var el = sidebar();
    if (el) { el.classList.remove("pf-m-expanded", "pf-m-collapsed"); }
    syncNavToggle();
  });

  /* ------------------------------------------------------------ dropdowns (<details data-portal-dropdown>) */
  function closeDropdowns(except) {
    document.querySelectorAll("details[data-portal-dropdown][open]").forEach(function (d) {
      if (d !== except) { d.removeAttribute("open"); }
    });
  }
  document.addEventListener("toggle", function (event) {
    var d = event.target;
    if (d.matches && d.matches("details[data-portal-dropdown]") && d.open) { closeDropdowns(d); }
  }, true);

  /* ------------------------------------------------------------ theme */
  function applyTheme(theme) {
    if (theme !== "light" && theme !== "dark") { theme = "system"; }
    var root = document.documentElement;
    root.setAttribute("data-theme", theme);
    root.classList.toggle("pf-v6-theme-dark", theme === "dark" || (theme === "system" && DARK.matches));
    try { localStorage.setItem(THEME_KEY, theme); } catch (e) { /* private mode: the class still applies */ }
    document.querySelectorAll("[data-theme-choice]").forEach(function (b) {
      var selected = b.getAttribute("data-theme-choice") === theme;
      b.classList.toggle("pf-m-selected", selected);
      b.setAttribute("aria-pressed", selected ? "true" : "false");
    });
  }
  DARK.addEventListener("change", function () {
    if (document.documentElement.getAttribute("data-theme") === "system") { applyTheme("system"); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-portal-theme-form]")) { return; }
    var submitter = event.submitter;
    if (!submitter || !submitter.value) { return; }
    event.preventDefault();
    applyTheme(submitter.value);
    closeDropdowns();
    var body = new FormData(form);
    body.set("theme", submitter.value);
    /* Saved for the signed-in user; anonymous visitors keep it in this browser only. */
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .catch(function () { /* offline: the local choice still stands */ });
  });

  /* ------------------------------------------------------------ banners and the onboarding guide */
  /* Dismiss without a reload: POST in the background, remove the element, move focus to the main region. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var targetId = form.getAttribute("data-portal-banner-dismiss");
    var region = targetId ? document.getElementById(targetId)
      : (form.matches("[data-portal-onboarding-dismiss]") ? document.getElementById("portal-onboarding") : null);
    if (!region) { return; }
    event.preventDefault();
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                         headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (!response.ok && response.status !== 404) { form.submit(); return; }
        var list = region.closest(".portal-banners");
        region.remove();
        if (list && !list.querySelector("li")) { list.remove(); }
        var main = document.getElementById("main-content");
        if (main) { main.focus(); }
      })
      .catch(function () { form.submit(); });
  });

  /* ------------------------------------------------------------ expandable table rows */
  /* Detail rows render expanded (readable without JavaScript); with it they start collapsed. */
  function setExpanded(button, open) {
    var row = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (row) { row.hidden = !open; }
  }
  function collapseAll(root) {
    (root || document).querySelectorAll("[data-portal-expand]").forEach(function (b) { setExpanded(b, false); });
  }
  document.addEventListener("DOMContentLoaded", function () { collapseAll(); });
  document.addEventListener("htmx:afterSwap", function (event) { collapseAll(event.target); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-portal-expand]");
    if (button) { setExpanded(button, button.getAttribute("aria-expanded") !== "true"); }
  });

  /* ------------------------------------------------------------ copy to clipboard */
  function announce(text) {
    var live = document.getElementById("portal-live");
    if (!live) {
      live = document.createElement("div");
      live.id = "portal-live";
      live.className = "pf-v6-screen-reader";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }
  function copyFrom(button) {
    var target = document.querySelector(button.getAttribute("data-portal-copy"));
    if (!target) { return; }
    var text = "value" in target ? target.value : target.textContent;
    var done = function () {
      var label = button.getAttribute("data-copied-label") || "Copied";
      button.setAttribute("title", label);
      button.classList.add("pf-m-clicked");
      announce(label);
      window.setTimeout(function () { button.classList.remove("pf-m-clicked"); }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { legacyCopy(target, done); });
    } else {
      legacyCopy(target, done);
    }
  }
  function legacyCopy(target, done) {
    if (target.select) { target.select(); }
    try { if (document.execCommand("copy")) { done(); } } catch (e) { /* the text stays selected for Ctrl+C */ }
  }

  /* ------------------------------------------------------------ confirmation dialogs */
  function openConfirm(trigger) {
    var dialog = document.getElementById(trigger.getAttribute("data-portal-confirm"));
    if (!dialog || typeof dialog.showModal !== "function") { return false; }
    var form = dialog.querySelector("form");
    if (form && trigger.getAttribute("data-action")) { form.setAttribute("action", trigger.getAttribute("data-action")); }
    dialog.querySelectorAll("[data-confirm-name]").forEach(function (el) {
      el.textContent = trigger.getAttribute("data-name") || "";
    });
    dialog.returnFocusTo = trigger;
    dialog.showModal();
    return true;
  }
  document.addEventListener("close", function (event) {
    var d = event.target;
    if (d.matches && d.matches("dialog.portal-dialog") && d.returnFocusTo) { d.returnFocusTo.focus(); }
  }, true);

  /* ------------------------------------------------------------ one click handler */
  document.addEventListener("click", function (event) {
    var t = event.target.closest("[data-portal-nav-toggle], [data-portal-copy], [data-portal-alert-close], [data-portal-confirm], [data-portal-dialog-close]");
    if (!t) {
      if (!event.target.closest("details[data-portal-dropdown]")) { closeDropdowns(); }
      return;
    }
    if (t.matches("[data-portal-nav-toggle]")) { toggleSidebar(); }
    else if (t.matches("[data-portal-copy]")) { copyFrom(t); }
    else if (t.matches("[data-portal-alert-close]")) {
      var item = t.closest(".pf-v6-c-alert-group__item") || t.closest(".pf-v6-c-alert");
      if (item) { item.remove(); }
    }
    else if (t.matches("[data-portal-confirm]")) { if (openConfirm(t)) { event.preventDefault(); } }
    else if (t.matches("[data-portal-dialog-close]")) {
      var dlg = t.closest("dialog");
      if (dlg) { dlg.close(); }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector("details[data-portal-dropdown][open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
      return;
    }
    var el = sidebar();
    if (el && !WIDE.matches && el.classList.contains("pf-m-expanded")) {
      toggleSidebar(false);
      document.querySelector("[data-portal-nav-toggle]").focus();
    }
  });

  /* ------------------------------------------------------------ no inline handlers (CSP) */
  /* The content security policy allows no inline script, so forms ask with data-confirm-message, */
  /* selects submit their form with data-autosubmit and script-driven forms opt out with data-no-submit. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches) { return; }
    if (form.matches("form[data-no-submit]")) { event.preventDefault(); return; }
    if (form.matches("form[data-confirm-message]") && !window.confirm(form.getAttribute("data-confirm-message"))) {
      event.preventDefault();
    }
  });
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); }
  });

  /* ------------------------------------------------------------ start */
  function init() {
    syncNavToggle();
    applyTheme(document.documentElement.getAttribute("data-theme"));
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
