"""The exit statuses of every ``learnpath`` command, and the error that means "usage".

One set for all subcommands, so a script can rely on them: 0 success, 1 the
check found something (an invalid catalog, a confirmed-broken link), 2 the
command could not do its job as asked (bad option, unreadable file), 3 a bug
in learnpath, 130 / 143 stopped by Ctrl-C / SIGTERM.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the check ran and found problems: an invalid catalog, confirmed-broken links
    USAGE = 2  # bad option, unreadable or damaged input file, unknown git ref
    INTERNAL = 3  # a bug in learnpath (LEARNPATH_DEBUG=1 shows the traceback)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class UsageError(Exception):
    """The command cannot run as asked; its message (what, where, how to fix) is printed and
    the exit status is ``ExitCode.USAGE``."""
