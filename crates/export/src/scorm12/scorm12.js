/* Coursewright SCORM 1.2 runtime for one SCO. No network, no SCORM 2004. */
(function (root) {
  "use strict";
  var SUSPEND_MAX = 4096;

  /* The SCORM 1.2 discovery: this window's parents (at most 500 steps), then the opener
     and its parents. */
  function scan(win) {
    var steps = 0;
    try {
      while (win && !win.API && win.parent && win.parent !== win && steps < 500) {
        steps += 1;
        win = win.parent;
      }
      return win && win.API ? win.API : null;
    } catch (e) {
      return null;
    }
  }
  function findAPI(win) {
    var api = scan(win);
    if (!api && win && win.opener) {
      api = scan(win.opener);
    }
    return api;
  }

  /* suspend_data stays below 4096 characters: a value that would not fit is dropped
     rather than cut into something unreadable. */
  function fitSuspend(s) {
    s = String(s);
    return s.length < SUSPEND_MAX ? s : "";
  }

  /* Percent correct, rounded, for answers (null when unanswered) against the key. */
  function grade(answers, key) {
    if (!key.length) {
      return 0;
    }
    var right = 0;
    for (var i = 0; i < key.length; i += 1) {
      if (answers[i] === key[i]) {
        right += 1;
      }
    }
    return Math.round((100 * right) / key.length);
  }

  function encodeAnswers(answers) {
    var parts = [];
    for (var i = 0; i < answers.length; i += 1) {
      parts.push(answers[i] === null || answers[i] === undefined ? "-" : String(answers[i]));
    }
    return "a=" + parts.join(".");
  }
  function decodeAnswers(s, n) {
    var out = [];
    var m = /^a=([0-9.-]*)$/.exec(String(s || ""));
    var parts = m ? m[1].split(".") : [];
    for (var i = 0; i < n; i += 1) {
      var v = parseInt(parts[i], 10);
      out.push(isNaN(v) ? null : v);
    }
    return out;
  }

  function pad(n, w) {
    var s = String(n);
    while (s.length < w) {
      s = "0" + s;
    }
    return s;
  }
  /* CMITimespan: HHHH:MM:SS.SS */
  function timespan(ms) {
    var cs = Math.max(0, Math.round(ms / 10));
    var h = Math.floor(cs / 360000);
    var m = Math.floor((cs % 360000) / 6000);
    var s = Math.floor((cs % 6000) / 100);
    return pad(Math.min(h, 9999), 4) + ":" + pad(m, 2) + ":" + pad(s, 2) + "." + pad(cs % 100, 2);
  }

  /* One SCO's session: initialize once, finish once. */
  function Session(api, now) {
    this.api = api;
    this.started = now;
    this.open = false;
    this.done = false;
    this.completed = false;
  }
  Session.prototype.get = function (k) {
    return this.api && this.open ? String(this.api.LMSGetValue(k)) : "";
  };
  Session.prototype.set = function (k, v) {
    if (this.api && this.open) {
      this.api.LMSSetValue(k, String(v));
    }
  };
  Session.prototype.start = function () {
    if (this.api && !this.open && !this.done) {
      this.open = String(this.api.LMSInitialize("")) === "true";
    }
    var status = this.get("cmi.core.lesson_status");
    if (status === "completed" || status === "passed") {
      this.completed = true;
    } else if (status === "not attempted" || status === "") {
      this.set("cmi.core.lesson_status", "incomplete");
    }
    return this.open;
  };
  Session.prototype.complete = function () {
    if (!this.completed) {
      this.completed = true;
      this.set("cmi.core.lesson_status", "completed");
      this.commit();
    }
  };
  Session.prototype.suspend = function (data) {
    this.set("cmi.suspend_data", fitSuspend(data));
  };
  Session.prototype.commit = function () {
    if (this.api && this.open) {
      this.api.LMSCommit("");
    }
  };
  Session.prototype.finish = function (now) {
    if (!this.open || this.done) {
      return;
    }
    this.set("cmi.core.exit", this.completed ? "" : "suspend");
    this.set("cmi.core.session_time", timespan(now - this.started));
    this.commit();
    this.api.LMSFinish("");
    this.done = true;
    this.open = false;
  };
  /* A quiz's result: score first, then passed/failed against the mastery score. */
  Session.prototype.score = function (score, mastery) {
    this.set("cmi.core.score.raw", score);
    this.set("cmi.core.score.min", 0);
    this.set("cmi.core.score.max", 100);
    this.set("cmi.core.lesson_status", score >= mastery ? "passed" : "failed");
    this.completed = true;
  };
  Session.prototype.mastery = function (fallback) {
    var m = parseFloat(this.get("cmi.student_data.mastery_score"));
    return isNaN(m) ? fallback : m;
  };

  var api = {
    findAPI: findAPI,
    fitSuspend: fitSuspend,
    grade: grade,
    encodeAnswers: encodeAnswers,
    decodeAnswers: decodeAnswers,
    timespan: timespan,
    Session: Session,
    SUSPEND_MAX: SUSPEND_MAX
  };
  root.CoursewrightScorm = api;
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
  }

  if (typeof document === "undefined") {
    return;
  }

  function say(text) {
    var el = document.getElementById("sco-status");
    if (el) {
      el.textContent = text;
    }
  }

  function lesson(session) {
    var end = document.getElementById("sco-end");
    var finish = document.getElementById("sco-finish");
    var saved = /^y=(\d+)$/.exec(session.get("cmi.suspend_data"));
    if (saved && !session.completed) {
      root.scrollTo(0, parseInt(saved[1], 10));
    }
    if (end && "IntersectionObserver" in root) {
      var seen = new root.IntersectionObserver(function (entries) {
        for (var i = 0; i < entries.length; i += 1) {
          if (entries[i].isIntersecting) {
            session.complete();
            say("Completed.");
            seen.disconnect();
          }
        }
      });
      seen.observe(end);
    }
    if (finish) {
      finish.addEventListener("click", function () {
        session.complete();
        session.finish(Date.now());
        say("Completed. You can close this page.");
      });
    }
    return function () {
      session.suspend(session.completed ? "" : "y=" + Math.round(root.scrollY || 0));
    };
  }

  function quiz(session) {
    var form = document.getElementById("sco-quiz");
    var keyEl = document.getElementById("sco-key");
    var key = keyEl ? JSON.parse(keyEl.textContent) : [];
    var fallback = parseFloat(document.body.getAttribute("data-mastery")) || 80;
    function answers() {
      var out = [];
      for (var i = 0; i < key.length; i += 1) {
        var picked = form.querySelector('input[name="q' + i + '"]:checked');
        out.push(picked ? parseInt(picked.value, 10) : null);
      }
      return out;
    }
    var saved = decodeAnswers(session.get("cmi.suspend_data"), key.length);
    for (var i = 0; i < saved.length; i += 1) {
      if (saved[i] !== null) {
        var input = form.querySelector('input[name="q' + i + '"][value="' + saved[i] + '"]');
        if (input) {
          input.checked = true;
        }
      }
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var given = answers();
      var score = grade(given, key);
      var mastery = session.mastery(fallback);
      session.suspend(encodeAnswers(given));
      session.score(score, mastery);
      session.finish(Date.now());
      var fields = form.querySelectorAll("fieldset.question");
      for (var j = 0; j < fields.length; j += 1) {
        fields[j].className += given[j] === key[j] ? " right" : " wrong";
        var ex = fields[j].querySelector(".explanation");
        if (ex) {
          ex.hidden = false;
        }
      }
      var result = document.getElementById("sco-result");
      result.textContent = "Score: " + score + "% (pass mark " + mastery + "%): " +
        (score >= mastery ? "passed" : "not passed yet") + ".";
      result.hidden = false;
      form.querySelector('button[type="submit"]').disabled = true;
    });
    return function () {
      if (!session.completed) {
        session.suspend(encodeAnswers(answers()));
      }
    };
  }

  function boot() {
    var session = new Session(findAPI(root), Date.now());
    if (!session.start()) {
      say("No LMS found: your progress is not recorded.");
    }
    var kind = document.body.getAttribute("data-sco");
    var save = kind === "quiz" ? quiz(session) : lesson(session);
    var left = false;
    function leave() {
      if (left) {
        return;
      }
      left = true;
      if (!session.done) {
        save();
        session.finish(Date.now());
      }
    }
    root.addEventListener("pagehide", leave);
    root.addEventListener("beforeunload", leave);
    root.addEventListener("unload", leave);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})(typeof window !== "undefined" ? window : this);
