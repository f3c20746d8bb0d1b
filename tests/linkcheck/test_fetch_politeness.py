"""Concurrency limits, delays, Retry-After, retries, connection reuse, stop and deadlines.

Each test starts its own loopback server so the server's counters describe
that test alone. Time bounds below are correctness (a wait honoured, a run
ended), with generous slack, never speed targets.
"""

from __future__ import annotations

import threading
import time

import pytest

from learnpath.linkcheck import Checker, Result, Verdict
from tests.linkcheck.conftest import quick_options
from tests.linkcheck.server import LinkServer

ADDRESSES = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


def check(urls: list[str], **options) -> tuple[list[Result], Checker]:
    checker = Checker(quick_options(**options), detectors=[])
    return checker.check(urls), checker


@pytest.mark.parametrize("per_host", [1, 2, 3])
def test_the_per_host_limit_holds_and_is_used(per_host: int) -> None:
    with LinkServer(ADDRESSES, latency=0.03) as srv:
        urls = [srv.url(f"/ok?i={i}", host) for i in range(12) for host in range(3)]
        results, checker = check(urls, per_host=per_host, workers=16)
        assert [r.verdict for r in results] == [Verdict.ok] * len(urls)
        for host in range(3):
            seen = srv.counters(host)
            assert seen.requests == 12
            assert seen.max_active <= per_host, f"host {host} saw {seen.max_active} at once"
        # The limit is not just respected but reached (else this test could not fail).
        assert max(srv.counters(h).max_active for h in range(3)) == per_host
        assert checker.stats.max_per_host == per_host and checker.stats.requests == len(urls)


def test_the_global_worker_limit_holds() -> None:
    with LinkServer(ADDRESSES, latency=0.03) as srv:
        urls = [srv.url(f"/ok?i={i}", host) for i in range(10) for host in range(3)]
        results, checker = check(urls, per_host=4, workers=3)
        assert all(r.verdict is Verdict.ok for r in results)
        assert srv.max_active_total == 3 and checker.stats.max_in_flight == 3


def test_minimum_delay_between_requests_to_one_host(send_times) -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        results, _ = check([srv.url(f"/ok?i={i}") for i in range(3)], per_host=2, min_delay=1.0)
        assert all(r.verdict is Verdict.ok for r in results)
        times = sorted(send_times["/ok"])
        gaps = [b - a for a, b in zip(times, times[1:])]
        # The scheduler starts requests to one host at least 1 s apart. A thread may
        # reach send() late after being dispatched, which can shorten one measured gap
        # by that lateness; 0.5 s of slack is more than a loaded machine adds, and a
        # client that ignored the delay would send both within milliseconds.
        assert len(times) == 3 and min(gaps) >= 0.5, gaps


def test_connections_are_reused_per_host() -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        urls = [srv.url(f"/ok?i={i}") for i in range(10)] + [srv.url(f"/page?i={i}#intro") for i in range(5)]
        results, _ = check(urls, per_host=1)
        assert all(r.verdict is Verdict.ok for r in results)
        assert srv.counters().requests == 15 and srv.counters().connections == 1


@pytest.mark.parametrize("endpoint", ["/ratelimit/", "/ratelimit-date/"])
def test_retry_after_is_honoured_and_the_host_slowed(endpoint: str, send_times) -> None:
    with LinkServer(ADDRESSES[:2]) as srv:
        limited = srv.url(f"{endpoint}k?after=1")
        others = [srv.url(f"/ok?i={i}") for i in range(3)]
        results, checker = check([limited, *others], per_host=1, slowdown_delay=1.0)
        assert [r.verdict for r in results] == [Verdict.ok] * 4
        # Server times: the 429's response left after its request arrived, and the
        # client waits 1 s from receiving it, so the retry arrives >= 1 s later
        # whatever the delays; 0.1 s covers clock granularity only.
        first, second = srv.counters().times[f"{endpoint}k"]
        assert second - first >= 0.9, "Retry-After: 1 was not honoured"
        # Everything the client sent to the host after the 429 came at least 1 s later,
        # spaced by the slowdown (1 s; 0.5 s of slack for a late thread, see above).
        sent_first = send_times[f"/{endpoint.strip('/')}/k"][0]
        later = sorted(t for t in send_times["/ok"] if t > sent_first)
        assert all(t - sent_first >= 0.9 for t in later)
        assert all(b - a >= 0.5 for a, b in zip(later, later[1:])), [round(t - sent_first, 3) for t in later]
        assert checker.stats.slowed_hosts == {srv.host_key()}
        assert results[0].attempts == 2


def test_a_429_halves_the_hosts_concurrency_for_the_rest_of_the_run() -> None:
    with LinkServer(ADDRESSES[:1], latency=0.05) as srv:
        urls = [srv.url("/ratelimit/half?after=0.3")] + [srv.url(f"/ok?i={i}") for i in range(12)]
        results, checker = check(urls, per_host=2)
        assert all(r.verdict is Verdict.ok for r in results)
        first_429 = srv.counters().times["/ratelimit/half"][0]
        later = sorted(t for t in srv.counters().times["/ok"] if t > first_429 + 0.3)
        # One at a time from then on: starts are at least a response's latency apart.
        assert len(later) >= 4 and all(b - a >= 0.04 for a, b in zip(later, later[1:])), later
        assert checker.stats.slowed_hosts == {srv.host_key()}


def test_waiting_for_a_busy_hosts_slot_does_not_eat_a_urls_deadline() -> None:
    # One slot, a slow URL ahead in the queue: the flaky URL's retry waits ~1 s for
    # the slot, which must not count against its 0.8 s deadline.
    with LinkServer(ADDRESSES[:1]) as srv:
        urls = [srv.url("/flaky/q?fail=1"), srv.url("/drip?interval=0.2#x")]
        results, _ = check(urls, per_host=1, url_deadline=0.8, read_timeout=5)
        assert results[0].verdict is Verdict.ok, results[0]
        assert results[1].verdict is Verdict.transient


def test_a_retry_after_beyond_the_cap_gives_up_at_once_as_transient() -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        start = time.monotonic()
        (result,), _ = check([srv.url("/ratelimit/cap?after=3600")], retry_after_cap=60)
        assert result.verdict is Verdict.transient and "3600" in result.explanation
        assert result.attempts == 1 and time.monotonic() - start < 20  # honouring the cap takes 60 s


def test_5xx_is_retried_with_backoff_then_transient() -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        (result,), checker = check([srv.url("/flaky/x?fail=99&code=503")], retries=2, backoff=0.1)
        assert result.verdict is Verdict.transient and result.status == 503
        times = srv.counters().times["/flaky/x"]
        assert len(times) == 4  # HEAD, GET, and two retries
        assert times[2] - times[1] >= 0.05 and times[3] - times[2] >= 0.1  # backoff 0.1 x 2^n x [0.5, 1.5)
        assert checker.stats.retries == 2


def test_a_connection_reset_is_retried() -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        once, always = srv.url("/reset/once?fail=1"), srv.url("/reset/always?fail=99")
        results, _ = check([once, always], retries=2, backoff=0.05)
        assert results[0].verdict is Verdict.ok and results[0].attempts == 2
        assert results[1].verdict is Verdict.transient and "3 attempts" in results[1].explanation
        assert srv.counters().paths["/reset/always"] == 3


def test_a_timeout_is_not_retried_unless_asked() -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        (result,), _ = check([srv.url("/hang")], read_timeout=0.3, retries=2)
        assert result.verdict is Verdict.transient and srv.counters().paths["/hang"] == 1
        (result,), _ = check([srv.url("/hang?again")], read_timeout=0.3, retries=1, retry_timeouts=True)
        assert result.verdict is Verdict.transient and result.attempts == 2
        assert srv.counters().paths["/hang"] == 3


def test_each_distinct_url_is_fetched_once_and_fragments_share_a_fetch() -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        page = srv.url("/page")
        results, _ = check([page, page, page + "#intro", page + "#nope", page + "#intro"])
        assert [r.url for r in results] == [page, page + "#intro", page + "#nope"]
        assert [r.verdict for r in results] == [Verdict.ok, Verdict.ok, Verdict.fragment_missing]
        assert srv.counters().requests == 1 and srv.counters().methods["GET"] == 1


def test_on_result_sees_every_result_once() -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        seen: list[str] = []
        urls = [srv.url("/ok"), srv.url("/status/404"), "ftp://example.org/x"]
        results = Checker(quick_options(), detectors=[]).check(urls, on_result=lambda r: seen.append(r.url))
        assert sorted(seen) == sorted(urls) == sorted(r.url for r in results)


def test_stop_returns_what_finished_and_cuts_what_runs() -> None:
    with LinkServer(ADDRESSES[:2]) as srv:
        checker = Checker(quick_options(read_timeout=30, url_deadline=60), detectors=[])
        urls = [srv.url(f"/hang?i={i}", 1) for i in range(3)] + [srv.url("/ok")]
        finished = threading.Event()
        out: list[list[Result]] = []

        def on_result(result: Result) -> None:
            if result.verdict is Verdict.ok:
                finished.set()

        thread = threading.Thread(target=lambda: out.append(checker.check(urls, on_result=on_result)))
        thread.start()
        assert finished.wait(10)
        start = time.monotonic()
        checker.stop()
        thread.join(timeout=10)
        assert not thread.is_alive() and time.monotonic() - start < 20  # the hung reads last 30 s
        assert [r.url for r in out[0]] == [srv.url("/ok")]


def test_the_run_deadline_ends_the_run_and_reports_the_rest_as_transient() -> None:
    with LinkServer(ADDRESSES[:1]) as srv:
        urls = [srv.url(f"/hang?i={i}") for i in range(4)] + [srv.url("/ok")]
        start = time.monotonic()
        results, _ = check(urls, per_host=2, read_timeout=30, url_deadline=60, run_deadline=1.0)
        assert time.monotonic() - start < 20  # without the run deadline: 30 s or more
        verdicts = {r.url: r.verdict for r in results}
        assert len(results) == 5 and verdicts[srv.url("/ok")] is Verdict.ok or \
            verdicts[srv.url("/ok")] is Verdict.transient
        assert all(verdicts[u] is Verdict.transient for u in urls[:4])
        assert any("run's deadline" in r.explanation for r in results)


def test_headers_dripped_slower_than_the_deadline_are_cut_at_the_deadline() -> None:
    # Each byte arrives well within the read timeout, so only the wall-clock deadline can end this.
    with LinkServer(ADDRESSES[:1]) as srv:
        start = time.monotonic()
        (result,), checker = check([srv.slow_headers_url], read_timeout=5, url_deadline=1.0)
        assert result.verdict is Verdict.transient and "deadline" in result.explanation
        assert time.monotonic() - start < 15 and checker.stats.deadline_kills == 1  # the drip lasts MAX_HANG


def test_an_empty_list_returns_at_once_and_a_checker_can_run_again() -> None:
    checker = Checker(quick_options(), detectors=[])
    assert checker.check([]) == []
    with LinkServer(ADDRESSES[:1]) as srv:
        assert [r.verdict for r in checker.check([srv.url("/ok")])] == [Verdict.ok]
        assert [r.verdict for r in checker.check([srv.url("/status/404")])] == [Verdict.broken]


def test_a_bug_in_a_worker_is_reported_on_its_url_and_counted(monkeypatch) -> None:
    from learnpath.linkcheck.request import Requester

    def broken(self, job, host):
        raise RuntimeError("boom")

    monkeypatch.setattr(Requester, "step", broken)
    with LinkServer(ADDRESSES[:1]) as srv:
        (result,), checker = check([srv.url("/ok")])
        assert result.verdict is Verdict.transient and "internal error while checking: RuntimeError: boom" in \
            result.explanation
        assert checker.stats.internal_errors == 1
