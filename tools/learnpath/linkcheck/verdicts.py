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


@dataclass
class Result:
    """Everything known about one checked URL.

    ``confirmed`` is set by the history (a failure seen on enough runs) and
    ``uses`` by the caller (where the URL appears); the checker leaves both alone.
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

    def __post_init__(self) -> None:
        if not isinstance(self.verdict, Verdict):
            self.verdict = Verdict(self.verdict)

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
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Result":
        """Rebuild a Result from `to_dict` output; unknown keys are ignored (newer files)."""
        uses = d.get("uses") or []
        if uses:
            from learnpath.catalog.problems import Location

            uses = [Location(u["path"], int(u["line"]), int(u.get("column", 1))) for u in uses]
        return cls(
            url=d["url"],
            verdict=Verdict(d["verdict"]),
            status=d.get("status"),
            final_url=d.get("final_url"),
            elapsed=float(d.get("elapsed", 0.0)),
            attempts=int(d.get("attempts", 0)),
            explanation=d.get("explanation", ""),
            suggestion=d.get("suggestion", ""),
            confirmed=bool(d.get("confirmed", False)),
            uses=uses,
            redirects=[(int(s), str(u)) for s, u in d.get("redirects", [])],
        )
