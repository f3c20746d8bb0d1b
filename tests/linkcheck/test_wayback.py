"""Wayback availability lookups against a loopback fake: answers, no answers, and bad days."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from learnpath.linkcheck import wayback

SNAPSHOT = {"archived_snapshots": {"closest": {
    "available": True, "status": "200", "timestamp": "20200102030405",
    "url": "http://web.archive.org/web/20200102030405/https://example.org/archived"}}}


class _Fake(BaseHTTPRequestHandler):
    """Answers by the queried URL's last path segment: archived, none, error, garbage, hang, dead404."""

    asked: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        target = parse_qs(urlsplit(self.path).query).get("url", [""])[0]
        type(self).asked.append(target)
        case = target.rsplit("/", 1)[-1]
        if case == "hang":
            time.sleep(3)
            return
        if case == "error":
            self._send(500, b"oops")
        elif case == "garbage":
            self._send(200, b"<html>not json</html>")
        elif case == "dead404":
            body = json.loads(json.dumps(SNAPSHOT))
            body["archived_snapshots"]["closest"]["status"] = "404"
            self._send(200, json.dumps(body).encode())
        elif case == "archived":
            self._send(200, json.dumps(SNAPSHOT).encode())
        else:
            self._send(200, b'{"archived_snapshots": {}}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _Fake.asked = []
    yield f"http://127.0.0.1:{server.server_address[1]}/wayback/available"
    server.shutdown()
    server.server_close()


def test_closest_snapshot_is_found_and_served_over_https(fake: str) -> None:
    snap = wayback.closest_snapshot("https://example.org/archived", fake, timeout=2)
    assert snap == wayback.Snapshot("https://web.archive.org/web/20200102030405/https://example.org/archived",
                                    "20200102030405")
    assert snap.date == "2020-01-02"
    assert _Fake.asked == ["https://example.org/archived"]


@pytest.mark.parametrize("case", ["none", "error", "garbage", "dead404"])
def test_no_usable_answer_means_no_suggestion(fake: str, case: str) -> None:
    assert wayback.closest_snapshot(f"https://example.org/{case}", fake, timeout=2) is None


def test_unreachable_or_hanging_archive_is_not_an_error(fake: str) -> None:
    start = time.monotonic()
    assert wayback.closest_snapshot("https://example.org/hang", fake, timeout=0.5) is None
    assert wayback.closest_snapshot("https://example.org/x", "http://127.0.0.1:9/available", timeout=0.5) is None
    assert time.monotonic() - start < 2.5


def test_lookup_many_answers_each_url_once_within_its_deadline(fake: str) -> None:
    urls = ["https://example.org/archived", "https://example.org/none", "https://example.org/archived",
            "https://example.org/hang"]
    start = time.monotonic()
    answers = wayback.lookup_many(urls, fake, timeout=0.5)
    assert time.monotonic() - start < 2.5
    assert answers["https://example.org/archived"].timestamp == "20200102030405"
    assert answers["https://example.org/none"] is None
    assert answers.get("https://example.org/hang") is None
    assert sorted(_Fake.asked) == sorted(set(urls))
