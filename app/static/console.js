/* The administrators' console (Flask-Admin) asks with the workspace's dialog (engine.js
   engineUi), not the browser's confirm() / alert():
   - a row's 删除 button (faHelpers.safeConfirm in its onclick): the question first, 确定
     clicks the button again, this time without asking;
   - the list's batch actions (modelActions.execute): "select a record first" and the
     action's question, then the same hidden form Flask-Admin posts. */
(function ($) {
  "use strict";

  var ui = window.engineUi, clicked = null, confirmed = null;
  if (!ui) { return; }

  // Which button asks: the click reaches the document's capture phase before its onclick.
  document.addEventListener("click", function (e) { clicked = e.target.closest("button, a, input"); }, true);

  if (window.faHelpers) {
    window.faHelpers.safeConfirm = function (message) {
      var el = clicked;
      if (el && confirmed === el) { confirmed = null; return true; }
      ui.confirm(message, function () { confirmed = el; if (el) { el.click(); } });
      return false;
    };
  }

  function json(id) {
    try { return JSON.parse($(id).text()); } catch (e) { return null; }
  }

  $(function () {
    if (!window.modelActions) { return; }
    var noneSelected = json("#message-data"), questions = json("#actions-confirmation-data") || {};
    window.modelActions.execute = function (name) {
      var $picked = $("input.action-checkbox:checked");
      if (!$picked.length) { ui.alert(noneSelected); return false; }
      function post() {
        var $form = $("#action_form");
        $("#action", $form).val(name);
        $("input.action-checkbox", $form).remove();
        $picked.each(function () { $form.append($(this).clone()); });
        $form.trigger("submit");
      }
      if (questions[name]) { ui.confirm(questions[name], post); } else { post(); }
      return false;
    };
  });
}(window.jQuery));
