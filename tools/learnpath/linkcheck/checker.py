"""The run loop: hand requests to worker threads as the scheduler allows, and collect the verdicts.

A run is organised like this (each part has its own module):

* every distinct URL (fragments aside) becomes a `job.Job`;
* the `hosts.Scheduler` decides which job's request may start next (per-host
  limits, delays, Retry-After pauses, which host goes first);
* a worker thread makes that one request (`request.Requester`) and returns
  what the `judge.Judge` concluded: `Done`, or `Again` (follow a redirect,
  retry later under the `retry.RetryPolicy`, re-ask with GET, ask an oEmbed
  endpoint);
* this loop, the only code that touches the scheduler, applies the outcome:
  frees the host's slot, slows the host down after a 429, queues the job
  again, or turns it into `Result` objects.

Bounding time: ``requests``' read timeout applies to each socket read, so a
server that drips a byte a second never trips it. A watchdog thread
(`transport.Watchdog`) knows the connection every in-flight request uses and
shuts its socket down when the URL's deadline (or the run's) passes; the
blocked read returns at once and the connection is discarded. DNS lookups are
bounded by the connect timeout. `stop` (from a signal handler, say) is seen
within half a second by every loop here.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urldefrag

import urllib3

from learnpath.linkcheck.detectors import DEFAULT_DETECTORS, DetectFn, Detector, as_detector, checkable_fragment
from learnpath.linkcheck.hosts import CheckStats, Host, Scheduler, host_key
from learnpath.linkcheck.job import Again, Done, Job
from learnpath.linkcheck.judge import Judge, result, results
from learnpath.linkcheck.netguard import AddressPolicy, UrlRefused
from learnpath.linkcheck.options import FetchOptions
from learnpath.linkcheck.request import Requester, Sessions
from learnpath.linkcheck.retry import RetryPolicy
from learnpath.linkcheck.transport import Watchdog
from learnpath.linkcheck.verdicts import Result, Verdict

# The longest the loop sleeps without looking at the stop flag and the run's deadline.
_POLL = 0.5
# After a stop or the run's deadline, how long to wait for cut requests to come back.
_GRACE = 2.0


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
        self._watchdog: Watchdog | None = None
        self._seq = itertools.count()

    def check(self, urls: Iterable[str], on_result: Callable[[Result], None] | None = None) -> list[Result]:
        """Check every distinct URL once; results in the order the URLs were first given.

        ``on_result`` is called (from the calling thread) as each result is known.
        After `stop`, returns only what had finished.
        """
        order: list[str] = []
        jobs: dict[str, Job] = {}
        results_by_url: dict[str, Result] = {}

        def emit(result: Result) -> None:
            results_by_url[result.url] = result
            if on_result is not None:
                on_result(result)

        early: list[Result] = []  # URLs refused before any request
        seen: set[str] = set()
        for url in urls:
            if url in seen:
                continue
            seen.add(url)
            order.append(url)
            refused = self._prepare(url, jobs)
            if refused is not None:
                early.append(refused)
        for refused in early:
            emit(refused)
        if jobs and not self._stopped.is_set() and self._run(jobs, emit):
            # The run's deadline passed first: every URL not yet judged is transient.
            now = time.monotonic()
            for job in jobs.values():
                for url in job.originals:
                    if url not in results_by_url:
                        emit(result(job, url, Verdict.transient, "not checked: the run's deadline passed first",
                                    "nothing yet; it is checked on the next run", now))
        return [results_by_url[url] for url in order if url in results_by_url]

    def stop(self) -> None:
        """Start nothing new and cut what is running; `check` returns what finished."""
        self._stopped.set()
        if self._watchdog is not None:
            self._watchdog.expire_all()
        with self._cond:
            self._cond.notify_all()

    def _prepare(self, url: str, jobs: dict[str, Job]) -> Result | None:
        """Attach ``url`` to its job (creating it); a Result if it is refused outright."""
        try:
            self.policy.check_syntax(url)
        except UrlRefused as err:
            return Result(url=url, verdict=Verdict.invalid, status=None, final_url=None, elapsed=0.0,
                          attempts=0, explanation=f"refused before fetching: {err}",
                          suggestion=Verdict.invalid.default_suggestion)
        base, fragment = urldefrag(url)
        job = jobs.get(base)
        if job is None:
            wants = self.options.get_bodies or any(d.wants_body(base) for d in self.detectors)
            job = jobs[base] = Job(base=base, originals={}, need_body=wants, seq=next(self._seq))
        job.originals[url] = fragment if checkable_fragment(fragment) else None
        job.need_body = job.need_body or job.originals[url] is not None
        job.method = "GET" if job.need_body else "HEAD"
        return None

    # -- the loop ------------------------------------------------------------------------

    def _run(self, jobs: dict[str, Job], emit: Callable[[Result], None]) -> bool:
        """Run every job to its verdict; True if the run's deadline left some unjudged."""
        options, stats, cond = self.options, self.stats, self._cond
        run_end = time.monotonic() + options.run_deadline if options.run_deadline else float("inf")
        workers = stats.workers = options.workers_for(len({host_key(job.base) for job in jobs.values()}))
        scheduler = Scheduler(options.per_host, options.min_delay, options.slowdown_delay, stats)
        judge = Judge(self.detectors, self.policy, RetryPolicy.from_options(options),
                      max_redirects=options.max_redirects, max_body_bytes=options.max_body_bytes)
        self._watchdog = Watchdog(on_kill=self._count_kill)
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="linkcheck")
        dns = None if self.policy.allow_private else \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="linkcheck-dns")
        sessions = Sessions(options)
        requester = Requester(options, self.policy, judge, sessions, self._watchdog, dns, self._stopped)
        running: dict[int, Host] = {}  # job.seq -> the host its request went to
        finished: list[tuple[Job, Done | Again, bool]] = []  # filled by the workers, under the lock
        remaining = len(jobs)
        try:
            with cond:
                now = time.monotonic()
                for job in jobs.values():
                    scheduler.add(job, now)
            while remaining and not self._stopped.is_set():
                done: list[tuple[Job, Done]] = []
                with cond:
                    now = time.monotonic()
                    if now >= run_end:
                        break
                    for job, outcome, internal in finished:
                        host = running.pop(job.seq)
                        scheduler.finished(host, now - job.last_start, now)
                        stats.internal_errors += internal
                        if outcome.rate_limit is not None:
                            scheduler.rate_limited(host, job.last_start, now, outcome.rate_limit.pause_until)
                        if isinstance(outcome, Again):
                            stats.retries += outcome.retry
                            job.ready_at = outcome.at
                            scheduler.add(job, now)
                        else:
                            done.append((job, outcome))
                    finished.clear()
                    scheduler.release(now)
                    for job, host in scheduler.start(now, workers - len(running), self._stopped.is_set):
                        running[job.seq] = host
                        stats.max_in_flight = max(stats.max_in_flight, len(running))
                        self._set_deadline(job, now, run_end)
                        executor.submit(self._work, requester, job, host.key, finished)
                    if not done:
                        # Sleep until a worker reports, a delay ends, the run's deadline, or the next poll.
                        until = min(scheduler.next_wake(), run_end, now + _POLL)
                        cond.wait(timeout=max(0.0, until - now))
                        continue
                # Callbacks run outside the lock so a slow progress bar never stalls workers.
                for job, outcome in done:
                    remaining -= 1
                    for item in results(job, outcome, time.monotonic()):
                        emit(item)
            self._watchdog.expire_all()  # cut whatever still runs (stop() or the run's deadline)
            with cond:
                end = time.monotonic() + _GRACE
                while len(finished) < len(running) and time.monotonic() < end:
                    cond.wait(timeout=max(0.0, end - time.monotonic()))
            return bool(remaining) and not self._stopped.is_set()
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            if dns is not None:
                dns.shutdown(wait=False, cancel_futures=True)
            self._watchdog.close()
            sessions.close()

    def _set_deadline(self, job: Job, now: float, run_end: float) -> None:
        if job.started is None:
            job.started = now
            job.deadline = min(now + self.options.url_deadline, run_end)
        else:
            # Time spent waiting for one of our own slots is not the URL's fault;
            # its backoff and Retry-After waits do count.
            job.deadline = min(job.deadline + max(0.0, now - job.queued_at), run_end)

    def _work(self, requester: Requester, job: Job, host: str, finished: list) -> None:
        """Worker thread: one request for ``job``, then hand the outcome back to the loop."""
        internal = False
        try:
            outcome = requester.step(job, host)
        except Exception as err:  # a bug must not hang the run: report it on the URL
            internal = True
            outcome = Done(Verdict.transient, f"internal error while checking: {type(err).__name__}: {err}",
                           "please report this as a bug in learnpath's link checker")
        with self._cond:
            finished.append((job, outcome, internal))
            self._cond.notify_all()

    def _count_kill(self) -> None:
        with self._cond:
            self.stats.deadline_kills += 1
