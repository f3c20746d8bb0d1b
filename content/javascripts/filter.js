/*
 * Learn Transformers: filter the catalog's resource cards by kind, level and
 * cost. Runs only where the page has a <div class="lp-filter"> (the catalog),
 * builds its controls there, and hides the cards that do not match. The
 * choices come from the cards' data-kind / data-level / data-free attributes,
 * so the filter offers exactly what the catalog holds. No dependencies.
 */
(function () {
  "use strict";

  var LEVELS = ["beginner", "intermediate", "advanced"];

  function capitalize(word) {
    return word.charAt(0).toUpperCase() + word.slice(1);
  }

  function select(label, name, values) {
    var wrapper = document.createElement("label");
    wrapper.className = "lp-filter__field";
    wrapper.appendChild(document.createTextNode(label + " "));
    var box = document.createElement("select");
    box.name = name;
    var all = document.createElement("option");
    all.value = "";
    all.textContent = "any";
    box.appendChild(all);
    values.forEach(function (value) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = capitalize(value);
      box.appendChild(option);
    });
    wrapper.appendChild(box);
    return wrapper;
  }

  function setUp(container) {
    var cards = Array.prototype.slice.call(document.querySelectorAll("article.lp-card"));
    if (!cards.length) {
      return;
    }
    var kinds = [];
    cards.forEach(function (card) {
      var kind = card.getAttribute("data-kind");
      if (kind && kinds.indexOf(kind) < 0) {
        kinds.push(kind);
      }
    });
    kinds.sort();

    var free = document.createElement("label");
    free.className = "lp-filter__field";
    var freeBox = document.createElement("input");
    freeBox.type = "checkbox";
    freeBox.name = "free";
    free.appendChild(freeBox);
    free.appendChild(document.createTextNode(" free only"));

    var count = document.createElement("span");
    count.className = "lp-filter__count";
    count.setAttribute("aria-live", "polite");

    container.appendChild(select("Kind", "kind", kinds));
    container.appendChild(select("Level", "level", LEVELS));
    container.appendChild(free);
    container.appendChild(count);

    function apply() {
      var kind = container.querySelector("select[name=kind]").value;
      var level = container.querySelector("select[name=level]").value;
      var freeOnly = freeBox.checked;
      var shown = 0;
      cards.forEach(function (card) {
        var match =
          (!kind || card.getAttribute("data-kind") === kind) &&
          (!level || card.getAttribute("data-level") === level) &&
          (!freeOnly || card.getAttribute("data-free") === "true");
        card.hidden = !match;
        if (match) {
          shown += 1;
        }
      });
      count.textContent = shown + " of " + cards.length + " resources shown";
    }

    container.addEventListener("change", apply);
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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
