"""Every fixture catalog, parametrized from the fixture directories.

An invalid fixture states what it must produce in its header comment::

    # expect: 17:11 field 'kind': 'blog' is not one of
    # expect: - over the 300-byte limit        ("-": the whole file, no line)
    # max-bytes: 300                           (optional: lower the size limit)

Each error must match one expectation (position and text) and each
expectation one error, so adding a fixture needs no change here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from learnpath.catalog import CatalogInvalid, LoadedCatalog, load_catalog
from learnpath.catalog.load import MAX_BYTES
from tests.conftest import INVALID_FIXTURES, VALID_FIXTURES

_EXPECT = re.compile(rb"^# expect: (?:(\d+):(\d+)|-) (.+)$")
_MAX_BYTES = re.compile(rb"^# max-bytes: (\d+)$")


@dataclass
class Expectation:
    line: int | None
    column: int | None
    text: str

    def matches(self, problem) -> bool:
        if self.line is None:
            position_ok = problem.location.line == 0
        else:
            position_ok = (problem.location.line, problem.location.column) == (self.line, self.column)
        return position_ok and self.text in str(problem)


def read_header(path: Path) -> tuple[list[Expectation], int]:
    """Expectations and size limit from the leading comment lines (read as bytes: some are not UTF-8)."""
    expectations, max_bytes = [], MAX_BYTES
    for raw in path.read_bytes().splitlines():
        if not raw.startswith(b"#"):
            break
        if m := _EXPECT.match(raw):
            line = int(m.group(1)) if m.group(1) else None
            column = int(m.group(2)) if m.group(2) else None
            expectations.append(Expectation(line, column, m.group(3).decode()))
        elif m := _MAX_BYTES.match(raw):
            max_bytes = int(m.group(1))
    return expectations, max_bytes


def test_there_are_fixtures() -> None:
    assert VALID_FIXTURES and len(INVALID_FIXTURES) >= 20


@pytest.mark.parametrize("path", VALID_FIXTURES, ids=lambda p: p.name)
def test_valid_fixture_loads(path: Path) -> None:
    before = path.read_bytes()
    loaded = load_catalog(path)
    assert isinstance(loaded, LoadedCatalog)
    assert loaded.catalog.resources and loaded.catalog.paths
    assert path.read_bytes() == before


@pytest.mark.parametrize("path", INVALID_FIXTURES, ids=lambda p: p.name)
def test_invalid_fixture_reports_expected_problems(path: Path) -> None:
    expectations, max_bytes = read_header(path)
    assert expectations, f"{path.name} has no '# expect:' line in its header"
    before = path.read_bytes()
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog(path, max_bytes=max_bytes)
    problems = caught.value.problems
    report = caught.value.report()
    for expectation in expectations:
        assert any(expectation.matches(p) for p in problems), f"{path.name}: no problem matches {expectation}\n{report}"
    for problem in problems:
        assert any(e.matches(problem) for e in expectations), f"{path.name}: unexpected problem\n{problem}"
    assert len(problems) == len(expectations), report
    assert "Traceback" not in report
    assert path.read_bytes() == before, "validation must never change the file"


@pytest.mark.parametrize("path", INVALID_FIXTURES, ids=lambda p: p.name)
def test_every_problem_names_a_file_and_is_sorted(path: Path) -> None:
    _, max_bytes = read_header(path)
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog(path, max_bytes=max_bytes)
    problems = caught.value.problems
    assert all(p.location.path == str(path) for p in problems)
    assert [p.location for p in problems] == sorted(p.location for p in problems)
