"""The built site in a real browser: Debian's Chromium driven by Playwright, fully offline.

The site is served on 127.0.0.1 from a thread; every request to any other host
is blocked and recorded, and the test fails if the page tried one (a CDN
script, a web font), so "works offline" is checked, not assumed.

Without /usr/bin/chromium the test skips with a loud reason, unless
REQUIRE_BROWSER=1 (CI), where it fails instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK = {"127.0.0.1", "localhost"}
TIMEOUT_MS = 10_000  # every wait is bounded by this

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"*** BROWSER TEST NOT RUN: {CHROMIUM} is missing. Install it with "
        "`sudo apt-get install chromium` (make test does so when run as root). ***"
    )
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(message + " REQUIRE_BROWSER=1 is set, so this is a failure.")
    pytest.skip(message)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def served_site(request: pytest.FixtureRequest) -> Iterator[str]:
    """The built site on an ephemeral loopback port, shut down after the test."""
    _require_chromium()  # before the build: a skip should not cost one
    real_site: Path = request.getfixturevalue("real_site")
    handler = functools.partial(_QuietHandler, directory=str(real_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_path_page_cards_filter_search_and_no_errors(served_site: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    off_host: list[str] = []
    console_errors: list[str] = []

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            off_host.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                  # Second line of defence: requests the route cannot see (a worker's own
                  # script) still cannot resolve any host but loopback.
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
            timeout=TIMEOUT_MS * 3,
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", guard)  # the context, so the search worker's requests are covered too
            page = context.new_page()
            page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))

            # The main path renders its cards.
            page.goto(served_site + "paths/transformers-from-scratch/", wait_until="load")
            cards = page.locator("article.lp-card")
            assert cards.count() > 0
            first = cards.first
            title_link = first.locator(".lp-card__title a")
            assert title_link.get_attribute("href").startswith("http")
            assert title_link.inner_text().strip()
            assert title_link.get_attribute("rel") == "noopener"
            badge = first.locator(".lp-badge").first
            assert badge.is_visible() and badge.inner_text().strip()

            # The palette toggle switches to dark mode and back.
            scheme = page.locator("body").get_attribute("data-md-color-scheme")
            page.locator("label.md-header__button[for^='__palette']:visible").first.click()
            page.wait_for_function(
                "s => document.body.getAttribute('data-md-color-scheme') !== s", arg=scheme, timeout=TIMEOUT_MS
            )

            # The catalog filter hides the cards that do not match, and says how many remain.
            page.goto(served_site + "catalog/", wait_until="load")
            all_cards = page.locator("article.lp-card").count()
            page.locator(".lp-filter select[name=kind]").select_option("paper")
            visible = page.locator("article.lp-card:visible")
            assert 0 < visible.count() < all_cards
            assert set(visible.evaluate_all("cards => cards.map(c => c.dataset.kind)")) == {"paper"}
            assert page.locator(".lp-filter__count").inner_text() == f"{visible.count()} of {all_cards} resources shown"
            page.locator(".lp-filter select[name=kind]").select_option("")
            assert page.locator("article.lp-card:visible").count() == all_cards

            # Search for "attention" finds results (lunr in a web worker, index from our server).
            page.locator("label.md-header__button[for='__search']:visible, .md-search__input").first.click()
            # Typed key by key: Material searches on keyboard input, which fill() does not send.
            page.locator("input.md-search__input").press_sequentially("attention", delay=20)
            results = page.locator(".md-search-result__item")
            results.first.wait_for(state="visible", timeout=TIMEOUT_MS)
            assert results.count() > 0
            assert "attention" in page.locator(".md-search-result").inner_text().lower()
        finally:
            browser.close()

    assert off_host == [], f"the page tried to load from other hosts: {off_host}"
    assert console_errors == []
