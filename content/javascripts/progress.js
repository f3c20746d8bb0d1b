/*
 * Learn Transformers: the reader's progress, kept in this browser only.
 *
 * One localStorage key (KEY) holds a small versioned JSON document:
 *   {"format": "learn-transformers-progress", "version": 1,
 *    "updated": "<ISO time>", "done": {"<resource-id>": "<ISO date>", ...}}
 * keyed on the catalog's permanent resource ids, so a resource marked done on
 * one path is done on every page that shows it. An export is the same
 * document as a file; an import merges one back and changes nothing unless
 * the whole file is valid.
 *
 * The pages are complete without this script: the "done" boxes are rendered
 * disabled with their reason, the counters say that progress needs
 * JavaScript. This script enables them when storage works, and otherwise says
 * why it cannot (storage refused or full, a damaged stored value).
 *
 * What it counts comes from the page: data-steps on each progress panel and
 * stage (each resource once, with its minutes and whether it is optional, as
 * learnpath/catalog/durations.py decides). The script adds up; it never
 * decides which steps count.
 *
 * Material's instant navigation, when enabled, swaps pages without loading
 * them; document$ emits each new page, so the script subscribes to it and
 * falls back to DOMContentLoaded without Material. No dependencies.
 */
(function () {
  "use strict";

  var KEY = "learnpath.progress.v1";
  var FORMAT = "learn-transformers-progress";
  var VERSION = 1;
  var SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
  var MAX_IMPORT_BYTES = 1024 * 1024;

  var REASON = {
    refused: "this browser refuses to let the site store data (a private window, or site data blocked)",
    full: "this browser's storage for the site is full",
    corrupt: "the progress saved in this browser is damaged"
  };

  // ------------------------------------------------------------------ storage

  var state = { done: {}, writable: false, problem: null };

  function validDone(doc) {
    /* The "done" map of a progress document, or throw an Error saying what is wrong. */
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
      throw new Error("it is not a JSON object");
    }
    if (doc.format !== FORMAT) {
      throw new Error('it has no "format": "' + FORMAT + '", so it was not written by this site');
    }
    if (doc.version !== VERSION) {
      throw new Error("it is version " + JSON.stringify(doc.version) + ", and this site reads version " + VERSION);
    }
    var done = doc.done;
    if (!done || typeof done !== "object" || Array.isArray(done)) {
      throw new Error('its "done" is not an object of resource ids');
    }
    var clean = {};
    Object.keys(done).forEach(function (id) {
      if (!SLUG.test(id) || id.length > 64 || typeof done[id] !== "string" || done[id].length > 40) {
        throw new Error("it has an entry that is not a resource id and a date: " + JSON.stringify(id).slice(0, 80));
      }
      clean[id] = done[id];
    });
    return clean;
  }

  function store() {
    try {
      return window.localStorage || null;
    } catch (e) {
      return null;  // a SecurityError: storage refused outright
    }
  }

  function load() {
    var s = store();
    var next = { done: {}, writable: false, problem: null };
    if (!s) {
      next.problem = "refused";
      state = next;
      return;
    }
    var raw = null;
    try {
      raw = s.getItem(KEY);
    } catch (e) {
      next.problem = "refused";
      state = next;
      return;
    }
    if (raw !== null) {
      try {
        next.done = validDone(JSON.parse(raw));
      } catch (e) {
        next.problem = "corrupt";
      }
    }
    try {
      s.setItem(KEY + ".probe", "1");
      s.removeItem(KEY + ".probe");
    } catch (e) {
      next.problem = next.problem || (e && e.name === "QuotaExceededError" ? "full" : "refused");
    }
    next.writable = !next.problem;
    state = next;
  }

  function document_(done) {
    return { format: FORMAT, version: VERSION, updated: new Date().toISOString(), done: done };
  }

  function save(done) {
    /* Store the new done map; on failure keep the old one and say why. */
    var s = store();
    try {
      s.setItem(KEY, JSON.stringify(document_(done)));
    } catch (e) {
      state.problem = e && e.name === "QuotaExceededError" ? "full" : "refused";
      state.writable = false;
      return false;
    }
    state.done = done;
    return true;
  }

  function count(done) {
    return Object.keys(done).length;
  }

  // ------------------------------------------------------------------ formatting

  function formatMinutes(minutes) {
    /* As learnpath.site.render.format_minutes: 45 min, 2 h, 2 h 15 min. */
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    if (!hours) {
      return rest + " min";
    }
    return rest ? hours + " h " + rest + " min" : hours + " h";
  }

  function plural(n, noun) {
    return n + " " + noun + (n === 1 ? "" : "s");
  }

  function ago(then, now) {
    var days = Math.floor((now - then) / 86400000);
    if (days < 1) {
      return "today";
    }
    if (days === 1) {
      return "yesterday";
    }
    if (days < 60) {
      return days + " days ago";
    }
    return Math.round(days / 30) + " months ago";
  }

  function why() {
    return state.problem ? REASON[state.problem] : "";
  }

  // ------------------------------------------------------------------ counting

  function steps(element) {
    try {
      var list = JSON.parse(element.getAttribute("data-steps") || "[]");
      return Array.isArray(list) ? list : [];
    } catch (e) {
      return [];
    }
  }

  function tally(list) {
    var t = { required: 0, requiredDone: 0, optional: 0, optionalDone: 0, minutesLeft: 0, next: null };
    list.forEach(function (step) {
      var done = Object.prototype.hasOwnProperty.call(state.done, step.id);
      if (step.optional) {
        t.optional += 1;
        t.optionalDone += done ? 1 : 0;
        return;
      }
      t.required += 1;
      if (done) {
        t.requiredDone += 1;
      } else {
        t.minutesLeft += Number(step.minutes) || 0;
        if (!t.next) {
          t.next = step;
        }
      }
    });
    return t;
  }

  // ------------------------------------------------------------------ showing

  function setText(element, text) {
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function showBoxes(root) {
    var reason = why();
    root.querySelectorAll("input.lp-done__box").forEach(function (box) {
      var id = box.value;
      var done = Object.prototype.hasOwnProperty.call(state.done, id);
      box.checked = done;
      box.disabled = !state.writable;
      setText(box.parentNode.querySelector(".lp-done__why"), reason ? " (unavailable: " + reason + ")" : "");
      var card = box.closest("article.lp-card");
      if (card) {
        card.classList.toggle("lp-card--done", done);
      }
    });
  }

  function showPanels(root) {
    root.querySelectorAll(".lp-progress[data-steps]").forEach(function (panel) {
      var t = tally(steps(panel));
      var bar = panel.querySelector("progress");
      var status = panel.querySelector(".lp-progress__status");
      var next = panel.querySelector(".lp-progress__continue");
      if (state.problem && state.problem !== "full") {
        setText(status, "Progress is not available: " + why() + ".");
        if (bar) { bar.hidden = true; }
        if (next) { next.hidden = true; }
        return;
      }
      if (bar) {
        bar.max = Math.max(t.required, 1);
        bar.value = t.requiredDone;
        bar.hidden = false;
      }
      var text;
      if (t.required && t.requiredDone === t.required) {
        text = "All " + plural(t.required, "required step") + " done.";
      } else {
        text = t.requiredDone + " of " + plural(t.required, "required step") + " done, " +
          formatMinutes(t.minutesLeft) + " left.";
      }
      if (t.optional) {
        text += " Optional: " + t.optionalDone + " of " + t.optional + " done.";
      }
      if (state.problem) {
        text += " New progress cannot be saved: " + why() + ".";
      }
      setText(status, text);
      if (next) {
        next.textContent = "";
        if (t.next && t.requiredDone > 0) {
          var link = document.createElement("a");
          link.href = t.next.href;
          link.textContent = "Continue where you left off: " + t.next.title;
          next.appendChild(link);
        } else if (t.next) {
          var start = document.createElement("a");
          start.href = t.next.href;
          start.textContent = "Start with: " + t.next.title;
          next.appendChild(start);
        }
        next.hidden = !t.next;
      }
    });
  }

  function showStages(root) {
    var byStage = {};
    root.querySelectorAll(".lp-stage__progress[data-steps]").forEach(function (line) {
      var t = tally(steps(line));
      byStage[line.getAttribute("data-stage")] = t;
      if (state.problem && state.problem !== "full") {
        setText(line, "");
        return;
      }
      var text = " · " + t.requiredDone + " of " + plural(t.required, "step") + " done";
      text += t.requiredDone === t.required ? "" : ", " + formatMinutes(t.minutesLeft) + " left";
      setText(line, text);
    });
    root.querySelectorAll(".lp-map__node[data-stage]").forEach(function (node) {
      var t = byStage[node.getAttribute("data-stage")];
      var label = node.querySelector(".lp-map__state");
      if (!t || (state.problem && state.problem !== "full")) {
        setText(label, "");
        node.classList.remove("lp-map__node--done", "lp-map__node--started");
        return;
      }
      var complete = t.required > 0 && t.requiredDone === t.required;
      node.classList.toggle("lp-map__node--done", complete);
      node.classList.toggle("lp-map__node--started", !complete && t.requiredDone > 0);
      var text = complete ? "Done" : t.requiredDone ? t.requiredDone + " of " + t.required + " done" : "";
      setText(label, text);
      // The link's name is the stage's; it must also say what the box now shows.
      if (!node.hasAttribute("data-label")) {
        node.setAttribute("data-label", node.getAttribute("aria-label") || "");
      }
      node.setAttribute("aria-label", node.getAttribute("data-label") + (text ? ", " + text.toLowerCase() : ""));
    });
  }

  function showTools(root) {
    root.querySelectorAll(".lp-progress--tools .lp-progress__status").forEach(function (status) {
      if (state.problem) {
        setText(status, "Progress cannot be saved: " + why() + "." +
          (state.problem === "corrupt" ? " Nothing was changed; import an export or reset to start again." : ""));
      } else {
        setText(status, plural(count(state.done), "step") + " marked done in this browser.");
      }
    });
    var storable = !!store() && state.problem !== "refused";
    root.querySelectorAll(".lp-progress__export").forEach(function (b) {
      b.disabled = !!state.problem && state.problem !== "full";
    });
    root.querySelectorAll(".lp-progress__file").forEach(function (input) {
      input.disabled = !storable;
    });
    root.querySelectorAll(".lp-progress__reset").forEach(function (b) {
      b.disabled = !storable;
    });
  }

  function showTimes(root) {
    var now = Date.now();
    root.querySelectorAll("time[data-relative]").forEach(function (element) {
      var then = Date.parse(element.getAttribute("datetime"));
      if (!isNaN(then)) {
        if (!element.title) {
          element.title = element.textContent.replace(/^on /, "");
        }
        setText(element, ago(then, now));
      }
    });
  }

  function show(root) {
    showBoxes(root);
    showPanels(root);
    showStages(root);
    showTools(root);
    showTimes(root);
    document.dispatchEvent(new CustomEvent("learnpath:progress"));
  }

  function message(text) {
    document.querySelectorAll(".lp-progress__message").forEach(function (element) {
      element.textContent = text;
    });
  }

  // ------------------------------------------------------------------ actions

  function toggle(box) {
    var id = box.value;
    if (!state.writable || !SLUG.test(id || "")) {
      show(document);
      return;
    }
    var done = Object.assign({}, state.done);
    if (box.checked) {
      done[id] = new Date().toISOString().slice(0, 10);
    } else {
      delete done[id];
    }
    if (!save(done)) {
      message("Could not save: " + why() + ". Nothing was changed.");
    }
    show(document);
  }

  function exportProgress() {
    if (state.problem && state.problem !== "full") {
      return;
    }
    var name = "learn-transformers-progress-" + new Date().toISOString().slice(0, 10) + ".json";
    var blob = new Blob([JSON.stringify(document_(state.done), null, 2) + "\n"], { type: "application/json" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    message("Exported " + plural(count(state.done), "step") + " marked done to " + name + ".");
  }

  function importProgress(input) {
    var file = input.files && input.files[0];
    if (!file) {
      return;
    }
    var refuse = function (what) {
      message("Could not import " + file.name + ": " + what + ". Nothing was changed.");
      input.value = "";
    };
    if (file.size > MAX_IMPORT_BYTES) {
      refuse("it is far larger than a progress export");
      return;
    }
    var reader = new FileReader();
    reader.onerror = function () { refuse("the file could not be read"); };
    reader.onload = function () {
      var imported;
      try {
        imported = validDone(JSON.parse(String(reader.result)));
      } catch (e) {
        refuse(e instanceof SyntaxError ? "it is not JSON, so it is not a progress export" : e.message);
        return;
      }
      var done = state.problem === "corrupt" ? {} : Object.assign({}, state.done);
      var added = 0;
      Object.keys(imported).forEach(function (id) {
        if (!Object.prototype.hasOwnProperty.call(done, id)) {
          done[id] = imported[id];
          added += 1;
        }
      });
      state.problem = null;
      state.writable = true;
      if (!save(done)) {
        load();
        refuse("this browser would not store it (" + why() + ")");
        show(document);
        return;
      }
      input.value = "";
      message("Imported " + file.name + ": " + plural(count(imported), "step") + " marked done, " +
        added + " of them new here. " + plural(count(done), "step") + " done in all.");
      show(document);
    };
    reader.readAsText(file);
  }

  function reset() {
    var n = count(state.done);
    var question = state.problem === "corrupt"
      ? "Delete the damaged progress saved in this browser? This cannot be undone."
      : "Forget the " + plural(n, "step") + " marked done in this browser? This cannot be undone " +
        "(export first to keep a copy).";
    if (!window.confirm(question)) {
      message("Reset cancelled; nothing was changed.");
      return;
    }
    try {
      store().removeItem(KEY);
    } catch (e) {
      message("Could not reset: " + REASON.refused + ".");
      return;
    }
    load();
    message("Progress reset: no step is marked done in this browser.");
    show(document);
  }

  // ------------------------------------------------------------------ wiring

  // Bound once on the document, so pages swapped in by instant navigation need no new listeners.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input.lp-done__box")) {
      toggle(target);
    } else if (target.matches && target.matches("input.lp-progress__file")) {
      importProgress(target);
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest && target.closest(".lp-progress__export")) {
      exportProgress();
    } else if (target.closest && target.closest(".lp-progress__reset")) {
      reset();
    }
  });
  // Another tab marked a step: follow it.
  window.addEventListener("storage", function (event) {
    if (event.key === KEY || event.key === null) {
      load();
      show(document);
    }
  });

  function refresh() {
    load();
    show(document);
    if (state.problem === "corrupt") {
      message("The progress saved in this browser is damaged and could not be read; nothing was changed. " +
        "Import an exported file, or reset to start again.");
    }
  }

  // What the catalog filter asks ("not done yet").
  window.learnpathProgress = {
    isDone: function (id) {
      return Object.prototype.hasOwnProperty.call(state.done, id);
    },
    available: function () {
      return !state.problem || state.problem === "full";
    }
  };

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(refresh);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refresh);
  } else {
    refresh();
  }
})();
