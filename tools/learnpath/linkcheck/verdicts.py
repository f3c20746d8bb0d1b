"""What a link check concluded: one `Verdict` per URL, carried in a `Result`.

A verdict is deliberately coarse. Maintainers act on it, so each one maps to a
different action: fix the catalog (`broken`, `redirected`, ...), look by hand
(`blocked`), or wait for another night (`transient`). The fine detail (status
code, which detector fired, the redirect chain) goes into the one-line
``explanation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: the checker must not need the catalog loader to run
    from learnpath.catalog.problems import Location


class Verdict(str, Enum):
    """The outcome of checking one URL; the value is what JSON and history store."""

    ok = "ok"
    redirected = "redirected"
    broken = "broken"
    soft_broken = "soft_broken"
    fragment_missing = "fragment_missing"
    blocked = "blocked"
    transient = "transient"
    invalid = "invalid"

    @property
    def is_failure(self) -> bool:
        """The link is wrong and the catalog should change."""
        return self in _FAILURES

    @property
    def is_unverifiable(self) -> bool:
        """We could not tell: the site refused us or did not answer in time."""
        return self in _UNVERIFIABLE

    @property
    def is_success(self) -> bool:
        """The link works (a permanent redirect works too, but deserves an update)."""
        return self in (Verdict.ok, Verdict.redirected)

    @property
    def icon(self) -> str:
        return _ICONS[self]

    @property
    def label(self) -> str:
        """A short human name for headings and summaries."""
        return _LABELS[self]

    @property
    def default_suggestion(self) -> str:
        """What to do when nothing more specific is known."""
        return _SUGGESTIONS[self]

    @property
    def severity_rank(self) -> int:
        """Sort key: the most actionable verdicts first in reports."""
        return _ORDER.index(self)

    def __str__(self) -> str:  # so f-strings print "broken", not "Verdict.broken"
        return self.value


_FAILURES = frozenset(
    {Verdict.broken, Verdict.soft_broken, Verdict.fragment_missing, Verdict.invalid}
)
_UNVERIFIABLE = frozenset({Verdict.blocked, Verdict.transient})

_ORDER = [
    Verdict.broken,
    Verdict.soft_broken,
    Verdict.fragment_missing,
    Verdict.invalid,
    Verdict.redirected,
    Verdict.blocked,
    Verdict.transient,
    Verdict.ok,
]

# Plain Unicode symbols that render in terminals, Markdown and GitHub alike.
_ICONS = {
    Verdict.ok: "\u2714",  # ✔
    Verdict.redirected: "\u21c4",  # ⇄
    Verdict.broken: "\u2717",  # ✗
    Verdict.soft_broken: "\u2717",  # ✗ (as broken: the page is gone, whatever the status says)
    Verdict.fragment_missing: "#",
    Verdict.blocked: "\u26d4",  # ⛔
    Verdict.transient: "\u29d6",  # ⧖
    Verdict.invalid: "\u2298",  # ⊘
}

_LABELS = {
    Verdict.ok: "OK",
    Verdict.redirected: "Permanently redirected",
    Verdict.broken: "Broken",
    Verdict.soft_broken: "Gone (soft 404)",
    Verdict.fragment_missing: "Missing fragment",
    Verdict.blocked: "Blocked (unverifiable)",
    Verdict.transient: "Transient (unverifiable)",
    Verdict.invalid: "Invalid URL",
}

_SUGGESTIONS = {
    Verdict.ok: "nothing to do",
    Verdict.redirected: "update the catalog to the new address",
    Verdict.broken: "find the page's new address or use an archived copy",
    Verdict.soft_broken: "the resource was removed; find a replacement or an archived copy",
    Verdict.fragment_missing: "the section anchor no longer exists; link to the page or to the section's new id",
    Verdict.blocked: "the site refuses bots; check by hand, or add it to the exclude list with a comment",
    Verdict.transient: "nothing yet; it is re-checked on the next run",
    Verdict.invalid: "fix the URL: only public http(s) addresses without credentials are checked",
}


class FragmentStatus(str, Enum):
    """What became of a URL's ``#fragment`` on a page that answered."""

    found = "found"
    missing = "missing"  # the verdict is then fragment_missing
    not_html = "not_html"  # a PDF's #page=2 is not an element: not checked
    not_verified = "not_verified"  # not in the part of the page read (the body cap was reached)


@dataclass
class Result:
    """Everything known about one checked URL, as facts; the report turns them into sentences.

    The checker sets what the fetch found (``explanation`` says what happened
    in one line; ``fragment_status`` and ``bytes_read`` what became of the
    URL's fragment). The history adds ``confirmed`` with its progress
    (``failed_runs`` consecutive failing runs since ``first_failure``) or
    ``cached_at`` for a success it remembered; the Wayback lookup adds
    ``snapshot``; the caller adds ``uses`` (where the URL appears).
    """

    url: str
    verdict: Verdict
    status: int | None
    final_url: str | None
    elapsed: float
    attempts: int
    explanation: str
    suggestion: str
    confirmed: bool = False
    uses: list[Location] = field(default_factory=list)
    # The hops followed, as (status, url) pairs, first request first; useful in JSON.
    redirects: list[tuple[int, str]] = field(default_factory=list)
    fragment_status: FragmentStatus | None = None
    bytes_read: int | None = None  # of the body, when the fragment was looked for and not verified
    cached_at: str | None = None  # when the remembered success was checked (a cached result)
    failed_runs: int = 0  # consecutive failing runs the history counted, this one included
    first_failure: str | None = None  # when that streak began
    snapshot: str | None = None  # the closest archived copy, for a confirmed failure

    def __post_init__(self) -> None:
        if not isinstance(self.verdict, Verdict):
            self.verdict = Verdict(self.verdict)
        if self.fragment_status is not None and not isinstance(self.fragment_status, FragmentStatus):
            self.fragment_status = FragmentStatus(self.fragment_status)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_dict` reverses it exactly."""
        return {
            "url": self.url,
            "verdict": self.verdict.value,
            "status": self.status,
            "final_url": self.final_url,
            "elapsed": round(self.elapsed, 4),
            "attempts": self.attempts,
            "explanation": self.explanation,
            "suggestion": self.suggestion,
            "confirmed": self.confirmed,
            "uses": [{"path": u.path, "line": u.line, "column": u.column} for u in self.uses],
            "redirects": [[status, url] for status, url in self.redirects],
            "fragment_status": self.fragment_status.value if self.fragment_status else None,
            "bytes_read": self.bytes_read,
            "cached_at": self.cached_at,
            "failed_runs": self.failed_runs,
            "first_failure": self.first_failure,
            "snapshot": self.snapshot,
        }

    @classmethod
    def from_dict(cls, d: Any) -> "Result":
        """Rebuild a Result from `to_dict` output (or an older one without the newer keys).

        Unknown keys are ignored (a newer file); a known key of the wrong type
        is a ValueError naming it, so a damaged file never becomes a result
        that breaks later.
        """
        if not isinstance(d, dict):
            raise ValueError(f"a result must be an object, not {type(d).__name__}")
        uses = [_use(u) for u in _typed(d, "uses", list, [])]
        redirects = []
        for hop in _typed(d, "redirects", list, []):
            if not (isinstance(hop, list) and len(hop) == 2 and _is_int(hop[0]) and isinstance(hop[1], str)):
                raise ValueError(f"'redirects' must hold [status, url] pairs, not {hop!r}")
            redirects.append((hop[0], hop[1]))
        elapsed = _typed(d, "elapsed", (int, float), 0.0)
        try:
            verdict = Verdict(_typed(d, "verdict", str))
            fragment = _typed(d, "fragment_status", str, None)
            fragment_status = FragmentStatus(fragment) if fragment is not None else None
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return cls(
            url=_typed(d, "url", str),
            verdict=verdict,
            status=_int_or_none(d, "status"),
            final_url=_typed(d, "final_url", str, None),
            elapsed=float(elapsed),
            attempts=_int(d, "attempts", 0),
            explanation=_typed(d, "explanation", str, ""),
            suggestion=_typed(d, "suggestion", str, ""),
            confirmed=_typed(d, "confirmed", bool, False),
            uses=uses,
            redirects=redirects,
            fragment_status=fragment_status,
            bytes_read=_int_or_none(d, "bytes_read"),
            cached_at=_typed(d, "cached_at", str, None),
            failed_runs=_int(d, "failed_runs", 0),
            first_failure=_typed(d, "first_failure", str, None),
            snapshot=_typed(d, "snapshot", str, None),
        )


_MISSING = object()


def _typed(d: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
    """``d[key]`` if it has type ``kind``; the default if absent or null (when there is one)."""
    value = d.get(key)
    if value is None:
        if default is _MISSING:
            raise ValueError(f"'{key}' is missing")
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValueError(f"'{key}' has the wrong type ({type(value).__name__}: {value!r})")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(d: dict[str, Any], key: str, default: int) -> int:
    value = _typed(d, key, int, default)
    if value < 0:
        raise ValueError(f"'{key}' cannot be negative ({value})")
    return value


def _int_or_none(d: dict[str, Any], key: str) -> int | None:
    return _typed(d, key, int, None)


def _use(u: Any) -> Location:
    from learnpath.catalog.problems import Location

    if not isinstance(u, dict):
        raise ValueError(f"a use must be an object, not {u!r}")
    return Location(_typed(u, "path", str), _int(u, "line", 0), _int(u, "column", 1))
