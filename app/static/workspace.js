/* The workspace's page tabs (选项卡) and keyboard shortcuts.

   Every page a user opens — a function of the left menu, a record, a new form — gets a tab in
   the strip above the work area; 首页 is always the first.  A tab is a page's address: clicking
   it opens that page again (a list comes back with its search, a record with its state), a page
   already open is focused instead of opened twice, and the strip — order, titles, the current
   tab — is kept per user in the browser (localStorage), so a reload or a new login finds it as
   it was.  Tabs move by dragging; × closes one; the strip's menu closes the others or all.
   A page with unsaved edits asks before it is left through the strip or the menu.

   Keys: Ctrl+Alt+W closes the current tab, Ctrl+Alt+← / → go to the tab on the left / right,
   ? shows the shortcuts (the forms' own keys included). */
(function ($) {
  "use strict";

  var MAX_TABS = 20;

  function t(key, fallback) { return (window.WORKSPACE_TEXT || {})[key] || fallback; }
  function home() { return { key: "/", url: "/", title: t("home", "首页") }; }

  // ---- which page this is ---------------------------------------------------------------
  // A list keeps one tab whatever its search (the address remembers the last one), unless the
  // menu has entries for the same list with their own filter (?kind=…): those are functions
  // of their own.  Every other page is its own tab, new forms by their preset values.
  function keyOf(url) {
    var u = new URL(url, location.href), path = u.pathname;
    if (path === "/") { return "/"; }
    if (!/\/$/.test(path)) {
      var own = [];
      u.searchParams.forEach(function (v, k) { if (k.charAt(0) !== "_") { own.push(k + "=" + v); } });
      return own.length && /\/new$/.test(path) ? path + "?" + own.sort().join("&") : path;
    }
    var best = path;
    $("#sidebar a.menu-entry").each(function () {
      var e = new URL(this.href, location.href);
      if (e.pathname !== path || !e.search) { return; }
      var all = true;
      e.searchParams.forEach(function (v, k) { if (u.searchParams.get(k) !== v) { all = false; } });
      if (all) { best = path + e.search; }
    });
    return best;
  }

  function pageTitle() {
    if (location.pathname === "/") { return home().title; }
    var current = $("#sidebar a.menu-entry.current").first();
    var $h = $(".work-area").find("h1, h2, h3, .panel-title").first();
    var text = $h.length ? $.trim($h.clone().find(".label, .btn, .badge").remove().end().text()) : "";
    if (!text && current.length && keyOf(current.get(0).href) === keyOf(location.href)) {
      text = $.trim(current.text());
    }
    text = (text || document.title).replace(/\s+/g, " ");
    return text.length > 28 ? text.slice(0, 27) + "…" : text;
  }

  // ---- the strip, kept per user ------------------------------------------------------------
  var storeKey = null, state = { tabs: [], active: "/" };

  function load() {
    try { state = JSON.parse(window.localStorage.getItem(storeKey)) || state; } catch (e) { /* a new strip */ }
    if (!$.isArray(state.tabs)) { state.tabs = []; }
    state.tabs = state.tabs.filter(function (tab) { return tab && tab.key && tab.key !== "/"; });
    state.tabs.unshift(home());
    retitle();
  }
  // A tab titled in another language (the user switched) takes its function's name from the
  // menu, which speaks the page's language; a record's tab is titled again when it is opened.
  function retitle() {
    var now = lang();
    state.tabs.forEach(function (tab, i) {
      if (i === 0 || !tab.lang || tab.lang === now) { return; }
      $("#sidebar a.menu-entry").each(function () {
        if (keyOf(this.href) !== tab.key) { return true; }
        tab.title = $.trim($(this).text());
        tab.lang = now;
        return false;
      });
    });
  }
  function lang() { return $(".workspace").data("lang") || ""; }
  function save() {
    if (!storeKey) { return; }
    try { window.localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function index(key) {
    for (var i = 0; i < state.tabs.length; i += 1) { if (state.tabs[i].key === key) { return i; } }
    return -1;
  }

  function arrive() {
    // A form answered to a post (a refused save) names its own address: the tab, a reload
    // and the back button use that one.
    var own = $(".workspace").data("pageUrl");
    if (own && own !== location.pathname + location.search && window.history.replaceState) {
      window.history.replaceState(window.history.state, "", own);
    }
    var key = keyOf(location.href), url = location.pathname + location.search, i = index(key);
    var prev = state.tabs[index(state.active)];
    if (i < 0 && prev && /\/new(\?|$)/.test(prev.key) &&
        url.split("/")[1] === prev.key.split("/")[1] && /^\/[\w-]+\/\d+$/.test(location.pathname)) {
      i = index(prev.key);       // a new form saved: its tab becomes the record's
    }
    if (i < 0) {
      state.tabs.push({ key: key, url: url, title: "" });
      i = state.tabs.length - 1;
      while (state.tabs.length > MAX_TABS) { state.tabs.splice(1, 1); i -= 1; }
    }
    if (i > 0) { $.extend(state.tabs[i], { key: key, url: url, title: pageTitle(), lang: lang() }); }
    state.active = key;
    save();
  }

  function render() {
    var $list = $("#page-tabs .page-tabs-list").empty();
    state.tabs.forEach(function (tab, i) {
      var $li = $('<li class="page-tab" role="presentation"></li>').attr("data-key", tab.key)
        .toggleClass("active", tab.key === state.active);
      var $a = $('<a role="tab"></a>').attr("href", tab.url).text(tab.title || tab.url)
        .attr("aria-selected", tab.key === state.active ? "true" : "false");
      $li.append($a);
      if (i > 0) {
        $li.attr("draggable", "true");
        $li.append($('<button type="button" class="tab-close">&times;</button>')
          .attr("aria-label", t("close", "关闭") + " " + (tab.title || "")));
      } else {
        $a.prepend('<i class="fa fa-home"></i> ');
      }
      $list.append($li);
    });
    var active = $list.children(".active").get(0);
    if (active && active.scrollIntoView) { active.scrollIntoView({ block: "nearest", inline: "nearest" }); }
  }

  // ---- leaving a page with unsaved edits ----------------------------------------------------
  var dirty = false;
  $(document).on("input change", "#record-form :input", function () { dirty = true; });
  $(document).on("submit", "form", function () { dirty = false; });
  window.workspaceDirty = function () { return dirty; };

  function ask(message, then) {
    window.engineUi.confirm(message, function () { dirty = false; then(); });
  }
  function leave(url) {
    if (dirty) { ask(t("unsaved", "当前页面有未保存的修改，离开后将丢失。是否继续？"), function () { location.href = url; }); }
    else { location.href = url; }
  }

  // ---- what the strip does ----------------------------------------------------------------
  function go(i) {
    var tab = state.tabs[Math.max(0, Math.min(state.tabs.length - 1, i))];
    if (tab && tab.key !== state.active) { leave(tab.url); }
  }
  function close(key) {
    var i = index(key);
    if (i <= 0) { return; }
    if (key !== state.active) {
      state.tabs.splice(i, 1); save(); render(); return;
    }
    var next = state.tabs[i + 1] || state.tabs[i - 1];
    var doClose = function () {
      state.tabs.splice(index(key), 1); state.active = next.key; save();
      location.href = next.url;
    };
    if (dirty) { ask(t("unsavedClose", "当前页面有未保存的修改，关闭后将丢失。是否关闭？"), doClose); }
    else { doClose(); }
  }
  function closeOthers() {
    state.tabs = state.tabs.filter(function (tab, i) { return i === 0 || tab.key === state.active; });
    save(); render();
  }
  function closeAll() {
    var doClose = function () { state.tabs = [state.tabs[0]]; state.active = "/"; save(); location.href = "/"; };
    if (dirty && state.active !== "/") { ask(t("unsavedClose", "当前页面有未保存的修改，关闭后将丢失。是否关闭？"), doClose); }
    else if (state.active !== "/") { doClose(); }
    else { state.tabs = [state.tabs[0]]; save(); render(); }
  }

  $(document).on("click", "#page-tabs .page-tab > a", function (e) {
    e.preventDefault();
    go(index($(this).parent().data("key")));
  });
  $(document).on("click", "#page-tabs .tab-close", function (e) {
    e.preventDefault(); e.stopPropagation();
    close($(this).parent().data("key"));
  });
  $(document).on("mouseup", "#page-tabs .page-tab", function (e) {   // middle click closes
    if (e.which === 2) { e.preventDefault(); close($(this).data("key")); }
  });
  $(document).on("click", "#page-tabs .js-close-others", function (e) { e.preventDefault(); closeOthers(); });
  $(document).on("click", "#page-tabs .js-close-all", function (e) { e.preventDefault(); closeAll(); });
  $(document).on("click", "#sidebar a.menu-entry", function (e) {
    if (dirty && !e.ctrlKey && !e.metaKey && !e.shiftKey) { e.preventDefault(); leave(this.href); }
  });

  // drag a tab to move it (首页 stays first)
  var dragged = null;
  $(document).on("dragstart", "#page-tabs .page-tab[draggable]", function (e) {
    dragged = $(this).data("key");
    e.originalEvent.dataTransfer.effectAllowed = "move";
    e.originalEvent.dataTransfer.setData("text/plain", dragged);
    $(this).addClass("dragging");
  });
  $(document).on("dragend", "#page-tabs .page-tab", function () {
    dragged = null; $("#page-tabs .page-tab").removeClass("dragging drop-before drop-after");
  });
  $(document).on("dragover", "#page-tabs .page-tab", function (e) {
    if (dragged === null) { return; }
    e.preventDefault();
    var rect = this.getBoundingClientRect(), after = e.originalEvent.clientX > rect.left + rect.width / 2;
    $("#page-tabs .page-tab").removeClass("drop-before drop-after");
    $(this).addClass(after ? "drop-after" : "drop-before");
  });
  $(document).on("drop", "#page-tabs .page-tab", function (e) {
    e.preventDefault();
    if (dragged === null) { return; }
    var from = index(dragged), target = $(this).data("key");
    if (from <= 0 || target === dragged) { return; }
    var tab = state.tabs.splice(from, 1)[0];
    var to = index(target) + ($(this).hasClass("drop-after") ? 1 : 0);
    state.tabs.splice(Math.max(1, to), 0, tab);
    dragged = null; save(); render();
  });

  // ---- keyboard ---------------------------------------------------------------------------
  function typing(el) {
    return el && (/^(input|textarea|select)$/i.test(el.tagName) || el.isContentEditable);
  }
  $(document).on("keydown", function (e) {
    if (e.ctrlKey && e.altKey && !e.shiftKey) {
      var i = index(state.active), key = e.key.toLowerCase();
      if (key === "w") { e.preventDefault(); close(state.active); return; }
      if (e.key === "ArrowLeft") { e.preventDefault(); go(i - 1); return; }
      if (e.key === "ArrowRight") { e.preventDefault(); go(i + 1); return; }
    }
    if (e.key === "?" && !e.ctrlKey && !e.altKey && !typing(e.target) && !$(".modal.in, .modal.show").length) {
      e.preventDefault(); $("#workspace-keys").modal("show");
    }
  });

  // The script comes after the page (engine/layout.html): the strip is filled at once.
  (function () {
    var $ws = $(".workspace[data-user]");
    if (!$ws.length || !$("#page-tabs").length) { return; }
    storeKey = "workspace.tabs." + $ws.data("user");
    load();
    arrive();
    render();
    // a list paged or searched in place (htmx) has a new address: its tab follows it
    document.addEventListener("htmx:pushedIntoHistory", function () { arrive(); render(); });
  })();
})(window.jQuery);
