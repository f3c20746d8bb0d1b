"""``learnpath fmt [--check] [FILE]``: write the catalog in its canonical layout (``layout.py``).

The file is read with the strict loader, written by ``layout.render``, and
the result is read back: it must hold the same data and the same comments,
or nothing is written (that would be a bug in learnpath, exit 3). ``--check``
writes nothing and exits 1 at the first line that differs, for CI and
pre-commit. Exit status: 0 formatted (or already so), 1 not formatted
(``--check``) or the catalog's YAML is invalid, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from learnpath.catalog.commands import DEFAULT_CATALOG
from learnpath.catalog.errors import describe_value
from learnpath.catalog.layout import comment_lines, render
from learnpath.catalog.load import YamlDocument, load_yaml
from learnpath.catalog.problems import CatalogInvalid, CatalogUnreadable
from learnpath.catalog.write import write_or_explain
from learnpath.exits import ExitCode
from learnpath.safe_text import escape_control



class FormatBroken(Exception):
    """The canonical text would not read back as the original: a bug, reported instead of written."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default=DEFAULT_CATALOG, metavar="FILE",
                        help=f"the catalog to format (default: ./{DEFAULT_CATALOG})")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and show the first line that differs if FILE is not formatted")
    parser.epilog = ("The layout: keys in the schema's order, 2-space indentation, prose as `>-` text wrapped at "
                     "78 columns,\nshort lists as [a, b]; every comment kept.\n"
                     "Exit status: 0 formatted, 1 not formatted (--check) or invalid YAML, 2 usage error, "
                     "3 a bug (nothing written).")


def formatted(document: YamlDocument) -> str:
    """The canonical text of ``document``, checked to hold the same data and comments."""
    text = render(document)
    try:
        again = load_yaml(document.path, text=text)
    except CatalogInvalid as exc:
        raise FormatBroken(f"the formatted text does not parse: {exc.problems[0]}") from None
    if again.data != document.data:
        raise FormatBroken("the formatted text reads back as different data")
    if comment_lines(text) != comment_lines(document.text):
        raise FormatBroken("the formatted text lost or changed a comment")
    return text


def first_difference(old: str, new: str) -> tuple[int, str, str]:
    """1-based line number of the first differing line, and that line in each text."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for number, (a, b) in enumerate(zip(old_lines, new_lines), start=1):
        if a != b:
            return number, a, b
    number = min(len(old_lines), len(new_lines)) + 1
    return number, (old_lines[number - 1] if number <= len(old_lines) else "(end of file)"), \
        (new_lines[number - 1] if number <= len(new_lines) else "(end of file)")


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        document = load_yaml(path)
    except CatalogUnreadable as exc:
        print(exc.report(), file=sys.stderr)
        return ExitCode.USAGE
    except CatalogInvalid as exc:
        print(exc.report().replace("the catalog was not changed", "nothing was formatted"), file=sys.stderr)
        return ExitCode.FAILED
    if not isinstance(document.data, dict):
        print(f"{document.location()}: the top level is {describe_value(document.data)}, but a catalog is a "
              "mapping; nothing was formatted", file=sys.stderr)
        return ExitCode.FAILED
    try:
        text = formatted(document)
    except FormatBroken as exc:
        print(f"learnpath fmt: {path}: {exc}; the file was not changed. This is a bug in learnpath: please "
              "report it with the file attached.", file=sys.stderr)
        return ExitCode.INTERNAL
    if text == document.text:
        if not args.check:
            print(f"{path}: already formatted")
        return ExitCode.OK
    if args.check:
        number, found, wanted = first_difference(document.text, text)
        print(f"{path}:{number}:1: not in the canonical layout\n"
              f"    found:    {escape_control(found)}\n"
              f"    expected: {escape_control(wanted)}\n"
              f"    hint: run `learnpath fmt {path}` to rewrite it", file=sys.stderr)
        return ExitCode.FAILED
    if not write_or_explain(path, document.text, text, "fmt"):
        return ExitCode.USAGE
    print(f"{path}: formatted")
    return ExitCode.OK
