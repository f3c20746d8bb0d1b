"""The HTTP plumbing under the checker: deadlines on sockets, vetted addresses, error classes.

* `Watchdog` and `Tracker`: ``requests``' read timeout applies to each socket
  read, so a server that drips a byte a second never trips it. Each in-flight
  request registers a `Tracker`; the pools below tell it which connection the
  request borrowed, and the watchdog shuts that socket down at the deadline.
* Pinned connections: the TCP connection goes to the addresses the address
  policy vetted, never to a second DNS answer (no rebinding).
* `dispose`: keep a connection for reuse only when its response is complete.
* `classify_error` and `parse_retry_after`: what a failure or a header means.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import socket
import ssl
import threading
import time
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Callable

import requests
import urllib3
import urllib3.connection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# How much of a body to read when nothing needs it but a quick look may tell,
# and the most left unread that is still drained so the connection can be reused.
SNIFF_BYTES = 65_536
# The longest the watchdog sleeps before looking at its deadlines again.
_WATCHDOG_NAP = 60.0


class Tracker:
    """The connection one in-flight request uses, so the watchdog can cut it."""

    __slots__ = ("conn", "deadline", "expired", "active", "lock")

    def __init__(self, deadline: float):
        self.conn = None
        self.deadline = deadline
        self.expired = False
        self.active = True
        self.lock = threading.Lock()

    def attach(self, conn) -> None:
        with self.lock:
            self.conn = conn
            if self.expired:
                _shutdown(conn)

    def expire(self) -> bool:
        """Cut the connection; True if the request was still running."""
        with self.lock:
            if not self.active:
                return False
            self.expired = True
            if self.conn is not None:
                _shutdown(self.conn)
            return True

    def finish(self) -> None:
        with self.lock:
            self.active = False
            self.conn = None


def _shutdown(conn) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to interrupt


thread_state = threading.local()  # this worker thread's tracker, and the target its connection is pinned to


class PinRefused(OSError):
    """A connection for a name other than the one vetted: refused, never looked up afresh."""


class _PinnedConnectionMixin:
    """Connect to the addresses the policy vetted, not to a fresh DNS answer.

    With a pin set (``thread_state.pin``, a `netguard.Target` with addresses),
    the connection must be for the pinned name; any other name is refused
    rather than resolved, because its addresses were never vetted.
    """

    def _new_conn(self):
        pin = getattr(thread_state, "pin", None)
        if pin is None:
            return super()._new_conn()  # no address rule (allow_private): the system resolves
        name = self._dns_host
        if name.strip("[]").lower() != pin.host:
            raise PinRefused(f"the connection is for {name!r} but the addresses vetted are for {pin.host!r}")
        last_error = None
        try:
            for address in pin.addresses:
                self._dns_host = address  # only the TCP connect uses this; TLS still verifies `host`
                try:
                    return super()._new_conn()
                except urllib3.exceptions.NewConnectionError as err:
                    last_error = err
        finally:
            self._dns_host = name
        assert last_error is not None
        raise last_error


class _PinnedHTTPConnection(_PinnedConnectionMixin, urllib3.connection.HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, urllib3.connection.HTTPSConnection):
    pass


class _TrackedPoolMixin:
    """Tells the current thread's tracker which connection the pool lends it."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        tracker = getattr(thread_state, "tracker", None)
        if tracker is not None:
            tracker.attach(conn)
        return conn


class _TrackedHTTPPool(_TrackedPoolMixin, HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _TrackedHTTPSPool(_TrackedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class TrackedAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose pools tell the current thread's tracker which connection they lend."""

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class Watchdog:
    """One thread that expires trackers at their deadlines."""

    def __init__(self, on_kill: Callable[[], None]):
        self._heap: list[tuple[float, int, Tracker]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._closed = False
        self._cutting = False
        self._on_kill = on_kill
        self._thread = threading.Thread(target=self._run, name="linkcheck-watchdog", daemon=True)
        self._thread.start()

    def watch(self, tracker: Tracker) -> None:
        with self._cond:
            if self._cutting:
                tracker.expire()  # a request that slipped in after stop() ends at once
                return
            heapq.heappush(self._heap, (tracker.deadline, next(self._seq), tracker))
            self._cond.notify()

    def expire_all(self) -> None:
        """Cut every running request now, and any that starts later (stop, run deadline)."""
        with self._cond:
            self._cutting = True
            trackers = [t for _, _, t in self._heap]
            self._heap.clear()
        for tracker in trackers:
            tracker.expire()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                now = time.monotonic()
                due = []
                while self._heap and (self._heap[0][0] <= now or not self._heap[0][2].active):
                    due.append(heapq.heappop(self._heap)[2])
                # Capped: Condition.wait overflows on an infinite (or huge) timeout.
                wait = min(self._heap[0][0] - now, _WATCHDOG_NAP) if self._heap else None
                if not due:
                    self._cond.wait(timeout=wait)
                    continue
            for tracker in due:
                if tracker.active and tracker.expire():
                    self._on_kill()

def dispose(response: requests.Response, tracker: Tracker) -> None:
    """Give the connection back for reuse if the response is (nearly) complete, else drop it.

    A HEAD answer or a short remaining body is read to its end so the
    connection can serve the host's next request; anything longer, chunked or
    interrupted is closed with its connection (never drained: it may be 10 GB).
    """
    raw = response.raw
    try:
        left = raw.length_remaining
        if not tracker.expired and not raw.chunked and left is not None and left <= SNIFF_BYTES:
            raw.drain_conn()
            tracker.finish()  # detach first: once pooled, the connection may serve another request
            raw.release_conn()
            return
    except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError):
        pass
    response.close()


# --------------------------------------------------------------------------------
# Errors and headers


class ErrorKind(str, Enum):
    """Coarse classes of request failure; each maps to one verdict or a retry."""

    timeout = "timeout"  # transient; retried only with retry_timeouts
    refused = "refused"  # broken
    dns = "dns"  # broken
    tls = "tls"  # broken
    protocol = "protocol"  # broken: the other end does not speak HTTP
    reset = "reset"  # retried, then transient
    invalid = "invalid"  # invalid
    unvetted = "unvetted"  # invalid: the connection would go to a name the policy did not vet


def _chain(err: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests nests urllib3 nests socket errors)."""
    seen: list[BaseException] = []
    stack = [err]
    while stack and len(seen) < 20:
        e = stack.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        stack.extend([e.__cause__, e.__context__])
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return seen


def classify_error(err: BaseException) -> tuple[ErrorKind, str]:
    """(kind, short detail) for a failed request."""
    chain = _chain(err)
    def has(*types: type) -> BaseException | None:
        return next((e for e in chain if isinstance(e, types)), None)
    pin = has(PinRefused)
    if pin is not None:
        return ErrorKind.unvetted, str(pin)
    if has(requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema,
           urllib3.exceptions.LocationParseError):
        return ErrorKind.invalid, str(err)
    if has(requests.exceptions.SSLError, ssl.SSLError, urllib3.exceptions.SSLError):
        e = has(ssl.SSLError) or err
        return ErrorKind.tls, getattr(e, "reason", None) or type(e).__name__
    if has(requests.exceptions.ConnectTimeout):
        return ErrorKind.timeout, "no connection within the connect timeout"
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, socket.timeout, TimeoutError):
        return ErrorKind.timeout, "no answer within the read timeout"
    if has(urllib3.exceptions.NameResolutionError, socket.gaierror):
        return ErrorKind.dns, "name resolution failed"
    if has(ConnectionRefusedError):
        return ErrorKind.refused, "connection refused"
    if has(http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        return ErrorKind.reset, "the connection was reset or closed early"
    bad = has(http.client.BadStatusLine, http.client.LineTooLong, http.client.IncompleteRead)
    if isinstance(bad, http.client.BadStatusLine):
        return ErrorKind.protocol, "garbage instead of an HTTP status line"
    if isinstance(bad, http.client.LineTooLong):
        return ErrorKind.protocol, "a header line too long to be HTTP"
    return ErrorKind.reset, type(err).__name__


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)

