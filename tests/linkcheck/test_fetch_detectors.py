"""Soft-404 detectors, bot-challenge recognition and streamed anchor collection."""

from __future__ import annotations

import pytest

from learnpath.linkcheck import Checker, Verdict
from learnpath.linkcheck.detectors import (
    AnchorCollector,
    bot_challenge,
    checkable_fragment,
    has_anchor,
    page_title,
    title_says_not_found,
    youtube_detector,
    youtube_page_gone,
)
from learnpath.catalog.urls import normalize_url, youtube_video_id
from learnpath.linkcheck.transport import parse_retry_after
from tests.linkcheck.conftest import quick_options
from tests.linkcheck.server import PAGE, LinkServer

HTML = {"content-type": "text/html; charset=utf-8"}


VID = "AbCdEfGhIjK"


@pytest.mark.parametrize(("url", "vid"), [
    (f"https://www.youtube.com/watch?v={VID}&t=5s", VID),
    (f"https://youtube.com/watch/?v={VID}", VID),
    (f"https://m.youtube.com/watch?v={VID}", VID),
    (f"https://music.youtube.com/watch?v={VID}", VID),
    (f"https://youtu.be/{VID}?si=x", VID),
    (f"https://www.youtube.com/shorts/{VID}", VID),
    (f"https://www.youtube.com/live/{VID}?feature=share", VID),
    (f"https://www.youtube.com/embed/{VID}?start=30", VID),
    (f"https://www.youtube-nocookie.com/embed/{VID}", VID),
    (f"https://youtube-nocookie.com/embed/{VID}", VID),
    (f"https://www.youtube.com/v/{VID}", VID),
    ("https://www.youtube.com/@channel", None),
    ("https://www.youtube.com/playlist?list=PL1", None),
    (f"https://www.youtube.com.evil.test/watch?v={VID}", None),
    (f"https://example.org/watch?v={VID}", None),
])
def test_youtube_video_ids_one_home_for_the_checker_and_the_catalog(url: str, vid: str | None) -> None:
    # The catalog's duplicate check and the soft-404 detector read the same function;
    # a video's every form is one address to the one and a video to the other.
    assert youtube_video_id(url) == vid
    assert (normalize_url(url) == f"https://youtube.com/watch?v={VID}") is (vid is not None)
    assert youtube_detector(oembed_base=None).wants_body(url) is (vid is not None)


@pytest.mark.parametrize(("body", "gone"), [
    ('"playabilityStatus":{"status":"ERROR","reason":"This video isn\\u0027t available anymore"}', True),
    ('"playabilityStatus": {"status": "UNPLAYABLE", "reason": {"simpleText": "Video unavailable"}}', True),
    ('"playabilityStatus":{"status":"LOGIN_REQUIRED","reason":"This video is private"}', True),
    ('"playabilityStatus":{"status":"LOGIN_REQUIRED","reason":"Sign in to confirm your age"}', False),
    ('"playabilityStatus":{"status":"OK","playableInEmbed":true}', False),
    ("<title>- YouTube</title><div>This video isn't available anymore</div>", True),
    ("<title>A talk - YouTube</title><p>Some comment mentions Video unavailable</p>", False),
    ("<title>Before you continue to YouTube</title>", False),
])
def test_youtube_page_status(body: str, gone: bool) -> None:
    assert (youtube_page_gone(body) is not None) is gone


def test_the_youtube_reason_is_quoted_readably() -> None:
    reason = youtube_page_gone('"playabilityStatus":{"status":"ERROR","reason":"This video isn\\u0027t available anymore"}')
    assert reason is not None and "isn't available anymore" in reason and "ERROR" in reason


def test_youtube_detector_asks_oembed_about_the_canonical_address_and_reads_its_answer() -> None:
    detector = youtube_detector(oembed_base="http://127.0.0.1:1/oembed")
    assert detector.wants_body(f"https://youtu.be/{VID}") and not detector.wants_body("https://example.org/")
    expected = f"http://127.0.0.1:1/oembed?url=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3D{VID}&format=json"
    for form in (f"https://youtu.be/{VID}", f"https://www.youtube-nocookie.com/embed/{VID}",
                 f"https://www.youtube.com/shorts/{VID}"):
        assert detector.probe_url(form) == expected
    assert detector.probe_url(f"https://example.org/watch?v={VID}") is None
    assert detector.judge_probe(404, "") and detector.judge_probe(401, "")
    assert detector.judge_probe(200, "{}") is None and detector.judge_probe(500, "") is None
    assert youtube_detector(oembed_base=None).probe_url(f"https://youtu.be/{VID}") is None


def test_a_dead_video_is_recognised_by_its_page_at_any_address() -> None:
    detect = youtube_detector(oembed_base=None).detect
    gone = ('<script>var ytInitialPlayerResponse = {"playabilityStatus":{"status":"ERROR",'
            '"reason":"Video unavailable"}};</script>')
    assert detect("https://mirror.example/v/1", 200, HTML, gone)  # not a YouTube address: its page says it
    quoted = '<pre>"playabilityStatus":{"status":"ERROR"}</pre>'  # a post about the API, not a player
    assert detect("https://blog.example/api", 200, HTML, quoted) is None


@pytest.mark.parametrize(("title", "flagged"), [
    ("Page not found | Example", True), ("404 - File or directory not found.", True), ("Not Found", True),
    ("Oops! This page doesn't exist", True), ("Attention Is All You Need", False),
    ("HTTP/2 explained", False), ("Finding the 4040 token", False), ("Transformers", False),
])
def test_generic_title_detector(title: str, flagged: bool) -> None:
    body = f"<html><head><title>\n {title} </title></head></html>"
    assert (title_says_not_found("https://example.org/", 200, HTML, body) is not None) is flagged


def test_title_detector_ignores_non_html_and_reads_entities() -> None:
    assert title_says_not_found("u", 200, {"content-type": "application/pdf"}, "<title>404</title>") is None
    assert page_title("<TITLE>Page&nbsp;not found</TITLE>") == "Page not found"


@pytest.mark.parametrize(("headers", "body", "challenge"), [
    ({}, "<html><head><title>Just a moment...</title></head></html>", True),
    ({"cf-mitigated": "challenge"}, "", True),
    ({}, "<script>window._cf_chl_opt={}</script>", True),
    ({}, "<html><title>Forbidden</title></html>", False),
    ({"server": "cloudflare"}, "<html><title>A normal page</title></html>", False),
])
def test_bot_challenges(headers: dict[str, str], body: str, challenge: bool) -> None:
    assert (bot_challenge(403, headers, body) is not None) is challenge


def test_anchors_are_collected_whatever_the_chunk_boundaries() -> None:
    collector = AnchorCollector()
    for char in PAGE:  # one character at a time: every tag is split somewhere
        collector.feed(char)
    assert {"intro", "legacy", "user-content-gh"} <= collector.anchors


def test_collector_is_done_once_every_wanted_anchor_is_seen() -> None:
    collector = AnchorCollector(wanted={"a", "b"})
    collector.feed("<p id='a'></p>")
    assert not collector.done
    collector.feed("<a name=b>")
    assert collector.done


@pytest.mark.parametrize(("anchors", "fragment", "found"), [
    ({"intro"}, "intro", True), ({"user-content-intro"}, "intro", True), ({"caf\u00e9"}, "caf%C3%A9", True),
    ({"Intro"}, "intro", False), (set(), "x", False),
])
def test_has_anchor(anchors: set[str], fragment: str, found: bool) -> None:
    assert has_anchor(anchors, fragment) is found


@pytest.mark.parametrize(("fragment", "checked"), [
    ("intro", True), ("", False), (":~:text=hi", False), ("/route", False), ("!/hashbang", False), ("top", False),
])
def test_which_fragments_are_checked(fragment: str, checked: bool) -> None:
    assert checkable_fragment(fragment) is checked


def test_a_plain_function_is_a_pluggable_detector() -> None:
    def says_retired(url, status, headers, body):
        return "the page says it was retired" if "healthy" in body else None

    with LinkServer(["127.0.0.1"]) as srv:
        urls = [srv.url("/page"), srv.url("/text")]
        checker = Checker(quick_options(get_bodies=True), detectors=[says_retired])
        page, text = checker.check(urls)
        assert page.verdict is Verdict.soft_broken and "retired" in page.explanation
        assert text.verdict is Verdict.ok


def test_get_bodies_lets_the_title_detector_see_every_page() -> None:
    with LinkServer(["127.0.0.1"]) as srv:
        (result,) = Checker(quick_options(get_bodies=True)).check([srv.url("/soft404")])
        assert result.verdict is Verdict.soft_broken and "Page not found" in result.explanation


@pytest.mark.parametrize(("value", "seconds"), [
    ("7", 7.0), (" 0 ", 0.0), ("Thu, 01 Jan 1970 00:01:40 GMT", 40.0), ("Thu, 01 Jan 1970 00:00:10 GMT", 0.0),
    ("soon", None), (None, None), ("-5", None),
])
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=60.0) == seconds
