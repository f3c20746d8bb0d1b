"""Wayback availability lookups against a loopback fake: answers, no answers, and bad days."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from learnpath.linkcheck import wayback
from tests.linkcheck.wayback_fake import FakeWayback, wayback_fake


@pytest.fixture
def fake() -> Iterator[str]:
    with wayback_fake() as url:
        yield url


def test_closest_snapshot_is_found_and_served_over_https(fake: str) -> None:
    snap = wayback.closest_snapshot("https://example.org/archived", fake, timeout=2)
    assert snap == wayback.Snapshot("https://web.archive.org/web/20200102030405/https://example.org/archived",
                                    "20200102030405")
    assert FakeWayback.asked == ["https://example.org/archived"]


@pytest.mark.parametrize("case", ["none", "error", "garbage", "dead404"])
def test_no_usable_answer_means_no_suggestion(fake: str, case: str) -> None:
    assert wayback.closest_snapshot(f"https://example.org/{case}", fake, timeout=2) is None


def test_unreachable_or_hanging_archive_is_not_an_error(fake: str) -> None:
    start = time.monotonic()
    assert wayback.closest_snapshot("https://example.org/hang", fake, timeout=0.5) is None
    assert wayback.closest_snapshot("https://example.org/x", "http://127.0.0.1:9/available", timeout=0.5) is None
    assert time.monotonic() - start < 2.5


def test_lookup_many_answers_each_url_once_within_its_deadline(fake: str) -> None:
    urls = ["https://example.org/archived", "https://example.org/none", "https://example.org/archived",
            "https://example.org/hang"]
    start = time.monotonic()
    answers = wayback.lookup_many(urls, fake, timeout=0.5)
    assert time.monotonic() - start < 2.5
    assert answers["https://example.org/archived"].timestamp == "20200102030405"
    assert answers["https://example.org/none"] is None
    assert answers.get("https://example.org/hang") is None
    assert sorted(FakeWayback.asked) == sorted(set(urls))
