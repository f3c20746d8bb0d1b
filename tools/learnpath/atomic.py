"""Write a file so that readers see the old version or the new one, never half of either.

One home for every file learnpath writes (the link history, reports, the
catalog), with three promises beyond atomicity, because they are the user's files:

* a missing directory is an error, never created behind the user's back
  (the caller may create one it owns, and say so);
* the file's mode is the one the user would get from any other tool: an
  existing file keeps its mode, a new one gets 0666 minus the umask (a
  temporary file is created 0600, which would otherwise stick);
* a symlink is written through: its target gets the new content and the
  link stays a link.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


class WriteFailed(Exception):
    """A file could not be written; the message names it (as the user gave it) and says why."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    The temporary file is flushed and fsynced before ``os.replace`` swaps it in
    (a rename within one file system is atomic), so a run killed at any moment
    leaves either the previous file or the complete new one. Raises
    `WriteFailed` with a plain reason; nothing is left behind on failure.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))  # through any symlinks, to the file they name
    directory = target.parent
    if not directory.is_dir():
        shown = f"{directory} (where the link {path} points)" if path.is_symlink() else str(path.parent)
        what = "is not a directory" if directory.exists() else "does not exist"
        raise WriteFailed(path, f"the directory {shown} {what}; create it or choose another path")
    if target.is_dir():
        raise WriteFailed(path, "it is a directory; name a file")
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise WriteFailed(path, exc.strerror or str(exc)) from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise WriteFailed(path, f"cannot create a file in {directory} ({exc.strerror or exc})") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise WriteFailed(path, exc.strerror or str(exc)) from None
        raise
    _fsync_directory(directory)


def _umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere set and restore it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
