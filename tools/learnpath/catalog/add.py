"""``learnpath add``: add one resource (and optionally its step on a path) to the catalog.

Values come from the options; on a terminal, whatever is missing is asked
for. The URL is compared with every address already in the catalog after
normalising (``urls.normalize_url``), and never fetched. The entry is written
in the canonical layout (``layout.py``) at the end of ``resources:``, the
step at the end of its stage; the whole result is validated with the strict
loader before an atomic write, so an invalid entry leaves the file
byte-for-byte unchanged. Exit status: 0 added, 1 refused (duplicate URL,
invalid result, invalid catalog), 2 usage error (missing option, unreadable
file).
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from learnpath.catalog.insert import CannotInsert, append_lines, item_indent
from learnpath.catalog.commands import DEFAULT_CATALOG, load_or_explain
from learnpath.catalog.layout import render_record
from learnpath.catalog.problems import CatalogInvalid, Location
from learnpath.catalog.schema import Kind, Level, Resource, Step
from learnpath.catalog.urls import normalize_url
from learnpath.catalog.validate import LoadedCatalog, load_catalog
from learnpath.catalog.write import write_or_explain
from learnpath.exits import ExitCode, UsageError
from learnpath.safe_text import escape_control

MAX_ID_WORDS = 6


# --------------------------------------------------------------------------- #
# Facts about the catalog that adding needs (learnpath import uses them too)
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Known:
    """A resource already in the catalog, found by one of its addresses."""

    id: str
    url: str
    location: Location


def known_urls(loaded: LoadedCatalog) -> dict[str, Known]:
    """Normalised URL -> the resource that has it (as ``url`` or in ``alternate_urls``)."""
    found: dict[str, Known] = {}
    for index, resource in enumerate(loaded.catalog.resources):
        found.setdefault(normalize_url(resource.url), Known(resource.id, resource.url,
                                                            loaded.location("resources", index, "url")))
        for j, url in enumerate(resource.alternate_urls):
            found.setdefault(normalize_url(url), Known(resource.id, url,
                                                       loaded.location("resources", index, "alternate_urls", j)))
    return found


def suggest_id(title: str, taken: set[str]) -> str:
    """A permanent id from a title: its first words, lower-case ASCII, joined by hyphens, unique."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    base = "-".join(words[:MAX_ID_WORDS])[:64].strip("-") or "resource"
    if len(base) < 2:
        base = f"{base}-resource"
    candidate, number = base, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = base[:64 - len(suffix)].rstrip("-") + suffix
        number += 1
    return candidate


# --------------------------------------------------------------------------- #
# Options and prompts
# --------------------------------------------------------------------------- #


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", default=DEFAULT_CATALOG, metavar="FILE",
                        help=f"the catalog to add to (default: ./{DEFAULT_CATALOG})")
    parser.add_argument("--url", help="the resource's canonical address (never fetched)")
    parser.add_argument("--title", help="its own title, as its page gives it")
    parser.add_argument("--kind", help=f"one of {', '.join(k.value for k in Kind)}")
    parser.add_argument("--authors", action="append", metavar="NAMES",
                        help="who made it; several as 'A, B' or by repeating the option")
    parser.add_argument("--topics", action="append", metavar="IDS", help="topic ids it teaches, e.g. 'rnn, lstm'")
    parser.add_argument("--level", help=f"one of {', '.join(lv.value for lv in Level)}")
    parser.add_argument("--minutes", type=int, help="honest minutes to work through it")
    parser.add_argument("--description", help="1 to 3 sentences in your own words")
    parser.add_argument("--paid", action="store_true", help="it needs payment or an account (default: free)")
    parser.add_argument("--year", type=int, help="year of publication, if known")
    parser.add_argument("--prerequisites", action="append", metavar="IDS", help="resource or topic ids to know first")
    parser.add_argument("--id", help="the permanent id (default: suggested from the title)")
    parser.add_argument("--path", metavar="ID", help="also add it as a step of this path ...")
    parser.add_argument("--stage", metavar="ID", help="... at the end of this stage")
    parser.add_argument("--why", help="why it is on the path at this point (1 to 3 sentences)")
    parser.add_argument("--optional", action="store_true", help="the step can be skipped")
    parser.add_argument("--dry-run", action="store_true", help="print what would be added; write nothing")
    parser.epilog = ("On a terminal, missing values are asked for; otherwise they are a usage error.\n"
                     "Exit status: 0 added, 1 refused (duplicate URL, invalid entry or catalog), 2 usage error.")


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


Ask = Callable[[str], str]


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _gather(args: argparse.Namespace, loaded: LoadedCatalog, ask: Ask | None) -> dict[str, Any]:
    """The new resource's fields, from the options and (on a terminal) answers to prompts."""
    catalog = loaded.catalog
    questions: dict[str, tuple[str, Any]] = {
        "url": ("URL (https://...)", args.url),
        "title": ("Title, as the page gives it", args.title),
        "kind": (f"Kind ({', '.join(k.value for k in Kind)})", args.kind),
        "authors": ("Authors, comma-separated", _split(args.authors) or None),
        "topics": (f"Topics ({', '.join(t.id for t in catalog.topics)})", _split(args.topics) or None),
        "level": (f"Level ({', '.join(lv.value for lv in Level)})", args.level),
        "minutes": ("Minutes to work through it", args.minutes),
        "description": ("Description: 1 to 3 sentences, your own words", args.description),
    }
    missing = [name for name, (_, value) in questions.items() if value in (None, "")]
    if missing and ask is None:
        raise UsageError("learnpath add: missing " + ", ".join(f"--{name}" for name in missing)
                         + " (run it on a terminal to be asked for them)")
    values = {name: value for name, (_, value) in questions.items()}
    for name in missing:
        answer = ask(questions[name][0]).strip()
        if name in ("authors", "topics"):
            values[name] = _split([answer])
        elif name == "minutes":
            try:
                values[name] = int(answer)
            except ValueError:
                raise UsageError(f"learnpath add: minutes must be a whole number, not {answer!r}") from None
        else:
            values[name] = answer
    taken = {r.id for r in catalog.resources} | {t.id for t in catalog.topics}
    entry: dict[str, Any] = {
        "id": args.id or suggest_id(str(values["title"]), taken),
        "title": values["title"], "url": values["url"], "kind": values["kind"], "authors": values["authors"],
        "topics": values["topics"], "level": values["level"], "minutes": values["minutes"], "free": not args.paid,
    }
    if args.year is not None:
        entry["year"] = args.year
    entry["description"] = values["description"]
    if args.prerequisites:
        entry["prerequisites"] = _split(args.prerequisites)
    entry["added"] = _dt.date.today()
    return entry


# --------------------------------------------------------------------------- #
# The command
# --------------------------------------------------------------------------- #


def run(args: argparse.Namespace, ask: Ask | None = None) -> int:
    if ask is None and _interactive():
        ask = lambda prompt: input(f"{prompt}: ")  # noqa: E731 - a one-line prompt
    path = Path(args.file)
    loaded = load_or_explain(path, "add")
    if isinstance(loaded, ExitCode):
        return loaded
    if (args.stage or args.why or args.optional) and not args.path:
        raise UsageError("learnpath add: --stage, --why and --optional need --path")
    if args.path and not args.stage:
        if ask is None:
            raise UsageError("learnpath add: --path needs --stage (the stage to add the step to)")
        args.stage = ask("Stage id on that path").strip()
    entry = _gather(args, loaded, ask)
    if entry["id"] in {r.id for r in loaded.catalog.resources}:
        print(f"learnpath add: the id '{escape_control(entry['id'])}' is taken; choose another with --id",
              file=sys.stderr)
        return ExitCode.FAILED
    existing = known_urls(loaded).get(normalize_url(str(entry["url"])))
    if existing is not None:
        print(f"{existing.location}: learnpath add: {escape_control(str(entry['url']))} is already in the catalog "
              f"as '{existing.id}' ({escape_control(existing.url)}); nothing was added", file=sys.stderr)
        return ExitCode.FAILED
    try:
        text = _with_entry(loaded, entry, args)
    except CannotInsert as exc:
        print(f"learnpath add: {path}: {exc}; nothing was added", file=sys.stderr)
        return ExitCode.FAILED
    except UsageError:
        raise
    try:
        result = load_catalog(path, text=text)
    except CatalogInvalid as exc:
        print("learnpath add: the new entry would make the catalog invalid (line numbers are the ones it "
              "would have had):", file=sys.stderr)
        print(exc.report().replace("the catalog was not changed", f"nothing was added; {path} is unchanged"),
              file=sys.stderr)
        return ExitCode.FAILED
    if result.document is None or result.document.data != _expected(loaded, entry, args):
        print(f"learnpath add: {path}: the new text does not read back as the catalog plus the new entry; "
              "nothing was written. This is a bug in learnpath: please report it.", file=sys.stderr)
        return ExitCode.INTERNAL
    if args.dry_run:
        print(_added_lines(loaded.document.text if loaded.document else "", text), end="")
        return ExitCode.OK
    if not write_or_explain(path, loaded.document.text if loaded.document else "", text, "add"):
        return ExitCode.USAGE
    print(f"{path}: added '{entry['id']}'" + (f" to path '{args.path}', stage '{args.stage}'" if args.path else ""))
    for warning in result.warnings:
        if warning.where.startswith("resources[") and f"(id: {entry['id']})" in warning.where:
            print(warning)
    return ExitCode.OK


def _with_entry(loaded: LoadedCatalog, entry: dict[str, Any], args: argparse.Namespace) -> str:
    """The catalog's text with the resource (and its step) added, nothing else changed."""
    document = loaded.document
    assert document is not None
    dash = item_indent(document, ("resources",))
    text = append_lines(document, ("resources",), render_record(entry, Resource, dash))
    if not args.path:
        return text
    paths = {p.id: (i, p) for i, p in enumerate(loaded.catalog.paths)}
    if args.path not in paths:
        raise UsageError(f"learnpath add: no path '{args.path}'; the paths are {', '.join(paths)}")
    p, learning_path = paths[args.path]
    stages = {s.id: i for i, s in enumerate(learning_path.stages)}
    if args.stage not in stages:
        raise UsageError(f"learnpath add: path '{args.path}' has no stage '{args.stage}'; its stages are "
                         f"{', '.join(stages)}")
    step: dict[str, Any] = {"resource": entry["id"]}
    if args.optional:
        step["optional"] = True
    if args.why:
        step["why"] = args.why
    # Re-read the text with the resource in it, so the step's position is exact.
    from learnpath.catalog.load import load_yaml

    with_resource = load_yaml(document.path, text=text)
    keys = ("paths", p, "stages", stages[args.stage], "steps")
    return append_lines(with_resource, keys, render_record(step, Step, item_indent(with_resource, keys)))


def _expected(loaded: LoadedCatalog, entry: dict[str, Any], args: argparse.Namespace) -> Any:
    """The old data with the entry (and its step) appended: what the new text must read back as."""
    data = copy.deepcopy(loaded.document.data if loaded.document else {})
    data["resources"].append(dict(entry))
    if args.path:
        path = next(p for p in data["paths"] if p.get("id") == args.path)
        stage = next(s for s in path["stages"] if s.get("id") == args.stage)
        step = {"resource": entry["id"], **({"optional": True} if args.optional else {}),
                **({"why": args.why} if args.why else {})}
        stage["steps"].append(step)
    return data


def _added_lines(old: str, new: str) -> str:
    """The lines of ``new`` that are not in ``old`` (what --dry-run shows)."""
    import difflib

    return "".join(line[2:] + "\n" for line in difflib.ndiff(old.splitlines(), new.splitlines())
                   if line.startswith("+ "))
