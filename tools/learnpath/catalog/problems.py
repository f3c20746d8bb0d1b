"""Where a catalog is wrong, what is wrong, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column are 1-based, as editors count."""

    path: str
    line: int
    column: int = 1

    def __str__(self) -> str:
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
        if self.where:
            head += f" {self.where}"
        if self.field:
            head += f" field '{self.field}'"
        text = f"{head}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class CatalogInvalid(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.location, p.message))
        super().__init__(f"{len(self.problems)} problem(s) in the catalog")

    def report(self) -> str:
        lines = [str(p) for p in self.problems]
        lines.append(f"{len(self.problems)} error(s); the catalog was not changed.")
        return "\n".join(lines)
