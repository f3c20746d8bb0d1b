"""Where a catalog is wrong, what is wrong, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column are 1-based, as editors count.

    Line 0 means the file as a whole (it is missing, unreadable or too big).
    """

    path: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{self.column}"


class Severity(str, Enum):
    error = "error"
    warning = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding, printed as ``file:line:col: where field 'x': message`` plus a hint line."""

    location: Location
    message: str
    where: str = ""  # e.g. "resources[12] (id: lstm-colah)"
    field: str | None = None  # e.g. "kind"
    hint: str | None = None
    severity: Severity = Severity.error

    def __str__(self) -> str:
        head = str(self.location) + ":"
        if self.severity is Severity.warning:
            head += " warning:"
        label = " ".join(filter(None, [self.where, f"field '{self.field}'" if self.field else ""]))
        if label:
            head += f" {label}:"
        text = f"{head} {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class CatalogInvalid(Exception):
    """Raised with every problem found, never just the first.

    ``problems`` are the errors, sorted by location; ``warnings`` are what
    was noticed on the way (they do not make the catalog invalid).
    """

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = sort_problems(problems)
        self.warnings = sort_problems(warnings or [])
        super().__init__(f"{len(self.problems)} problem(s) in the catalog")

    def report(self) -> str:
        """The text `learnpath validate` prints: one block per problem, then a count."""
        lines = [str(p) for p in self.problems]
        count = len(self.problems)
        lines.append(f"{count} error{'s' if count != 1 else ''}; the catalog was not changed.")
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
        )])


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in file order, so the report reads top to bottom."""
    return sorted(problems, key=lambda p: (p.location, p.message))
