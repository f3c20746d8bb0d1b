"""Where a catalog is wrong, what is wrong, and how to fix it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
import dataclasses
from dataclasses import dataclass

from learnpath.catalog.rules import Rule, Severity
from learnpath.safe_text import escape_control

# Show at most this many problems of one rule; the rest are counted. A catalog
# with 10,000 misspelt topic ids needs the first few and a number, not 1.5 MB.
MAX_SHOWN_PER_RULE = 20


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column are 1-based, as editors count.

    Line 0 means the file as a whole (it is missing, unreadable or too big).
    """

    path: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        path = escape_control(self.path)
        if self.line <= 0:
            return path
        return f"{path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One finding, printed as ``file:line:col: where field 'x': message [LPnnn name]`` plus a hint line.

    Every text is stored with control and invisible characters escaped
    (``learnpath.safe_text``): a message quotes the catalog, and the catalog
    must not be able to drive the terminal or the annotation that shows it.
    """

    location: Location
    message: str
    where: str = ""  # e.g. "resources[12] (id: lstm-colah)"
    field: str | None = None  # e.g. "kind"
    hint: str | None = None
    rule: Rule = dataclasses.field(kw_only=True)

    def __post_init__(self) -> None:
        for name in ("message", "where", "field", "hint"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, escape_control(value))

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def label(self) -> str:
        """``where field 'x'``: the record and field the problem is in, or ''."""
        return " ".join(filter(None, [self.where, f"field '{self.field}'" if self.field else ""]))

    def __str__(self) -> str:
        head = str(self.location) + ":"
        if self.severity is Severity.warning:
            head += " warning:"
        if self.label:
            head += f" {self.label}:"
        text = f"{head} {self.message} [{self.rule}]"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


def cap_by_rule(problems: Iterable[Problem], limit: int = MAX_SHOWN_PER_RULE) -> tuple[list[Problem], Counter[Rule]]:
    """The first ``limit`` problems of each rule, in order, and how many of each were left out."""
    shown: list[Problem] = []
    seen: Counter[Rule] = Counter()
    omitted: Counter[Rule] = Counter()
    for problem in problems:
        seen[problem.rule] += 1
        if seen[problem.rule] <= limit:
            shown.append(problem)
        else:
            omitted[problem.rule] += 1
    return shown, omitted


def omitted_lines(omitted: Counter[Rule]) -> list[str]:
    """``... and 9,980 more LP204 unknown-reference errors (not shown)``, one line per rule."""
    return [
        f"... and {count:,} more {rule} {rule.severity.value}{'s' if count != 1 else ''} (not shown; "
        "fix the ones above and run again)"
        for rule, count in sorted(omitted.items(), key=lambda item: item[0].code)
    ]


class CatalogInvalid(Exception):
    """Raised with every problem found, never just the first.

    ``problems`` are the errors, sorted by location; ``warnings`` are what
    was noticed on the way (they do not make the catalog invalid). Each list
    is capped per rule (``MAX_SHOWN_PER_RULE``); ``omitted`` counts what was
    left out, ``error_count`` and ``warning_count`` are the full totals.
    """

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None,
                 omitted: Counter[Rule] | None = None):
        self.problems, omitted_errors = cap_by_rule(sort_problems(problems))
        self.warnings, omitted_warnings = cap_by_rule(sort_problems(warnings or []))
        self.omitted = omitted_errors + omitted_warnings + (omitted or Counter())
        self.error_count = len(self.problems) + sum(
            n for rule, n in self.omitted.items() if rule.severity is Severity.error)
        self.warning_count = len(self.warnings) + sum(
            n for rule, n in self.omitted.items() if rule.severity is Severity.warning)
        super().__init__(f"{self.error_count} problem(s) in the catalog")

    def report(self) -> str:
        """The text `learnpath validate` prints: one block per problem, then a count."""
        lines = [str(p) for p in self.problems]
        lines += omitted_lines(Counter({r: n for r, n in self.omitted.items() if r.severity is Severity.error}))
        count = self.error_count
        lines.append(f"{count:,} error{'s' if count != 1 else ''}; the catalog was not changed.")
        return "\n".join(lines)


class CatalogUnreadable(CatalogInvalid):
    """The file could not be read at all (missing, a directory, no permission).

    A subclass so that callers catching ``CatalogInvalid`` still get a clear
    message; the CLI tells it apart to exit 2 (a usage error), not 1.
    """

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__([Problem(
            Location(self.path, 0, 0), f"cannot read the catalog: {reason}",
            hint="check the path; `learnpath validate` reads ./resources.yaml by default",
            rule=Rule.UNREADABLE,
        )])


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in file order, so the report reads top to bottom."""
    return sorted(problems, key=lambda p: (p.location, p.message))
