"""The fetch engine: polite, bounded, concurrent HTTP checks that end in a `Verdict`.

How a run is organised
----------------------
Every distinct URL (fragments aside) becomes a *job*. A job advances one HTTP
request at a time: a worker thread makes one request and returns what to do
next (done, follow a redirect, retry later, re-ask with GET, ask an oEmbed
endpoint). The scheduler in `Checker.check` owns all queues and hands a job's
next request to a worker only when

* fewer than ``workers`` requests are in flight,
* the request's host (name and port) has fewer than ``per_host`` in flight,
* the host's minimum delay since its last request has passed, and
* the job's own retry time (backoff, ``Retry-After``) has come.

So a waiting job never occupies a thread, a redirect to another host counts
against that host, and the per-host limit holds by construction. Time a job
spends waiting for one of our own slots does not count against its deadline.

Which host gets a free worker: first any host that has not yet had as many
requests as it has slots (so every host is tried at the start, and one that
hangs, refuses or rate-limits is found then, not at the end), then the host
with the most work left: its queued and running requests divided by its
current limit, weighted by how slow its requests have been compared with the
run's mean (1 until one has finished). That host is the one that would
otherwise finish last: a host slowed to one slot after a 429, or one whose
requests are slow, keeps its slots busy instead of getting the same share as
every quick host and forming a tail of its own after the rest of the run is
done. Ties go to the host offered first, so equal hosts take turns.

Politeness
----------
HEAD first (GET when the body matters: fragments, detectors); any HEAD answer
but 2xx/3xx is asked again with GET before it is judged. Resets, 5xx and 429
are retried with exponential backoff and jitter; a timeout is not (unless
``retry_timeouts``). A 429 pauses its whole host for ``Retry-After`` (up to
``retry_after_cap``; longer gives up as transient), halves the host's
concurrency for the rest of the run and, once it is down to one, doubles its
minimum delay (from ``slowdown_delay``) on each further 429.

Bounding time
-------------
``requests``' read timeout applies to each socket read, so a server that
drips a byte a second never trips it. A watchdog thread (`transport.Watchdog`)
knows the connection every in-flight request uses and shuts its socket down
when the URL's deadline (or the run's) passes; the blocked read returns at once
and the connection is discarded, never returned to the pool. DNS lookups are
bounded by the connect timeout.
"""

from __future__ import annotations

import codecs
import heapq
import http.client
import itertools
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
import urllib3

from learnpath import PROJECT_URL, __version__
from learnpath.hostnames import canonical
from learnpath.linkcheck.detectors import (
    DEFAULT_DETECTORS,
    AnchorCollector,
    Detector,
    DetectFn,
    as_detector,
    bot_challenge,
    checkable_fragment,
    has_anchor,
)
from learnpath.linkcheck.netguard import AddressPolicy, HostUnresolvable, UrlRefused
from learnpath.linkcheck.transport import (
    SNIFF_BYTES,
    ErrorKind,
    TrackedAdapter,
    Tracker,
    Watchdog,
    classify_error,
    dispose,
    parse_retry_after,
    thread_state,
)
from learnpath.linkcheck.verdicts import Result, Verdict

USER_AGENT = f"learnpath-linkcheck/{__version__} (+{PROJECT_URL})"

# HEAD answers we do not trust: many servers refuse or mishandle HEAD, so
# anything but success or a redirect is asked again with GET before judging.
_TRUSTED_HEAD = range(200, 400)
_PERMANENT = (301, 308)
_REDIRECTS = (301, 302, 303, 307, 308)
_GONE = (404, 410)
# Statuses that mean "we are not letting a robot in", not "the page is gone".
_BLOCKING = {401: "login required", 403: "forbidden", 406: "not acceptable", 418: "refused",
             451: "unavailable for legal reasons", 999: "non-standard refusal (LinkedIn-style bot block)"}
_CHUNK = 65_536


@dataclass
class FetchOptions:
    """Knobs for a run; the CLI maps its flags onto these one to one."""

    workers: int = 16
    per_host: int = 2
    min_delay: float = 0.0  # seconds between request starts to one host
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # the CLI's --timeout
    url_deadline: float = 30.0  # wall clock for one URL, all attempts and hops included
    run_deadline: float | None = None  # wall clock for the whole run
    max_redirects: int = 10
    retries: int = 2  # extra attempts after the first, for resets, 5xx and 429
    backoff: float = 0.5  # first retry waits about this long, then doubles (with jitter)
    retry_after_cap: float = 30.0  # longest Retry-After honoured; longer gives up as transient
    retry_timeouts: bool = False
    allow_private: bool = False
    allowed_networks: tuple[str, ...] = ()  # treated as public (tests: one loopback "public" host)
    max_body_bytes: int = 2_000_000
    user_agent: str = USER_AGENT
    verify_tls: bool = True
    ca_bundle: str | None = None  # a PEM file of extra trusted roots (tests' own CA)
    get_bodies: bool = False  # GET every page so body detectors see all of them
    slowdown_delay: float = 0.25  # min delay a host gets on its second 429 (doubling on each further one)

    def __post_init__(self) -> None:
        problems = []
        for name in ("workers", "per_host"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1 (got {getattr(self, name)})")
        for name in ("connect_timeout", "read_timeout", "url_deadline"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be a positive number of seconds (got {getattr(self, name)})")
        for name in ("min_delay", "backoff", "retry_after_cap", "slowdown_delay"):
            if getattr(self, name) < 0:
                problems.append(f"{name} cannot be negative (got {getattr(self, name)})")
        if self.retries < 0 or self.max_redirects < 0:
            problems.append("retries and max_redirects cannot be negative")
        if self.max_body_bytes < 1024:
            problems.append(f"max_body_bytes must be at least 1024 (got {self.max_body_bytes})")
        if self.run_deadline is not None and not self.run_deadline > 0:
            problems.append(f"run_deadline must be positive or None (got {self.run_deadline})")
        if problems:
            raise ValueError("invalid fetch options: " + "; ".join(problems))

    def policy(self) -> AddressPolicy:
        return AddressPolicy(allow_private=self.allow_private, allowed_networks=self.allowed_networks)


@dataclass
class CheckStats:
    """Counters a run keeps; the benchmark and tests read them."""

    requests: int = 0
    retries: int = 0
    max_in_flight: int = 0
    max_per_host: int = 0  # the most concurrent requests to one host ever observed
    per_host_requests: dict[str, int] = field(default_factory=dict)
    slowed_hosts: set[str] = field(default_factory=set)
    deadline_kills: int = 0


# --------------------------------------------------------------------------------
# Jobs and steps


@dataclass
class _Job:
    """One distinct URL (without fragment) being checked, with everything learnt so far."""

    base: str  # URL without fragment, as first requested
    originals: dict[str, str | None]  # each URL as given -> its fragment (None if none to check)
    need_body: bool
    current: str = ""
    method: str = "HEAD"
    hops: list[tuple[int, str]] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    permanent: bool = False
    attempts: int = 0
    failures: int = 0  # retryable failures so far
    started: float | None = None
    deadline: float = float("inf")
    ready_at: float = 0.0
    queued_at: float = 0.0  # when it last became ready to run (waiting for a slot counts from here)
    last_start: float = 0.0
    status: int | None = None
    final_url: str | None = None
    # set once the page itself is judged and an oEmbed-style probe is pending
    probing: Detector | None = None
    page_result: tuple[Verdict, str, str] | None = None
    anchors: set[str] | None = None
    content_is_html: bool = True
    body_truncated: bool = False  # the body cap was reached before the page ended
    seq: int = 0

    def __post_init__(self) -> None:
        self.current = self.base
        self.visited.add(self.base)


@dataclass
class _Done:
    verdict: Verdict
    explanation: str
    suggestion: str = ""


@dataclass
class _Again:
    """Re-queue the job (its fields already updated) no earlier than ``at``."""

    at: float = 0.0


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return f"{canonical(parts.hostname or '')}:{port}"


class _Host:
    """Scheduling state for one host name and port."""

    def __init__(self, key: str, limit: int, min_delay: float):
        self.key = key
        self.limit = limit
        self.min_delay = min_delay
        self.active = 0
        self.next_start = 0.0
        self.slowed_at = float("-inf")  # when a 429 last slowed this host down
        self.queue: deque[_Job] = deque()
        self.session: requests.Session | None = None
        self.started = 0  # requests started
        self.finished = 0  # requests finished, and the seconds they took in all
        self.busy = 0.0
        self.offer = 0  # which entry in the checker's ready heap is this host's current one
        self.timer_at = float("-inf")  # the next_start a wake-up is already set for

    def rank(self, typical: float) -> tuple[bool, float]:
        """Heap key for a free worker (smallest first); see the module docstring.

        Work left is counted in requests of ``typical`` length (the mean over
        all hosts): a host's own mean enters only as a ratio to it, so a rank
        computed early in the run still compares fairly with one computed late.
        """
        slowness = self.busy / self.finished / typical if self.finished and typical > 0 else 1.0
        return self.started >= self.limit, -(len(self.queue) + self.active) / self.limit * slowness


# --------------------------------------------------------------------------------
# The checker


class Checker:
    """Checks URLs concurrently and politely; see the module docstring.

    Thread-safe to `stop` from another thread or a signal handler; `check` itself
    is meant to run once per Checker at a time.
    """

    def __init__(self, options: FetchOptions | None = None,
                 detectors: Sequence[Detector | DetectFn] = DEFAULT_DETECTORS,
                 policy: AddressPolicy | None = None):
        self.options = options or FetchOptions()
        self.detectors = [as_detector(d) for d in detectors]
        # ``policy`` replaces the one the options describe (tests give it a fake resolver).
        self.policy = policy or self.options.policy()
        if not self.options.verify_tls:
            # The user turned verification off on purpose; one warning per request is noise.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.stats = CheckStats()
        self._cond = threading.Condition()
        self._stopped = threading.Event()
        self._hosts: dict[str, _Host] = {}
        # Hosts that may start a request now, best first (see `_Host.rank`); an entry
        # whose number is not its host's current ``offer`` is stale and skipped.
        self._ready: list[tuple[bool, float, int, int, _Host]] = []
        self._host_timers: list[tuple[float, int, _Host]] = []  # hosts waiting for their next_start
        self._finished = 0  # requests finished over all hosts, and the seconds they took
        self._busy = 0.0
        self._delayed: list[tuple[float, int, _Job]] = []
        self._rng = random.Random()
        self._seq = itertools.count()
        self._in_flight = 0
        self._watchdog: Watchdog | None = None
        self._dns: ThreadPoolExecutor | None = None

    # -- public API ---------------------------------------------------------------

    def check(self, urls: Iterable[str], on_result: Callable[[Result], None] | None = None) -> list[Result]:
        """Check every distinct URL once; results in the order the URLs were first given.

        ``on_result`` is called (from the calling thread) as each result is known.
        After `stop`, returns only what had finished.
        """
        order: list[str] = []
        seen: set[str] = set()
        jobs: dict[str, _Job] = {}
        results: dict[str, Result] = {}
        run_start = time.monotonic()
        run_end = run_start + self.options.run_deadline if self.options.run_deadline else float("inf")

        def emit(result: Result) -> None:
            results[result.url] = result
            if on_result is not None:
                on_result(result)

        early: list[Result] = []  # URLs refused before any request
        for url in urls:
            if url in seen:
                continue
            seen.add(url)
            order.append(url)
            refused = self._prepare(url, jobs)
            if refused is not None:
                early.append(refused)
        for result in early:
            emit(result)

        self._watchdog = Watchdog(on_kill=self._count_kill)
        executor = ThreadPoolExecutor(max_workers=self.options.workers, thread_name_prefix="linkcheck")
        self._dns = ThreadPoolExecutor(max_workers=self.options.workers, thread_name_prefix="linkcheck-dns")
        finished: list[tuple[_Job, _Done | _Again]] = []
        try:
            with self._cond:
                for job in jobs.values():
                    self._enqueue(job)
            remaining = len(jobs)
            while remaining and not self._stopped.is_set() and time.monotonic() < run_end:
                with self._cond:
                    now = time.monotonic()
                    self._release_delayed(now)
                    wake = self._dispatch(now, run_end, executor, finished)
                    done_now = [(job, out) for job, out in finished if isinstance(out, _Done)]
                    finished.clear()
                    if not done_now:
                        # Sleep until a worker reports, a delay ends or the run's deadline.
                        # Capped so a stop() from a signal handler is seen promptly.
                        until = min(wake, run_end, now + 0.5)
                        self._cond.wait(timeout=max(0.0, until - now))
                        continue
                # Callbacks run outside the lock so a slow progress bar never stalls workers.
                for job, outcome in done_now:
                    remaining -= 1
                    for result in self._settle(job, outcome):
                        emit(result)
            self._watchdog.expire_all()  # cut whatever still runs (stop() or the run's deadline)
            self._wait_idle(grace=2.0)
            if remaining and not self._stopped.is_set():
                for job in jobs.values():
                    for url in job.originals:
                        if url not in results:
                            emit(self._result(job, url, Verdict.transient,
                                              "not checked: the run's deadline passed first",
                                              "nothing yet; it is checked on the next run"))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            self._dns.shutdown(wait=False, cancel_futures=True)
            self._watchdog.close()
            self._close_sessions()
        return [results[url] for url in order if url in results]

    def stop(self) -> None:
        """Start nothing new and cut what is running; `check` returns what finished."""
        self._stopped.set()
        if self._watchdog is not None:
            self._watchdog.expire_all()
        with self._cond:
            self._cond.notify_all()

    # -- preparing jobs ------------------------------------------------------------

    def _prepare(self, url: str, jobs: dict[str, _Job]) -> Result | None:
        """Attach ``url`` to its job (creating it); a Result if it is refused outright."""
        try:
            self.policy.check_syntax(url)
        except UrlRefused as err:
            return Result(url=url, verdict=Verdict.invalid, status=None, final_url=None, elapsed=0.0,
                          attempts=0, explanation=f"refused before fetching: {err}",
                          suggestion=Verdict.invalid.default_suggestion)
        base, fragment = urldefrag(url)
        fragment = fragment if checkable_fragment(fragment) else None
        job = jobs.get(base)
        if job is None:
            wants = self.options.get_bodies or any(d.wants_body(base) for d in self.detectors)
            job = _Job(base=base, originals={}, need_body=wants, seq=next(self._seq))
            jobs[base] = job
        job.originals[url] = fragment
        if fragment is not None:
            job.need_body = True
        job.method = "GET" if job.need_body else "HEAD"
        return None

    # -- scheduling (all under self._cond) --------------------------------------------

    def _host(self, url: str) -> _Host:
        key = _host_key(url)
        host = self._hosts.get(key)
        if host is None:
            host = _Host(key, self.options.per_host, self.options.min_delay)
            self._hosts[key] = host
        return host

    def _enqueue(self, job: _Job) -> None:
        if job.ready_at > time.monotonic():
            heapq.heappush(self._delayed, (job.ready_at, job.seq, job))
        else:
            self._queue(job)

    def _queue(self, job: _Job) -> None:
        now = time.monotonic()
        job.queued_at = now
        host = self._host(job.current)
        host.queue.append(job)
        self._offer(host, now)

    def _offer(self, host: _Host, now: float) -> None:
        """Put ``host`` in line for a worker if it has work and a free slot (re-ranked if already there).

        Called whenever a host may have become able to start a request: a job
        queued, a request finished, a request started (the rank changed), its
        minimum delay or Retry-After pause over. A host with no free slot is
        left out; the request that finishes next offers it again.
        """
        host.offer += 1  # whatever entry the host had in the heap is stale from now on
        if not host.queue or host.active >= host.limit:
            return
        if now < host.next_start:
            if host.timer_at != host.next_start:  # one wake-up per pause, however many jobs queue
                host.timer_at = host.next_start
                heapq.heappush(self._host_timers, (host.next_start, next(self._seq), host))
            return
        typical = self._busy / self._finished if self._finished else 0.0
        heapq.heappush(self._ready, (*host.rank(typical), next(self._seq), host.offer, host))

    def _release_delayed(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now:
            self._queue(heapq.heappop(self._delayed)[2])
        while self._host_timers and self._host_timers[0][0] <= now:
            self._offer(heapq.heappop(self._host_timers)[2], now)

    def _dispatch(self, now: float, run_end: float, executor: ThreadPoolExecutor,
                  finished: list) -> float:
        """Start every request that may start; return when something next becomes possible.

        Each step costs a heap operation, so a run over thousands of hosts
        does not scan them all on every completion.
        """
        while self._ready and self._in_flight < self.options.workers:
            *_, offer, host = heapq.heappop(self._ready)
            if offer != host.offer:
                continue  # superseded by a later offer
            if not (host.queue and host.active < host.limit and now >= host.next_start):
                self._offer(host, now)  # a 429 paused it or cut its limit since it was offered
                continue
            job = host.queue.popleft()
            host.active += 1
            host.started += 1
            self._in_flight += 1
            host.next_start = now + host.min_delay
            self._note_concurrency(host)
            if job.started is None:
                job.started = now
                job.deadline = min(now + self.options.url_deadline, run_end)
            else:
                # Time spent waiting for one of our own slots is not the URL's fault;
                # its backoff and Retry-After waits do count.
                job.deadline = min(job.deadline + max(0.0, now - job.queued_at), run_end)
            job.last_start = now
            executor.submit(self._work, job, host, finished)
            self._offer(host, now)  # back in line with its new rank, or out if it is full
        return min(self._delayed[0][0] if self._delayed else float("inf"),
                   self._host_timers[0][0] if self._host_timers else float("inf"))

    def _note_concurrency(self, host: _Host) -> None:
        stats = self.stats
        stats.requests += 1
        stats.per_host_requests[host.key] = stats.per_host_requests.get(host.key, 0) + 1
        stats.max_per_host = max(stats.max_per_host, host.active)
        stats.max_in_flight = max(stats.max_in_flight, self._in_flight)

    def _work(self, job: _Job, host: _Host, finished: list) -> None:
        """Worker thread: one request for ``job``, then hand the outcome back."""
        try:
            outcome = self._step(job, host)
        except Exception as err:  # a bug must not hang the run: report it on the URL
            outcome = _Done(Verdict.transient, f"internal error while checking: {type(err).__name__}: {err}",
                            "please report this as a bug in learnpath's link checker")
        with self._cond:
            now = time.monotonic()
            host.active -= 1
            host.finished += 1
            host.busy += now - job.last_start
            self._finished += 1
            self._busy += now - job.last_start
            self._in_flight -= 1
            self._offer(host, now)  # its slot is free again, and its rank has news
            if self._stopped.is_set():
                pass  # check() returns only what finished before stop()
            elif isinstance(outcome, _Again):
                job.ready_at = outcome.at
                self._enqueue(job)
            else:
                finished.append((job, outcome))
            self._cond.notify_all()

    def _settle(self, job: _Job, outcome: object) -> list[Result]:
        """Results for a finished job (none if it was only re-queued)."""
        if not isinstance(outcome, _Done):
            return []
        out = []
        for url, fragment in job.originals.items():
            verdict, explanation, suggestion = outcome.verdict, outcome.explanation, outcome.suggestion
            if verdict in (Verdict.ok, Verdict.redirected) and fragment is not None and not job.content_is_html:
                explanation += f"; fragment {fragment!r} not checked: the resource is not HTML"
            elif verdict in (Verdict.ok, Verdict.redirected) and fragment is not None and job.anchors is not None:
                if not has_anchor(job.anchors, fragment) and job.body_truncated:
                    # Not seen in what we read; the rest of the page may have it. No alarm.
                    explanation += (f"; fragment {fragment!r} not verified: not in the first "
                                    f"{self.options.max_body_bytes:,} bytes read")
                elif not has_anchor(job.anchors, fragment):
                    verdict = Verdict.fragment_missing
                    explanation = f"the page has no element with id or name {fragment!r}"
                    suggestion = Verdict.fragment_missing.default_suggestion
            out.append(self._result(job, url, verdict, explanation, suggestion or verdict.default_suggestion))
        return out

    def _result(self, job: _Job, url: str, verdict: Verdict, explanation: str, suggestion: str) -> Result:
        elapsed = (time.monotonic() - job.started) if job.started is not None else 0.0
        return Result(url=url, verdict=verdict, status=job.status, final_url=job.final_url or job.current,
                      elapsed=elapsed, attempts=job.attempts, explanation=explanation, suggestion=suggestion,
                      redirects=list(job.hops))

    def _wait_idle(self, grace: float) -> None:
        end = time.monotonic() + grace
        with self._cond:
            while self._in_flight and time.monotonic() < end:
                self._cond.wait(timeout=max(0.0, end - time.monotonic()))

    def _count_kill(self) -> None:
        with self._cond:
            self.stats.deadline_kills += 1

    def _close_sessions(self) -> None:
        for host in self._hosts.values():
            if host.session is not None:
                host.session.close()
                host.session = None

    def _session(self, host: _Host) -> requests.Session:
        # Created in a worker but only ever while holding one of the host's
        # slots; the lock keeps two first requests from making two sessions.
        with self._cond:
            if host.session is None:
                session = requests.Session()
                session.trust_env = False  # no .netrc credentials, no env proxies: checks are reproducible
                adapter = TrackedAdapter(pool_connections=1, pool_maxsize=self.options.per_host,
                                          max_retries=0, pool_block=False)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.headers.update({
                    "User-Agent": self.options.user_agent,
                    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                })
                session.verify = self.options.ca_bundle or self.options.verify_tls
                host.session = session
            return host.session

    # -- one request ------------------------------------------------------------------

    def _step(self, job: _Job, host: _Host) -> _Done | _Again:
        """Make ``job``'s next request and decide what follows."""
        now = time.monotonic()
        if now >= job.deadline:
            return self._timed_out(job, "its deadline passed")
        try:
            target = self._vet(job.current, timeout=min(self.options.connect_timeout, job.deadline - now))
        except FutureTimeout:
            return _Done(Verdict.transient, f"timed out: DNS lookup of {urlsplit(job.current).hostname} "
                         "took longer than the connect timeout", Verdict.transient.default_suggestion)
        except UrlRefused as err:
            came_from = job.hops[-2][1] if len(job.hops) > 1 else job.base
            hop = f" (reached by a redirect from {came_from})" if job.hops else ""
            return _Done(Verdict.invalid, f"refused before fetching {job.current}{hop}: {err}")
        except HostUnresolvable as err:
            return _Done(Verdict.broken, f"{err}: the host does not exist",
                         "check the host name for a typo, or find where the site moved")
        job.attempts += 1
        tracker = Tracker(job.deadline)
        thread_state.tracker = tracker
        thread_state.pin = target if target.addresses else None
        assert self._watchdog is not None
        self._watchdog.watch(tracker)
        remaining = max(0.05, job.deadline - now)
        timeout = (min(self.options.connect_timeout, remaining), min(self.options.read_timeout, remaining))
        response = None
        try:
            if job.probing is not None:
                response = self._session(host).get(target.url, timeout=timeout, allow_redirects=False, stream=True)
                return self._judge_probe(job, response, tracker)
            response = self._session(host).request(job.method, target.url, timeout=timeout,
                                                   allow_redirects=False, stream=True)
            return self._judge(job, response, tracker)
        except requests.exceptions.RequestException as err:
            return self._judge_error(job, err, tracker)
        except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as err:
            # raised while streaming the body (a cut or reset connection)
            return self._judge_error(job, err, tracker)
        finally:
            if response is not None:
                dispose(response, tracker)
            tracker.finish()
            thread_state.tracker = None
            thread_state.pin = None

    def _vet(self, url: str, timeout: float) -> tuple:
        """The policy's verdict on ``url``, with DNS bounded by ``timeout``.

        getaddrinfo cannot be interrupted, so it runs in a helper thread that
        is simply abandoned if it is slower than the timeout.
        """
        if self.policy.allow_private or self._dns is None:
            return self.policy.check(url)  # no lookup at all
        return self._dns.submit(self.policy.check, url).result(timeout=max(0.01, timeout))

    # -- judging responses ----------------------------------------------------------------

    def _judge(self, job: _Job, response: requests.Response, tracker: Tracker) -> _Done | _Again:
        if tracker.expired:
            # Cut mid-headers, http.client may still build a "response" from the
            # fragment it had; nothing in it can be trusted.
            return self._timed_out(job, "the URL's deadline passed while the server was answering")
        status = response.status_code
        job.status = status
        job.final_url = job.current
        if status in _REDIRECTS and response.headers.get("location"):
            return self._follow(job, status, response.headers["location"])
        if status == 429:  # before the HEAD fallback: a rate limit applies to GET just the same
            return self._retry_later(job, response, "429 Too Many Requests")
        if job.method == "HEAD" and status not in _TRUSTED_HEAD:
            job.method = "GET"  # HEAD refused or mishandled: ask properly before judging
            return _Again()
        if status in _BLOCKING:
            text = self._read_text(response, tracker, SNIFF_BYTES)
            challenge = bot_challenge(status, response.headers, text)
            why = challenge or f"{status} {response.reason or _BLOCKING[status]}: the site refuses this client"
            return _Done(Verdict.blocked, why, Verdict.blocked.default_suggestion)
        if status >= 500:
            text = self._read_text(response, tracker, SNIFF_BYTES)
            challenge = bot_challenge(status, response.headers, text)
            if challenge:
                return _Done(Verdict.blocked, challenge, Verdict.blocked.default_suggestion)
            return self._retry_later(job, response, f"{status} {response.reason or ''}".strip())
        if status in _GONE:
            what = "Not Found" if status == 404 else "Gone"
            return _Done(Verdict.broken, f"{status} {what}: the page is gone",
                         "find its new address or use the archived copy")
        if 400 <= status < 500:
            return _Done(Verdict.broken, f"{status} {response.reason or 'client error'}: the server rejects the URL",
                         "check the URL for a typo or find the page's new address")
        if not 200 <= status < 300:
            return _Done(Verdict.broken, f"unexpected status {status} {response.reason or ''}".strip(),
                         "check the URL by hand")
        return self._judge_page(job, response, tracker)

    def _judge_page(self, job: _Job, response: requests.Response, tracker: Tracker) -> _Done | _Again:
        """A 2xx: look at the body if anything needs it, then decide ok/redirected/soft_broken."""
        status = response.status_code
        ctype = response.headers.get("content-type", "").lower()
        job.content_is_html = not ctype or "html" in ctype
        text = ""
        if job.method == "GET":
            wanted = {f for f in job.originals.values() if f is not None}
            if job.need_body and job.content_is_html:
                text = self._read_text(response, tracker, self.options.max_body_bytes, wanted=wanted,
                                       job=job if wanted else None)
            elif job.content_is_html:
                text = self._read_text(response, tracker, SNIFF_BYTES)
            if tracker.expired:
                return self._timed_out(job, "reading the page took longer than its deadline")
            if not job.content_is_html or not wanted:
                job.anchors = None  # nothing to check against (a PDF's #page=2 is not an element)
        challenge = bot_challenge(status, response.headers, text) if text else None
        if challenge:
            return _Done(Verdict.blocked, challenge, Verdict.blocked.default_suggestion)
        if text:
            for detector in self.detectors:
                reason = detector.detect(job.current, status, response.headers, text)
                if reason:
                    return _Done(Verdict.soft_broken, reason, Verdict.soft_broken.default_suggestion)
        verdict, explanation, suggestion = self._page_ok(job)
        for detector in self.detectors:
            probe = detector.probe_url(job.current) if detector.probe_url else None
            if probe:
                job.page_result = (verdict, explanation, suggestion)
                job.probing = detector
                job.current = probe
                return _Again()
        return _Done(verdict, explanation, suggestion)

    def _page_ok(self, job: _Job) -> tuple[Verdict, str, str]:
        if job.permanent:
            chain = " -> ".join(f"{code} {url}" for code, url in job.hops)
            return (Verdict.redirected, f"permanently redirected ({chain})",
                    f"replace the URL with {job.current}")
        if job.hops:
            return Verdict.ok, f"{job.status} OK after {len(job.hops)} temporary redirect(s)", "nothing to do"
        return Verdict.ok, f"{job.status} OK", "nothing to do"

    def _judge_probe(self, job: _Job, response: requests.Response, tracker: Tracker) -> _Done:
        """The oEmbed-style second opinion; any answer but a clear "gone" keeps the page's verdict."""
        assert job.probing is not None and job.page_result is not None and job.probing.judge_probe
        if tracker.expired:
            job.current = job.final_url or job.base
            return _Done(*job.page_result)
        text = self._read_text(response, tracker, SNIFF_BYTES) if response.status_code < 300 else ""
        reason = job.probing.judge_probe(response.status_code, text)
        page_url = job.final_url or job.base
        job.current = page_url
        if reason:
            return _Done(Verdict.soft_broken, reason, Verdict.soft_broken.default_suggestion)
        return _Done(*job.page_result)

    def _follow(self, job: _Job, status: int, location: str) -> _Done | _Again:
        target = urljoin(job.current, location.strip())
        target_base, target_fragment = urldefrag(target)
        job.hops.append((status, target))
        if status in _PERMANENT:
            job.permanent = True
        if status == 303:
            job.method = "GET"
        if target_base in job.visited:
            chain = " -> ".join([job.base] + [u for _, u in job.hops])
            return _Done(Verdict.broken, f"redirect loop: {chain}",
                         "the site redirects in a circle; report it to the site or link elsewhere")
        if len(job.hops) > self.options.max_redirects:
            return _Done(Verdict.broken, f"more than {self.options.max_redirects} redirects",
                         "link to the page the redirects end at, or report the chain to the site")
        try:
            self.policy.check_syntax(target_base)
        except UrlRefused as err:
            return _Done(Verdict.invalid, f"redirected to {target}, which is refused: {err}")
        if target_fragment and checkable_fragment(target_fragment):
            # The redirect names its own fragment; that one is what the browser looks for.
            for url in job.originals:
                job.originals[url] = target_fragment
            job.need_body = True
            job.method = "GET"
        job.visited.add(target_base)
        job.current = target_base
        job.final_url = target_base
        return _Again()

    def _retry_later(self, job: _Job, response: requests.Response, what: str) -> _Done | _Again:
        """Schedule a retry for a 429 or 5xx, or give up as transient."""
        now = time.monotonic()
        status = response.status_code
        wait = self._backoff(job.failures)
        if status == 429:
            asked = parse_retry_after(response.headers.get("retry-after"), time.time())
            with self._cond:  # the whole host slows down, not just this URL
                host = self._host(job.current)
                self._slow_down(host, job, now)
                if asked is not None and asked <= self.options.retry_after_cap:
                    host.next_start = max(host.next_start, now + asked)
            if asked is not None and asked > self.options.retry_after_cap:
                return _Done(Verdict.transient,
                             f"429 Too Many Requests, asked to wait {asked:.0f} s (more than the "
                             f"{self.options.retry_after_cap:.0f} s cap)", Verdict.transient.default_suggestion)
            if asked is not None:
                wait = max(wait, asked)
        job.failures += 1
        if job.failures > self.options.retries:
            tries = job.failures
            return _Done(Verdict.transient, f"{what} on each of {tries} attempts",
                         "nothing yet; it is re-checked on the next run (the server is struggling or rate-limiting)")
        if now + wait >= job.deadline:
            return _Done(Verdict.transient, f"{what}; no time left to retry before the URL's deadline",
                         Verdict.transient.default_suggestion)
        with self._cond:
            self.stats.retries += 1
        if job.method == "HEAD":
            job.method = "GET"
        return _Again(at=now + wait)

    def _slow_down(self, host: _Host, job: _Job, now: float) -> None:
        """After a 429, halve the host's concurrency; once at one, double its delay.

        Only a request started after the last slow-down counts, so several
        answers to requests already in flight do not compound.
        """
        if job.last_start < host.slowed_at:
            return
        host.slowed_at = now
        self.stats.slowed_hosts.add(host.key)
        if host.limit > 1:
            host.limit = max(1, host.limit // 2)
        else:
            host.min_delay = max(2 * host.min_delay, self.options.slowdown_delay)

    def _backoff(self, failures: int) -> float:
        # Exponential with full jitter around the nominal value so retries from
        # many URLs on one host do not arrive together.
        return self.options.backoff * (2 ** failures) * self._rng.uniform(0.5, 1.5)

    def _judge_error(self, job: _Job, err: BaseException, tracker: Tracker) -> _Done | _Again:
        """Turn a failed request into a verdict or a retry."""
        if tracker.expired:
            return self._timed_out(job, "the URL's deadline passed" if not self._stopped.is_set() else "stopped")
        if job.probing is not None:
            # The page itself answered; a probe failing says nothing about it.
            job.current = job.final_url or job.base
            assert job.page_result is not None
            return _Done(*job.page_result)
        kind, detail = classify_error(err)
        host = urlsplit(job.current).netloc
        if kind is ErrorKind.timeout:
            if self.options.retry_timeouts:
                return self._retry_error(job, f"timed out ({detail})")
            return self._timed_out(job, detail)
        if kind in _ERROR_VERDICTS:
            verdict, explanation, suggestion = _ERROR_VERDICTS[kind]
            return _Done(verdict, explanation.format(host=host, name=urlsplit(job.current).hostname, detail=detail),
                         suggestion or verdict.default_suggestion)
        return self._retry_error(job, f"connection failed ({detail})")

    def _retry_error(self, job: _Job, what: str) -> _Done | _Again:
        job.failures += 1
        wait = self._backoff(job.failures - 1)
        if job.failures > self.options.retries:
            return _Done(Verdict.transient, f"{what} on each of {job.failures} attempts",
                         Verdict.transient.default_suggestion)
        if time.monotonic() + wait >= job.deadline:
            return _Done(Verdict.transient, f"{what}; no time left to retry", Verdict.transient.default_suggestion)
        with self._cond:
            self.stats.retries += 1
        return _Again(at=time.monotonic() + wait)

    def _timed_out(self, job: _Job, detail: str) -> _Done:
        return _Done(Verdict.transient, f"timed out: {detail}",
                     "nothing yet; a slow or hung server is re-checked on the next run "
                     "(--retry-timeouts retries it within the run)")

    # -- bodies -----------------------------------------------------------------------------

    def _read_text(self, response: requests.Response, tracker: Tracker, limit: int,
                   wanted: set[str] | None = None, job: _Job | None = None) -> str:
        """Read at most ``limit`` bytes of the body as text, stopping at the deadline.

        With ``job`` given, anchors are collected as the body streams and the
        read stops once every wanted fragment is found.
        """
        raw = response.raw
        collector = AnchorCollector(wanted or ()) if job is not None else None
        # requests falls back to ISO-8859-1 for text/* without a charset; the web is UTF-8.
        has_charset = "charset=" in response.headers.get("content-type", "").lower()
        encoding = (response.encoding if has_charset else None) or "utf-8"
        try:
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        except LookupError:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces: list[str] = []
        total = 0
        while total < limit and not tracker.expired:
            try:
                chunk = raw.read1(min(_CHUNK, limit - total), decode_content=True)
            except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError):
                if tracker.expired:
                    break
                raise
            if not chunk:
                break
            total += len(chunk)
            if total >= limit and job is not None:
                job.body_truncated = True
            text = decoder.decode(chunk)
            pieces.append(text)
            if collector is not None:
                collector.feed(text)
                if collector.done:
                    break
        if collector is not None and job is not None:
            job.anchors = collector.anchors
        return "".join(pieces)



# Request failures that are final verdicts: (verdict, explanation, suggestion);
# the explanation may use {host} (with port), {name} (host name) and {detail}.
_ERROR_VERDICTS: dict[ErrorKind, tuple[Verdict, str, str]] = {
    ErrorKind.refused: (Verdict.broken, "connection refused by {host}: nothing listens there",
                        "the server is down or gone; check by hand and find where the site moved"),
    ErrorKind.dns: (Verdict.broken, "DNS lookup failed for {name}: the host does not exist",
                    "check the host name for a typo, or find where the site moved"),
    ErrorKind.tls: (Verdict.broken, "TLS failure talking to {host}: {detail}",
                    "the certificate is invalid or expired; link to another copy or tell the site"),
    ErrorKind.protocol: (Verdict.broken, "{host} did not answer with HTTP ({detail})",
                         "the address does not serve a web page; check the scheme and port"),
    ErrorKind.invalid: (Verdict.invalid, "the URL cannot be requested: {detail}", ""),
    ErrorKind.unvetted: (Verdict.invalid, "refused to connect: {detail}", ""),
}



def check_urls(urls: Iterable[str], options: FetchOptions | None = None, **kwargs) -> list[Result]:
    """Convenience: check ``urls`` with a fresh Checker."""
    return Checker(options or FetchOptions(), **kwargs).check(urls)
