"""A loopback stand-in for the Wayback Machine's availability API (tests never reach archive.org)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SNAPSHOT = {"archived_snapshots": {"closest": {
    "available": True, "status": "200", "timestamp": "20200102030405",
    "url": "http://web.archive.org/web/20200102030405/https://example.org/archived"}}}


class FakeWayback(BaseHTTPRequestHandler):
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
        elif "archived" in case:
            self._send(200, json.dumps(SNAPSHOT).encode())
        else:
            self._send(200, b'{"archived_snapshots": {}}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def wayback_fake() -> Iterator[str]:
    """Serve the fake on 127.0.0.1; yields the availability endpoint's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWayback)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    FakeWayback.asked = []
    yield f"http://127.0.0.1:{server.server_address[1]}/wayback/available"
    server.shutdown()
    server.server_close()
