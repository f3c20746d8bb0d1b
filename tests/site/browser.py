"""Helpers for the browser tests: Debian's Chromium through Playwright, loopback only.

A site is served on 127.0.0.1 from a thread; every request a page makes to
any other host is blocked and recorded, and ``Browser.check`` fails the test
if there was one (a CDN script, a web font), or if a page logged an error, so
"works offline" is checked, not assumed. A second line of defence, the
resolver rules, keeps anything the route cannot see (a worker's own fetch)
from resolving a real host name.

Without /usr/bin/chromium the tests skip with a loud reason, unless
REQUIRE_BROWSER=1 (CI), where they fail instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"file", "blob", "data", "about"}
TIMEOUT_MS = 15_000  # every wait is bounded by this
# Init scripts that make the page's storage behave as browsers do when they refuse it:
# outright (site data blocked: touching localStorage throws), or full (writes throw).
REFUSE_STORAGE = """
Object.defineProperty(window, "localStorage", {
  configurable: true,
  get() { throw new DOMException("The user denied storage", "SecurityError"); },
});
"""
FULL_STORAGE = """
Storage.prototype.setItem = function () {
  throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
};
"""


def require_chromium() -> None:
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


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """``directory`` on an ephemeral loopback port; yields the base URL ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Browser:
    """One Chromium for a test module; a fresh context (storage, viewport, scheme) per ``page()``."""

    def __init__(self, playwright) -> None:
        self.browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
            timeout=TIMEOUT_MS * 3,
        )
        self.off_host: list[str] = []
        self.errors: list[str] = []
        self.contexts = []

    def _guard(self, route) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname in LOOPBACK:
            route.continue_()
        else:
            self.off_host.append(route.request.url)
            route.abort()

    def context(self, *, width: int = 1280, height: int = 900, scheme: str = "light", script: bool = True,
                init_script: str | None = None, downloads: bool = False):
        context = self.browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme, java_script_enabled=script,
            accept_downloads=downloads,
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", self._guard)  # the context, so a worker's requests are covered too
        if init_script:
            context.add_init_script(init_script)
        self.contexts.append(context)
        return context

    def page(self, **options):
        page = self.context(**options).new_page()
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}\n{exc.stack or ''}"))
        return page

    def check(self, *, ignore_errors_outside: str | None = None) -> None:
        """No request left the machine and no page logged an error (called at the end of each test).

        ``ignore_errors_outside="javascripts/"`` only counts errors raised in our own
        scripts: Material's own code does not survive a browser that refuses storage.
        """
        off_host, errors = list(self.off_host), list(self.errors)
        if ignore_errors_outside:
            errors = [e for e in errors if ignore_errors_outside in e]
        self.off_host.clear()
        self.errors.clear()
        for context in self.contexts:
            context.close()
        self.contexts.clear()
        assert off_host == [], f"a page tried to load from other hosts: {off_host}"
        assert errors == [], f"pages logged errors: {errors}"

    def reset(self) -> None:
        """Forget what an earlier (failed) test left behind."""
        self.off_host.clear()
        self.errors.clear()
        for context in self.contexts:
            context.close()
        self.contexts.clear()

    def close(self) -> None:
        self.reset()
        self.browser.close()
