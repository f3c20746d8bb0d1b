"""Find the links to check, each with every place it is used.

Two sources: the catalog (every resource ``url`` and ``alternate_urls``,
located through the catalog loader so the line is the one an editor shows)
and Markdown pages (inline links, autolinks, reference definitions and raw
HTML ``href``/``src``). Code blocks, inline code and HTML comments are skipped:
an example URL in a code sample is not a link anybody follows.

The Markdown scanner is deliberately a line scanner, not a full CommonMark
parser: it only has to find URLs and their lines, and being small keeps the
rules (and their tests) easy to read.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from learnpath.catalog.problems import Location
from learnpath.markdown import prose_lines

CATALOG_SUFFIXES = (".yaml", ".yml")
MARKDOWN_SUFFIXES = (".md", ".markdown")
DEFAULT_CATALOG = Path("resources.yaml")
DEFAULT_CONTENT = Path("content")


class SourceError(Exception):
    """A path given to the checker cannot be read as a catalog or a page."""


@dataclass(frozen=True)
class Link:
    """One URL at one place."""

    url: str
    location: Location


@dataclass
class Target:
    """A distinct URL and every place that uses it: fetched once, reported everywhere."""

    url: str
    uses: list[Location] = field(default_factory=list)


def group_links(links: Iterable[Link]) -> list[Target]:
    """Merge links by URL, keeping first-seen order and each location once.

    Linear in the number of links: a set per URL says whether a location is
    new (a list scan made one URL used 20,000 times cost minutes).
    """
    targets: dict[str, Target] = {}
    seen: dict[str, set[Location]] = {}
    for link in links:
        target = targets.get(link.url)
        if target is None:
            target = targets[link.url] = Target(link.url)
            seen[link.url] = set()
        if link.location not in seen[link.url]:
            seen[link.url].add(link.location)
            target.uses.append(link.location)
    return list(targets.values())


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #

_AUTOLINK = re.compile(r"<(https?://[^\s<>]+)>", re.IGNORECASE)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(https?://[^\s>]+)>?", re.IGNORECASE)
_HTML_ATTR = re.compile(r"""\b(?:href|src)\s*=\s*(?:"(https?://[^"]+)"|'(https?://[^']+)')""", re.IGNORECASE)
_INLINE_START = re.compile(r"\]\(\s*(<)?(?=https?://)", re.IGNORECASE)


def _inline_destination(line: str, start: int, angled: bool) -> str:
    """Read an inline link's URL from ``start``: up to white space or the closing ')'.

    Balanced parentheses belong to the URL, as in Wikipedia's
    ``.../Transformer_(deep_learning_architecture)``.
    """
    if angled:
        end = line.find(">", start)
        return line[start:end] if end != -1 else ""
    depth = 0
    for i in range(start, len(line)):
        ch = line[i]
        if ch.isspace():
            return line[start:i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return line[start:i]
            depth -= 1
    return line[start:]


def _urls_in_line(line: str) -> Iterator[tuple[str, int]]:
    """Every external URL in one line of prose, with its 1-based column."""
    found: list[tuple[int, str]] = []
    for match in _INLINE_START.finditer(line):
        url = _inline_destination(line, match.end(), angled=bool(match.group(1)))
        found.append((match.end(), url))
    for match in _AUTOLINK.finditer(line):
        found.append((match.start(1), match.group(1)))
    for match in _HTML_ATTR.finditer(line):
        group = 1 if match.group(1) else 2
        found.append((match.start(group), html.unescape(match.group(group))))
    reference = _REFERENCE.match(line)
    if reference:
        found.append((reference.start(1), reference.group(1)))
    seen: set[int] = set()
    for column, url in sorted(found):
        if url and column not in seen:
            seen.add(column)
            yield url, column + 1


def links_in_markdown(text: str, path: str) -> list[Link]:
    """Every external http(s) link in a Markdown text, located as ``path:line:column``."""
    return [
        Link(url, Location(path, number, column))
        for number, line in prose_lines(text)
        for url, column in _urls_in_line(line)
    ]


# --------------------------------------------------------------------------- #
# Catalog
# --------------------------------------------------------------------------- #


def links_in_catalog(path: Path) -> list[Link]:
    """Every resource URL and alternate URL in a catalog, at the line of its value.

    Raises ``CatalogInvalid`` (from the loader) with the validator's messages
    when the catalog is not valid: checking links of a broken file would
    report wrong lines.
    """
    from learnpath.catalog import load_catalog  # the link checker needs the loader only here

    loaded = load_catalog(path)
    links: list[Link] = []
    for index, resource in enumerate(loaded.catalog.resources):
        links.append(Link(resource.url, _display(loaded.location("resources", index, "url"), path)))
        for alt_index, url in enumerate(resource.alternate_urls):
            where = loaded.location("resources", index, "alternate_urls", alt_index)
            links.append(Link(url, _display(where, path)))
    return links


def _display(location: Location, path: Path) -> Location:
    """Report the catalog as the user named it, whatever path the loader stored."""
    return Location(str(path), location.line, location.column)


def urls_in_catalog_text(text: str) -> set[str]:
    """The resource URLs of a catalog's text, without validating it.

    Used for an old revision in ``--only-changed``: it may not satisfy
    today's schema, and only its set of URLs matters.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return set()
    resources = data.get("resources") if isinstance(data, dict) else None
    urls: set[str] = set()
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict):
            continue
        candidates = [resource.get("url")]
        alternates = resource.get("alternate_urls")
        if isinstance(alternates, list):
            candidates.extend(alternates)
        urls.update(url for url in candidates if isinstance(url, str))
    return urls


def urls_in_text(text: str, path: Path) -> set[str]:
    """The URL set of either kind of source, for comparing revisions."""
    if path.suffix.lower() in CATALOG_SUFFIXES:
        return urls_in_catalog_text(text)
    return {link.url for link in links_in_markdown(text, str(path))}


# --------------------------------------------------------------------------- #
# Sources
# --------------------------------------------------------------------------- #


def default_sources(root: Path = Path(".")) -> list[Path]:
    """``resources.yaml`` and every page under ``content/``, relative to ``root``."""
    if not (root / DEFAULT_CATALOG).is_file():
        raise SourceError(
            f"no {DEFAULT_CATALOG} in {root.resolve()}; run from the repository root "
            "or name the files to check: learnpath check-links FILE..."
        )
    pages = sorted((root / DEFAULT_CONTENT).rglob("*.md")) if (root / DEFAULT_CONTENT).is_dir() else []
    return [root / DEFAULT_CATALOG, *pages]


def expand_sources(paths: Iterable[str]) -> list[Path]:
    """Check the paths a user named: catalogs and Markdown files, or directories of pages."""
    sources: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            sources.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in MARKDOWN_SUFFIXES))
        elif not path.exists():
            raise SourceError(f"{name}: no such file; check the path")
        elif path.suffix.lower() not in CATALOG_SUFFIXES + MARKDOWN_SUFFIXES:
            raise SourceError(
                f"{name}: not a catalog (.yaml, .yml) or a Markdown page (.md); "
                "name only those, or a directory of pages"
            )
        else:
            sources.append(path)
    return sources


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror})") from None


def links_in_source(path: Path) -> list[Link]:
    """The links of one catalog or page."""
    if path.suffix.lower() in CATALOG_SUFFIXES:
        return links_in_catalog(path)
    return links_in_markdown(_read(path), str(path))


def collect(sources: Iterable[Path]) -> list[Link]:
    """The links of every source, in order."""
    return [link for path in sources for link in links_in_source(path)]


# --------------------------------------------------------------------------- #
# --only-changed
# --------------------------------------------------------------------------- #


class GitError(SourceError):
    """``--only-changed`` cannot compare with the ref it was given."""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise GitError("--only-changed needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} took over 60 s; is the repository locked?") from None


def verify_ref(ref: str, cwd: Path = Path(".")) -> None:
    """Fail clearly when ``cwd`` is not in a git work tree or ``ref`` names no commit."""
    if _git(["rev-parse", "--is-inside-work-tree"], cwd).returncode != 0:
        raise GitError(f"--only-changed {ref}: {cwd.resolve()} is not inside a git repository")
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd).returncode != 0:
        raise GitError(
            f"--only-changed {ref}: git knows no commit by that name; "
            "fetch it first (e.g. git fetch origin main) or pass a commit id"
        )


def old_text(ref: str, path: Path) -> str | None:
    """A file's text at ``ref``, or None when it did not exist there."""
    result = _git(["show", f"{ref}:./{path.name}"], path.parent if str(path.parent) else Path("."))
    return result.stdout if result.returncode == 0 else None


def changed_links(links: Iterable[Link], ref: str) -> list[Link]:
    """Only the links whose URL is absent from the same file at ``ref``: added or edited since."""
    old_urls: dict[str, set[str]] = {}
    kept: list[Link] = []
    for link in links:
        path = link.location.path
        if path not in old_urls:
            before = old_text(ref, Path(path))
            old_urls[path] = urls_in_text(before, Path(path)) if before is not None else set()
        if link.url not in old_urls[path]:
            kept.append(link)
    return kept


# --------------------------------------------------------------------------- #
# Exclusions
# --------------------------------------------------------------------------- #

DEFAULT_EXCLUDE_FILE = Path("linkcheck-exclude.txt")


@dataclass(frozen=True)
class Exclusion:
    """A regular expression (searched in the URL) and where it came from and why."""

    pattern: re.Pattern[str]
    origin: str  # "--exclude" or "linkcheck-exclude.txt:7"
    why: str = ""


def compile_exclusion(text: str, origin: str, why: str = "") -> Exclusion:
    try:
        return Exclusion(re.compile(text), origin, why)
    except re.error as exc:
        raise SourceError(f"{origin}: {text!r} is not a valid regular expression ({exc}); "
                          "escape special characters such as '.', '?' and '+' with a backslash") from None


def parse_exclude_file(path: Path) -> tuple[list[Exclusion], list[str]]:
    """Read an exclude list: one regex per line, then ``#`` and why it is excluded.

    Blank lines and lines starting with ``#`` are comments. Returns the
    exclusions and warnings (an entry without a reason is accepted but
    flagged, because nobody will dare remove an unexplained exclusion).
    """
    exclusions, warnings = [], []
    for number, raw in enumerate(_read(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, _, why = line.partition(" #")
        origin = f"{path}:{number}"
        if not why.strip():
            warnings.append(f"{origin}: warning: exclusion {pattern.strip()!r} has no '# why' comment; add one")
        exclusions.append(compile_exclusion(pattern.strip(), origin, why.strip()))
    return exclusions, warnings


# All the exclusion matching of a run must finish within this many seconds.
EXCLUDE_BUDGET = 5.0

# Run in a child process: Python's re backtracks and cannot be interrupted, so a
# pattern such as (a+)+$ can take longer than the universe on a 40-character URL.
# The child says which pattern it is on, so the one that ran over can be named.
_MATCHER = """
import json, re, sys
data = json.load(sys.stdin)
first = {}
for j, pattern in enumerate(data["patterns"]):
    print("P", j, flush=True)
    search = re.compile(pattern).search
    for i, url in enumerate(data["urls"]):
        if i not in first and search(url):
            first[i] = j
print("R", json.dumps(first), flush=True)
"""


def excluded(urls: list[str], exclusions: list[Exclusion], budget: float = EXCLUDE_BUDGET) -> dict[str, Exclusion]:
    """The URLs an exclusion matches, each with the first that does (in the order given).

    Bounded: the matching runs in a child process killed after ``budget``
    seconds, and a pattern that runs over is a SourceError naming it (where it
    came from, what to change), so a catastrophic pattern cannot stall CI.
    """
    if not urls or not exclusions:
        return {}
    payload = json.dumps({"patterns": [e.pattern.pattern for e in exclusions], "urls": urls})
    try:
        proc = subprocess.run([sys.executable, "-I", "-S", "-c", _MATCHER], input=payload, capture_output=True,
                              text=True, timeout=budget)
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        started = [line.split()[1] for line in output.splitlines() if line.startswith("P ")]
        if not started:
            raise SourceError(f"matching the URLs against the exclusions did not even start within {budget:g} s; "
                              "is the machine overloaded? Re-run it") from None
        stuck = exclusions[int(started[-1])]
        raise SourceError(
            f"{stuck.origin}: the exclusion {stuck.pattern.pattern!r} did not finish matching the "
            f"{len(urls)} URL(s) within {budget:g} s: it backtracks without end on some URL (nested "
            "quantifiers such as (a+)+, or alternatives that overlap such as (a|ab)*); rewrite it "
            "without them, e.g. [a-z0-9.-]* instead of ([a-z0-9-]+\\.)*"
        ) from None
    result = next((line[2:] for line in proc.stdout.splitlines() if line.startswith("R ")), None)
    if proc.returncode != 0 or result is None:
        raise SourceError(f"matching the exclusions failed: {proc.stderr.strip()[-500:] or proc.returncode}")
    return {urls[int(i)]: exclusions[j] for i, j in json.loads(result).items()}
