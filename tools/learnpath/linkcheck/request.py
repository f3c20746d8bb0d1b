"""One request for a job, made by a worker thread: vet the address, send, read, hand to the judge.

A worker gets a `Job` and returns what the `Judge` concluded (`Done` or
`Again`); it never touches the scheduler. What it needs beyond the job is
shared and thread-safe: the sessions (one per host, for connection reuse), the
watchdog (which cuts a request at its deadline), and a small pool for DNS
lookups, whose ``getaddrinfo`` cannot be interrupted and so runs in a thread
that is abandoned if it takes longer than the connect timeout.
"""

from __future__ import annotations

import codecs
import http.client
import threading
import time
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3

from learnpath.linkcheck.detectors import AnchorCollector
from learnpath.linkcheck.job import Again, Done, Job
from learnpath.linkcheck.judge import Judge
from learnpath.linkcheck.netguard import AddressPolicy, HostUnresolvable, Target, UrlRefused
from learnpath.linkcheck.options import FetchOptions
from learnpath.linkcheck.retry import timed_out
from learnpath.linkcheck.transport import TrackedAdapter, Tracker, Watchdog, dispose, thread_state
from learnpath.linkcheck.verdicts import Verdict

_CHUNK = 65_536
_STREAM_ERRORS = (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError)


class Sessions:
    """One ``requests.Session`` per host, so its connections are reused; safe to use from any thread."""

    def __init__(self, options: FetchOptions):
        self._options = options
        self._sessions: dict[str, requests.Session] = {}
        self._lock = threading.Lock()

    def get(self, host_key: str) -> requests.Session:
        with self._lock:  # two first requests to one host must not make two sessions
            session = self._sessions.get(host_key)
            if session is None:
                session = self._sessions[host_key] = self._new()
            return session

    def _new(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # no .netrc credentials, no env proxies: checks are reproducible
        adapter = TrackedAdapter(pool_connections=1, pool_maxsize=self._options.per_host, max_retries=0,
                                 pool_block=False)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({
            "User-Agent": self._options.user_agent,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        })
        session.verify = self._options.ca_bundle or self._options.verify_tls
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()


class ResponseBody:
    """A response's body, read on demand: at most a given size, never past the URL's deadline."""

    def __init__(self, response: requests.Response, tracker: Tracker, job: Job):
        self._response, self._tracker, self._job = response, tracker, job

    @property
    def expired(self) -> bool:
        return self._tracker.expired

    def read(self, limit: int, wanted: set[str] | None = None) -> str:
        """Up to ``limit`` bytes as text; with ``wanted``, the job's anchors are collected as the
        body streams, and reading stops once every wanted fragment is found."""
        response, job = self._response, self._job
        collector = AnchorCollector(wanted) if wanted else None
        # requests falls back to ISO-8859-1 for text/* without a charset; the web is UTF-8.
        has_charset = "charset=" in response.headers.get("content-type", "").lower()
        encoding = (response.encoding if has_charset else None) or "utf-8"
        try:
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        except LookupError:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces: list[str] = []
        total = 0
        while total < limit and not self._tracker.expired:
            try:
                chunk = response.raw.read1(min(_CHUNK, limit - total), decode_content=True)
            except _STREAM_ERRORS:
                if self._tracker.expired:
                    break
                raise
            if not chunk:
                break
            total += len(chunk)
            text = decoder.decode(chunk)
            pieces.append(text)
            if collector is not None:
                collector.feed(text)
                if collector.done:
                    break
        if collector is not None:
            job.anchors, job.bytes_read, job.body_truncated = collector.anchors, total, total >= limit
        return "".join(pieces)


@dataclass
class Requester:
    """Makes a job's next request; shared by every worker thread of a run."""

    options: FetchOptions
    policy: AddressPolicy
    judge: Judge
    sessions: Sessions
    watchdog: Watchdog
    dns: Executor | None  # None: resolve in the worker itself
    stopped: threading.Event  # set by Checker.stop(): an expired request then says "stopped"

    def step(self, job: Job, host_key: str) -> Done | Again:
        """Make ``job``'s next request and say what follows."""
        now = time.monotonic()
        if now >= job.deadline:
            return timed_out("its deadline passed")
        try:
            target = self._vet(job.current, timeout=min(self.options.connect_timeout, job.deadline - now))
        except FutureTimeout:
            return Done(Verdict.transient, f"timed out: DNS lookup of {urlsplit(job.current).hostname} "
                        "took longer than the connect timeout", Verdict.transient.default_suggestion)
        except UrlRefused as err:
            came_from = job.hops[-2][1] if len(job.hops) > 1 else job.base
            hop = f" (reached by a redirect from {came_from})" if job.hops else ""
            return Done(Verdict.invalid, f"refused before fetching {job.current}{hop}: {err}",
                        Verdict.invalid.default_suggestion)
        except HostUnresolvable as err:
            return Done(Verdict.broken, f"{err}: the host does not exist",
                        "check the host name for a typo, or find where the site moved")
        job.attempts += 1
        tracker = Tracker(job.deadline)
        thread_state.tracker = tracker
        thread_state.pin = target if target.addresses else None
        self.watchdog.watch(tracker)
        remaining = max(0.05, job.deadline - now)
        timeout = (min(self.options.connect_timeout, remaining), min(self.options.read_timeout, remaining))
        method = "GET" if job.probing is not None else job.method
        response = None
        try:
            response = self.sessions.get(host_key).request(method, target.url, timeout=timeout,
                                                           allow_redirects=False, stream=True)
            body = ResponseBody(response, tracker, job)
            if job.probing is not None:
                return self.judge.probe(job, response.status_code, body)
            return self.judge.response(job, response.status_code, response.reason or "", response.headers, body,
                                       time.monotonic())
        except (requests.exceptions.RequestException, OSError, http.client.HTTPException,
                urllib3.exceptions.HTTPError) as err:
            # raised by the request, or while streaming the body (a cut or reset connection)
            return self.judge.error(job, err, tracker.expired, self.stopped.is_set(), time.monotonic())
        finally:
            if response is not None:
                dispose(response, tracker)
            tracker.finish()
            thread_state.tracker = None
            thread_state.pin = None

    def _vet(self, url: str, timeout: float) -> Target:
        """The policy's verdict on ``url``, with DNS bounded by ``timeout``."""
        if self.policy.allow_private or self.dns is None:
            return self.policy.check(url)  # no lookup at all
        return self.dns.submit(self.policy.check, url).result(timeout=max(0.01, timeout))
