/* 可视化审核: one click marks a box green, a second red, a third resets it; arrows move between
   boxes, Space cycles.  Every change is saved at once; the server answers the round's marks,
   which the page then shows (so what is seen is what is stored). */
(function ($) {
  "use strict";
  var T = window.REVIEW_TEXT || {};
  var $page = $(".visual-review");
  if (!$page.length) { return; }
  var url = $page.data("marks-url"), canMark = String($page.data("can-mark")) === "1";
  var csrf = $("input[name=csrf_token]").first().val();
  var NEXT = { "": "green", green: "red", red: null };

  function markOf($c) { return $c.hasClass("mark-green") ? "green" : ($c.hasClass("mark-red") ? "red" : ""); }
  function show(marks) {
    $(".rv-cell").each(function () {
      var m = marks[$(this).data("path")] || "";
      $(this).toggleClass("mark-green", m === "green").toggleClass("mark-red", m === "red")
        .attr("aria-pressed", m ? "true" : "false");
    });
  }
  function showRed(red) {
    var $list = $(".rv-red-list"), $ul = $list.find("ul").empty();
    red.forEach(function (x) { $ul.append($('<li class="list-group-item"></li>').attr("data-path", x.path).text(x.label)); });
    $list.toggle(red.length > 0);
    $(".rv-red-names").text(red.map(function (x) { return x.label; }).join(T.sep || "、") || T.none || "");
  }
  // Saves go one at a time, in the order of the clicks (two quick clicks on a box are green,
  // then red — answered in the other order they would leave it green); the answer to the last
  // one shows the round's marks.
  var queue = $.when(), pending = 0;
  function cycle($c) {
    if (!canMark) { return; }
    var path = $c.data("path"), next = NEXT[markOf($c)], body = { marks: {} };
    body.marks[path] = next;
    $c.toggleClass("mark-green", next === "green").toggleClass("mark-red", next === "red").addClass("rv-saving");
    pending += 1;
    queue = queue.then(function () {
      return $.ajax({ url: url, method: "POST", contentType: "application/json",
                      data: JSON.stringify(body), headers: { "X-CSRFToken": csrf } })
        .done(function (data) {
          if (pending === 1) { $(".rv-error").hide(); show(data.marks || {}); showRed(data.red || []); }
        })
        .fail(function (xhr) {
          var msg = (xhr.responseJSON && xhr.responseJSON.message) || xhr.statusText;
          $(".rv-error").text((T.saveFailed || "") + msg).show();
          $c.toggleClass("mark-green", false).toggleClass("mark-red", false);
        });
    }).then(null, function () { return null; })  // a refused save does not stop the next ones
      .always(function () {
        pending -= 1;
        if (!pending) { $(".rv-saving").removeClass("rv-saving"); }
      });
  }
  $(document).on("click", ".rv-cell", function () { this.focus(); cycle($(this)); });

  // Arrow keys: left/right the previous/next box, up/down the box above/below (nearest column).
  function cells() { return $(".rv-cell").filter(":visible"); }
  function rectOf(el) { return el.getBoundingClientRect(); }
  function vertical(from, down) {
    var r = rectOf(from), cx = (r.left + r.right) / 2, best = null, bestScore = Infinity;
    cells().each(function () {
      if (this === from) { return; }
      var q = rectOf(this);
      var ahead = down ? q.top >= r.bottom - 2 : q.bottom <= r.top + 2;
      if (!ahead) { return; }
      var dy = down ? q.top - r.bottom : r.top - q.bottom;
      var dx = cx < q.left ? q.left - cx : (cx > q.right ? cx - q.right : 0);
      var score = dy * 4 + dx;
      if (score < bestScore) { bestScore = score; best = this; }
    });
    return best;
  }
  $(document).on("keydown", ".rv-cell", function (e) {
    var $all = cells(), i = $all.index(this), target = null;
    if (e.key === " " || e.key === "Spacebar" || e.key === "Enter") { e.preventDefault(); cycle($(this)); return; }
    if (e.key === "ArrowRight") { target = $all.get(i + 1); }
    else if (e.key === "ArrowLeft") { target = i > 0 ? $all.get(i - 1) : null; }
    else if (e.key === "ArrowDown") { target = vertical(this, true); }
    else if (e.key === "ArrowUp") { target = vertical(this, false); }
    else { return; }
    e.preventDefault();
    if (target) { target.focus(); }
  });
  $(function () { cells().first().focus(); });
})(window.jQuery);
