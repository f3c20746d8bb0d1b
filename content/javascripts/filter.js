/*
 * Learn Transformers: filter the catalog's resource cards by kind, level,
 * topic, cost and "not done yet". Runs only where the page has a
 * <div class="lp-filter"> (the catalog), builds its controls there and hides
 * the cards that do not match, and the topic groups left with none.
 *
 * The choices come from the cards themselves (data-kind, data-level,
 * data-topics, data-free), so the filter offers exactly what the catalog
 * holds: no "free only" box when every resource is free, since it would
 * change nothing. The state lives in the URL query (?kind=paper&topic=bert),
 * so a filtered view can be shared or reloaded. No dependencies.
 */
(function () {
  "use strict";

  var LEVELS = ["beginner", "intermediate", "advanced"];

  function capitalize(word) {
    return word.charAt(0).toUpperCase() + word.slice(1);
  }

  function select(label, name, options) {
    var wrapper = document.createElement("label");
    wrapper.className = "lp-filter__field";
    wrapper.appendChild(document.createTextNode(label + " "));
    var box = document.createElement("select");
    box.name = name;
    [["", "any"]].concat(options).forEach(function (pair) {
      var option = document.createElement("option");
      option.value = pair[0];
      option.textContent = pair[1];
      box.appendChild(option);
    });
    wrapper.appendChild(box);
    return wrapper;
  }

  function checkbox(label, name) {
    var wrapper = document.createElement("label");
    wrapper.className = "lp-filter__field";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.name = name;
    wrapper.appendChild(box);
    wrapper.appendChild(document.createTextNode(" " + label));
    return wrapper;
  }

  function topicsOf(container) {
    try {
      var pairs = JSON.parse(container.getAttribute("data-topics") || "[]");
      return Array.isArray(pairs) ? pairs : [];
    } catch (e) {
      return [];
    }
  }

  /* Each h2 topic heading with the elements under it, up to the next h2. */
  function groups(content) {
    var found = [];
    content.querySelectorAll("h2[id^='topic-']").forEach(function (heading) {
      var members = [heading];
      var next = heading.nextElementSibling;
      while (next && next.tagName !== "H2") {
        members.push(next);
        next = next.nextElementSibling;
      }
      found.push(members);
    });
    return found;
  }

  function setUp(container) {
    var content = container.closest("article") || document;
    var cards = Array.prototype.slice.call(content.querySelectorAll("article.lp-card"));
    if (!cards.length) {
      return;
    }
    var kinds = [];
    var topicIds = {};
    var anyPaid = false;
    cards.forEach(function (card) {
      var kind = card.getAttribute("data-kind");
      if (kind && kinds.indexOf(kind) < 0) {
        kinds.push(kind);
      }
      (card.getAttribute("data-topics") || "").split(" ").forEach(function (t) {
        topicIds[t] = true;
      });
      anyPaid = anyPaid || card.getAttribute("data-free") === "false";
    });
    kinds.sort();
    var topics = topicsOf(container).filter(function (pair) { return topicIds[pair[0]]; });

    var controls = {
      kind: select("Kind", "kind", kinds.map(function (k) { return [k, capitalize(k)]; })),
      level: select("Level", "level", LEVELS.map(function (l) { return [l, capitalize(l)]; })),
      topic: select("Topic", "topic", topics),
      todo: checkbox("not done yet", "todo")
    };
    if (anyPaid) {
      controls.free = checkbox("free only", "free");
    }
    Object.keys(controls).forEach(function (name) {
      container.appendChild(controls[name]);
    });
    var count = document.createElement("p");
    count.className = "lp-filter__count";
    count.setAttribute("role", "status");
    container.appendChild(count);
    var empty = document.createElement("p");
    empty.className = "lp-filter__empty";
    empty.hidden = true;
    empty.appendChild(document.createTextNode("No resources match these filters. "));
    var clear = document.createElement("button");
    clear.type = "button";
    clear.className = "md-button";
    clear.textContent = "Clear the filters";
    empty.appendChild(clear);
    container.appendChild(empty);

    function field(name) {
      return controls[name] && controls[name].querySelector("select, input");
    }

    function read() {
      return {
        kind: field("kind").value,
        level: field("level").value,
        topic: field("topic").value,
        todo: field("todo").checked,
        free: !!field("free") && field("free").checked
      };
    }

    function fromUrl() {
      var query = new URLSearchParams(window.location.search);
      ["kind", "level", "topic"].forEach(function (name) {
        var wanted = query.get(name) || "";
        var box = field(name);
        var known = Array.prototype.some.call(box.options, function (o) { return o.value === wanted; });
        box.value = known ? wanted : "";
      });
      field("todo").checked = query.get("todo") === "1";
      if (field("free")) {
        field("free").checked = query.get("free") === "1";
      }
    }

    function toUrl(f) {
      var query = new URLSearchParams(window.location.search);
      ["kind", "level", "topic"].forEach(function (name) {
        if (f[name]) { query.set(name, f[name]); } else { query.delete(name); }
      });
      ["todo", "free"].forEach(function (name) {
        if (f[name]) { query.set(name, "1"); } else { query.delete(name); }
      });
      var search = query.toString();
      var url = window.location.pathname + (search ? "?" + search : "") + window.location.hash;
      try {
        window.history.replaceState(window.history.state, "", url);
      } catch (e) {
        /* file:// in some browsers: the filter still works, it is just not in the URL. */
      }
    }

    function apply() {
      var f = read();
      var progress = window.learnpathProgress;
      var todoUsable = !!progress && progress.available();
      field("todo").disabled = !todoUsable;
      var shown = 0;
      cards.forEach(function (card) {
        var id = card.getAttribute("data-resource");
        var match =
          (!f.kind || card.getAttribute("data-kind") === f.kind) &&
          (!f.level || card.getAttribute("data-level") === f.level) &&
          (!f.topic || (" " + card.getAttribute("data-topics") + " ").indexOf(" " + f.topic + " ") >= 0) &&
          (!f.free || card.getAttribute("data-free") === "true") &&
          (!f.todo || !todoUsable || !progress.isDone(id));
        card.hidden = !match;
        shown += match ? 1 : 0;
      });
      var filtering = !!(f.kind || f.level || f.topic || f.free || (f.todo && todoUsable));
      groups(content).forEach(function (members) {
        var visible = members.some(function (m) {
          return m.querySelector && m.querySelector("article.lp-card:not([hidden])");
        });
        members.forEach(function (m) {
          m.hidden = filtering && !visible;
        });
      });
      count.textContent = shown + " of " + cards.length + " resources shown";
      empty.hidden = shown > 0;
      toUrl(f);
    }

    clear.addEventListener("click", function () {
      ["kind", "level", "topic"].forEach(function (name) { field(name).value = ""; });
      field("todo").checked = false;
      if (field("free")) { field("free").checked = false; }
      apply();
      field("kind").focus();
    });
    container.addEventListener("change", apply);
    document.addEventListener("learnpath:progress", apply);
    fromUrl();
    apply();
    container.hidden = false;
  }

  function init() {
    var container = document.querySelector(".lp-filter");
    if (container && !container.hasAttribute("data-ready")) {
      container.setAttribute("data-ready", "");
      setUp(container);
    }
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
