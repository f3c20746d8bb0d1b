"""Shared fixtures for the link-checker tests: one loopback server and quick checkers.

Every timeout here is short so a regression shows up as a failed assertion in
seconds, never as a hung suite.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from learnpath.linkcheck import Checker, FetchOptions, default_detectors
from learnpath.linkcheck.detectors import Detector
from tests.linkcheck.server import LinkServer

# Host indexes into the shared server's addresses.
MAIN, OTHER, TUBE = 0, 1, 2


@pytest.fixture(scope="session")
def link_server() -> Iterator[LinkServer]:
    """127.0.0.1 (most cases), 127.0.0.2 (cross-host), 127.0.0.3 (plays YouTube), plus TLS."""
    with LinkServer(addresses=["127.0.0.1", "127.0.0.2", "127.0.0.3"], tls=True) as srv:
        yield srv


def quick_options(**overrides) -> FetchOptions:
    """Options for loopback tests: private addresses allowed, everything short."""
    values = dict(allow_private=True, connect_timeout=2.0, read_timeout=2.0, url_deadline=4.0,
                  backoff=0.05, retry_after_cap=5.0)
    values.update(overrides)
    return FetchOptions(**values)


def loopback_detectors(server: LinkServer) -> list[Detector]:
    """The default detectors, with YouTube played by the server's third host."""
    return list(default_detectors(youtube_oembed=server.url("/oembed", TUBE), youtube_hosts={"127.0.0.3"}))


@pytest.fixture
def make_checker(link_server: LinkServer) -> Callable[..., Checker]:
    """``make_checker(per_host=1, ...)`` -> a Checker with quick options and loopback detectors."""

    def build(**overrides) -> Checker:
        return Checker(quick_options(**overrides), loopback_detectors(link_server))

    return build


@pytest.fixture
def send_times(monkeypatch) -> dict[str, list[float]]:
    """Monotonic times at which requests left the client, by URL path.

    Spacing measured here, at ``HTTPAdapter.send``, is what the client did. The
    server's receive times add each request's own network and scheduling delay,
    so on a loaded machine two requests sent 0.2 s apart can arrive 0.1 s apart.
    """
    times: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    original = requests.adapters.HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        with lock:
            times[urlsplit(request.url).path].append(time.monotonic())
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return times
