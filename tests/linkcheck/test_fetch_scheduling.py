"""Which host a free worker goes to: every host tried early, then the most work left per slot.

With one worker the requests run strictly one after another, so the order the
server saw them in is the order the scheduler chose; no timing is asserted.
"""

from __future__ import annotations

import threading

from learnpath.linkcheck import Checker, Verdict
from learnpath.linkcheck.hosts import CheckStats, Scheduler
from learnpath.linkcheck.job import Job
from tests.linkcheck.conftest import quick_options
from tests.linkcheck.server import LinkServer

ADDRESSES = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


def order_seen(srv: LinkServer, hosts: int) -> list[int]:
    """Host index of every /ok request, in the order the server received them."""
    stamped = [(t, host) for host in range(hosts) for t in srv.counters(host).times["/ok"]]
    return [host for _, host in sorted(stamped)]


def run_one_at_a_time(urls: list[str]) -> None:
    results = Checker(quick_options(workers=1, per_host=2), detectors=[]).check(urls)
    assert [r.verdict for r in results] == [Verdict.ok] * len(urls)


def test_a_host_listed_last_is_tried_before_a_big_host_gets_more_than_its_slots() -> None:
    # Most-work-first alone would leave host 1 for the very end, where a hang
    # there would stretch the run by a whole timeout.
    with LinkServer(ADDRESSES[:2], latency=0.02) as srv:
        run_one_at_a_time([srv.url(f"/ok?i={i}", 0) for i in range(8)] + [srv.url("/ok?last", 1)])
        order = order_seen(srv, 2)
        assert order.index(1) <= 2, order  # within the first round of slots


def test_the_host_with_the_most_work_left_per_slot_goes_first() -> None:
    # Host 0 has 8 URLs, hosts 1 and 2 three each. Taking turns would give host 0
    # a third of the worker and make it finish last; instead it is served until
    # its work per slot is down to theirs.
    with LinkServer(ADDRESSES, latency=0.02) as srv:
        urls = [srv.url(f"/ok?i={i}", host) for host, count in ((0, 8), (1, 3), (2, 3)) for i in range(count)]
        run_one_at_a_time(urls)
        order = order_seen(srv, 3)
        assert len(order) == 14
        third_of_small = min(i for i, host in enumerate(order) if host != 0 and order[:i + 1].count(host) == 3)
        assert order[:third_of_small].count(0) >= 6, order


def _scheduler_with(hosts: int) -> Scheduler:
    scheduler = Scheduler(per_host=1, min_delay=0.0, slowdown_delay=0.25, stats=CheckStats())
    for i in range(hosts):
        scheduler.add(Job(base=f"http://h{i}.example/", originals={}, need_body=False, seq=i), now=0.0)
    return scheduler


def test_a_host_that_can_never_start_does_not_spin_the_dispatcher() -> None:
    # A start time that is not a number (what --delay nan made) fails every comparison; the
    # old dispatcher offered such a host again and again without end. Run in a thread so a
    # regression fails here instead of hanging the suite.
    scheduler = _scheduler_with(3)
    scheduler.host("http://h0.example/").next_start = float("nan")
    started: list[list[str]] = []
    worker = threading.Thread(target=lambda: started.append(
        [job.base for job, _ in scheduler.start(now=1.0, free=10, stopped=lambda: False)]), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive() and sorted(started[0]) == ["http://h1.example/", "http://h2.example/"]


def test_the_dispatcher_stops_between_starts_when_asked() -> None:
    scheduler = _scheduler_with(5)
    stop = threading.Event()
    started = []
    for job, _ in scheduler.start(now=1.0, free=10, stopped=stop.is_set):
        started.append(job.base)
        stop.set()
    assert len(started) == 1 and scheduler.stats.requests == 1
