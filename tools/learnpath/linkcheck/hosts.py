"""Scheduling: which request starts next, so that every host is treated politely.

The `Scheduler` owns every waiting job and every host's state, and is used by
the run loop alone (under its lock); workers never touch it. A job's next
request may start only when

* fewer than ``workers`` requests are in flight (the run loop's count),
* its host (name and port) has fewer than its limit in flight (``per_host``,
  halved after a 429),
* the host's minimum delay since its last start has passed (``min_delay``,
  raised after repeated 429s, and any ``Retry-After`` pause), and
* the job's own retry time (backoff, ``Retry-After``) has come.

So a waiting job never occupies a thread, a redirect to another host counts
against that host, and the per-host limit holds by construction.

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

Every loop here is bounded by the size of a heap that only shrinks within it,
and each step costs a heap operation, so a run over thousands of hosts does
not scan them all on every completion.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from learnpath.hostnames import canonical
from learnpath.linkcheck.job import Job


def host_key(url: str) -> str:
    """``name:port`` of the host a URL is fetched from; two spellings of one name are one host."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return f"{canonical(parts.hostname or '')}:{port}"


@dataclass
class CheckStats:
    """Counters a run keeps; the benchmark and tests read them."""

    requests: int = 0
    retries: int = 0
    workers: int = 0  # requests allowed in flight at once in the last run
    max_in_flight: int = 0
    max_per_host: int = 0  # the most concurrent requests to one host ever observed
    per_host_requests: dict[str, int] = field(default_factory=dict)
    slowed_hosts: set[str] = field(default_factory=set)
    deadline_kills: int = 0
    internal_errors: int = 0  # requests that ended in a bug of the checker, reported as transient


class Host:
    """Scheduling state for one host name and port."""

    def __init__(self, key: str, limit: int, min_delay: float):
        self.key = key
        self.limit = limit
        self.min_delay = min_delay
        self.active = 0
        self.next_start = 0.0
        self.slowed_at = float("-inf")  # when a 429 last slowed this host down
        self.queue: deque[Job] = deque()
        self.started = 0  # requests started
        self.finished = 0  # requests finished, and the seconds they took in all
        self.busy = 0.0
        self.offer = 0  # which entry in the ready heap is this host's current one
        self.timer_at = float("-inf")  # the next_start a wake-up is already set for

    def can_start(self, now: float) -> bool:
        return bool(self.queue) and self.active < self.limit and now >= self.next_start

    def rank(self, typical: float) -> tuple[bool, float]:
        """Heap key for a free worker (smallest first); see the module docstring.

        Work left is counted in requests of ``typical`` length (the mean over
        all hosts): a host's own mean enters only as a ratio to it, so a rank
        computed early in the run still compares fairly with one computed late.
        """
        slowness = self.busy / self.finished / typical if self.finished and typical > 0 else 1.0
        return self.started >= self.limit, -(len(self.queue) + self.active) / self.limit * slowness


class Scheduler:
    """Waiting jobs and host state; see the module docstring. Not thread-safe: one owner."""

    def __init__(self, per_host: int, min_delay: float, slowdown_delay: float, stats: CheckStats):
        self.per_host = per_host
        self.min_delay = min_delay
        self.slowdown_delay = slowdown_delay
        self.stats = stats
        self.hosts: dict[str, Host] = {}
        self._ready: list[tuple[bool, float, int, int, Host]] = []  # hosts that may start now, best first
        self._timers: list[tuple[float, int, Host]] = []  # hosts waiting for their next_start
        self._delayed: list[tuple[float, int, Job]] = []  # jobs waiting for their ready_at
        self._seq = itertools.count()
        self._finished = 0  # requests finished over all hosts, and the seconds they took
        self._busy = 0.0

    def host(self, url: str) -> Host:
        key = host_key(url)
        host = self.hosts.get(key)
        if host is None:
            host = self.hosts[key] = Host(key, self.per_host, self.min_delay)
        return host

    # -- jobs in -------------------------------------------------------------------------

    def add(self, job: Job, now: float) -> None:
        """Queue ``job`` for its next request, at once or at its ``ready_at``."""
        if job.ready_at > now:
            heapq.heappush(self._delayed, (job.ready_at, job.seq, job))
        else:
            self._queue(job, now)

    def _queue(self, job: Job, now: float) -> None:
        job.queued_at = now
        host = self.host(job.current)
        host.queue.append(job)
        self._offer(host, now)

    def _offer(self, host: Host, now: float) -> None:
        """Put ``host`` in line for a worker if it has work and a free slot (re-ranked if already there).

        Called whenever a host may have become able to start a request: a job
        queued, a request finished or started (the rank changed), its minimum
        delay or Retry-After pause over. A host with no free slot is left
        out; the request that finishes next offers it again.
        """
        host.offer += 1  # whatever entry the host had in the heap is stale from now on
        if not host.queue or host.active >= host.limit:
            return
        if now < host.next_start:
            if host.timer_at != host.next_start:  # one wake-up per pause, however many jobs queue
                host.timer_at = host.next_start
                heapq.heappush(self._timers, (host.next_start, next(self._seq), host))
            return
        typical = self._busy / self._finished if self._finished else 0.0
        heapq.heappush(self._ready, (*host.rank(typical), next(self._seq), host.offer, host))

    # -- requests out ----------------------------------------------------------------------

    def release(self, now: float) -> None:
        """Queue the jobs whose retry time has come and offer the hosts whose pause is over."""
        while self._delayed and self._delayed[0][0] <= now:
            self._queue(heapq.heappop(self._delayed)[2], now)
        while self._timers and self._timers[0][0] <= now:
            self._offer(heapq.heappop(self._timers)[2], now)

    def start(self, now: float, free: int, stopped: Callable[[], bool]) -> Iterator[tuple[Job, Host]]:
        """Take up to ``free`` jobs whose request may start now, best host first.

        Bounded: every step pops the ready heap, and a host goes back onto it
        only after one of its jobs starts (at most ``free`` times); a host that
        can no longer start (a 429 cut its limit since it was offered) is
        offered again after the loop. Stops at once when ``stopped()``.
        """
        stale: list[Host] = []
        while free > 0 and self._ready and not stopped():
            *_, offer, host = heapq.heappop(self._ready)
            if offer != host.offer:
                continue  # superseded by a later offer
            if not host.can_start(now):
                stale.append(host)
                continue
            job = host.queue.popleft()
            host.active += 1
            host.started += 1
            host.next_start = now + host.min_delay
            job.last_start = now
            free -= 1
            self._count_start(host)
            self._offer(host, now)  # back in line with its new rank, or out if it is full
            yield job, host
        for host in stale:
            self._offer(host, now)

    def _count_start(self, host: Host) -> None:
        stats = self.stats
        stats.requests += 1
        stats.per_host_requests[host.key] = stats.per_host_requests.get(host.key, 0) + 1
        stats.max_per_host = max(stats.max_per_host, host.active)

    def finished(self, host: Host, seconds: float, now: float) -> None:
        """A request to ``host`` ended after ``seconds``: its slot is free, and its rank has news."""
        host.active -= 1
        host.finished += 1
        host.busy += seconds
        self._finished += 1
        self._busy += seconds
        self._offer(host, now)

    def rate_limited(self, host: Host, started: float, now: float, pause_until: float | None) -> None:
        """A 429 from a request started at ``started``: slow the host down, pause it if asked.

        The host's concurrency halves; once it is down to one, its minimum
        delay doubles (from ``slowdown_delay``). Only a request started after
        the last slow-down counts, so several answers to requests already in
        flight do not compound.
        """
        if pause_until is not None:
            host.next_start = max(host.next_start, pause_until)
        if started >= host.slowed_at:
            host.slowed_at = now
            self.stats.slowed_hosts.add(host.key)
            if host.limit > 1:
                host.limit = max(1, host.limit // 2)
            else:
                host.min_delay = max(2 * host.min_delay, self.slowdown_delay)
        self._offer(host, now)

    def next_wake(self) -> float:
        """When a delayed job or a paused host next becomes ready (inf if none)."""
        return min(self._delayed[0][0] if self._delayed else float("inf"),
                   self._timers[0][0] if self._timers else float("inf"))
