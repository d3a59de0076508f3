// Follows running generation jobs without reloading the page (which would lose anything
// typed): an element with data-live-jobs="<url>" is polled every 3 seconds while its jobs
// work; each [data-job="<id>"] status is updated in place (in words when the endpoint
// gives a label), and when they are done a link
// offers to reload for the new drafts. Without JavaScript the page's refresh link works.
(function () {
  "use strict";
  var box = document.querySelector("[data-live-jobs]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-live-jobs");
  var note = box.querySelector("[data-live-note]");
  function show(jobs) {
    jobs.forEach(function (j) {
      var el = box.querySelector('[data-job="' + j.id + '"]');
      if (!el) return;
      el.textContent = j.label || j.status;
      el.className = "status status-" + (j.class || j.status.toLowerCase());
    });
  }
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        show(body.jobs || []);
        if (body.working) {
          setTimeout(tick, 3000);
        } else if (note) {
          note.textContent = "";
          var a = document.createElement("a");
          a.href = window.location.pathname;
          a.textContent = box.getAttribute("data-live-done") || "The jobs are done: reload to see the new drafts.";
          note.appendChild(a);
        }
      })
      .catch(function () { setTimeout(tick, 10000); });
  }
  setTimeout(tick, 3000);
})();
