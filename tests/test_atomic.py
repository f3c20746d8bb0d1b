"""Writing the history and the reports: atomic, never a created directory, the user's file mode, through symlinks."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from learnpath.atomic import WriteFailed, atomic_write_text


@pytest.fixture
def umask() -> Iterator[callable]:
    """Set the process umask for one test, restored afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_directory_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(WriteFailed) as caught:
        atomic_write_text(tmp_path / "missing" / "h.json", "{}")
    assert "missing does not exist" in str(caught.value) and not (tmp_path / "missing").exists()


def test_a_directory_in_the_way_is_an_error_and_nothing_is_left(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(WriteFailed, match="is a directory"):
        atomic_write_text(tmp_path / "out", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_users_umask(tmp_path: Path, umask, mask: int, expected: int) -> None:
    umask(mask)
    atomic_write_text(tmp_path / "h.json", "{}")
    assert mode(tmp_path / "h.json") == expected  # a temporary file alone would leave 0600


def test_an_existing_file_keeps_its_mode(tmp_path: Path, umask) -> None:
    umask(0o077)
    path = tmp_path / "h.json"
    path.write_text("old")
    path.chmod(0o664)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o664


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "history.json"
    real.write_text("old")
    link = tmp_path / "h.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real) and real.read_text() == "new"
    dangling = tmp_path / "next.json"
    dangling.symlink_to(tmp_path / "store" / "next.json")  # its target does not exist yet
    atomic_write_text(dangling, "first")
    assert dangling.is_symlink() and (tmp_path / "store" / "next.json").read_text() == "first"
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["history.json", "next.json"]
