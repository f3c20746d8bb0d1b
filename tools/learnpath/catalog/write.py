"""Replace a catalog file all at once, or not at all.

``learnpath fmt``, ``add`` and ``import --write`` change ``resources.yaml``
only through ``replace_text``, which writes with ``learnpath.atomic`` (the
link checker's history and reports use it too): the old file or the new one,
never half of either; the file keeps its mode; a symbolic link is written
through to its target. If the file changed since it was read (an editor saved
it meanwhile), nothing is written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from learnpath.atomic import WriteFailed, atomic_write_text


class WriteRefused(Exception):
    """The catalog was not written; the message says why and what to do."""


def replace_text(path: Path, expected_old: str, new_text: str) -> None:
    """Write ``new_text`` to ``path`` (atomically, see ``learnpath.atomic``) if the file still
    holds ``expected_old``."""
    try:
        current = Path(os.path.realpath(path)).read_bytes()
    except OSError as exc:
        raise WriteRefused(f"{path}: cannot read it again before writing: {exc.strerror or exc}") from None
    if current.decode("utf-8", errors="replace").removeprefix("\ufeff") != expected_old:
        raise WriteRefused(f"{path}: the file changed while learnpath was working on it; nothing was written, "
                           "run the command again")
    try:
        atomic_write_text(path, new_text)
    except WriteFailed as exc:
        raise WriteRefused(f"{exc}; the file was not changed") from None


def write_or_explain(path: Path, expected_old: str, new_text: str, command: str) -> bool:
    """``replace_text``, saying on stderr why nothing was written when it refuses; True if written."""
    try:
        replace_text(path, expected_old, new_text)
    except WriteRefused as exc:
        print(f"learnpath {command}: {exc}", file=sys.stderr)
        return False
    return True
