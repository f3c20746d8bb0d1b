"""What the site may say about each link: read from the link checker's history file.

The history (``.linkcheck/history.json`` by default; its format is
``learnpath.linkcheck.history``) is written by ``learnpath check-links``. The
site only reads it, and trusts nothing in it: the file may be missing (then the
site claims nothing, exactly as without this module), damaged, from another
tool or another version (a build warning, and again no claims), or hostile (a
``javascript:`` "snapshot", markup in a URL). Every string that reaches a page
is checked here (addresses must be plain http(s)) and escaped by the renderer.

``read_history`` returns a ``LinkHealth``: one ``LinkStatus`` per URL, and the
run's date, or ``None`` with the reason the file could not be used.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from learnpath.catalog.schema import web_url
from learnpath.linkcheck.history import HISTORY_VERSION, History, HistoryError, parse_time
from learnpath.linkcheck.verdicts import Verdict

# A history of a few thousand links is a few MB; anything far larger is not one.
MAX_HISTORY_BYTES = 50 * 1024 * 1024


class Health(Enum):
    """What a card may say about its link; one value per thing the reader sees."""

    verified = "verified"  # the last check succeeded: "checked 3 days ago"
    moved = "moved"  # a permanent redirect: verified, and the new address is shown
    broken = "broken"  # a confirmed failure: marked, with the archived snapshot when known
    unknown = "unknown"  # unverifiable, unconfirmed, or never checked: the card claims nothing

    @property
    def claims(self) -> bool:
        return self is not Health.unknown


@dataclass(frozen=True)
class LinkStatus:
    """One URL's latest check, reduced to what the site shows."""

    url: str
    health: Health
    verdict: Verdict
    checked: dt.datetime  # when the latest check ran (UTC)
    new_url: str | None = None  # for ``moved``: the permanent redirect's target
    snapshot: str | None = None  # for ``broken``: an archived copy to read instead
    broken_since: dt.datetime | None = None  # for ``broken``: the first failure of the streak


@dataclass(frozen=True)
class LinkHealth:
    """Every URL the history knows, and when the history was last written."""

    source: Path
    saved: dt.datetime | None  # None for a history with no usable entry
    links: dict[str, LinkStatus] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # damaged entries, left out (no claim about those URLs)

    def status(self, url: str) -> LinkStatus | None:
        status = self.links.get(url)
        return status if status is not None and status.health.claims else None

    def counts(self) -> list[tuple[Verdict, int]]:
        """(verdict, how many links) for each verdict seen, the most actionable first."""
        counter = Counter(s.verdict for s in self.links.values())
        return sorted(counter.items(), key=lambda item: item[0].severity_rank)


class HistoryUnusable(Exception):
    """The history exists but cannot be trusted; the message says why and what to do."""


def _web_address(value: object) -> str | None:
    """``value`` if it is a URL the catalog itself would accept (``schema.web_url``), else None."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    try:
        return web_url(value)
    except ValueError:
        return None


def _status(url: str, entry) -> LinkStatus | None:
    """The status of one history entry (already checked by ``History.load``), or None for a URL
    the site would not link to."""
    if _web_address(url) is None:
        return None
    checked = parse_time(entry.last_checked)
    verdict = entry.verdict
    if verdict.is_success:
        new_url = _web_address(entry.last.get("final_url")) if verdict is Verdict.redirected else None
        health = Health.moved if new_url and new_url != url else Health.verified
        return LinkStatus(url, health, verdict, checked, new_url=new_url if health is Health.moved else None)
    # Confirmation is the checker's decision, made under the policy of the run that
    # recorded it (history.History.record); the site never decides it again.
    if not (verdict.is_failure and entry.last.get("confirmed") is True):
        return LinkStatus(url, Health.unknown, verdict, checked)
    return LinkStatus(
        url, Health.broken, verdict, checked,
        snapshot=_web_address(entry.snapshot),
        broken_since=parse_time(entry.first_failure) if entry.first_failure else None,
    )


def read_history(path: Path) -> LinkHealth | None:
    """The link health recorded in ``path``; None when there is no such file.

    Raises ``HistoryUnusable`` when the file exists but is not a history this
    site can read (damaged, foreign, another version, too large).
    """
    path = Path(path)
    if not path.exists():
        return None
    hint = "the site was built without link health; run `learnpath check-links` to write a fresh history"
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise HistoryUnusable(f"{path}: cannot read the link-check history ({exc}); {hint}") from None
    if size > MAX_HISTORY_BYTES:
        raise HistoryUnusable(f"{path}: {size} bytes is far too large for a link-check history; {hint}")
    try:
        history = History.load(path)
    except HistoryError as exc:
        raise HistoryUnusable(f"{str(exc).splitlines()[0]} ({hint})") from None
    except RecursionError:  # nesting deep enough to exhaust the JSON parser
        raise HistoryUnusable(
            f"{path}: the link-check history is damaged (nested too deeply); it should be version "
            f"{HISTORY_VERSION} JSON written by `learnpath check-links`; {hint}"
        ) from None
    links = {url: status for url, entry in history.entries.items() if (status := _status(url, entry))}
    saved = history.saved or max((s.checked for s in links.values()), default=None)
    # The history drops a damaged entry and says so; the site then claims nothing about that URL.
    return LinkHealth(path, saved, links, history.warnings)
