/*
 * Learn Transformers: names for two landmarks Material leaves unnamed, which
 * axe-core (tests/site/test_accessibility.py) reports:
 *
 * - the search dialog (<div class="md-search" role="dialog">) has no
 *   accessible name (rule aria-dialog-name);
 * - each code block's toolbar is a <nav class="md-code__nav">, added by
 *   Material's script; with two code blocks on a page, screen readers list
 *   identical unnamed navigation landmarks (rule landmark-unique).
 *
 * The toolbars appear after Material's own page-load work, so a bounded
 * MutationObserver names them as they come. No dependencies.
 */
(function () {
  "use strict";

  function name(root) {
    var search = root.querySelector(".md-search[role='dialog']");
    if (search && !search.hasAttribute("aria-label")) {
      search.setAttribute("aria-label", "Search the site");
    }
    var navs = root.querySelectorAll("nav.md-code__nav:not([aria-label])");
    navs.forEach(function (nav) {
      var block = nav.closest("pre, .highlight");
      var label = "Code block actions";
      if (block && block.id) {
        label += " (" + block.id.replace(/^__code_/, "block ") + ")";
      }
      nav.setAttribute("aria-label", label);
    });
  }

  function watch() {
    name(document);
    if (!window.MutationObserver || !document.body) {
      return;
    }
    var pending = false;
    var observer = new MutationObserver(function () {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(function () {
          pending = false;
          name(document);
        });
      }
    });
    observer.observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})();
