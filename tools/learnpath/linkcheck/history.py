"""Memory between runs: what each URL did last time, so one bad night pages nobody.

The history is a small JSON file (default ``.linkcheck/history.json``)::

    {"version": 1, "tool": "learnpath check-links",
     "entries": {"https://...": {"last": {...Result...}, "last_checked": "2026-11-22T03:00:00Z",
                                 "consecutive_failures": 1, "first_failure": "...",
                                 "last_counted_failure": "...", "snapshot": null,
                                 "snapshot_checked": null}}}

Rules (see ``Policy``):

* A failure (``Verdict.is_failure``) is *confirmed* once the URL has failed in
  ``confirm_runs`` consecutive runs, each at least ``confirm_hours`` after the
  previous one that counted; a re-run the same evening does not count twice.
  ``strict`` confirms on the first failure; ``invalid`` (refused before any
  request) is deterministic and always confirmed.
* An unverifiable result (blocked, transient) neither counts nor clears a
  failure streak: a site that was down yesterday and rate-limits us today has
  told us nothing new.
* A success clears the streak and is cached for ``max_age`` seconds; failures
  and unverifiable results are never cached, so they are always re-checked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learnpath.atomic import atomic_write_text
from learnpath.linkcheck.options import Bound
from learnpath.linkcheck.verdicts import Result, Verdict
from learnpath.safe_text import escape_control

HISTORY_VERSION = 1
# A result's facts that belong to one run or live in the entry itself, not in ``last``.
_NOT_IN_LAST = frozenset({"uses", "cached_at", "failed_runs", "first_failure", "snapshot"})
DEFAULT_HISTORY = Path(".linkcheck/history.json")
# A URL nobody has checked for this long has left the catalog; forget it.
FORGET_AFTER = dt.timedelta(days=90)
# A Wayback answer changes slowly; ask again after this long.
SNAPSHOT_MAX_AGE = dt.timedelta(days=7)
# How far in the future a stored time may lie (clocks of CI machines differ) before it is damage.
CLOCK_SKEW = dt.timedelta(hours=1)


class HistoryError(Exception):
    """The history file cannot be used; the message says where and what to do."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    """A time as the history writes it ("2026-11-22T03:00:00Z"); ValueError if it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}")
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


# The range of each Policy number; the CLI's flags use the same entries.
POLICY_BOUNDS: dict[str, Bound] = {
    "confirm_runs": Bound(1, 100, "runs", integer=True),
    "confirm_hours": Bound(0, 24 * 366, "hours"),
    "max_age": Bound(0, 366 * 86400),
}


@dataclass(frozen=True)
class Policy:
    """When a failure is confirmed and how long a success stays fresh."""

    confirm_runs: int = 2
    confirm_hours: float = 12.0
    strict: bool = False
    max_age: float = 86400.0  # seconds

    def __post_init__(self) -> None:
        problems = [f"{name} {problem}" for name, bound in POLICY_BOUNDS.items()
                    if (problem := bound.problem(getattr(self, name)))]
        if problems:
            raise ValueError("invalid history policy: " + "; ".join(problems))

    @property
    def gap(self) -> dt.timedelta:
        return dt.timedelta(hours=self.confirm_hours)


@dataclass
class Entry:
    """What the history knows about one URL."""

    last: dict[str, Any]
    last_checked: str
    consecutive_failures: int = 0
    first_failure: str | None = None
    last_counted_failure: str | None = None
    snapshot: str | None = None
    snapshot_checked: str | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.last["verdict"])


@dataclass
class History:
    """Every URL's entry, loaded from and saved to one JSON file (or kept in memory)."""

    path: Path | None = None
    entries: dict[str, Entry] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # damaged entries dropped on loading
    saved: dt.datetime | None = None  # when the file was last written (None: never, or not stated)

    # ------------------------------------------------------------------ files

    @classmethod
    def load(cls, path: Path | None, now: dt.datetime | None = None) -> History:
        """Read the history; a missing file is an empty history, a damaged one an error.

        A damaged entry only is dropped, with a warning in ``warnings``.
        """
        if path is None or not Path(path).exists():
            return cls(path=Path(path) if path else None)
        path = Path(path)
        hint = f"it only remembers past runs: delete it (rm {path}) or run with --no-history"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HistoryError(f"{path}: cannot read the link-check history ({exc}).\n    hint: {hint}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HistoryError(
                f"{path}:{exc.lineno}:{exc.colno}: the link-check history is not valid JSON ({exc.msg}); "
                f"was a run interrupted by a full disk?\n    hint: {hint}"
            ) from None
        entries, warnings = _entries_from(data, path, hint, now or utc_now())
        try:
            saved = parse_time(data.get("saved"))
        except (ValueError, OverflowError):
            saved = None  # only informative: a run that never finished saving leaves none
        return cls(path=path, entries=entries, warnings=warnings, saved=saved)

    def save(self, now: dt.datetime | None = None) -> None:
        """Write atomically; forget URLs unchecked for ``FORGET_AFTER``."""
        if self.path is None:
            return
        now = now or utc_now()
        keep = {url: e for url, e in self.entries.items() if now - parse_time(e.last_checked) <= FORGET_AFTER}
        data = {
            "version": HISTORY_VERSION,
            "tool": "learnpath check-links",
            "saved": format_time(now),
            "entries": {url: vars(e) for url, e in sorted(keep.items())},
        }
        # Compact on purpose: with indent, json falls back to its pure-Python encoder,
        # which costs more than the rest of a cached re-run of 2,000 links.
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")

    # ------------------------------------------------------------------ rules

    def cached(self, url: str, now: dt.datetime, policy: Policy) -> Result | None:
        """The last result when it was a success younger than ``max_age``, else None."""
        entry = self.entries.get(url)
        if entry is None or policy.max_age <= 0 or not entry.verdict.is_success:
            return None
        checked = parse_time(entry.last_checked)
        if (now - checked).total_seconds() >= policy.max_age:
            return None
        result = Result.from_dict({**entry.last, "uses": []})
        return dataclasses.replace(result, cached_at=entry.last_checked, confirmed=False)

    def record(self, result: Result, now: dt.datetime, policy: Policy) -> Result:
        """Fold one fresh result into the history and return it with ``confirmed`` decided."""
        entry = self.entries.get(result.url)
        last = {k: v for k, v in result.to_dict().items() if k not in _NOT_IN_LAST}
        stamp = format_time(now)
        if entry is None:
            entry = self.entries[result.url] = Entry(last=last, last_checked=stamp)
        entry.last, entry.last_checked = last, stamp
        verdict = result.verdict
        if verdict.is_success:
            entry.consecutive_failures = 0
            entry.first_failure = entry.last_counted_failure = None
            entry.snapshot = entry.snapshot_checked = None
            return dataclasses.replace(result, confirmed=False)
        if verdict.is_unverifiable:
            return dataclasses.replace(result, confirmed=False)
        self._count_failure(entry, now, policy.gap)
        confirmed = policy.strict or verdict is Verdict.invalid or entry.consecutive_failures >= policy.confirm_runs
        entry.last["confirmed"] = confirmed  # the decision under this run's policy, for readers of the file
        return dataclasses.replace(result, confirmed=confirmed, failed_runs=entry.consecutive_failures,
                                   first_failure=entry.first_failure)

    @staticmethod
    def _count_failure(entry: Entry, now: dt.datetime, gap: dt.timedelta) -> None:
        """Start a streak, or extend it when this failure is ``gap`` after the last that counted."""
        stamp = format_time(now)
        if entry.consecutive_failures == 0 or entry.last_counted_failure is None:
            entry.consecutive_failures = 1
            entry.first_failure = entry.last_counted_failure = stamp
        elif now - parse_time(entry.last_counted_failure) >= gap:
            entry.consecutive_failures += 1
            entry.last_counted_failure = stamp

    def snapshot_for(self, url: str, now: dt.datetime) -> tuple[bool, str | None]:
        """(known, snapshot URL) from a recent Wayback lookup, so it is not asked nightly."""
        entry = self.entries.get(url)
        if entry is None or entry.snapshot_checked is None:
            return False, None
        fresh = now - parse_time(entry.snapshot_checked) < SNAPSHOT_MAX_AGE
        return fresh, entry.snapshot if fresh else None

    def remember_snapshot(self, url: str, snapshot: str | None, now: dt.datetime) -> None:
        entry = self.entries.get(url)
        if entry is not None:
            entry.snapshot, entry.snapshot_checked = snapshot, format_time(now)


def _entries_from(data: Any, path: Path, hint: str, now: dt.datetime) -> tuple[dict[str, Entry], list[str]]:
    """Validate the decoded JSON and build entries.

    A defect of the file as a whole is a HistoryError (exit 2: the user must
    act). A damaged entry is dropped with a warning: the URL is checked afresh,
    as if it were new, and the rest of the history still counts. Every field is
    checked here, so nothing in a kept entry can fail later, after the run.
    """
    if not isinstance(data, dict) or "version" not in data:
        raise HistoryError(f"{path}: this is not a link-check history (no \"version\" key).\n    hint: {hint}")
    if data["version"] != HISTORY_VERSION:
        raise HistoryError(
            f"{path}: history version {data['version']!r} is not one this learnpath reads "
            f"(it reads version {HISTORY_VERSION}); a newer learnpath probably wrote it.\n"
            f"    hint: upgrade learnpath, or {hint}"
        )
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, dict):
        raise HistoryError(f"{path}: \"entries\" must be an object of URL -> entry.\n    hint: {hint}")
    entries: dict[str, Entry] = {}
    warnings: list[str] = []
    for url, raw in raw_entries.items():
        try:
            entries[url] = _entry(url, raw, now)
        except ValueError as exc:
            warnings.append(f"{path}: warning: the entry for {escape_control(url)} is damaged "
                            f"({escape_control(str(exc))}); it is forgotten and the URL checked afresh")
    return entries, warnings


_ENTRY_FIELDS = frozenset(f.name for f in dataclasses.fields(Entry))
_OPTIONAL_TIMES = ("first_failure", "last_counted_failure", "snapshot_checked")


def _entry(url: str, raw: Any, now: dt.datetime) -> Entry:
    """One entry, every field checked; ValueError says what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(f"an entry must be an object, not {type(raw).__name__}")
    unknown = set(raw) - _ENTRY_FIELDS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    if "last" not in raw or "last_checked" not in raw:
        raise ValueError("'last' and 'last_checked' are required")
    last = Result.from_dict({**raw["last"], "uses": []} if isinstance(raw["last"], dict) else raw["last"])
    if last.url != url:
        raise ValueError(f"its result is for another URL ({last.url!r})")
    _past_time(raw["last_checked"], "last_checked", now)
    for name in _OPTIONAL_TIMES:
        if raw.get(name) is not None:
            _past_time(raw[name], name, now)
    count = raw.get("consecutive_failures", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"'consecutive_failures' must be a count, not {count!r}")
    if raw.get("snapshot") is not None and not isinstance(raw["snapshot"], str):
        raise ValueError(f"'snapshot' must be a URL, not {raw['snapshot']!r}")
    return Entry(**raw)


def _past_time(value: Any, name: str, now: dt.datetime) -> None:
    """A time the history wrote: ISO 8601 text, not in the future (beyond clock skew)."""
    try:
        moment = parse_time(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{name}' is not a time ({value!r})") from None
    if moment - now > CLOCK_SKEW:
        # A success "checked" in the future would stay cached until then, however long that is.
        raise ValueError(f"'{name}' is in the future ({value})")
