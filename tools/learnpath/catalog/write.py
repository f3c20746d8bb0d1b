"""Replace a catalog file all at once, or not at all.

``learnpath fmt``, ``add`` and ``import --write`` change ``resources.yaml``
only through ``replace_text``: the new text goes to a temporary file beside
the catalog, is flushed to disk, and is renamed over it (a rename within one
file system is atomic), so an interrupted run leaves the old file or the new
one, never half of either. The file keeps its permission bits; a symbolic
link is written through to its target, not replaced. If the file changed
since it was read (an editor saved it meanwhile), nothing is written.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path


class WriteRefused(Exception):
    """The catalog was not written; the message says why and what to do."""


def replace_text(path: Path, expected_old: str, new_text: str) -> None:
    """Write ``new_text`` to ``path`` if the file still holds ``expected_old``."""
    target = Path(os.path.realpath(path))
    try:
        current = target.read_bytes()
        mode = stat.S_IMODE(target.stat().st_mode)
    except OSError as exc:
        raise WriteRefused(f"{path}: cannot read it again before writing: {exc.strerror or exc}") from None
    if current.decode("utf-8", errors="replace").removeprefix("\ufeff") != expected_old:
        raise WriteRefused(f"{path}: the file changed while learnpath was working on it; nothing was written, "
                           "run the command again")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise WriteRefused(f"{path}: cannot create a temporary file in {target.parent}: "
                           f"{exc.strerror or exc}; nothing was written") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(new_text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise WriteRefused(f"{path}: cannot write it: {exc.strerror or exc}; the file was not changed") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def write_or_explain(path: Path, expected_old: str, new_text: str, command: str) -> bool:
    """``replace_text``, saying on stderr why nothing was written when it refuses; True if written."""
    try:
        replace_text(path, expected_old, new_text)
    except WriteRefused as exc:
        print(f"learnpath {command}: {exc}", file=sys.stderr)
        return False
    return True
