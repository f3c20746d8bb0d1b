"""``learnpath import FILE.md``: the links of a Markdown learning list, as draft catalog entries.

Finds every web link in the file (``[title](url)`` with the text around it,
bullets, tables, ``<url>`` and bare ``https://...``; not images, not code),
skips what the catalog already has (compared after normalising the URL) and
what is a site's home page (an author's or publisher's page, not a resource),
and turns the rest into drafts: the link text as title, a kind guessed from
the address, and a TODO for every field only a person can fill in (the
validator refuses a TODO, so a draft cannot slip through as done). Drafts go
to standard output as YAML, or with ``--write`` to the end of ``resources:``.
Nothing is fetched. The report (one line per link, with its place in the
file) goes to standard error.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from learnpath.catalog.add import Known, known_urls, suggest_id
from learnpath.catalog.commands import DEFAULT_CATALOG, load_or_explain
from learnpath.catalog.insert import CannotInsert, append_lines, item_indent
from learnpath.catalog.layout import render_record
from learnpath.catalog.problems import CatalogInvalid, Location
from learnpath.catalog.rules import Rule
from learnpath.catalog.schema import Kind, Resource
from learnpath.catalog.urls import normalize_url, without_tracking
from learnpath.catalog.validate import load_catalog
from learnpath.catalog.write import write_or_explain
from learnpath.exits import ExitCode
from learnpath.markdown import prose_lines  # the one home of Markdown code skipping
from learnpath.safe_text import escape_control

MAX_MARKDOWN_BYTES = 4 * 1024 * 1024

# --------------------------------------------------------------------------- #
# Links in Markdown
# --------------------------------------------------------------------------- #

_INLINE = re.compile(r"(?P<image>!?)\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?(?P<url>https?://[^\s)>]+"
                     r"(?:\([^\s)]*\)[^\s)>]*)*)>?(?:\s+\"[^\"]*\")?\s*\)", re.IGNORECASE)
_AUTOLINK = re.compile(r"<(?P<url>https?://[^\s<>]+)>", re.IGNORECASE)
_REFERENCE = re.compile(r"^ {0,3}\[(?P<text>[^\]]+)\]:\s*<?(?P<url>https?://[^\s>]+)>?", re.IGNORECASE)
_BARE = re.compile(r"https?://[^\s<>\"'`|\]\[]+", re.IGNORECASE)
_TRAILING = ".,;:!?*_"
_EMPHASIS = re.compile(r"[*_`]+")


@dataclass(frozen=True)
class FoundLink:
    url: str
    text: str | None  # the link text, when the link has one
    location: Location


def _clean_text(text: str) -> str | None:
    text = " ".join(_EMPHASIS.sub("", text).split())
    return text or None


def _trim_bare(url: str) -> str:
    """A bare URL without the sentence punctuation or unbalanced ')' that follows it."""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def links_in(text: str, path: str) -> list[FoundLink]:
    """Every web link in a Markdown text, in order, images and code excluded."""
    found: list[FoundLink] = []
    for number, line in prose_lines(text):
        taken: list[tuple[int, int]] = []  # spans already read as a link, so the bare pass skips them
        for match in _INLINE.finditer(line):
            taken.append(match.span())
            if not match.group("image"):
                found.append(FoundLink(match.group("url"), _clean_text(match.group("text")),
                                       Location(path, number, match.start("url") + 1)))
        for match in _AUTOLINK.finditer(line):
            taken.append(match.span())
            found.append(FoundLink(match.group("url"), None, Location(path, number, match.start("url") + 1)))
        reference = _REFERENCE.match(line)
        if reference:
            taken.append(reference.span())
            # A reference's label ([1], [ref]) is no title.
            found.append(FoundLink(reference.group("url"), None, Location(path, number, reference.start("url") + 1)))
        for match in _BARE.finditer(line):
            if any(start <= match.start() < end for start, end in taken):
                continue
            url = _trim_bare(match.group(0))
            if url:
                found.append(FoundLink(url, None, Location(path, number, match.start() + 1)))
    found.sort(key=lambda link: (link.location.line, link.location.column))
    return found


# --------------------------------------------------------------------------- #
# What each link is
# --------------------------------------------------------------------------- #

# Hosts whose pages are (almost) always one kind of resource.
_KIND_BY_HOST = {
    "youtube.com": Kind.video, "youtu.be": Kind.video, "vimeo.com": Kind.video,
    "arxiv.org": Kind.paper, "papers.neurips.cc": Kind.paper, "proceedings.neurips.cc": Kind.paper,
    "openreview.net": Kind.paper, "aclanthology.org": Kind.paper, "proceedings.mlr.press": Kind.paper,
    "colab.research.google.com": Kind.notebook, "github.com": Kind.code, "gitlab.com": Kind.code,
    "coursera.org": Kind.course, "edx.org": Kind.course,
}


def guess_kind(url: str) -> Kind:
    """The kind a URL most likely is, from its host and file name; ``article`` when nothing says otherwise."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    if parts.path.endswith(".ipynb"):
        return Kind.notebook
    if parts.path.endswith(".pdf") and host not in _KIND_BY_HOST:
        return Kind.paper
    return _KIND_BY_HOST.get(host, Kind.article)


def is_home_page(url: str) -> bool:
    """A site's front page (``https://someone.example/``): an author or publisher, not a resource."""
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


@dataclass
class Verdict:
    link: FoundLink
    known: Known | None = None  # already in the catalog
    skipped: str | None = None  # why it is not a draft
    duplicate_of: FoundLink | None = None  # an earlier link in the file with the same address


def judge(links: list[FoundLink], known: dict[str, Known]) -> list[Verdict]:
    verdicts: list[Verdict] = []
    first: dict[str, FoundLink] = {}
    for link in links:
        key = normalize_url(link.url)
        if key in known:
            verdicts.append(Verdict(link, known=known[key]))
        elif is_home_page(link.url):
            verdicts.append(Verdict(link, skipped="a site's home page (an author or publisher), not a resource"))
        elif key in first:
            verdicts.append(Verdict(link, duplicate_of=first[key]))
        else:
            first[key] = link
            verdicts.append(Verdict(link))
    return verdicts


# --------------------------------------------------------------------------- #
# Drafts
# --------------------------------------------------------------------------- #

TODO_DESCRIPTION = "TODO: what it is and why it is worth the time, in your own words."


def draft(link: FoundLink, taken: set[str]) -> dict[str, object]:
    """A catalog entry for ``link`` with what the link says and a TODO for the rest."""
    url = without_tracking(link.url)
    title = link.text or "TODO: the page's own title"
    parts = urlsplit(url)
    id_source = link.text or f"{parts.hostname or ''} {parts.path}"
    rid = suggest_id(id_source, taken)
    taken.add(rid)
    return {
        "id": rid, "title": title, "url": url, "kind": guess_kind(url).value,
        "authors": ["TODO"], "topics": ["TODO"], "level": "TODO", "minutes": "TODO", "free": True,
        "description": TODO_DESCRIPTION, "added": _dt.date.today(),
    }


def draft_lines(drafts: list[tuple[FoundLink, dict[str, object]]], dash: int) -> list[str]:
    lines: list[str] = []
    for link, entry in drafts:
        lines.append(" " * dash + f"# draft from {escape_control(str(link.location))}: the kind is guessed from "
                                  "the address; fill in every TODO")
        lines += render_record(entry, Resource, dash)
    return lines


# --------------------------------------------------------------------------- #
# The command
# --------------------------------------------------------------------------- #


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("markdown", metavar="FILE.md", help="a Markdown learning list (bullets, tables, links)")
    parser.add_argument("--file", default=DEFAULT_CATALOG, metavar="CATALOG",
                        help=f"the catalog to compare with (default: ./{DEFAULT_CATALOG})")
    parser.add_argument("--write", action="store_true",
                        help="append the drafts to resources: in the catalog instead of printing them")
    parser.epilog = ("The report (one line per link) goes to standard error; drafts go to standard output.\n"
                     "Exit status: 0 done, 1 the catalog is invalid or the drafts could not be added, "
                     "2 usage error.")


def _read_markdown(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_MARKDOWN_BYTES:
            raise ValueError(f"is over {MAX_MARKDOWN_BYTES:,} bytes; a learning list is far smaller")
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"byte {exc.start} is not UTF-8; save the file as UTF-8") from None


def run(args: argparse.Namespace) -> int:
    source = Path(args.markdown)
    try:
        text = _read_markdown(source)
    except ValueError as exc:
        print(f"{escape_control(str(source))}: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    catalog_path = Path(args.file)
    loaded = load_or_explain(catalog_path, "import")
    if isinstance(loaded, ExitCode):
        return loaded
    verdicts = judge(links_in(text, str(source)), known_urls(loaded))
    taken = {r.id for r in loaded.catalog.resources} | {t.id for t in loaded.catalog.topics}
    drafts = [(v.link, draft(v.link, taken)) for v in verdicts
              if v.known is None and v.skipped is None and v.duplicate_of is None]
    for verdict in verdicts:
        print(_report_line(verdict), file=sys.stderr)
    counts = (sum(v.known is not None for v in verdicts), sum(v.skipped is not None for v in verdicts),
              sum(v.duplicate_of is not None for v in verdicts))
    print(f"{escape_control(str(source))}: {len(verdicts)} links: {counts[0]} already in the catalog, "
          f"{counts[1]} skipped, {counts[2]} repeated, {len(drafts)} new draft{'s' if len(drafts) != 1 else ''}",
          file=sys.stderr)
    if not drafts:
        return ExitCode.OK
    if not args.write:
        print("\n".join(draft_lines(drafts, 2)))
        return ExitCode.OK
    return _write(catalog_path, loaded, drafts)


def _report_line(verdict: Verdict) -> str:
    link = verdict.link
    url = escape_control(link.url)
    if verdict.known is not None:
        return f"{link.location}: already in the catalog as '{verdict.known.id}' ({verdict.known.location}): {url}"
    if verdict.skipped is not None:
        return f"{link.location}: skipped, {verdict.skipped}: {url}"
    if verdict.duplicate_of is not None:
        return f"{link.location}: repeats the link on line {verdict.duplicate_of.location.line}: {url}"
    return f"{link.location}: new, drafted: {url}"


def _write(path: Path, loaded, drafts: list[tuple[FoundLink, dict[str, object]]]) -> int:
    document = loaded.document
    try:
        text = append_lines(document, ("resources",), draft_lines(drafts, item_indent(document, ("resources",))))
    except CannotInsert as exc:
        print(f"learnpath import: {path}: {exc}; nothing was written", file=sys.stderr)
        return ExitCode.FAILED
    # The drafts are meant to fail validation on their TODOs, and on nothing else.
    try:
        load_catalog(path, text=text)
    except CatalogInvalid as exc:
        other = [p for p in exc.problems if p.rule is not Rule.DRAFT_PLACEHOLDER]
        if other:
            print(exc.report(), file=sys.stderr)
            print(f"learnpath import: the drafts would add problems other than their TODOs; {path} was not "
                  "changed", file=sys.stderr)
            return ExitCode.FAILED
    if not write_or_explain(path, document.text, text, "import"):
        return ExitCode.USAGE
    print(f"{path}: {len(drafts)} draft{'s' if len(drafts) != 1 else ''} added at the end of resources:; "
          "the catalog is invalid until every TODO is filled in (`learnpath validate` lists them)", file=sys.stderr)
    return ExitCode.OK



