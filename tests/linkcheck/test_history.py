"""The history's rules: confirmation over runs hours apart, strict mode, caching, safe files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from learnpath.linkcheck.history import History, HistoryError, Policy, format_time
from learnpath.linkcheck.verdicts import Result, Verdict

T0 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.timezone.utc)
URL = "https://example.org/page"


def result(verdict: Verdict, url: str = URL) -> Result:
    status = {Verdict.ok: 200, Verdict.broken: 404, Verdict.blocked: 403, Verdict.transient: 503}.get(verdict)
    return Result(url, verdict, status, url, 0.1, 1, f"{verdict.value} explanation", "do something")


def hours(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def test_failure_is_confirmed_only_after_n_runs_at_least_h_hours_apart() -> None:
    history, policy = History(), Policy(confirm_runs=2, confirm_hours=12)
    first = history.record(result(Verdict.broken), hours(0), policy)
    assert not first.confirmed and (first.failed_runs, first.first_failure) == (1, format_time(hours(0)))
    # A re-run the same evening does not count as a second night.
    assert not history.record(result(Verdict.broken), hours(2), policy).confirmed
    assert not history.record(result(Verdict.broken), hours(11.9), policy).confirmed
    assert history.entries[URL].consecutive_failures == 1
    assert history.entries[URL].last["confirmed"] is False
    second = history.record(result(Verdict.broken), hours(12), policy)
    assert second.confirmed and second.explanation == "broken explanation" and second.failed_runs == 2
    assert history.entries[URL].first_failure == format_time(hours(0))
    # The decision is stored, so readers of the file (the site) need not know the run's policy.
    assert history.entries[URL].last["confirmed"] is True


def test_the_saved_time_is_kept_on_loading(tmp_path: Path) -> None:
    history = History(path=tmp_path / "h.json")
    history.record(result(Verdict.ok), hours(0), Policy())
    history.save(now=hours(1))
    assert History.load(tmp_path / "h.json", now=hours(2)).saved == hours(1)


def test_three_runs_needed_when_configured() -> None:
    history, policy = History(), Policy(confirm_runs=3, confirm_hours=1)
    assert [history.record(result(Verdict.broken), hours(h), policy).confirmed for h in (0, 1, 2)] == [
        False, False, True]


def test_success_resets_the_streak() -> None:
    history, policy = History(), Policy()
    history.record(result(Verdict.broken), hours(0), policy)
    history.record(result(Verdict.ok), hours(24), policy)
    assert history.entries[URL].consecutive_failures == 0 and history.entries[URL].first_failure is None
    assert not history.record(result(Verdict.broken), hours(48), policy).confirmed


def test_unverifiable_neither_counts_nor_clears() -> None:
    history, policy = History(), Policy()
    history.record(result(Verdict.broken), hours(0), policy)
    blocked = history.record(result(Verdict.blocked), hours(24), policy)
    assert not blocked.confirmed and history.entries[URL].consecutive_failures == 1
    assert history.record(result(Verdict.broken), hours(48), policy).confirmed


def test_strict_confirms_on_first_failure_and_invalid_is_always_confirmed() -> None:
    assert History().record(result(Verdict.broken), hours(0), Policy(strict=True)).confirmed
    assert History().record(result(Verdict.invalid), hours(0), Policy()).confirmed
    assert not History().record(result(Verdict.transient), hours(0), Policy(strict=True)).confirmed


def test_successes_are_cached_within_max_age_and_failures_never() -> None:
    history, policy = History(), Policy(max_age=3600)
    history.record(result(Verdict.ok), hours(0), policy)
    cached = history.cached(URL, hours(0.5), policy)
    assert cached is not None and cached.verdict is Verdict.ok and cached.cached_at == format_time(hours(0))
    assert cached.explanation == "ok explanation"  # the fact is a field; the report says "cached"
    assert history.cached(URL, hours(1), policy) is None  # expired
    assert history.cached(URL, hours(0.5), Policy(max_age=0)) is None  # disabled
    for verdict in (Verdict.broken, Verdict.blocked, Verdict.transient):
        other = f"https://example.org/{verdict.value}"
        history.record(result(verdict, other), hours(0), policy)
        assert history.cached(other, hours(0.1), policy) is None


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history.json"
    path.parent.mkdir()  # the writer never creates a directory on its own (test_atomic.py)
    history, policy = History.load(path), Policy()
    assert history.entries == {}
    history.record(result(Verdict.broken), hours(0), policy)
    history.remember_snapshot(URL, "https://web.archive.org/web/2020/x", hours(0))
    history.save(now=hours(0))
    again = History.load(path)
    assert again.entries == history.entries
    assert again.record(result(Verdict.broken), hours(12), policy).confirmed
    assert again.snapshot_for(URL, hours(1)) == (True, "https://web.archive.org/web/2020/x")
    assert again.snapshot_for(URL, hours(24 * 8)) == (False, None)
    assert [p.name for p in path.parent.iterdir()] == ["history.json"]  # no temporary files left


def test_old_entries_are_forgotten(tmp_path: Path) -> None:
    history = History(path=tmp_path / "h.json")
    history.record(result(Verdict.ok), hours(0), Policy())
    history.save(now=hours(24 * 91))
    assert History.load(tmp_path / "h.json").entries == {}


@pytest.mark.parametrize("content, message", [
    ("{\"version\": 1, \"entries\": {", "not valid JSON"),
    ("[]", "not a link-check history"),
    ("{\"version\": 99, \"entries\": {}}", "history version 99 is not one this learnpath reads"),
    ("{\"version\": 1, \"entries\": []}", "\"entries\" must be an object"),
])
def test_damaged_history_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "history.json"
    path.write_text(content)
    with pytest.raises(HistoryError) as caught:
        History.load(path)
    text = str(caught.value)
    assert message in text and str(path) in text and "--no-history" in text


def test_saved_file_is_plain_versioned_json(tmp_path: Path) -> None:
    history = History(path=tmp_path / "h.json")
    history.record(result(Verdict.ok), hours(0), Policy())
    history.save(now=hours(0))
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["version"] == 1 and data["entries"][URL]["last"]["verdict"] == "ok"
    assert "uses" not in data["entries"][URL]["last"]


GOOD_LAST = {"url": URL, "verdict": "ok", "status": 200, "final_url": URL, "elapsed": 0.1, "attempts": 1,
             "explanation": "200 OK", "suggestion": "nothing to do", "confirmed": False}
GOOD = {"last": GOOD_LAST, "last_checked": "2026-11-20T03:00:00Z", "consecutive_failures": 0,
        "first_failure": None, "last_counted_failure": None, "snapshot": None, "snapshot_checked": None}


@pytest.mark.parametrize(("change", "words"), [
    ({"last": "ok"}, "must be an object"),
    ({"last": {**GOOD_LAST, "verdict": "weird"}}, "'weird' is not a valid Verdict"),
    ({"last": {**GOOD_LAST, "attempts": "3"}}, "'attempts' has the wrong type"),
    ({"last": {**GOOD_LAST, "redirects": [[301]]}}, "'redirects' must hold"),
    ({"last": {**GOOD_LAST, "url": "https://example.org/other"}}, "another URL"),
    ({"last_checked": 5}, "'last_checked' is not a time"),
    ({"last_checked": "2999-01-01T00:00:00Z"}, "'last_checked' is in the future"),
    ({"consecutive_failures": "2"}, "'consecutive_failures' must be a count"),
    ({"consecutive_failures": True}, "must be a count"),
    ({"consecutive_failures": -1}, "must be a count"),
    ({"last_counted_failure": 7}, "'last_counted_failure' is not a time"),
    ({"snapshot_checked": "soon"}, "'snapshot_checked' is not a time"),
    ({"snapshot": ["x"]}, "'snapshot' must be a URL"),
    ({"extra": 1}, "unknown keys ['extra']"),
])
def test_a_damaged_entry_is_dropped_with_a_warning(tmp_path: Path, change: dict, words: str) -> None:
    # Each of these used to load, then fail after the whole run (exit 3) or, for a time in
    # the future, keep the URL cached until then.
    path = tmp_path / "history.json"
    other = "https://example.org/fine"
    entries = {URL: {**GOOD, **change}, other: {**GOOD, "last": {**GOOD_LAST, "url": other}}}
    path.write_text(json.dumps({"version": 1, "entries": entries}))
    history = History.load(path, now=hours(24))
    assert list(history.entries) == [other]
    (warning,) = history.warnings
    assert f"the entry for {URL} is damaged" in warning and words in warning and "checked afresh" in warning
    policy = Policy()
    history.record(result(Verdict.broken), hours(25), policy)  # nothing left in the file can fail later
    history.save(now=hours(25))
    assert set(json.loads(path.read_text())["entries"]) == {URL, other}


def test_a_time_slightly_ahead_is_clock_skew_not_damage(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"version": 1, "entries": {URL: {**GOOD, "last_checked": format_time(hours(0.5))}}}))
    history = History.load(path, now=hours(0))
    assert list(history.entries) == [URL] and history.warnings == []
