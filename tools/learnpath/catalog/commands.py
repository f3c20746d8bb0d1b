"""``learnpath validate``, ``learnpath schema`` and ``learnpath stats``.

Thin wrappers: the library (``load_catalog``, ``json_schema``) does the work,
these parse options, print, and choose the exit code:
0 valid, 1 invalid catalog, 2 usage error (missing or unreadable file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from enum import Enum

from learnpath.catalog.durations import path_steps, path_time
from learnpath.catalog.problems import CatalogInvalid, CatalogUnreadable, Problem
from learnpath.catalog.schema import Catalog, Kind, Level, json_schema
from learnpath.catalog.validate import LoadedCatalog, load_catalog
from learnpath.exits import ExitCode

DEFAULT_CATALOG = "resources.yaml"


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def _add_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default=DEFAULT_CATALOG, metavar="FILE",
                        help=f"the catalog to read (default: ./{DEFAULT_CATALOG})")
    parser.add_argument("--format", choices=[f.value for f in OutputFormat], default=OutputFormat.text.value,
                        help="text for people (default), json for tools")


# --------------------------------------------------------------------------- #
# validate
# --------------------------------------------------------------------------- #


def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_file_argument(parser)
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only errors (no warnings, no summary)")
    parser.add_argument("--strict", action="store_true",
                        help="treat warnings (e.g. a resource on no path) as errors")
    parser.epilog = ("Each problem is printed as FILE:LINE:COLUMN: WHERE field 'NAME': MESSAGE, with a hint.\n"
                     "Exit status: 0 valid, 1 invalid, 2 usage error (e.g. the file does not exist).")


def run_validate(args: argparse.Namespace) -> int:
    """Validate the catalog and print what is wrong with it."""
    fmt = OutputFormat(args.format)
    try:
        loaded = load_catalog(args.file)
    except CatalogUnreadable as exc:
        _print_problems(exc.problems, fmt, stream=sys.stderr if fmt is OutputFormat.text else sys.stdout)
        return ExitCode.USAGE
    except CatalogInvalid as exc:
        _print_problems(exc.problems + ([] if args.quiet else exc.warnings), fmt)
        if fmt is OutputFormat.text:
            print(_summary(len(exc.problems), len(exc.warnings), args.file, valid=False))
        return ExitCode.FAILED
    warnings = [] if args.quiet and not args.strict else loaded.warnings
    _print_problems(warnings, fmt)
    failed = args.strict and bool(loaded.warnings)
    if fmt is OutputFormat.text and not args.quiet:
        catalog = loaded.catalog
        print(_summary(0, len(loaded.warnings), args.file, valid=not failed,
                       counts=(len(catalog.topics), len(catalog.resources), len(catalog.paths)),
                       strict=args.strict))
    return ExitCode.FAILED if failed else ExitCode.OK


def _print_problems(problems: Sequence[Problem], fmt: OutputFormat, *, stream=None) -> None:
    stream = stream or sys.stdout
    if fmt is OutputFormat.json:
        print(json.dumps([problem_to_json(p) for p in problems], indent=2, ensure_ascii=False), file=stream)
        return
    for problem in problems:
        print(problem, file=stream)


def problem_to_json(problem: Problem) -> dict[str, object]:
    """A problem as a JSON object: file, line, column, where, field, message, hint, severity.

    ``line`` and ``column`` are null for a problem with the whole file.
    """
    location = problem.location
    whole_file = location.line <= 0
    return {
        "file": location.path,
        "line": None if whole_file else location.line,
        "column": None if whole_file else location.column,
        "where": problem.where,
        "field": problem.field,
        "message": problem.message,
        "hint": problem.hint,
        "severity": problem.severity.value,
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(errors: int, warnings: int, file: str, *, valid: bool,
             counts: tuple[int, int, int] | None = None, strict: bool = False) -> str:
    if not valid and errors == 0 and strict:
        return f"{file}: invalid under --strict: {_plural(warnings, 'warning')}; the catalog was not changed."
    if not valid:
        return (f"{file}: invalid: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}; "
                "the catalog was not changed.")
    topics, resources, paths = counts or (0, 0, 0)
    text = f"{file}: valid: {_plural(topics, 'topic')}, {_plural(resources, 'resource')}, {_plural(paths, 'path')}"
    return text + (f" ({_plural(warnings, 'warning')})" if warnings else "")


# --------------------------------------------------------------------------- #
# schema
# --------------------------------------------------------------------------- #


def add_schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "Regenerate the committed copy with: learnpath schema > schema/resources.schema.json"


def run_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema generated from the models."""
    print(render_json_schema(), end="")
    return ExitCode.OK


def render_json_schema() -> str:
    """The exact text of ``schema/resources.schema.json`` (stable key order, final newline)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- #
# stats
# --------------------------------------------------------------------------- #


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    _add_file_argument(parser)


def run_stats(args: argparse.Namespace) -> int:
    """Print counts by kind, level, topic and access, and each path's hours."""
    try:
        loaded = load_catalog(args.file)
    except CatalogUnreadable as exc:
        print(exc.report(), file=sys.stderr)
        return ExitCode.USAGE
    except CatalogInvalid as exc:
        print(exc.report(), file=sys.stderr)
        print("learnpath stats needs a valid catalog; run `learnpath validate` for details.", file=sys.stderr)
        return ExitCode.FAILED
    stats = catalog_stats(loaded.catalog)
    if OutputFormat(args.format) is OutputFormat.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
    else:
        print(render_stats(stats, loaded))
    return ExitCode.OK


def catalog_stats(catalog: Catalog) -> dict[str, object]:
    """The figures `learnpath stats` prints, as plain data."""
    kinds = Counter(r.kind.value for r in catalog.resources)
    levels = Counter(r.level.value for r in catalog.resources)
    topics = Counter(t for r in catalog.resources for t in r.topics)
    return {
        "resources": len(catalog.resources),
        "topics": len(catalog.topics),
        "minutes": sum(r.minutes for r in catalog.resources),
        "by_kind": {k.value: kinds[k.value] for k in Kind if kinds[k.value]},
        "by_level": {lv.value: levels[lv.value] for lv in Level},
        "by_topic": {t.id: topics[t.id] for t in catalog.topics},
        "free": sum(r.free for r in catalog.resources),
        "paid": sum(not r.free for r in catalog.resources),
        "paths": [_path_stats(catalog, path) for path in catalog.paths],
    }


def _path_stats(catalog: Catalog, path) -> dict[str, object]:
    steps = path_steps(path)
    time = path_time(catalog, path)  # the site shows the same figure (one home: catalog/durations.py)
    return {
        "id": path.id, "title": path.title, "stages": len(path.stages), "steps": len(steps),
        "optional_steps": sum(s.optional for s in steps),
        "hours": round(time.required_minutes / 60, 1), "optional_hours": round(time.optional_minutes / 60, 1),
    }


def render_stats(stats: dict, loaded: LoadedCatalog) -> str:
    """The stats as aligned plain-text tables."""
    total = len(loaded.catalog.resources)
    blocks = [
        f"{loaded.path}: {_plural(stats['resources'], 'resource')}, {_plural(stats['topics'], 'topic')}, "
        f"{_plural(len(stats['paths']), 'path')}, {stats['minutes'] / 60:.1f} hours in all",
        table(["kind", "resources", "share"], _shares(stats["by_kind"].items(), total)),
        table(["level", "resources", "share"], _shares(stats["by_level"].items(), total)),
        table(["topic", "resources"], [[k, v] for k, v in stats["by_topic"].items()]),
        table(["access", "resources", "share"], _shares([("free", stats["free"]), ("paid", stats["paid"])], total)),
        table(["path", "stages", "steps", "hours", "+ optional"],
              [[p["id"], p["stages"], p["steps"], f"{p['hours']:.1f}",
                f"{p['optional_hours']:.1f} ({_plural(p['optional_steps'], 'step')})"] for p in stats["paths"]]),
    ]
    return "\n\n".join(blocks)


def _shares(items: Iterable[tuple[str, int]], total: int) -> list[list[object]]:
    return [[name, count, f"{100 * count / total:.0f}%" if total else "-"] for name, count in items]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [cell.rjust(w) if numeric[i] else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(value: object) -> bool:
    text = str(value).rstrip("%")
    try:
        float(text)
    except ValueError:
        return False
    return True
