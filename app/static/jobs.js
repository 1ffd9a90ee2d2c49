/* Progress bars of background jobs (templates/engine/job_progress.html): each bar of a job that
   has not ended asks /jobs/<id>/status once a second and redraws; when the job ends the page
   reloads once, so its result file, message or error (rendered by the server) appear. */
(function () {
  "use strict";
  var ENDED = { done: 1, failed: 1, stale: 1 };

  function draw(box, s) {
    var bar = box.querySelector(".progress-bar");
    bar.style.width = s.percent + "%";
    bar.setAttribute("aria-valuenow", s.percent);
    bar.textContent = s.percent + "%";
    box.querySelector(".job-status").textContent = s.status_label;
    box.querySelector(".job-count").textContent = s.total ? s.done + " / " + s.total : "";
    box.querySelector(".job-note").textContent = s.note || "";
    box.setAttribute("data-status", s.status);
  }

  function watch(box) {
    var url = box.getAttribute("data-status-url");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          draw(box, s);
          if (ENDED[s.status]) { window.location.reload(); } else { setTimeout(tick, 1000); }
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    setTimeout(tick, 500);
  }

  document.querySelectorAll(".job-progress").forEach(function (box) {
    if (!ENDED[box.getAttribute("data-status")]) { watch(box); }
  });
})();
