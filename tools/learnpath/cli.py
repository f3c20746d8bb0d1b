"""The ``learnpath`` command line: a thin dispatcher over the library.

``run(argv) -> int`` is what tests call; ``main()`` only exits with it. Each
subcommand lives beside the code it drives and exposes two functions, named
in ``COMMANDS``: one adding its options to a parser, one running it and
returning the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass

from learnpath import __version__
from learnpath.exits import ExitCode, UsageError

@dataclass(frozen=True)
class Command:
    """Where ``learnpath NAME`` lives: the module, its two functions, and the help line."""

    module: str
    add_arguments: str  # function(parser) adding the subcommand's options
    run: str  # function(args) -> exit status
    help: str


# Every subcommand, spelled out so that `grep -n '"fmt"' cli.py` finds what
# `learnpath fmt` runs. Modules are imported lazily, only for the command
# chosen: `learnpath validate` does not pay for importing the link checker.
COMMANDS: dict[str, Command] = {
    "validate": Command("learnpath.catalog.commands", "add_validate_arguments", "run_validate",
                        "check a catalog; exit 0 valid, 1 invalid, 2 usage error"),
    "fmt": Command("learnpath.catalog.fmt", "add_arguments", "run",
                   "rewrite a catalog in its one canonical layout (--check: only say whether it is)"),
    "add": Command("learnpath.catalog.add", "add_arguments", "run",
                   "add a resource (and optionally a path step) to the catalog, validated before writing"),
    "import": Command("learnpath.catalog.markdown_import", "add_arguments", "run",
                      "turn the links of a Markdown learning list into draft catalog entries"),
    "schema": Command("learnpath.catalog.commands", "add_schema_arguments", "run_schema",
                      "print the catalog's JSON Schema, generated from the models"),
    "stats": Command("learnpath.catalog.commands", "add_stats_arguments", "run_stats",
                     "print counts by kind, level and topic, and each path's hours"),
    "check-links": Command("learnpath.linkcheck.command", "add_check_links_arguments", "run_check_links",
                           "check every link in the catalog and the pages"),
}


class _Parser(argparse.ArgumentParser):
    """argparse exits on its own; raise instead so run() can return 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}\nTry '{self.prog} --help'.")


def _chosen_command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv``, if any: the first word that is one."""
    return next((word for word in argv if word in COMMANDS), None)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``chosen``'s module is imported to add its options.

    Every subcommand is listed (with its help line) so ``learnpath --help`` shows
    them all, but importing, say, the link checker costs a third of a second
    that ``learnpath validate`` should not pay.
    """
    parser = _Parser(prog="learnpath", description="Tools for the Learn Transformers catalog and site.")
    parser.add_argument("--version", action="version", version=f"learnpath {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, command in COMMANDS.items():
        command_parser = sub.add_parser(name, help=command.help, description=command.help,
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        if name != chosen:
            continue
        getattr(importlib.import_module(command.module), command.add_arguments)(command_parser)
        command_parser.set_defaults(_command=command)
    return parser


def run(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_chosen_command(argv))
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.USAGE
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    command: Command = args._command
    try:
        return int(getattr(importlib.import_module(command.module), command.run)(args))
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("learnpath: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def main() -> None:
    try:
        code = run(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:
        # `learnpath validate | head` closed the pipe: stop quietly, as Unix tools do.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = ExitCode.FAILED
    sys.exit(code)
