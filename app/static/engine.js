/* Browser side of the generated screens.  It only mirrors the server's rules:
   everything here is re-checked by the server on submit. */
(function ($) {
  "use strict";

  function t(key, fallback) { return (window.ENGINE_TEXT || {})[key] || fallback; }

  // ---- the toolkit's dialog instead of the browser's alert() / confirm() -------------------
  // (engine/workspace_dialogs.html) Enter answers 确定, Esc 取消.
  // Bootstrap ignores a hide asked while a dialog is still fading in: 取消 or × (and the
  // questions' 确定) clicked that quickly close it as soon as it is shown, instead of leaving
  // it open in front of the page.
  function closeDialog($d) {
    if ($d.data("opening")) { $d.data("closeWhenShown", true); } else { $d.modal("hide"); }
  }
  $(document).on("show.bs.modal", ".modal", function (e) {
    if (e.target === this && !e.isDefaultPrevented()) {
      $(this).data("opening", true).data("closeWhenShown", false);
    }
  });
  $(document).on("shown.bs.modal hidden.bs.modal", ".modal", function (e) {
    if (e.target !== this) { return; }
    var $d = $(this), close = e.type === "shown" && $d.data("closeWhenShown");
    $d.data("opening", false).data("closeWhenShown", false);
    if (close) { $d.modal("hide"); }
  });
  $(document).on("click", ".modal [data-bs-dismiss=modal], .modal [data-dismiss=modal]",
    function () { closeDialog($(this).closest(".modal")); });
  function dialog(message, asks, onOk) {
    var $d = $("#ui-dialog");
    if (!$d.length) {                      // a page without the workspace (none today)
      if (!asks) { window.alert(message); } else if (window.confirm(message)) { onOk(); }
      return;
    }
    $d.find(".ui-message").text(message);
    $d.find(".js-ui-cancel").toggle(!!asks);
    $d.find(".js-ui-ok").off("click").on("click", function () {
      closeDialog($d);
      if (onOk) { onOk(); }
    });
    $d.one("shown.bs.modal", function () { $d.find(".js-ui-ok").trigger("focus"); });
    $d.modal("show");
  }
  var ui = window.engineUi = {
    alert: function (message) { dialog(message, false); },
    confirm: function (message, onOk) { dialog(message, true, onOk); }
  };

  // ---- confirmations ------------------------------------------------------------------
  // The question first; 确定 clicks the button (or link) again, this time without asking.
  $(document).on("click", "[data-confirm]", function (e) {
    var msg = $(this).attr("data-confirm"), el = this;
    if (!msg) { return; }
    if ($(el).data("confirmed")) { $(el).removeData("confirmed"); return; }
    e.preventDefault(); e.stopImmediatePropagation();
    ui.confirm(msg, function () { $(el).data("confirmed", true); el.click(); });
  });

  // ---- dialogs (退回原因, 检验结果 …): a required input left empty is pointed out in the dialog,
  // which stays open with what was typed, instead of a round trip that closes it -------------
  $(document).on("click", ".modal-footer button[type=submit]", function (e) {
    var $missing = $();
    $(this).closest(".modal").find(".modal-body .form-group").each(function () {
      var $g = $(this), $in = $g.find("input, textarea, select").not("[type=hidden]").first();
      $g.removeClass("has-error").children(".js-required-error").remove();
      if (!$in.length || !$g.children("label").find(".req").length || $.trim($in.val())) { return; }
      $g.addClass("has-error").append($('<div class="form-text field-error js-required-error"></div>')
        .text(t("required", "此项为必填项")));
      $missing = $missing.add($in);
    });
    if ($missing.length) { e.preventDefault(); e.stopImmediatePropagation(); $missing.first().focus(); }
  });
  $(document).on("input change", ".modal .has-error input, .modal .has-error textarea", function () {
    if ($.trim($(this).val())) {
      $(this).closest(".form-group").removeClass("has-error").children(".js-required-error").remove();
    }
  });

  // ---- list screens -------------------------------------------------------------------
  function checkedIds() {
    return $(".record-list input[name=ids]:checked").map(function () { return this.value; }).get();
  }
  $(document).on("change", ".js-check-all", function () {
    $(".record-list input[name=ids]").prop("checked", this.checked).trigger("change");
  });
  $(document).on("change", ".record-list input[name=ids]", function () {
    $(this).closest("tr").toggleClass("selected", this.checked);
  });
  $(document).on("click", ".record-list tr.js-row td", function (e) {
    if ($(e.target).is("input, a")) { return; }
    var box = $(this).closest("tr").find("input[name=ids]");
    box.prop("checked", !box.prop("checked")).trigger("change");
  });
  $(document).on("dblclick", ".record-list tr.js-row", function () {
    window.location = $(".engine-list").data("base") + $(this).data("id");
  });
  function one() {
    var ids = checkedIds();
    if (ids.length !== 1) { ui.alert(t("pickOne", "请勾选一条记录")); return null; }
    return ids[0];
  }
  $(document).on("click", ".js-open", function () {
    var id = one(), suffix = $(this).data("suffix") || "";
    if (id) { window.location = $(".engine-list").data("base") + id + suffix; }
  });
  // 导出: the checked rows, or (none checked) the whole filtered list.
  $(document).on("click", ".js-export", function (e) {
    var ids = checkedIds();
    if (ids.length) { e.preventDefault(); window.location = this.href + "&_ids=" + ids.join(","); }
  });
  $(document).on("click", ".js-history", function () {
    var id = one();
    if (id) { window.location = $(".engine-list").data("base") + id + "/history?tab=" + $(this).data("tab"); }
  });
  $(document).on("click", ".js-print", function () {
    var ids = checkedIds();
    if (!ids.length) { ui.alert(t("pickSome", "请先勾选记录")); return; }
    window.location = $(this).data("url") + "?ids=" + ids.join(",");   // a page of the workspace
  });
  // A list action: the rows first, then one question (its confirmation, or its opinion in a
  // dialog like the form's), then the post.
  $(document).on("click", ".js-batch", function () {
    var $b = $(this), ids = checkedIds();
    if (!ids.length) { ui.alert(t("pickSome", "请先勾选记录")); return; }
    if (String($b.data("multi")) !== "1" && ids.length !== 1) {
      ui.alert(t("pickOne", "请勾选一条记录")); return;
    }
    if (String($b.data("inputs")) === "1") {
      // a step that asks for values (变更状态 …): the record opens with the step's dialog
      window.location = $(".engine-list").data("base") + ids[0] + "#dlg-" + $b.data("name");
      return;
    }
    if ($b.data("dialog")) {
      var $dlg = $("#" + $b.data("dialog"));
      $dlg.find(".js-batch-opinion").val("").closest(".form-group").removeClass("has-error")
        .children(".js-required-error").remove();
      $dlg.modal("show");
      return;
    }
    var question = $b.data("question");
    if (question) { ui.confirm(question, function () { sendBatch($b.data("action"), ""); }); return; }
    sendBatch($b.data("action"), "");
  });
  $(document).on("click", ".js-batch-send", function () {
    var $dlg = $(this).closest(".modal"), $op = $dlg.find(".js-batch-opinion");
    var required = $dlg.find("label .req").length;
    if (required && !$.trim($op.val())) {
      $op.closest(".form-group").addClass("has-error").children(".js-required-error").remove();
      $op.closest(".form-group").append($('<div class="form-text field-error js-required-error"></div>')
        .text(t("required", "此项为必填项")));
      $op.focus();
      return;
    }
    sendBatch($(this).data("action"), $op.val());
  });
  function sendBatch(action, opinion) {
    var $f = $("#batch-form");
    $f.find("input[name=opinion]").val(opinion);
    $f.attr("action", action).submit();
  }

  // ---- type-ahead for code lists and catalogue pickers ---------------------------------
  // Code lists: typing filters the list at once; Space in an empty box or a click shows it.
  // Catalogue pickers (商品编码): type at least N characters, then Enter shows the choices.
  // In an open list Up/Down move, Enter takes the highlighted entry; otherwise Enter moves on.
  var $menu = null, menuFor = null, active = -1, items = [];
  function closeMenu() { if ($menu) { $menu.remove(); } $menu = null; menuFor = null; active = -1; items = []; }
  function showMenu(input, list, render, emptyText) {
    closeMenu();
    var off = $(input).offset();
    $menu = $('<div class="typeahead-menu"></div>').css({ top: off.top + $(input).outerHeight(), left: off.left, minWidth: Math.max(260, $(input).outerWidth()) });
    if (!list.length) { $menu.append($('<div class="ta-empty"></div>').text(emptyText || t("noMatch", "没有匹配的代码"))); }
    list.forEach(function (it, i) {
      var $it = $('<div class="ta-item"></div>').html(render(it)).attr("data-i", i);
      $menu.append($it);
    });
    $("body").append($menu);
    menuFor = input; items = list; active = list.length ? 0 : -1; highlight();
  }
  function highlight() {
    if (!$menu) { return; }
    $menu.find(".ta-item").removeClass("active");
    if (active >= 0) {
      var $a = $menu.find('.ta-item[data-i="' + active + '"]').addClass("active");
      var el = $a.get(0); if (el && el.scrollIntoView) { el.scrollIntoView({ block: "nearest" }); }
    }
  }
  function esc(s) { return $("<span>").text(s == null ? "" : String(s)).html(); }
  // An answer that arrives after the box was left or typed on again is stale: drop it, or
  // a slow answer for "J" would replace the list for "JPN" and Enter would take a wrong code.
  // A pick also makes every answer still on its way stale: a late answer for the same text
  // would open the list again and the next Enter would pick instead of moving on.
  function current(input, q, seq) {
    return seq === input._seq && document.activeElement === input && $(input).val() === q;
  }
  function ask(input) { input._seq = (input._seq || 0) + 1; return input._seq; }

  function codelistUrl(input) { return "/engine/codelist/" + encodeURIComponent($(input).data("codelist")); }
  function codelistQuery(input) {
    var q = $(input).val(), seq = ask(input);
    $.getJSON(codelistUrl(input), { q: q }, function (data) {
      if (!current(input, q, seq)) { return; }
      showMenu(input, data.results, function (it) {
        return '<span class="ta-code">' + esc(it.code) + "</span> " + esc(it.label);
      });
      input._pick = function (it) {
        ask(input);
        $(input).val(it.code);
        input._named = it.code;
        $(input).siblings(".code-name").text(it.label);
        $(input).trigger("change");
      };
    });
  }
  // The name shown next to a code that was typed (not picked) or filled in by a picker.
  function refreshCodeName(input) {
    var $in = $(input), code = $.trim($in.val()), $name = $in.siblings(".code-name");
    if (!$name.length || input._named === code) { return; }
    if (!code) { $name.text(""); input._named = code; return; }
    $.getJSON(codelistUrl(input), { q: code }, function (data) {
      if ($.trim($in.val()) !== code) { return; }
      var hit = (data.results || []).filter(function (it) {
        return String(it.code).toLowerCase() === code.toLowerCase();
      })[0];
      if (hit && hit.code !== code) { $in.val(hit.code); }
      $name.text(hit ? hit.label : "");
      input._named = hit ? hit.code : code;
    });
  }
  // Codes shown without their names (posted back, or a new line's default): look them up.
  function nameCodes($scope) {
    $scope.find("input[data-codelist]").each(function () {
      var $name = $(this).siblings(".code-name");
      if ($.trim($(this).val()) && $name.length && !$.trim($name.text())) { refreshCodeName(this); }
    });
  }
  // A read-only cell too narrow for its value shows it cut off: the whole value as a tooltip.
  function titleCutValues($scope) {
    $scope.find(".field-ro").each(function () {
      if (this.scrollWidth > this.clientWidth + 1 && !this.title) { this.title = $.trim($(this).text()); }
    });
  }
  $(document).on("input", "input[data-codelist]", function () { codelistQuery(this); });
  $(document).on("click", "input[data-codelist]", function () {
    if (!($menu && menuFor === this)) { codelistQuery(this); }
  });
  $(document).on("change", "input[data-codelist]", function () { refreshCodeName(this); });

  function row(input) { return $(input).closest("tr.child-row, .engine-form"); }
  function pickerQuery(input) {
    var q = $(input).val(), params = { q: q }, seq = ask(input);
    $(".engine-form [name=year]").each(function () { params.ctx_year = $(this).val(); });
    $.getJSON($(input).data("picker"), params, function (data) {
      if (!current(input, q, seq)) { return; }
      showMenu(input, data.results, function (it) {
        return '<span class="ta-code">' + esc(it.value) + "</span> " + esc(it.label);
      }, data.message);
      input._pick = function (it) {
        ask(input);
        $(input).val(it.value);
        input._typed = false;
        var fills = $(input).data("fills") || {}, $row = row(input);
        Object.keys(fills).forEach(function (k) {
          var $f = $row.find('[data-field="' + k + '"]').first().find("input, select, textarea").not("[type=hidden]").first();
          if ($f.length) { $f.val(it.fills[k]).trigger("change"); }
        });
        $(input).trigger("change");
      };
    });
  }
  $(document).on("input", "input[data-picker]", function () {
    this._typed = true;
    if ($menu && menuFor === this) { pickerQuery(this); }  // an open list follows the typing
  });

  $(document).on("keydown", "input[data-codelist], input[data-picker]", function (e) {
    if ($menu && menuFor === this) {
      if (e.key === "ArrowDown") { active = Math.min(items.length - 1, active + 1); highlight(); e.preventDefault(); return; }
      if (e.key === "ArrowUp") { active = Math.max(0, active - 1); highlight(); e.preventDefault(); return; }
      if (e.key === "Enter") {
        // Nothing offered (a code the catalogue lacks): Enter keeps what was typed and moves on.
        if (active < 0) { closeMenu(); this._typed = false; return; }
        if (this._pick) { this._pick(items[active]); }
        closeMenu(); e.preventDefault(); e.stopImmediatePropagation();
        return;
      }
      if (e.key === "Escape" || e.key === "Tab") { closeMenu(); return; }
    } else if (e.key === " " && $(this).data("codelist") && !$(this).val()) {
      codelistQuery(this); e.preventDefault();
    } else if (e.key === "Enter" && $(this).data("picker") && this._typed) {
      // Enter after typing a code: show the matching catalogue entries (none picked yet).
      pickerQuery(this); e.preventDefault(); e.stopImmediatePropagation();
    }
  });
  $(document).on("mousedown", ".typeahead-menu .ta-item", function (e) {
    e.preventDefault();
    var i = parseInt($(this).attr("data-i"), 10);
    if (menuFor && menuFor._pick) { menuFor._pick(items[i]); }
    closeMenu();
  });
  $(document).on("blur", "input[data-codelist], input[data-picker]", function () {
    var self = this; window.setTimeout(function () { if (menuFor === self) { closeMenu(); } }, 150);
  });

  // ---- child tables: Enter in the last field adds a line ------------------------------------
  function renumber($table) {
    $table.children("table").children("tbody").children("tr.child-row").each(function (i) {
      $(this).children(".row-no").text(i + 1);
    });
  }
  function addRow($ct) {
    var path = $ct.data("path");
    var $tbody = $ct.children("table").children("tbody");
    var max = -1;
    $tbody.children("tr.child-row").each(function () {
      var n = parseInt($(this).attr("data-index"), 10); if (!isNaN(n) && n > max) { max = n; }
    });
    var idx = max + 1;
    var html = $ct.children("template.row-template").html();
    html = html.split(path + "-__index__").join(path + "-" + idx);
    var $new = $(html);
    $new.filter("tr").attr("data-index", idx);
    $tbody.append($new);
    renumber($ct);
    nameCodes($new);   // a default code of the new line (单位 001) shows its name (台) too
    var $first = $new.filter("tr.child-row").find("input, select, textarea").not("[type=hidden], [type=checkbox]").first();
    $first.focus();
    return $new;
  }
  $(document).on("click", ".js-add-row", function () { addRow($(this).closest(".child-table")); });
  $(document).on("click", ".js-del-rows", function () {
    var $ct = $(this).closest(".child-table");
    var $rows = $ct.children("table").children("tbody").children("tr.child-row").filter(function () {
      return $(this).children(".col-check").find(".row-check").prop("checked");
    });
    if (!$rows.length) { ui.alert(t("pickSome", "请先勾选记录")); return; }
    ui.confirm(t("deleteRows", "是否删除勾选的行？"), function () { deleteRows($ct, $rows); });
  });
  function deleteRows($ct, $rows) {
    $rows.each(function () {
      var $r = $(this), $n = $r.next("tr.nested-row");
      if ($n.attr("data-index") === $r.attr("data-index")) { $n.remove(); }
      $r.remove();
    });
    renumber($ct);
    $ct.trigger("rows-removed");
  }

  function focusables($scope) {
    return $scope.find("input, select, textarea").filter(function () {
      return !$(this).is("[type=hidden], [type=checkbox], :disabled") && $(this).is(":visible");
    });
  }
  $(document).on("keydown", "#record-form input, #record-form select", function (e) {
    if (e.key !== "Enter" || e.isDefaultPrevented()) { return; }
    e.preventDefault();
    var $tr = $(this).closest("tr.child-row");
    if ($tr.length) {
      var $ct = $tr.closest(".child-table");
      var $cells = focusables($tr.children("td"));
      if ($cells.last().is(this)) {
        // A line whose own detail table is still empty (商品 → 规格型号): Enter goes there.
        var $sub = $tr.next("tr.nested-row").filter(function () {
          return $(this).attr("data-index") === $tr.attr("data-index");
        }).children("td").children(".child-table.editable").filter(function () {
          return String($(this).data("enter")) === "1" &&
            !$(this).children("table").children("tbody").children("tr.child-row").length;
        }).first();
        if ($sub.length) { addRow($sub); return; }
        if (String($ct.data("enter")) === "1" && $ct.hasClass("editable")) {
          var $next = $tr.nextAll("tr.child-row").first();
          if ($next.length) { focusables($next.children("td")).first().focus(); } else { addRow($ct); }
          return;
        }
      }
    }
    // Elsewhere Enter moves to the next field, as Tab does.
    var $all = focusables($("#record-form"));
    var i = $all.index(this);
    if (i >= 0 && i + 1 < $all.length) { $all.eq(i + 1).focus(); }
  });

  // ---- computed (grey) fields follow the typing: the server computes them, saving nothing ----
  // The answer also holds the format errors of what was typed: the hint under a field edited
  // since the last answer is replaced by them (a stale 此项为必填项 goes away as one types).
  var computeTimer = null, computeSeq = 0, edited = {};
  function showFieldErrors($f, errors) {
    var names = $.extend({}, edited);
    $.each(errors || {}, function (path) { names[path] = true; });
    $.each(names, function (path) {
      var $in = $f.find('[name="' + path + '"]').first();
      if (!$in.length) { return; }
      var $box = $in.closest("td, .form-group");
      $box.children(".field-error").remove();
      var msgs = (errors || {})[path] || [];
      $box.toggleClass("has-error", msgs.length > 0);
      $.each(msgs, function (_i, m) {
        $box.append($('<div class="form-text field-error js-live-error"></div>').text(m));
      });
    });
  }
  function recompute(e) {
    var $f = $("#record-form"), url = $f.data("computed");
    if (!url) { return; }
    if (e && e.target && e.target.name) { edited[e.target.name] = true; }
    window.clearTimeout(computeTimer);
    computeTimer = window.setTimeout(function () {
      var seq = ++computeSeq;
      $.post(url, $f.serialize()).done(function (data) {
        if (seq !== computeSeq || !data || !data.values) { return; }  // a later answer is coming
        $.each(data.values, function (path, text) {
          $f.find('.field-ro.computed[data-name="' + path + '"]').text(text)
            .attr("title", null);
        });
        showFieldErrors($f, data.errors);
        edited = {};
        titleCutValues($f);
      });
    }, 250);
  }
  $(document).on("input change", "#record-form input, #record-form select, #record-form textarea",
    recompute);
  $(document).on("rows-removed", "#record-form", recompute);

  // ---- fields shown only for some values of another field --------------------------------
  function applyShowWhen() {
    $("[data-show-when]").each(function () {
      var rule = $(this).data("show-when");
      var $src = $('#record-form [name="' + rule.field + '"]');
      var val = $src.filter(":radio").length ? $src.filter(":checked").val() : $src.val();
      if (val === undefined) { return; }
      $(this).toggle(rule.values.indexOf(String(val)) >= 0);
    });
  }
  $(document).on("change", "#record-form input, #record-form select", applyShowWhen);

  $(function () {
    applyShowWhen();
    $(".child-table").each(function () { renumber($(this)); });
    // A form sent back with errors shows the posted codes without their names: look them up.
    nameCodes($("#record-form"));
    titleCutValues($("#record-form"));
    var $af = $("#record-form [autofocus]").first();
    if ($af.length) { $af.focus(); }
    // A page answering a refused post shows the form's own address, so a reload asks for the
    // form again instead of posting a second time.
    var pageUrl = $(".engine-form").data("page-url");
    if (pageUrl && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", pageUrl);
    }
    // A transition's dialog the server sent back with errors opens again, with them shown.
    var dlg = $(".engine-form").data("open-dialog");
    if (!dlg && /^#dlg-[\w-]+$/.test(location.hash) && $(location.hash + ".modal").length) {
      dlg = location.hash.slice(1);   // opened from a list button that asks for values
    }
    if (dlg) { $("#" + dlg).modal("show"); }
  });

  // ---- lists fetched in place (htmx, engine/list.html) ---------------------------------------
  // An answer that is not a list (an error page, the sign-in page after a session ended) is
  // shown as a page of its own, as a plain link would have shown it; so is a failed request.
  function asPage(e) {
    var info = e.detail.pathInfo || {}, cfg = e.detail.requestConfig || {};
    window.location.href = info.finalRequestPath || info.requestPath || cfg.path || location.href;
  }
  document.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (xhr.status >= 400 || xhr.responseText.indexOf("engine-list") < 0) {
      e.detail.shouldSwap = false;
      asPage(e);
    }
  });
  document.addEventListener("htmx:sendError", asPage);

  // ---- the left 功能栏 (engine/sidebar.html) ------------------------------------------------
  // The current function is marked and its group open; a group opens and closes on a click;
  // 展开/收起 is remembered in a cookie (the server renders the next page the same way); the
  // filter keeps the functions whose name, or the pinyin initials of it, hold what was typed.
  function markCurrent($bar) {
    var here = location.pathname + location.search, best = null, bestLen = -1;
    $bar.find("a.menu-entry").each(function () {
      var url = new URL(this.href, location.href), path = url.pathname, len = -1;
      if (path + url.search === here) { len = 100000; }
      else if (location.pathname.indexOf(path) === 0 && !url.search) { len = path.length; }
      if (len > bestLen) { best = this; bestLen = len; }
    });
    if (best && bestLen > 1) {
      $(best).addClass("current").attr("aria-current", "page");
      $(best).closest(".menu-group").addClass("open current")
        .children(".group-toggle").attr("aria-expanded", "true");
    }
  }
  function filterMenu($bar, q) {
    q = $.trim(q).toLowerCase();
    var any = false;
    $bar.find(".menu-group").each(function () {
      var $g = $(this), label = $g.children(".group-toggle").text().toLowerCase();
      var groupHit = q && (label.indexOf(q) >= 0 || String($g.data("py")).indexOf(q) >= 0);
      var shown = 0;
      $g.find("a.menu-entry").each(function () {
        var hit = !q || groupHit || $(this).text().toLowerCase().indexOf(q) >= 0 ||
          String($(this).data("py")).indexOf(q) >= 0;
        $(this).parent().prop("hidden", !hit);
        if (hit) { shown += 1; }
      });
      $g.prop("hidden", shown === 0).toggleClass("filtered", !!q && shown > 0);
      if (shown) { any = true; }
    });
    $bar.find(".menu-system").each(function () {
      $(this).prop("hidden", !$(this).find(".menu-group:not([hidden])").length);
    });
    $bar.find(".menu-none").prop("hidden", any);
    $bar.toggleClass("filtering", !!q);
  }
  $(document).on("click", "#sidebar .group-toggle", function (e) {
    e.preventDefault();
    if ($(".workspace").hasClass("sidebar-collapsed")) { return; }
    var $g = $(this).closest(".menu-group").toggleClass("open");
    $(this).attr("aria-expanded", $g.hasClass("open") ? "true" : "false");
  });
  $(document).on("click", "#sidebar .sidebar-toggle", function () {
    var collapsed = $(".workspace").toggleClass("sidebar-collapsed").hasClass("sidebar-collapsed");
    document.cookie = "sidebar=" + (collapsed ? "collapsed" : "open") +
      "; path=/; max-age=31536000; samesite=lax";
  });
  $(document).on("input", "#sidebar .menu-filter", function () {
    filterMenu($("#sidebar"), $(this).val());
  });
  $(document).on("keydown", "#sidebar .menu-filter", function (e) {
    if (e.key === "Enter") {        // Enter opens the first function found
      var first = $("#sidebar .menu-group:not([hidden]) li:not([hidden]) > a.menu-entry").get(0);
      if (first) { e.preventDefault(); location.href = first.href; }
    } else if (e.key === "Escape") {
      $(this).val(""); filterMenu($("#sidebar"), "");
    }
  });
  $(function () { if ($("#sidebar").length) { markCurrent($("#sidebar")); } });
})(window.jQuery);
