"""The Verdict enum's queries and the Result's JSON round trip."""

from __future__ import annotations

import json

import pytest

from learnpath.catalog.problems import Location
from learnpath.linkcheck.verdicts import Result, Verdict


def test_every_verdict_is_exactly_one_of_success_failure_or_unverifiable() -> None:
    for verdict in Verdict:
        kinds = [verdict.is_success, verdict.is_failure, verdict.is_unverifiable]
        assert kinds.count(True) == 1, verdict


@pytest.mark.parametrize("verdict", ["broken", "soft_broken", "fragment_missing", "invalid"])
def test_failures(verdict: str) -> None:
    assert Verdict(verdict).is_failure and not Verdict(verdict).is_unverifiable


@pytest.mark.parametrize("verdict", ["blocked", "transient"])
def test_unverifiable_is_not_a_failure(verdict: str) -> None:
    assert Verdict(verdict).is_unverifiable and not Verdict(verdict).is_failure


def test_each_verdict_has_an_icon_label_and_suggestion_and_prints_as_its_value() -> None:
    for verdict in Verdict:
        assert verdict.icon and verdict.label and verdict.default_suggestion
        assert str(verdict) == verdict.value == f"{verdict}"
    assert Verdict.ok.icon != Verdict.broken.icon != Verdict.blocked.icon


def test_severity_puts_failures_before_unverifiable_before_ok() -> None:
    ranked = sorted(Verdict, key=lambda v: v.severity_rank)
    assert ranked[0] is Verdict.broken and ranked[-1] is Verdict.ok
    assert max(v.severity_rank for v in Verdict if v.is_failure) < Verdict.blocked.severity_rank


def test_result_round_trips_through_json() -> None:
    result = Result(
        url="https://example.org/a#b", verdict=Verdict.redirected, status=200, final_url="https://example.org/c",
        elapsed=0.123456, attempts=3, explanation="permanently redirected", suggestion="replace the URL",
        confirmed=True, uses=[Location("resources.yaml", 12, 5), Location("content/x.md", 3)],
        redirects=[(301, "https://example.org/c")],
    )
    again = Result.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == Result(**{**result.__dict__, "elapsed": 0.1235})
    assert again.verdict is Verdict.redirected and again.uses[0] == Location("resources.yaml", 12, 5)


def test_result_accepts_a_verdict_string_and_rejects_an_unknown_one() -> None:
    assert Result("u", "blocked", None, None, 0.0, 0, "", "").verdict is Verdict.blocked
    with pytest.raises(ValueError):
        Result.from_dict({"url": "u", "verdict": "fine"})
