"""A loopback web server with one endpoint per link-checking case.

Used by the link-checker tests and by ``bench/linkcheck.py``. Each loopback
address (127.0.0.1, 127.0.0.2, ...) is a separate HTTP server, so the checker
sees separate hosts; every server counts its requests and the most requests
and connections it ever had at once, which is how tests prove the per-host
limit held.

    with LinkServer(addresses=["127.0.0.2", "127.0.0.3"], latency=0.05) as srv:
        srv.url("/ok", host=1)            # http://127.0.0.3:PORT/ok
        srv.counters(1).max_active        # most concurrent requests seen there

Endpoints (any host):
    /ok, /page                 200 HTML with id="intro", id="user-content-gh", name="legacy"
    /status/CODE               that status (404, 410, 403, 999, 500, ...)
    /flaky/KEY?fail=N&code=C   C (default 500) for the first N requests of KEY, then 200
    /reset/KEY?fail=N          the connection is reset (no answer) for the first N requests, then 200
    /chain/CODE/N              N redirects with CODE, then 200; /chain/mixed/N alternates 302 and 301
    /redirect?to=URL&code=C    one redirect to URL (any host, for cross-host and private tests)
    /loop/a, /loop/b           redirect to each other
    /ratelimit/KEY?after=S     429 with Retry-After: S on the first request of KEY, then 200
    /ratelimit-date/KEY?after=S  the same with an HTTP-date Retry-After
    /head405                   HEAD answers 405, GET 200
    /hang                      accepts, never answers (until the server stops)
    /hang-body                 headers of a 200, then silence
    /huge                      200 with a 10 GB Content-Length, streamed until the client leaves
    /drip?interval=S           200, one byte every S seconds (default 1)
    /watch?v=ID                YouTube-like page, by the id's prefix: "gone" (ERROR status), "private",
                               "oembedgone" (page fine, oEmbed 404), "agegate", "consent"/"consentgone"
                               (a consent wall without player data; oEmbed 200/404), anything else plays
    /embed/ID                  an embed page without player data (only oEmbed can tell)
    /oembed?url=...            404 for gone/oembedgone/consentgone, 401 for private, else 200 JSON
    /challenge                 403 Cloudflare-style "Just a moment..." page; /challenge503 the same with 503
    /soft404                   200 whose <title> is "Page not found"
    /text                      200 text/plain (no anchors to check)
    /big-page?kb=N             200 HTML of N KB whose only anchor is at the very end
    /hostile/status            403 whose reason phrase carries terminal escapes, a mention, a tag, an image
    /hostile/title             200 whose <title> says "Page not found" and carries the same

Other listeners: `refused_url` (a closed port), `garbage_url` (a raw socket
that answers with bytes that are not HTTP), `slow_headers_url` (a status line,
then one header byte every 0.2 s), `tls_url` (HTTPS with a
certificate signed by a CA generated per server; `ca_file` trusts it).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# Every endless endpoint gives up after this long, so a buggy client can never
# keep a test process alive.
MAX_HANG = 60.0

PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>A healthy page</title></head>"
    "<body><h1 id='intro'>Intro</h1><p>Text.</p><a name='legacy'></a>"
    "<h2 id='user-content-gh'>GitHub-style heading</h2></body></html>"
)


@dataclass
class Counters:
    """What one host saw; read these after the checker is done."""

    requests: int = 0
    connections: int = 0
    active: int = 0
    max_active: int = 0  # most requests in progress at once
    open_connections: int = 0
    max_connections: int = 0  # most connections open at once
    methods: Counter = field(default_factory=Counter)
    paths: Counter = field(default_factory=Counter)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # path -> monotonic times
    user_agents: set[str] = field(default_factory=set)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible
    # TCP_NODELAY, as production servers set it: headers and body leave in separate writes,
    # and with Nagle on the body waits for the client's delayed ACK (up to 40 ms on Linux),
    # which made about a third of "50 ms" responses take 95 ms.
    disable_nagle_algorithm = True
    server: "_HostServer"

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass  # quiet tests

    def setup(self):
        super().setup()
        self.server.connection_opened(self)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.connection_closed(self)

    def do_GET(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    # -- plumbing -------------------------------------------------------------------

    def end_headers(self):
        # The request counts as finished just before the response leaves: once
        # the client has the headers it may start its next request, and that
        # must not look like two at once.
        self._mark_done()
        super().end_headers()

    def _mark_done(self):
        self.server.request_finished(self)

    def _handle(self):
        parts = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        srv = self.server
        srv.request_started(self, parts.path)
        try:
            if srv.owner.latency:
                time.sleep(srv.owner.latency)
            route = _route(parts.path)
            route(self, parts.path)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            self._mark_done()

    def send(self, status: int, body: str | bytes = b"", ctype: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None, reason: str | None = None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status, reason)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def redirect(self, code: int, location: str):
        self.send(code, f"<a href='{location}'>moved</a>", headers={"Location": location})

    def wait_stop(self, seconds: float = MAX_HANG) -> bool:
        """Sleep until the server stops or the client hangs up (True), or ``seconds`` pass (False)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.server.owner.stopping.wait(min(0.02, max(0.0, end - time.monotonic()))):
                return True
            if self._client_gone():
                return True
        return False

    def _client_gone(self) -> bool:
        if isinstance(self.connection, ssl.SSLSocket):
            return False  # no MSG_PEEK on TLS; the stop event still ends the wait
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            # MSG_DONTWAIT: the sweep runs on other threads under the server's lock, and the
            # handler that owns this socket may read the waiting bytes between the select and
            # the peek; a blocking peek would then stall the whole host until the client hangs up.
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False  # nothing waiting after all: the client is still there
        except (OSError, ValueError):
            return True


# -- endpoints -----------------------------------------------------------------------


def _ok(h: _Handler, path: str):
    h.send(200, PAGE)


def _status(h: _Handler, path: str):
    code = int(path.rsplit("/", 1)[1])
    h.send(code, f"<html><head><title>Status {code}</title></head><body>status {code}</body></html>")


def _flaky(h: _Handler, path: str):
    key = path.split("/", 2)[2]
    n = h.server.owner.bump(f"flaky:{key}")
    if n <= int(h.query.get("fail", "1")):
        h.send(int(h.query.get("code", "500")), "try again later")
    else:
        h.send(200, PAGE)


def _reset(h: _Handler, path: str):
    """Reset the connection (TCP RST, no response) for the first ``fail`` requests of KEY."""
    if h.server.owner.bump(f"reset:{path}") > int(h.query.get("fail", "1")):
        return h.send(200, PAGE)
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.close_connection = True


def _chain(h: _Handler, path: str):
    _, _, kind, n = path.split("/")
    left = int(n)
    if left == 0:
        return h.send(200, PAGE)
    code = (302 if left % 2 else 301) if kind == "mixed" else int(kind)
    h.redirect(code, f"/chain/{kind}/{left - 1}")


def _redirect(h: _Handler, path: str):
    h.redirect(int(h.query.get("code", "302")), h.query["to"])


def _loop(h: _Handler, path: str):
    h.redirect(302, "/loop/b" if path.endswith("/a") else "/loop/a")


def _ratelimit(h: _Handler, path: str):
    after = float(h.query.get("after", "1"))
    n = h.server.owner.bump(f"ratelimit:{path}")
    if n == 1:
        if path.startswith("/ratelimit-date/"):
            # HTTP dates have whole seconds; round up so the wait is at least `after`.
            value = formatdate(time.time() + after + 1, usegmt=True)
        else:
            value = str(int(after)) if after == int(after) else str(after)
        return h.send(429, "slow down", headers={"Retry-After": value})
    h.send(200, PAGE)


def _head405(h: _Handler, path: str):
    if h.command == "HEAD":
        return h.send(405, "", headers={"Allow": "GET"})
    h.send(200, PAGE)


def _hang(h: _Handler, path: str):
    h.wait_stop()
    h.close_connection = True


def _start_body(h: _Handler, length: int) -> bool:
    """Send a 200's headers announcing ``length`` bytes; True if a body should follow (GET)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", str(length))
    h.end_headers()
    h.wfile.flush()
    return h.command == "GET"


def _hang_body(h: _Handler, path: str):
    if _start_body(h, 1000):
        h.wait_stop()
        h.close_connection = True


def _huge(h: _Handler, path: str):
    if not _start_body(h, 10 * 1024**3):
        return
    chunk = b"<p>" + b"x" * 65_000 + b"</p>\n"
    end = time.monotonic() + MAX_HANG
    while time.monotonic() < end and not h.server.owner.stopping.is_set():
        h.wfile.write(chunk)  # raises once the client hangs up
    h.close_connection = True


def _drip(h: _Handler, path: str):
    interval = float(h.query.get("interval", "1"))
    if not _start_body(h, 100_000):
        return
    end = time.monotonic() + MAX_HANG
    while time.monotonic() < end:
        h.wfile.write(b"<")
        h.wfile.flush()
        if h.wait_stop(interval):
            break
    h.close_connection = True


_YT_PAGE = (
    "<!doctype html><html><head><title>{title}</title></head><body><script>"
    'var ytInitialPlayerResponse = {{"responseContext":{{}},"playabilityStatus":{status}}};'
    "</script></body></html>"
)


# What a video id plays, by its prefix (ids are padded to YouTube's 11 characters).
_VIDEO_KINDS = ("oembedgone", "consentgone", "consent", "gone", "private", "agegate")


def _video_kind(vid: str) -> str:
    return next((kind for kind in _VIDEO_KINDS if vid.startswith(kind)), "alive")


def _watch(h: _Handler, path: str):
    kind = _video_kind(h.query.get("v", ""))
    if path.startswith("/embed/"):  # no player data in the page: only oEmbed can tell
        return h.send(200, "<html><head><title>Embedded video</title></head><body>player</body></html>")
    if kind == "gone":
        status = ('{"status":"ERROR","reason":"This video isn\\u0027t available anymore",'
                  '"errorScreen":{"playerErrorMessageRenderer":{"subreason":{"simpleText":"Video unavailable"}}}}')
        return h.send(200, _YT_PAGE.format(title="- YouTube", status=status))
    if kind == "private":
        status = '{"status":"LOGIN_REQUIRED","reason":"This video is private"}'
        return h.send(200, _YT_PAGE.format(title="- YouTube", status=status))
    if kind == "agegate":
        status = '{"status":"LOGIN_REQUIRED","reason":"Sign in to confirm your age"}'
        return h.send(200, _YT_PAGE.format(title="A lecture - YouTube", status=status))
    if kind.startswith("consent"):  # no player JSON at all (a consent wall): only oEmbed can tell
        return h.send(200, "<html><head><title>Before you continue</title></head><body>consent</body></html>")
    h.send(200, _YT_PAGE.format(title="A lecture - YouTube", status='{"status":"OK","playableInEmbed":true}'))


def _oembed(h: _Handler, path: str):
    target = h.query.get("url", "")
    kind = _video_kind((parse_qs(urlsplit(target).query).get("v") or [""])[0])
    h.server.owner.bump("oembed")
    if kind in ("gone", "oembedgone", "consentgone"):
        return h.send(404, "Not Found", ctype="text/html")
    if kind == "private":
        return h.send(401, "Unauthorized", ctype="text/html")
    h.send(200, json.dumps({"title": "A lecture", "type": "video"}), ctype="application/json")


_CHALLENGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<div id='cf-chl-widget'></div><script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1'>"
    "</script></body></html>"
)


def _challenge(h: _Handler, path: str):
    code = 503 if path.endswith("503") else 403
    h.send(code, _CHALLENGE, headers={"cf-mitigated": "challenge", "Server": "cloudflare"})


def _soft404(h: _Handler, path: str):
    h.send(200, "<html><head><title>Page not found | Example</title></head><body>Sorry.</body></html>")


def _text(h: _Handler, path: str):
    h.send(200, "plain text, no anchors", ctype="text/plain; charset=utf-8")


def _big_page(h: _Handler, path: str):
    kb = int(h.query.get("kb", "500"))
    filler = "<p>" + "lorem ipsum " * 80 + "</p>\n"
    body = "<html><head><title>Big</title></head><body>" + filler * (kb * 1024 // len(filler))
    h.send(200, body + "<h2 id='end'>End</h2></body></html>")


# A hostile server: terminal escapes in its status line and, with a mention, a tag and an
# image, in a page title; one trips the blocked rule, the other the "not found" title rule.
HOSTILE_TEXT = "\x1b]0;pwned\x07\x1b[2J @octocat <img src=x onerror=alert(1)> ![t](https://evil.example/t.png)"


def _hostile(h: _Handler, path: str):
    if path.endswith("/status"):
        return h.send(403, "no", reason="Forbidden " + HOSTILE_TEXT)
    h.send(200, f"<html><head><title>Page not found {HOSTILE_TEXT}</title></head><body></body></html>")


def _not_found(h: _Handler, path: str):
    h.send(404, "<html><head><title>404 Not Found</title></head><body>no such endpoint</body></html>")


_ROUTES = {
    "/ok": _ok, "/page": _ok, "/": _ok, "/head405": _head405, "/hang": _hang, "/hang-body": _hang_body,
    "/huge": _huge, "/drip": _drip, "/watch": _watch, "/oembed": _oembed, "/challenge": _challenge,
    "/challenge503": _challenge, "/soft404": _soft404, "/text": _text, "/big-page": _big_page,
    "/redirect": _redirect,
}
_PREFIXES = {
    "/status/": _status, "/flaky/": _flaky, "/reset/": _reset, "/chain/": _chain, "/loop/": _loop,
    "/ratelimit/": _ratelimit, "/ratelimit-date/": _ratelimit, "/embed/": _watch, "/hostile/": _hostile,
}


def _route(path: str):
    if path in _ROUTES:
        return _ROUTES[path]
    for prefix, fn in _PREFIXES.items():
        if path.startswith(prefix):
            return fn
    return _not_found


# -- servers -------------------------------------------------------------------------


class _HostServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: str, owner: "LinkServer", port: int = 0):
        self.owner = owner
        self.counters = Counters()
        self._lock = threading.RLock()
        self._active_handlers: set[_Handler] = set()
        self._open_handlers: set[_Handler] = set()
        super().__init__((address, port), _Handler)

    def handle_error(self, request, client_address):
        pass  # clients hanging up mid-response is the point of several endpoints

    def _sweep(self) -> None:
        """Forget requests and connections whose client has hung up.

        A client that gave up (timed out on /hang, dropped /huge) may start its
        next request before the abandoned handler notices; counting only
        handlers whose client is still there keeps the limit from looking
        broken when it is not.
        """
        for other in [h for h in self._open_handlers if h._client_gone()]:
            self.request_finished(other)
            self.connection_closed(other)

    def connection_opened(self, handler: _Handler) -> None:
        with self._lock:
            self._sweep()
            self._open_handlers.add(handler)
            c = self.counters
            c.open_connections += 1
            c.connections += 1
            c.max_connections = max(c.max_connections, c.open_connections)

    def connection_closed(self, handler: _Handler) -> None:
        with self._lock:
            if handler in self._open_handlers:
                self._open_handlers.discard(handler)
                self.counters.open_connections -= 1

    def request_started(self, handler: _Handler, path: str):
        with self._lock:
            self._sweep()
            self._active_handlers.add(handler)
            c = self.counters
            c.requests += 1
            c.active += 1
            c.max_active = max(c.max_active, c.active)
            c.methods[handler.command] += 1
            c.paths[path] += 1
            c.times[path].append(time.monotonic())
            c.user_agents.add(handler.headers.get("User-Agent", ""))
        self.owner.track_total(+1)

    def request_finished(self, handler: _Handler):
        with self._lock:
            if handler not in self._active_handlers:
                return  # already counted as finished (by the sweep above)
            self._active_handlers.discard(handler)
            self.counters.active -= 1
        self.owner.track_total(-1)


class LinkServer:
    """HTTP servers on several loopback addresses, plus refused/garbage/TLS listeners.

    ``latency`` (seconds) delays every response; ``port`` puts every address on
    that one port (for two addresses behind one host name). An HTTPS server on the first
    address starts on the first call to `tls_url` (it needs the ``openssl``
    command to make its certificates); ``tls`` is kept for compatibility.
    """

    def __init__(self, addresses: list[str] | tuple[str, ...] = ("127.0.0.1",), latency: float = 0.0,
                 tls: bool = False, port: int = 0):
        self.addresses = list(addresses)
        self.port = port  # 0: each address gets a free port of its own
        self.latency = latency
        self.want_tls = tls
        self.stopping = threading.Event()
        self.servers: list[_HostServer] = []
        self._threads: list[threading.Thread] = []
        self._bumps: Counter = Counter()
        self.active_total = 0
        self.max_active_total = 0  # most requests in progress at once over all hosts
        self._bump_lock = threading.Lock()
        self._tmp: str | None = None
        self.tls_server: _HostServer | None = None
        self.ca_file: str | None = None
        self._garbage: socket.socket | None = None
        self._slow_headers: socket.socket | None = None
        self.refused_port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> "LinkServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        for address in self.addresses:
            srv = _HostServer(address, self, self.port)
            self.servers.append(srv)
            self._serve(srv)
        self._start_garbage()
        self.refused_port = _closed_port(self.addresses[0])

    def stop(self) -> None:
        self.stopping.set()  # releases every hanging/dripping handler
        for srv in self.servers + ([self.tls_server] if self.tls_server else []):
            srv.shutdown()
            srv.server_close()
        for sock in (self._garbage, self._slow_headers):
            if sock is not None:
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _serve(self, srv: _HostServer) -> None:
        thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- addresses -----------------------------------------------------------------------

    def url(self, path: str = "/ok", host: int = 0) -> str:
        """The URL of ``path`` on the ``host``-th address."""
        address, port = self.servers[host].server_address[:2]
        return f"http://{address}:{port}{path}"

    def host_key(self, host: int = 0) -> str:
        address, port = self.servers[host].server_address[:2]
        return f"{address}:{port}"

    def counters(self, host: int = 0) -> Counters:
        return self.servers[host].counters

    @property
    def refused_url(self) -> str:
        return f"http://{self.addresses[0]}:{self.refused_port}/"

    @property
    def garbage_url(self) -> str:
        assert self._garbage is not None
        address, port = self._garbage.getsockname()[:2]
        return f"http://{address}:{port}/"

    def tls_url(self, path: str = "/ok") -> str:
        """An https URL on the first address; the TLS server starts on first use."""
        with self._bump_lock:
            if self.tls_server is None:
                self._start_tls()
        assert self.tls_server is not None
        address, port = self.tls_server.server_address[:2]
        return f"https://{address}:{port}{path}"

    def bump(self, key: str) -> int:
        """Count a hit on a stateful endpoint; returns the new count."""
        with self._bump_lock:
            self._bumps[key] += 1
            return self._bumps[key]

    def track_total(self, delta: int) -> None:
        with self._bump_lock:
            self.active_total += delta
            self.max_active_total = max(self.max_active_total, self.active_total)

    def hits(self, key: str) -> int:
        with self._bump_lock:
            return self._bumps[key]

    # -- special listeners ---------------------------------------------------------------------

    def _start_garbage(self) -> None:
        self._garbage = self._raw_listener(_answer_garbage)
        self._slow_headers = self._raw_listener(self._drip_headers)

    def _raw_listener(self, answer) -> socket.socket:
        """A TCP listener on the first address that lets ``answer(conn)`` reply to each client."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.addresses[0], 0))
        sock.listen(16)
        sock.settimeout(0.1)

        def serve():
            while not self.stopping.is_set():
                try:
                    conn, _ = sock.accept()
                except (socket.timeout, OSError):
                    continue
                threading.Thread(target=self._answer, args=(conn, answer), daemon=True).start()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        self._threads.append(thread)
        return sock

    @staticmethod
    def _answer(conn: socket.socket, answer) -> None:
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(4096)
                answer(conn)
            except OSError:
                pass  # the client left

    def _drip_headers(self, conn: socket.socket) -> None:
        """A status line, then header bytes one at a time: a read timeout never trips."""
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        end = time.monotonic() + MAX_HANG
        while time.monotonic() < end and not self.stopping.wait(0.2):
            conn.sendall(b"X")

    @property
    def slow_headers_url(self) -> str:
        address, port = self._slow_headers.getsockname()[:2]
        return f"http://{address}:{port}/"

    def _start_tls(self) -> None:
        self._tmp = tempfile.mkdtemp(prefix="linkcheck-tls-")
        ca_file, cert_file, key_file = make_certificates(Path(self._tmp), self.addresses[0])
        self.ca_file = str(ca_file)
        srv = _HostServer(self.addresses[0], self)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        # Handshake lazily in each handler thread, so a client that rejects the
        # certificate never stalls the accept loop.
        srv.socket = context.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        self.tls_server = srv
        self._serve(srv)


def _answer_garbage(conn: socket.socket) -> None:
    conn.sendall(b"\x00\x01\x02SSH-2.0-not-a-web-server\r\n\xff\xfe garbage\r\n\r\n")


def _closed_port(address: str) -> int:
    """A port on ``address`` where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def make_certificates(directory: Path, ip: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for ``ip`` signed by it, via the openssl CLI.

    Returns (ca_cert, server_cert, server_key). Nothing here is trusted by the
    system: only a client given ``ca_cert`` accepts the server.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the TLS test server needs the openssl command (apt-get install openssl)")
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "ext.cnf"
    ext.write_text(f"subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=30,
                       env={**os.environ, "OPENSSL_CONF": "/dev/null"})

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_cert),
        "-days", "2", "-subj", "/CN=learnpath test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={ip}")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return ca_cert, cert, key
