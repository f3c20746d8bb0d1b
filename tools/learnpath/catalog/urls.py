"""When are two URLs the same resource?

``normalize_url`` maps every spelling of one page to one comparison key:
http and https, ``www.`` or not, host case, an IDN host and its punycode
(``faß.example`` = ``xn--fa-hia.example``, encoded as the link checker
connects: `learnpath.hostnames`), a default port, a trailing slash, tracking
parameters (``utm_*``, ``si``, ``fbclid``, ...), and the many YouTube and
arXiv address forms. The key is for comparing and grouping only: fetch and
display the original URL, never the key.

``youtube_video_id`` is the one home for YouTube's address forms: the
duplicate check and the link checker's soft-404 detector both use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from learnpath.hostnames import canonical

# Parameters that only say where a click came from. Dropping them never
# changes which page is shown.
TRACKING_PARAMS = frozenset({
    "si", "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
    "mc_cid", "mc_eid", "_hsenc", "_hsmi", "feature", "ref_src", "ref_url", "pp",
})
TRACKING_PREFIXES = ("utm_",)

# Fragments that name no part of the page (or only highlight text), so two
# URLs that differ only by them are the same page.
TRIVIAL_FRAGMENTS = frozenset({"", "top", "content", "main", "main-content", "maincontent", "page"})

_DEFAULT_PORTS = {"http": 80, "https": 443}
# After "www." is dropped: every host that serves a video's page, embed or short link.
YOUTUBE_HOSTS = frozenset({
    "youtube.com", "m.youtube.com", "music.youtube.com", "youtube-nocookie.com", "youtu.be",
})
YOUTUBE_SHORT_HOST = "youtu.be"  # youtu.be/ID
# /embed/ID (also youtube-nocookie.com's), /v/ID and /e/ID (old embeds), /shorts/ID, /live/ID
_YOUTUBE_PATH = re.compile(r"^/(?:embed|v|e|shorts|live)/([^/]+)$")
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
# On a video, these only pick a playlist position or a start time.
_YOUTUBE_VIDEO_NOISE = frozenset({"list", "index", "t", "start", "ab_channel", "pp"})
_ARXIV_PATH = re.compile(
    r"^/(?:abs|pdf|html|format)/(?P<id>\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?/?$"
)


def normalize_url(url: str) -> str:
    """A comparison key: equal keys mean the same resource.

    Never raises: a string that is not a URL comes back stripped and
    lower-cased, so it still compares equal to itself.
    """
    text = url.strip()
    try:
        scheme, netloc, path, query, fragment = urlsplit(text)
        host, port = _host_port(netloc)
    except ValueError:  # e.g. "http://[::1" or a port that is not a number
        return text.lower()
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return text.lower()
    if host.startswith("www."):
        host = host[4:]
    # http and https of one page are one resource: compare as https, so
    # either default port means no port.
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = _normalize_path(path)
    pairs = _clean_query(query) if query else []
    if fragment and _trivial_fragment(fragment):
        fragment = ""

    special = _youtube(host, path, pairs) or _arxiv(host, path)
    if special is not None:
        return special
    return urlunsplit(("https", netloc, path, urlencode(pairs) if pairs else "", fragment))


def _host_port(netloc: str) -> tuple[str, int | None]:
    """Lower-cased host and port of ``user:pw@host:port`` (ValueError if malformed)."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        if end < 0:
            raise ValueError("unterminated IPv6 address")
        host, rest = hostport[: end + 1], hostport[end + 1:]
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = hostport.partition(":")
    port = None
    if port_text:
        if not port_text.isdigit() or int(port_text) > 65535:
            raise ValueError(f"bad port {port_text!r}")
        port = int(port_text)
    return canonical(host.rstrip(".")), port


def same_url(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are spellings of the same resource."""
    return normalize_url(a) == normalize_url(b)


_PLAIN_PATH = re.compile(r"^[A-Za-z0-9/:@!$&'()*+,;=~._-]*$")


def _normalize_path(path: str) -> str:
    # Decode then re-encode so "%7E" and "~" compare equal. Most paths are
    # already plain ASCII: skip the round trip for them.
    if not _PLAIN_PATH.match(path):
        path = quote(unquote(path), safe="/:@!$&'()*+,;=~-._")
    if "//" in path:
        path = re.sub(r"/{2,}", "/", path)
    path = path.rstrip("/")
    for index in ("/index.html", "/index.htm"):
        if path.endswith(index):
            path = path[: -len(index)]
    return path


def _clean_query(query: str) -> list[tuple[str, str]]:
    pairs = [
        (key, value) for key, value in parse_qsl(query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    return sorted(pairs)


def _trivial_fragment(fragment: str) -> bool:
    return fragment.lower() in TRIVIAL_FRAGMENTS or fragment.startswith(":~:")


def _youtube_id(host: str, path: str, query: list[tuple[str, str]], short: bool) -> str | None:
    """The video id in a YouTube address already split and normalized, or None."""
    if short:
        video = path.strip("/").split("/")[0]
    elif path == "/watch":
        video = dict(query).get("v")
    else:
        match = _YOUTUBE_PATH.match(path)
        video = match.group(1) if match else None
    return video if video and _YOUTUBE_ID.match(video) else None


def youtube_video_id(url: str, extra_hosts: Iterable[str] = ()) -> str | None:
    """The id of the video ``url`` shows, in any of YouTube's address forms; None otherwise.

    youtu.be/ID, /watch?v=ID, /embed/ID (youtube-nocookie.com too), /shorts/ID,
    /live/ID, /v/ID, /e/ID, with or without www. or m. ``extra_hosts`` are
    treated as YouTube too (tests play it on a loopback address).
    """
    try:
        scheme, netloc, path, query, _ = urlsplit(url.strip())
        host, _ = _host_port(netloc)
    except ValueError:
        return None
    if scheme.lower() not in _DEFAULT_PORTS:
        return None
    host = host[4:] if host.startswith("www.") else host
    if host not in YOUTUBE_HOSTS and host not in extra_hosts:
        return None
    return _youtube_id(host, _normalize_path(path), _clean_query(query), short=host == YOUTUBE_SHORT_HOST)


def youtube_watch_url(video: str) -> str:
    """The canonical address of a video (what YouTube's oEmbed endpoint is asked about)."""
    return f"https://www.youtube.com/watch?v={video}"


def _youtube(host: str, path: str, query: list[tuple[str, str]]) -> str | None:
    """Every address of one video -> one key; other YouTube pages keep their parameters."""
    if host not in YOUTUBE_HOSTS:
        return None
    video = _youtube_id(host, path, query, short=host == YOUTUBE_SHORT_HOST)
    if video is None:
        # A playlist, channel or other page: keep its parameters.
        return urlunsplit(("https", "youtube.com", path, urlencode(query), ""))
    return f"https://youtube.com/watch?v={video}"


def _arxiv(host: str, path: str) -> str | None:
    """arXiv abs, pdf and html pages of any version are one paper."""
    if host not in ("arxiv.org", "export.arxiv.org"):
        return None
    match = _ARXIV_PATH.match(path)
    return f"https://arxiv.org/abs/{match.group('id')}" if match else None


# --------------------------------------------------------------------------- #
# Tracking parameters in a catalog URL (the validator refuses them)
# --------------------------------------------------------------------------- #


def _is_tracking(key: str, host: str, path: str) -> bool:
    key = key.lower()
    if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
        return True
    # On one video, a playlist position or start time is noise too (CONTRIBUTING.md).
    host = host.removeprefix("www.")
    return host in YOUTUBE_HOSTS and path in ("/watch", "") and key in _YOUTUBE_VIDEO_NOISE | {"feature"}


def _query_split(url: str) -> tuple[str, list[str], str, str, str]:
    """``(before the query, its '&' pieces, fragment, host, path)``, each piece as written."""
    base, hash_mark, fragment = url.partition("#")
    before, _, query = base.partition("?")
    parts = urlsplit(base)
    host = (parts.hostname or "").lower()
    path = parts.path if host != "youtu.be" else ""
    return before, [piece for piece in query.split("&") if piece] if "?" in base else [], hash_mark + fragment, \
        host, path


def tracking_parameters(url: str) -> list[str]:
    """Names of the tracking parameters in ``url``'s query, in order (empty when there are none)."""
    try:
        _, pieces, _, host, path = _query_split(url)
    except ValueError:
        return []
    names = [unquote(piece.partition("=")[0]) for piece in pieces]
    return [name for name in names if _is_tracking(name, host, path)]


def without_tracking(url: str) -> str:
    """``url`` with its tracking parameters removed and everything else exactly as written."""
    before, pieces, fragment, host, path = _query_split(url)
    kept = [piece for piece in pieces if not _is_tracking(unquote(piece.partition("=")[0]), host, path)]
    return before + ("?" + "&".join(kept) if kept else "") + fragment
