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
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from learnpath import __version__
from learnpath.catalog.problems import CatalogInvalid, CatalogUnreadable, Problem, cap_by_rule, omitted_lines
from learnpath.catalog.rules import Rule, Severity
from learnpath.catalog.schema import Catalog, Kind, Level, json_schema
from learnpath.catalog.validate import LoadedCatalog, load_catalog
from learnpath.exits import ExitCode
from learnpath.safe_text import escape_workflow_data, escape_workflow_property

DEFAULT_CATALOG = "resources.yaml"


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


# The JSON report's shape; bump it when a field changes meaning or goes away.
VALIDATE_REPORT_VERSION = 1


def _add_file_argument(parser: argparse.ArgumentParser, formats: Sequence[OutputFormat] = (
        OutputFormat.text, OutputFormat.json)) -> None:
    parser.add_argument("file", nargs="?", default=DEFAULT_CATALOG, metavar="FILE",
                        help=f"the catalog to read (default: ./{DEFAULT_CATALOG})")
    parser.add_argument("--format", choices=[f.value for f in formats], default=OutputFormat.text.value,
                        help="text for people (default), json for tools"
                             + (", github for pull-request annotations" if OutputFormat.github in formats else ""))


# --------------------------------------------------------------------------- #
# validate
# --------------------------------------------------------------------------- #


def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_file_argument(parser, list(OutputFormat))
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only errors (no warnings, no summary)")
    parser.add_argument("--strict", action="store_true",
                        help="treat warnings (e.g. a resource on no path) as errors")
    parser.epilog = ("Each problem is printed as FILE:LINE:COLUMN: WHERE field 'NAME': MESSAGE [RULE], with a hint;\n"
                     "CONTRIBUTING.md lists every rule (LP001 ... LP308).\n"
                     "Exit status: 0 valid, 1 invalid (or any warning under --strict), 2 usage error "
                     "(e.g. the file does not exist).")


@dataclass
class Outcome:
    """What one validation found, ready for any output format."""

    file: str
    errors: list[Problem]
    warnings: list[Problem]
    omitted: Counter[Rule]
    error_count: int
    warning_count: int
    strict: bool
    loaded: LoadedCatalog | None = None
    quiet: bool = False  # no warnings, and no summary line when valid

    @property
    def failed(self) -> bool:
        return bool(self.error_count) or (self.strict and bool(self.warning_count))


def validate_file(file: str, *, strict: bool = False) -> Outcome:
    """Load ``file`` and gather what a report needs (raises ``CatalogUnreadable``)."""
    try:
        loaded = load_catalog(file)
    except CatalogUnreadable:
        raise
    except CatalogInvalid as exc:
        return Outcome(file, exc.problems, exc.warnings, exc.omitted, exc.error_count, exc.warning_count, strict)
    warnings, omitted = cap_by_rule(loaded.warnings)
    return Outcome(file, [], warnings, omitted, 0, len(loaded.warnings), strict, loaded)


def run_validate(args: argparse.Namespace) -> int:
    """Validate the catalog and print what is wrong with it."""
    fmt = OutputFormat(args.format)
    try:
        outcome = validate_file(args.file, strict=args.strict)
    except CatalogUnreadable as exc:
        if fmt is OutputFormat.json:
            print(_json_report(Outcome(args.file, exc.problems, [], Counter(), 1, 0, args.strict)))
        else:
            print(exc.report() if fmt is OutputFormat.text else _github_report(
                Outcome(args.file, exc.problems, [], Counter(), 1, 0, args.strict)), file=sys.stderr)
        return ExitCode.USAGE
    if args.quiet and not args.strict:
        outcome.warnings = []
        outcome.omitted = Counter({r: n for r, n in outcome.omitted.items() if r.severity is Severity.error})
    outcome.quiet = args.quiet
    print(REPORTERS[fmt](outcome), end="")
    return ExitCode.FAILED if outcome.failed else ExitCode.OK


def _text_report(outcome: Outcome) -> str:
    lines = [str(p) for p in outcome.errors + outcome.warnings]
    lines += omitted_lines(outcome.omitted)
    if outcome.failed or not outcome.quiet:
        lines.append(_summary(outcome))
    return "".join(line + "\n" for line in lines)


def _github_report(outcome: Outcome) -> str:
    """One workflow annotation per problem, on its line; a warning is an error under --strict."""
    lines = []
    for problem in outcome.errors + outcome.warnings:
        level = "error" if problem.severity is Severity.error or outcome.strict else "warning"
        props = [f"file={escape_workflow_property(problem.location.path)}"]
        if problem.location.line > 0:
            props += [f"line={problem.location.line}", f"col={problem.location.column}"]
        props.append(f"title={escape_workflow_property(str(problem.rule))}")
        message = f"{problem.label}: {problem.message}" if problem.label else problem.message
        if problem.hint:
            message += f"\nhint: {problem.hint}"
        lines.append(f"::{level} {','.join(props)}::{escape_workflow_data(message)}")
    for line in omitted_lines(outcome.omitted):
        lines.append(f"::warning file={escape_workflow_property(outcome.file)}::{escape_workflow_data(line)}")
    lines.append(_summary(outcome))
    return "\n".join(lines) + "\n"


def _json_report(outcome: Outcome) -> str:
    """The versioned envelope: ``version``, ``tool``, ``file``, ``valid``, ``summary``, ``problems``."""
    data = {
        "version": VALIDATE_REPORT_VERSION,
        "tool": "learnpath validate",
        "learnpath_version": __version__,
        "file": outcome.file,
        "strict": outcome.strict,
        "valid": not outcome.failed,
        "summary": {
            "errors": outcome.error_count,
            "warnings": outcome.warning_count,
            "not_shown": {rule.code: count for rule, count in sorted(outcome.omitted.items(),
                                                                   key=lambda item: item[0].code)},
        },
        "problems": [problem_to_json(p) for p in outcome.errors + outcome.warnings],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


REPORTERS = {OutputFormat.text: _text_report, OutputFormat.github: _github_report, OutputFormat.json: _json_report}


def problem_to_json(problem: Problem) -> dict[str, object]:
    """A problem as a JSON object: file, line, column, where, field, message, hint, severity, rule, name.

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
        "rule": problem.rule.code,
        "name": problem.rule.slug,
    }


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _summary(outcome: Outcome) -> str:
    file, errors, warnings = outcome.file, outcome.error_count, outcome.warning_count
    if outcome.failed and errors == 0:
        return f"{file}: invalid under --strict: {_plural(warnings, 'warning')}; the catalog was not changed."
    if outcome.failed:
        return (f"{file}: invalid: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}; "
                "the catalog was not changed.")
    catalog = outcome.loaded.catalog if outcome.loaded else None
    counts = (len(catalog.topics), len(catalog.resources), len(catalog.paths)) if catalog else (0, 0, 0)
    topics, resources, paths = counts
    text = f"{file}: valid: {_plural(topics, 'topic')}, {_plural(resources, 'resource')}, {_plural(paths, 'path')}"
    return text + (f" ({_plural(warnings, 'warning')})" if warnings else "")


# --------------------------------------------------------------------------- #
# schema
# --------------------------------------------------------------------------- #


SCHEMA_FILE = "schema/resources.schema.json"


def add_schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", nargs="?", const=SCHEMA_FILE, metavar="FILE",
                        help=f"print nothing; exit 1 if FILE (default {SCHEMA_FILE}) differs from the models' schema")
    parser.epilog = f"Regenerate the committed copy with: learnpath schema > {SCHEMA_FILE}"


def run_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema generated from the models, or check a committed copy against it."""
    if args.check is None:
        print(render_json_schema(), end="")
        return ExitCode.OK
    try:
        committed = Path(args.check).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"{args.check}: cannot read it: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.USAGE
    if committed != render_json_schema():
        print(f"{args.check}: out of date with the models in learnpath/catalog/schema.py\n"
              f"    hint: run `learnpath schema > {args.check}` and commit it", file=sys.stderr)
        return ExitCode.FAILED
    return ExitCode.OK


def render_json_schema() -> str:
    """The exact text of ``schema/resources.schema.json`` (stable key order, final newline)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- #
# stats
# --------------------------------------------------------------------------- #


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    _add_file_argument(parser)


def load_or_explain(path: str | Path, command: str) -> LoadedCatalog | ExitCode:
    """The valid catalog a command works on, or (after saying why on stderr) the exit status to return."""
    try:
        return load_catalog(path)
    except CatalogUnreadable as exc:
        print(exc.report(), file=sys.stderr)
        return ExitCode.USAGE
    except CatalogInvalid as exc:
        print(exc.report(), file=sys.stderr)
        print(f"learnpath {command} needs a valid catalog; run `learnpath validate` for details.", file=sys.stderr)
        return ExitCode.FAILED


def run_stats(args: argparse.Namespace) -> int:
    """Print counts by kind, level, topic and access, and each path's hours."""
    loaded = load_or_explain(args.file, "stats")
    if isinstance(loaded, ExitCode):
        return loaded
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
    steps = [step for stage in path.stages for step in stage.steps]
    required = sum(catalog.resource(s.resource).minutes for s in steps if not s.optional)
    optional = sum(catalog.resource(s.resource).minutes for s in steps if s.optional)
    return {
        "id": path.id, "title": path.title, "stages": len(path.stages), "steps": len(steps),
        "optional_steps": sum(s.optional for s in steps),
        "hours": round(required / 60, 1), "optional_hours": round(optional / 60, 1),
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
