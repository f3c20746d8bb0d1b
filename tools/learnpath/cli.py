"""The ``learnpath`` command line: a thin dispatcher over the library.

``run(argv) -> int`` is what tests call; ``main()`` only exits with it. Each
subcommand lives beside the code it drives and exposes two functions:
``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from learnpath import __version__
from learnpath.exits import ExitCode, UsageError

# subcommand -> (module, one-line help). Modules are imported lazily so that
# `learnpath validate` does not pay for importing the link checker.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("learnpath.catalog.commands", "check a catalog; exit 0 valid, 1 invalid, 2 usage error"),
    "schema": ("learnpath.catalog.commands", "print the catalog's JSON Schema, generated from the models"),
    "stats": ("learnpath.catalog.commands", "print counts by kind, level and topic, and each path's hours"),
    "check-links": ("learnpath.linkcheck.command", "check every link in the catalog and the pages"),
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
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text,
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        if name != chosen:
            continue
        module = importlib.import_module(module_name)
        getattr(module, f"add_{name.replace('-', '_')}_arguments")(command_parser)
        command_parser.set_defaults(_module=module_name, _func=f"run_{name.replace('-', '_')}")
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
    module = importlib.import_module(args._module)
    try:
        return int(getattr(module, args._func)(args))
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
