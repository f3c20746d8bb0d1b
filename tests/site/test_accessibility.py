"""axe-core on every built page: light and dark, desktop and phone widths, zero violations.

axe-core comes from the npm package pinned in package-lock.json (``make test``
runs ``npm ci``); the tests inject it into each page, so it is never part of
the site. Without node_modules/axe-core the tests skip loudly, or fail under
REQUIRE_BROWSER=1 (CI).

Pages are checked in two states: as a new reader sees them, and with progress
marked (done cards, a coloured map, the counters), since both are what
readers look at. The fixture site adds the link-health badges and the check
questions, which the real catalog may not show.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from browser import REFUSE_STORAGE
from site_helpers import REPO

pytestmark = pytest.mark.browser

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
SCHEMES = ["light", "dark"]


def require_axe() -> None:
    if AXE.is_file():
        return
    message = f"*** ACCESSIBILITY TESTS NOT RUN: {AXE} is missing. Run `make test` (it runs `npm ci`). ***"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(message + " REQUIRE_BROWSER=1 is set, so this is a failure.")
    pytest.skip(message)


def pages_of(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))


def axe_violations(page) -> list[str]:
    """Run axe-core on the page; each violation as 'rule (impact): help -> the first nodes'."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))  # inline: no request, nothing shipped
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                    for n in v["nodes"][:4])
        for v in result
    ]


def check_pages(browser, base: str, pages: list[str], *, init_script: str | None = None,
                before=None, schemes: list[str] = SCHEMES) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for scheme in schemes:
        for name, (width, height) in VIEWPORTS.items():
            context = browser.context(width=width, height=height, scheme=scheme, init_script=init_script)
            page = context.new_page()
            page.on("pageerror", lambda exc: browser.errors.append(f"uncaught: {exc}"))
            for url in pages:
                page.goto(base + url, wait_until="load")
                expected = "slate" if scheme == "dark" else "default"
                assert page.locator("body").get_attribute("data-md-color-scheme") == expected
                if before:
                    before(page)
                violations = axe_violations(page)
                if violations:
                    found[f"{url} [{scheme}, {name}]"] = violations
            context.close()
            browser.contexts.remove(context)
    return found


def test_every_page_has_no_violations(browser, real_url: str, real_site: Path) -> None:
    require_axe()
    pages = pages_of(real_site)
    assert len(pages) >= 18  # home, 2 paths, 13 topics, catalog, link health, contributing, 404
    found = check_pages(browser, real_url, pages)
    assert found == {}, json.dumps(found, indent=2)
    browser.check()


def _progress(steps: list[str]) -> str:
    done = {s: "2026-11-20" for s in steps}
    doc = {"format": "learn-transformers-progress", "version": 1, "updated": "2026-11-20T00:00:00Z", "done": done}
    return f"localStorage.setItem('learnpath.progress.v1', {json.dumps(json.dumps(doc))});"


def test_pages_with_progress_and_link_health_have_no_violations(browser, real_url: str, health_url: str) -> None:
    require_axe()
    seeded = _progress(["fastai-lesson-nlp", "fastai-lesson-collab-filtering", "illustrated-word2vec",
                        "gfg-intro-rnn", "codebasics-what-is-rnn"])
    found = check_pages(browser, real_url, ["index.html", "paths/transformers-from-scratch.html",
                                            "paths/weekend.html", "catalog.html"], init_script=seeded)

    def open_answers(page) -> None:
        for details in page.locator("details.lp-check__item").all():
            details.locator("summary").click()

    found |= check_pages(browser, health_url, ["paths/mini.html", "catalog.html", "link-health.html"],
                         init_script=_progress(["alpha"]), before=open_answers)
    # With storage refused, Material's own palette script fails and the page stays light.
    found |= check_pages(browser, real_url, ["paths/weekend.html"], init_script=REFUSE_STORAGE, schemes=["light"])
    assert found == {}, json.dumps(found, indent=2)
    browser.check(ignore_errors_outside="javascripts/")


def test_filter_states_have_no_violations(browser, real_url: str) -> None:
    require_axe()
    found = check_pages(browser, real_url, ["catalog.html?kind=paper&level=beginner&topic=rnn",
                                            "catalog.html?topic=bert"])
    assert found == {}, json.dumps(found, indent=2)
    browser.check()
