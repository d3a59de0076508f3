// Learner analytics: what only the browser knows (a course or lesson was viewed, how long a
// lesson was actively read), batched and sent to /api/analytics/event without blocking
// anything. The server records everything else itself. Without this script every page
// works the same.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch || !window.JSON) return;
  var course = me.getAttribute("data-course");
  var lesson = Number(me.getAttribute("data-lesson")) || null;
  if (!course) return;
  var URL = "/api/analytics/event";
  var MAX = 100, HEARTBEAT = 15, IDLE_MS = 60000, DEBOUNCE_MS = 2000;
  var queue = [], timer = null, retryDelay = 5000;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function emit(type, seconds) {
    var e = { id: uuid(), type: type, courseId: course, occurredAt: new Date().toISOString() };
    if (lesson && type !== "course_viewed") e.lessonIndex = lesson;
    if (seconds) e.seconds = seconds;
    queue.push(e);
    if (queue.length >= 20) flush(false);
    else {
      clearTimeout(timer);
      timer = setTimeout(function () { flush(false); }, DEBOUNCE_MS);
    }
  }

  // A batch that did not arrive goes back to the front: its ids make a resend harmless.
  function requeue(batch) {
    if (queue.length + batch.length > 10 * MAX) return;
    queue = batch.concat(queue);
    clearTimeout(timer);
    timer = setTimeout(function () { flush(false); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 120000);
  }

  function flush(leaving) {
    clearTimeout(timer);
    timer = null;
    while (queue.length) {
      var batch = queue.splice(0, MAX);
      var body = JSON.stringify({ events: batch });
      if (leaving && navigator.sendBeacon && !window.fetch) {
        navigator.sendBeacon(URL, new Blob([body], { type: "application/json" }));
        continue;
      }
      // keepalive lets the request outlive a closing tab.
      fetch(URL, {
        method: "POST", credentials: "same-origin", keepalive: true,
        headers: { "Content-Type": "application/json" }, body: body
      }).then(function (b) {
        return function (r) {
          if (r.status === 429 || r.status >= 500) requeue(b);
          else retryDelay = 5000;
        };
      }(batch), function (b) {
        return function () { if (!leaving) requeue(b); };
      }(batch));
      if (!leaving) break;
    }
  }

  // Active time on a lesson: seconds the page is visible with input in the last minute,
  // sent every 15 of them and when the reader leaves.
  var active = 0, lastInput = Date.now();
  if (lesson) {
    ["scroll", "keydown", "pointerdown", "pointermove", "touchstart"].forEach(function (t) {
      window.addEventListener(t, function () { lastInput = Date.now(); }, { passive: true });
    });
    setInterval(function () {
      if (document.visibilityState === "visible" && Date.now() - lastInput < IDLE_MS) active++;
      if (active >= HEARTBEAT) { emit("lesson_time", active); active = 0; }
    }, 1000);
  }

  function leave() {
    if (active > 0) { emit("lesson_time", active); active = 0; }
    flush(true);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leave();
  });
  window.addEventListener("pagehide", leave);

  emit(lesson ? "lesson_viewed" : "course_viewed");
})();
