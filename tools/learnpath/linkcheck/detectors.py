"""Recognising pages that say "gone" or "go away" while answering 200.

A *soft-404 detector* is a small function ``(url, status, headers, body_text)
-> str | None``: it returns a one-line reason when the page shows the resource
is gone, and None otherwise. Wrap it in a `Detector` to say which URLs it
needs a body for (so the checker GETs them instead of HEAD) and, optionally,
a second URL to ask (YouTube's oEmbed endpoint). New sites are one function
and one line in `DEFAULT_DETECTORS` away.

Bot challenges (Cloudflare's "Just a moment...") are recognised separately by
`bot_challenge`: they make a link *unverifiable*, not broken.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Callable, Iterable, Mapping
from urllib.parse import quote, unquote

from learnpath.catalog.urls import youtube_video_id, youtube_watch_url

DetectFn = Callable[[str, int, Mapping[str, str], str], "str | None"]


def _never(url: str) -> bool:
    return False


@dataclass(frozen=True)
class Detector:
    """A soft-404 detector and when it applies.

    detect:      ``(url, status, headers, body_text) -> reason | None``; runs on
                 every 2xx page whose body was read.
    wants_body:  True for URLs whose verdict depends on the body; the checker
                 then fetches them with GET (a HEAD cannot tell).
    probe_url:   for a URL, a second URL to fetch after the page says 200
                 (e.g. an oEmbed endpoint); None to skip.
    judge_probe: ``(status, body_text) -> reason | None`` for that probe.
    """

    name: str
    detect: DetectFn
    wants_body: Callable[[str], bool] = _never
    probe_url: Callable[[str], "str | None"] | None = None
    judge_probe: Callable[[int, str], "str | None"] | None = None


def as_detector(item: Detector | DetectFn) -> Detector:
    """Accept a bare detector function too (it then runs only on bodies read anyway)."""
    if isinstance(item, Detector):
        return item
    return Detector(name=getattr(item, "__name__", "detector"), detect=item)


# --- Generic: a 200 page whose title says "not found" -------------------------

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_NOT_FOUND_TITLE = re.compile(
    r"(^|\W)(404|page not found|not found|page (does not|doesn't|can't be|cannot be) (exist|found)"
    r"|page (is )?(missing|unavailable)|no longer available)(\W|$)",
    re.IGNORECASE,
)


def page_title(body_text: str) -> str | None:
    """The text of the first <title>, unescaped and with whitespace collapsed."""
    match = _TITLE.search(body_text[:200_000])
    if not match:
        return None
    return " ".join(html.unescape(match.group(1)).split())


def title_says_not_found(url: str, status: int, headers: Mapping[str, str], body_text: str) -> str | None:
    """A 200 HTML page titled like an error page ("Page not found", "404 ...")."""
    if not _is_html(headers):
        return None
    title = page_title(body_text)
    if title and _NOT_FOUND_TITLE.search(title):
        return f"the page answers {status} but its title says {title!r}"
    return None


# --- YouTube -----------------------------------------------------------------

YOUTUBE_OEMBED = "https://www.youtube.com/oembed"

_PLAYABILITY = re.compile(r'"playabilityStatus"\s*:\s*\{\s*"status"\s*:\s*"([A-Z_]+)"(.{0,600})', re.DOTALL)
_REASON = re.compile(r'"reason"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|\{\s*"simpleText"\s*:\s*"((?:[^"\\]|\\.)*)")')
# What YouTube's own player pages define, wherever they are served from: a page that
# has one of these and a player status is a video page, whatever its address.
_PLAYER_MARKERS = ("ytInitialPlayerResponse", "ytplayer.config", "ytcfg.set(")
# Shown on the page when the player's JSON is absent (older layouts, embeds).
_GONE_PHRASES = (
    "This video isn't available anymore",
    "This video isn\\u0027t available anymore",
    "This video has been removed",
    "This video is private",
    "This video is no longer available",
)


def plays_youtube(body_text: str) -> bool:
    """Whether the page is a YouTube player page (by its content, not its address)."""
    head = body_text[:2_000_000]
    return any(marker in head for marker in _PLAYER_MARKERS) and '"playabilityStatus"' in head


def youtube_page_gone(body_text: str) -> str | None:
    """Read the player's status out of a watch page; None if the video plays."""
    match = _PLAYABILITY.search(body_text)
    if match:
        status, tail = match.group(1), match.group(2)
        reason_match = _REASON.search(tail)
        reason = ""
        if reason_match:
            raw = reason_match.group(1) or reason_match.group(2) or ""
            reason = raw.replace("\\u0027", "'").replace('\\"', '"')
        if status in ("ERROR", "UNPLAYABLE"):
            return f"YouTube says the video is unavailable ({status}{': ' + reason if reason else ''})"
        # LOGIN_REQUIRED also covers age checks, which are alive; only "private" is gone.
        if status == "LOGIN_REQUIRED" and "private" in reason.lower():
            return f"YouTube says the video is private ({reason})"
        return None
    for phrase in _GONE_PHRASES:
        if phrase in body_text:
            return f"YouTube's page says {phrase.replace(chr(92) + 'u0027', chr(39))!r}"
    title = page_title(body_text)
    if title is not None and title.strip().lower() in ("youtube", "- youtube", "video unavailable"):
        # A removed video's page keeps the bare site title; a live one has the video's name.
        if "Video unavailable" in body_text:
            return "YouTube's page says 'Video unavailable'"
    return None


def youtube_detector(hosts: Iterable[str] = (), oembed_base: str | None = YOUTUBE_OEMBED) -> Detector:
    """YouTube answers 200 for removed and private videos; ask the page and oEmbed.

    Which URLs are videos is `learnpath.catalog.urls.youtube_video_id`'s to say
    (every address form: watch, youtu.be, embed and youtube-nocookie.com,
    shorts, live); ``hosts`` adds hosts to treat as YouTube, and
    ``oembed_base`` moves the oEmbed endpoint (tests play both on loopback).
    A page is also judged by what it says: a YouTube player page with a dead
    status is caught at any address.
    """
    extra = frozenset(h.lower() for h in hosts)

    def video(url: str) -> str | None:
        return youtube_video_id(url, extra_hosts=extra)

    def detect(url: str, status: int, headers: Mapping[str, str], body_text: str) -> str | None:
        if video(url) is None and not plays_youtube(body_text):
            return None
        return youtube_page_gone(body_text)

    def probe_url(url: str) -> str | None:
        vid = video(url)
        if oembed_base is None or vid is None:
            return None
        # Asked about the video's canonical address, whichever form the catalog links.
        return f"{oembed_base}?url={quote(youtube_watch_url(vid), safe='')}&format=json"

    def judge_probe(status: int, body_text: str) -> str | None:
        if status == 404:
            return "YouTube's oEmbed endpoint does not know the video (404): it was removed"
        if status == 401:
            return "YouTube's oEmbed endpoint refuses the video (401): it is private or removed"
        return None

    return Detector(
        name="youtube",
        detect=detect,
        wants_body=lambda url: video(url) is not None,
        probe_url=probe_url,
        judge_probe=judge_probe,
    )


def default_detectors(youtube_oembed: str | None = YOUTUBE_OEMBED,
                      youtube_hosts: Iterable[str] = ()) -> tuple[Detector, ...]:
    """The built-in detectors; ``youtube_oembed=None`` skips the oEmbed second opinion."""
    return (
        youtube_detector(hosts=youtube_hosts, oembed_base=youtube_oembed),
        Detector(name="title-not-found", detect=title_says_not_found),
    )


DEFAULT_DETECTORS: tuple[Detector, ...] = default_detectors()


# --- Bot challenges ------------------------------------------------------------

_CHALLENGE_MARKERS = (
    "<title>Just a moment...</title>",
    "cf-chl-",
    "_cf_chl_opt",
    "/cdn-cgi/challenge-platform/",
    "Attention Required! | Cloudflare",
    "cf-browser-verification",
    "Checking your browser before accessing",
    "DDoS protection by",
    "captcha-delivery.com",  # DataDome
    "_Incapsula_Resource",
    "/_sec/cp_challenge/",  # Akamai
)


def bot_challenge(status: int, headers: Mapping[str, str], body_text: str) -> str | None:
    """A page that asks a browser to prove it is human; None otherwise."""
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return "Cloudflare answers with a bot challenge (cf-mitigated: challenge)"
    head = body_text[:100_000]
    for marker in _CHALLENGE_MARKERS:
        if marker in head:
            return f"the site answers {status} with a bot-challenge page ({marker.strip('<>/')!r})"
    return None


# --- Fragments -------------------------------------------------------------------


class AnchorCollector(HTMLParser):
    """Collects id and name attributes while the body streams in, chunk by chunk.

    `html.parser` keeps unfinished markup between `feed` calls, so chunk
    boundaries may fall anywhere. ``wanted`` lets the caller stop reading as
    soon as every fragment it looks for has been seen.
    """

    def __init__(self, wanted: Iterable[str] = ()):
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.wanted = set(wanted)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.anchors.add(value)

    handle_startendtag = handle_starttag

    @property
    def done(self) -> bool:
        """Every wanted fragment has been found."""
        return bool(self.wanted) and all(has_anchor(self.anchors, f) for f in self.wanted)


def has_anchor(anchors: set[str], fragment: str) -> bool:
    """Whether ``fragment`` names an anchor, allowing the forms browsers and sites use."""
    candidates = {fragment, unquote(fragment)}
    # GitHub prefixes rendered Markdown ids with "user-content-" and resolves
    # "#foo" to it in script; treat them as the same anchor.
    candidates |= {"user-content-" + c for c in list(candidates)}
    return bool(candidates & anchors)


def checkable_fragment(fragment: str) -> bool:
    """False for fragments that are not element ids: text fragments, SPA routes, PDF args."""
    if not fragment or fragment.startswith((":~:", "/", "!")):
        return False
    if fragment in ("top",):  # HTML defines #top as the top of the document
        return False
    return True


def _is_html(headers: Mapping[str, str]) -> bool:
    ctype = headers.get("content-type", "").lower()
    return not ctype or "html" in ctype
