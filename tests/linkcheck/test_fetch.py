"""Every verdict, from one run of the checker over all of the test server's cases.

The matrix runs once per module (all cases concurrently, as a real run does);
each case is then its own test so a failure names the case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from learnpath.linkcheck import Checker, Result, Verdict
from learnpath.linkcheck.report import why
from tests.linkcheck.conftest import MAIN, OTHER, TUBE, loopback_detectors, quick_options
from tests.linkcheck.server import LinkServer

# (case id, how to build its URL, verdict, words the explanation must contain)
CASES: list[tuple[str, Callable[[LinkServer], str], Verdict, str]] = [
    ("200", lambda s: s.url("/ok"), Verdict.ok, "200"),
    ("404", lambda s: s.url("/status/404"), Verdict.broken, "404 Not Found"),
    ("410", lambda s: s.url("/status/410"), Verdict.broken, "410 Gone"),
    ("500 then 200", lambda s: s.url("/flaky/matrix?fail=2"), Verdict.ok, "200"),
    ("500 always", lambda s: s.url("/flaky/matrix-always?fail=99"), Verdict.transient, "500"),
    ("301 chain", lambda s: s.url("/chain/301/3"), Verdict.redirected, "permanently redirected"),
    ("308 chain", lambda s: s.url("/chain/308/2"), Verdict.redirected, "308"),
    ("302 chain to 200", lambda s: s.url("/chain/302/3"), Verdict.ok, "3 temporary redirect"),
    ("307 chain to 200", lambda s: s.url("/chain/307/1"), Verdict.ok, "temporary redirect"),
    ("302 then 301", lambda s: s.url("/chain/mixed/3"), Verdict.redirected, "permanently"),
    ("cross-host 302", lambda s: s.url("/redirect?to=" + s.url("/ok", OTHER)), Verdict.ok, "1 temporary"),
    ("redirect loop", lambda s: s.url("/loop/a"), Verdict.broken, "redirect loop"),
    ("too many redirects", lambda s: s.url("/chain/302/12"), Verdict.broken, "more than 10 redirects"),
    ("redirect to ftp", lambda s: s.url("/redirect?to=ftp://127.0.0.1/x"), Verdict.invalid, "ftp"),
    ("429 then 200", lambda s: s.url("/ratelimit/matrix?after=1", OTHER), Verdict.ok, "200"),
    ("HEAD 405 GET 200", lambda s: s.url("/head405"), Verdict.ok, "200"),
    ("never answers", lambda s: s.url("/hang"), Verdict.transient, "timed out"),
    ("headers then silence", lambda s: s.url("/hang-body#intro"), Verdict.transient, "timed out"),
    ("refused connection", lambda s: s.refused_url, Verdict.broken, "connection refused"),
    ("fragment present (id)", lambda s: s.url("/page#intro"), Verdict.ok, "200"),
    ("fragment present (name)", lambda s: s.url("/page#legacy"), Verdict.ok, "200"),
    ("fragment present (GitHub user-content-)", lambda s: s.url("/page#gh"), Verdict.ok, "200"),
    ("fragment missing", lambda s: s.url("/page#no-such-section"), Verdict.fragment_missing, "no-such-section"),
    ("fragment after redirect", lambda s: s.url("/chain/302/1#gone"), Verdict.fragment_missing, "'gone'"),
    ("fragment on plain text", lambda s: s.url("/text#whatever"), Verdict.ok, "not HTML"),
    ("text fragment not checked", lambda s: s.url("/page#:~:text=hello"), Verdict.ok, "200"),
    ("YouTube removed video", lambda s: s.url("/watch?v=goneAAAAAAA", TUBE), Verdict.soft_broken, "isn't available"),
    ("YouTube private video", lambda s: s.url("/watch?v=privateAAAA", TUBE), Verdict.soft_broken, "private"),
    ("YouTube oEmbed 404", lambda s: s.url("/watch?v=oembedgone0", TUBE), Verdict.soft_broken, "oEmbed"),
    ("YouTube consent wall, oEmbed 404", lambda s: s.url("/watch?v=consentgone", TUBE), Verdict.soft_broken, "404"),
    ("YouTube consent wall, oEmbed 200", lambda s: s.url("/watch?v=consentAAAA", TUBE), Verdict.ok, "200"),
    ("YouTube live video", lambda s: s.url("/watch?v=aliveAAAAAA", TUBE), Verdict.ok, "200"),
    ("YouTube age gate is alive", lambda s: s.url("/watch?v=agegateAAAA", TUBE), Verdict.ok, "200"),
    ("YouTube embed form, oEmbed 404", lambda s: s.url("/embed/goneAAAAAAA", TUBE), Verdict.soft_broken, "oEmbed"),
    # Read because of its fragment; recognised by its player status, not its address.
    ("YouTube page at another address", lambda s: s.url("/watch?v=goneAAAAAAA#c", OTHER), Verdict.soft_broken,
     "isn't available"),
    ("huge body", lambda s: s.url("/huge#somewhere"), Verdict.ok, "not verified"),
    ("slow drip", lambda s: s.url("/drip#x"), Verdict.transient, "timed out"),
    ("not HTTP", lambda s: s.garbage_url, Verdict.broken, "did not answer with HTTP"),
    ("self-signed TLS", lambda s: s.tls_url(), Verdict.broken, "TLS"),
    ("403 bot challenge", lambda s: s.url("/challenge"), Verdict.blocked, "challenge"),
    ("503 bot challenge", lambda s: s.url("/challenge503"), Verdict.blocked, "challenge"),
    ("plain 403", lambda s: s.url("/status/403"), Verdict.blocked, "403"),
    ("999", lambda s: s.url("/status/999"), Verdict.blocked, "999"),
    ("401", lambda s: s.url("/status/401"), Verdict.blocked, "401"),
    ("soft 404 title", lambda s: s.url("/soft404"), Verdict.ok, "200"),  # HEAD only: no body looked at
    ("mailto", lambda s: "mailto:someone@example.org", Verdict.invalid, "only http and https"),
    ("credentials", lambda s: s.url("/ok").replace("http://", "http://user:pw@"), Verdict.invalid, "credentials"),
    ("bad port", lambda s: "http://127.0.0.1:99999/", Verdict.invalid, "malformed"),
]


MATRIX_OPTIONS = dict(read_timeout=1.0, url_deadline=2.5)  # the hung cases bound the run's time
MATRIX_PATHS: Counter = Counter()  # requests per path on the main host during the matrix run


@pytest.fixture(scope="module")
def matrix(link_server: LinkServer) -> dict[str, Result]:
    urls = {case: build(link_server) for case, build, _, _ in CASES}
    checker = Checker(quick_options(**MATRIX_OPTIONS), loopback_detectors(link_server))
    before = Counter(link_server.counters(MAIN).paths)
    results = checker.check(list(urls.values()))
    MATRIX_PATHS.update(link_server.counters(MAIN).paths - before)
    by_url = {r.url: r for r in results}
    return {case: by_url[url] for case, url in urls.items()}


@pytest.mark.parametrize(("case", "verdict", "words"), [(c, v, w) for c, _, v, w in CASES],
                         ids=[c for c, *_ in CASES])
def test_verdict(matrix: dict[str, Result], case: str, verdict: Verdict, words: str) -> None:
    result = matrix[case]
    assert result.verdict is verdict, f"{case}: {result}"
    assert words in why(result), why(result)
    assert result.suggestion and "\n" not in result.explanation


def test_every_verdict_is_covered() -> None:
    assert {v for _, _, v, _ in CASES} == set(Verdict)


def test_permanent_redirect_suggests_the_final_url(matrix: dict[str, Result], link_server: LinkServer) -> None:
    result = matrix["301 chain"]
    assert result.final_url == link_server.url("/chain/301/0")
    assert link_server.url("/chain/301/0") in result.suggestion
    assert [code for code, _ in result.redirects] == [301, 301, 301]


def test_results_carry_status_attempts_and_time(matrix: dict[str, Result]) -> None:
    assert matrix["404"].status == 404 and matrix["410"].status == 410
    assert matrix["500 then 200"].attempts == 3  # HEAD 500, GET 500, then GET 200 after a backoff
    assert matrix["500 always"].attempts == 4  # HEAD, then GET and two retries
    assert matrix["refused connection"].status is None
    assert all(r.elapsed >= 0 for r in matrix.values())
    assert matrix["mailto"].attempts == 0


def test_a_timed_out_url_is_tried_once(matrix: dict[str, Result], link_server: LinkServer) -> None:
    assert matrix["never answers"].attempts == 1
    assert MATRIX_PATHS["/hang"] == 1


def test_the_slow_drip_and_the_huge_body_end_by_their_deadline(matrix: dict[str, Result]) -> None:
    deadline = MATRIX_OPTIONS["url_deadline"]
    # Bounds, not timings: a drip read without a wall-clock deadline takes 100,000 s;
    # the margin is wide so a loaded CI machine cannot make this flaky.
    assert matrix["slow drip"].elapsed < deadline + 10
    assert matrix["huge body"].elapsed < deadline + 10


def test_head_first_then_get_only_when_needed(matrix: dict[str, Result], link_server: LinkServer) -> None:
    seen = link_server.counters(MAIN).methods
    assert seen["HEAD"] > 0 and seen["GET"] > 0
    assert matrix["200"].attempts == 1  # HEAD was enough
    assert matrix["HEAD 405 GET 200"].attempts == 2


def test_the_user_agent_names_the_project(link_server: LinkServer, matrix: dict[str, Result]) -> None:
    agents = link_server.counters(MAIN).user_agents
    assert agents and all(a.startswith("learnpath-linkcheck/") and "(+https://" in a for a in agents)
