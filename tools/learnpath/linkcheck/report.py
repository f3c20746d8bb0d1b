"""Say what a run found: one formatter per output format, plus progress and the summary.

Formats (``OutputFormat``): ``text`` for people, ``json`` for machines (a
stable, versioned schema that ``load_json`` reads back), ``markdown`` for the
tracking issue, ``github`` for workflow annotations on a pull request. Each is
a plain function ``Report -> str``; ``FORMATTERS`` maps a format to it.

A `Result` carries facts (the fetch's explanation, the fragment's fate, when a
cached success was checked, how far a failure is from confirmed, an archived
copy); `why` and `fix` make the sentences people read, the same in every
format. Everything from the network or the catalog (URLs, page titles, status
lines, Location headers, paths) is escaped for where it goes: control
characters always (`learnpath.safe_text.escape_control`: a status line cannot
clear the terminal), Markdown syntax in the issue body (no mention, HTML,
image or link from a page title), and the workflow-command syntax in GitHub
annotations.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, TextIO

from urllib.parse import quote, urldefrag

from learnpath.catalog.problems import Location
from learnpath.linkcheck.verdicts import FragmentStatus, Result, Verdict
from learnpath.safe_text import escape_control, escape_markdown, escape_workflow_data, escape_workflow_property

REPORT_VERSION = 1
# GitHub refuses an issue body over 65,536 characters; leave room for the footer.
MARKDOWN_BUDGET = 60_000
# Worst first: what a maintainer must fix, then what to update, then what we could not verify.
VERDICT_ORDER = sorted(Verdict, key=lambda v: v.severity_rank)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    github = "github"


@dataclass
class RunInfo:
    """What was run, when and how; the JSON report's ``run`` object."""

    started: str
    finished: str
    elapsed: float
    sources: list[str] = field(default_factory=list)
    urls: int = 0
    fetched: int = 0
    cached: int = 0
    excluded: int = 0
    interrupted: bool = False
    strict: bool = False
    confirm_runs: int = 2
    confirm_hours: float = 12.0
    only_changed: str | None = None
    learnpath_version: str = ""


@dataclass
class Report:
    """Everything a formatter needs: the run and one result per distinct URL."""

    info: RunInfo
    results: list[Result]
    cached: set[str] = field(default_factory=set)

    @property
    def confirmed_broken(self) -> list[Result]:
        return [r for r in self.results if r.verdict.is_failure and r.confirmed]

    def counts(self) -> Counter[Verdict]:
        return Counter(r.verdict for r in self.results)

    def by_verdict(self) -> list[tuple[Verdict, list[Result]]]:
        """Results to show, grouped in ``VERDICT_ORDER``; confirmed failures first in a group."""
        groups: list[tuple[Verdict, list[Result]]] = []
        for verdict in VERDICT_ORDER:
            if verdict is Verdict.ok:
                continue
            members = [r for r in self.results if r.verdict is verdict]
            if members:
                members.sort(key=lambda r: (not r.confirmed, _first_use(r), r.url))
                groups.append((verdict, members))
        return groups


def _first_use(result: Result) -> tuple[str, int]:
    return (result.uses[0].path, result.uses[0].line) if result.uses else ("", 0)


def _where(location: Location) -> str:
    return f"{location.path}:{location.line}"


def _state(result: Result) -> str:
    """'confirmed' / 'unconfirmed' for failures; nothing for the rest."""
    if not result.verdict.is_failure:
        return ""
    return "confirmed" if result.confirmed else "unconfirmed"


# --------------------------------------------------------------------------- #
# Sentences from facts
# --------------------------------------------------------------------------- #


def why(result: Result, info: RunInfo | None = None) -> str:
    """What happened, in one line: the fetch's explanation and the facts the result carries.

    ``info`` gives the confirmation rule (runs, hours) an unconfirmed failure is measured against.
    """
    text = result.explanation
    fragment = urldefrag(result.url)[1]
    if result.fragment_status is FragmentStatus.not_html:
        text += f"; fragment {fragment!r} not checked: the resource is not HTML"
    elif result.fragment_status is FragmentStatus.not_verified:
        read = f"{result.bytes_read:,} bytes" if result.bytes_read else "part"
        text += f"; fragment {fragment!r} not verified: not in the first {read} read"
    notes = []
    if result.cached_at:
        notes.append(f"cached: checked {result.cached_at}, within --max-age")
    if result.verdict.is_failure and not result.confirmed and result.failed_runs:
        if info is not None:
            notes.append(f"unconfirmed: failed {result.failed_runs} of the {info.confirm_runs} runs, "
                         f"{info.confirm_hours:g} h apart, needed to confirm; first failure {result.first_failure}")
        else:
            notes.append(f"unconfirmed: failed {result.failed_runs} run(s) so far; first failure {result.first_failure}")
    if notes:
        text = f"{text} ({'; '.join(notes)})" if text else "; ".join(notes)
    return text


def fix(result: Result) -> str:
    """What to do about it, with the archived copy when there is one."""
    if not result.snapshot:
        return result.suggestion
    note = f"Archived copy: {result.snapshot} (replace the link with it, or with the page's new address)."
    return f"{result.suggestion} {note}" if result.suggestion else note


# --------------------------------------------------------------------------- #
# Summary
# --------------------------------------------------------------------------- #


def summary(report: Report) -> str:
    """A few lines grouped by verdict, for the end of every run."""
    info, counts = report.info, report.counts()
    head = (
        f"Checked {info.urls} distinct URL(s) in {info.elapsed:.1f} s "
        f"({info.fetched} fetched, {info.cached} cached, {info.excluded} excluded)"
    )
    if info.interrupted:
        head += " -- interrupted: results are partial"
    lines = [head + ":"]
    for verdict in VERDICT_ORDER:
        if counts[verdict]:
            extra = ""
            if verdict.is_failure:
                confirmed = sum(1 for r in report.results if r.verdict is verdict and r.confirmed)
                extra = f" ({confirmed} confirmed)"
            lines.append(f"  {verdict.icon} {verdict.label}: {counts[verdict]}{extra}")
    broken = len(report.confirmed_broken)
    lines.append(f"{broken} confirmed-broken link(s)." if broken else "Nothing confirmed broken.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# text
# --------------------------------------------------------------------------- #


def format_text(report: Report) -> str:
    """Grouped by verdict: each URL with every file:line, what happened and what to do."""
    lines: list[str] = []
    for verdict, members in report.by_verdict():
        lines.append(f"{verdict.icon} {verdict.label.upper()} ({len(members)})")
        for result in members:
            state = _state(result)
            status = f" [{result.status}]" if result.status else ""
            lines.append(f"  {escape_control(result.url)}{status}{f' ({state})' if state else ''}")
            for use in result.uses:
                lines.append(f"    at {escape_control(_where(use))}")
            if result.final_url and result.final_url != result.url:
                lines.append(f"    now at: {escape_control(result.final_url)}")
            explanation, suggestion = why(result, report.info), fix(result)
            if explanation:
                lines.append(f"    why: {escape_control(explanation)}")
            if suggestion:
                lines.append(f"    fix: {escape_control(suggestion)}")
        lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- #
# json
# --------------------------------------------------------------------------- #


def to_json_dict(report: Report) -> dict[str, Any]:
    counts = report.counts()
    return {
        "version": REPORT_VERSION,
        "tool": "learnpath check-links",
        "run": asdict(report.info),
        "summary": {
            "by_verdict": {v.value: counts[v] for v in VERDICT_ORDER},
            "confirmed_broken": len(report.confirmed_broken),
        },
        "results": [{**r.to_dict(), "cached": r.url in report.cached} for r in report.results],
    }


def format_json(report: Report) -> str:
    """The machine-readable report: ``version``, ``run``, ``summary``, ``results``.

    Laid out by hand with one result per line: as readable as an indented
    dump, but every piece goes through json's fast C encoder (indent=
    would switch to the pure-Python one, seconds for a big catalog).
    """
    data = to_json_dict(report)
    results = data.pop("results")
    lines = ["{"]
    lines += [f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}," for key, value in data.items()]
    lines.append('  "results": [')
    lines.append(",\n".join(f"    {json.dumps(r, ensure_ascii=False)}" for r in results))
    lines += ["  ]", "}"]
    return "\n".join(line for line in lines if line) + "\n"


def load_json(text: str) -> Report:
    """Read a JSON report back (for tools and tests); raises ValueError if it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("version") != REPORT_VERSION:
        raise ValueError(f"not a version {REPORT_VERSION} link-check report")
    results, cached = [], set()
    for item in data["results"]:
        item = dict(item)
        if item.pop("cached", False):
            cached.add(item["url"])
        results.append(Result.from_dict(item))
    return Report(info=RunInfo(**data["run"]), results=results, cached=cached)


# --------------------------------------------------------------------------- #
# markdown
# --------------------------------------------------------------------------- #


def md_cell(text: str) -> str:
    """Untrusted text as the literal content of a GFM table cell: one line, no live syntax
    (no mention, reference, link, image or HTML; see `learnpath.safe_text.escape_markdown`)."""
    return escape_markdown(" ".join(str(text).split()))


def md_url(url: str) -> str:
    """An autolink (its text is never Markdown); what would end it, split the cell or
    drive a terminal is percent-encoded, which means the same to a server."""
    safe = "".join(quote(c, safe="") if c in "|<> " or escape_control(c) != c else c for c in url)
    return f"<{safe}>"


def _md_where(location: Location, link_base: str | None) -> str:
    label = md_cell(_where(location))
    return f"[{label}]({link_base}{quote(location.path)}#L{location.line})" if link_base else label


def format_markdown(report: Report, link_base: str | None = None) -> str:
    """The tracking issue's body: a summary, then a table per verdict.

    ``link_base`` (e.g. ``https://github.com/o/r/blob/<sha>/``) turns each
    file:line into a link to that line.
    """
    info = report.info
    out = ["## Link check report", ""]
    out.append(
        f"Run finished {md_cell(info.finished)}: {info.urls} distinct URL(s), {len(report.confirmed_broken)} "
        f"confirmed broken. A failure is confirmed after {info.confirm_runs} failing run(s) at least "
        f"{info.confirm_hours:g} h apart" + (" (strict mode: on the first failure)." if info.strict else ".")
    )
    if info.interrupted:
        out.append("")
        out.append("**The run was interrupted; these results are partial.**")
    counts = report.counts()
    if report.results:
        out += ["", "| Verdict | Count |", "| --- | ---: |"]
        out += [f"| {v.icon} {v.label} | {counts[v]} |" for v in VERDICT_ORDER if counts[v]]
    body = "\n".join(out)
    sections = []
    for verdict, members in report.by_verdict():
        rows = [f"\n### {verdict.icon} {verdict.label} ({len(members)})\n",
                "| Where | URL | Verdict | Suggestion |", "| --- | --- | --- | --- |"]
        for result in members:
            rows.append(_md_row(result, link_base, info))
        sections.append(rows)
    body += _fit(sections, MARKDOWN_BUDGET - len(body))
    if not report.results:
        body += "\n\nNo links were checked."
    elif not any(r.verdict.is_failure for r in report.results):
        body += "\n\nEvery link passed. :tada:"
    return body + "\n"


def _md_row(result: Result, link_base: str | None, info: RunInfo) -> str:
    where = "<br>".join(_md_where(u, link_base) for u in result.uses) or "&nbsp;"
    state = _state(result)
    verdict = f"**{result.verdict.label}**"
    if state:
        verdict += f" ({state})"
    if result.status:
        verdict += f" {result.status}"
    explanation = why(result, info)
    if explanation:
        verdict += f": {md_cell(explanation)}"
    return f"| {where} | {md_url(result.url)} | {verdict} | {md_cell(fix(result))} |"


def _fit(sections: list[list[str]], budget: int) -> str:
    """Join the sections, dropping rows that would overflow GitHub's body limit (with a note)."""
    text, dropped = "", 0
    for rows in sections:
        header, table = rows[:3], rows[3:]
        chunk = "\n".join(header)
        for i, row in enumerate(table):
            if len(text) + len(chunk) + len(row) + 200 > budget:
                dropped += len(table) - i
                break
            chunk += "\n" + row
        text += "\n" + chunk
    if dropped:
        text += f"\n\n_{dropped} more row(s) left out to fit GitHub's size limit; see the JSON report artifact._"
    return text


# --------------------------------------------------------------------------- #
# github
# --------------------------------------------------------------------------- #


def _level(result: Result) -> str | None:
    if result.verdict.is_failure:
        return "error" if result.confirmed else "warning"
    if result.verdict.is_unverifiable:
        return "warning"
    if result.verdict is Verdict.redirected:
        return "notice"
    return None


def format_github(report: Report) -> str:
    """One workflow annotation per use: the pull request shows it on the catalog line."""
    lines = []
    for _, members in report.by_verdict():
        for result in members:
            level = _level(result)
            if level is None:
                continue
            state = _state(result)
            title = f"Link {result.verdict.label}" + (f" ({state})" if state else "")
            message = escape_control(result.url) + (f" [{result.status}]" if result.status else "")
            explanation, suggestion = why(result, report.info), fix(result)
            if explanation:
                message += f": {escape_control(explanation)}"
            if suggestion:
                message += f"\n{escape_control(suggestion)}"  # the one line break is ours
            for use in result.uses or [None]:
                props = []
                if use is not None:
                    props += [f"file={escape_workflow_property(use.path)}", f"line={use.line}",
                              f"col={use.column}"]
                props.append(f"title={escape_workflow_property(title)}")
                lines.append(f"::{level} {','.join(props)}::{escape_workflow_data(message)}")
    return "\n".join(lines) + ("\n" if lines else "")


FORMATTERS: dict[OutputFormat, Callable[[Report], str]] = {
    OutputFormat.text: format_text,
    OutputFormat.json: format_json,
    OutputFormat.markdown: format_markdown,
    OutputFormat.github: format_github,
}


# --------------------------------------------------------------------------- #
# Progress
# --------------------------------------------------------------------------- #


def interactive(stream: TextIO = sys.stderr) -> bool:
    """A progress bar only for a person at a terminal: not in CI, not into a file."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")


class Progress:
    """A tqdm bar on a terminal; elsewhere a quiet line every 10 % or 30 s.

    ``advance`` is called from the checker's worker threads, hence the lock.
    """

    def __init__(self, total: int, stream: TextIO = sys.stderr, bar: bool | None = None):
        self.total, self.stream, self.done, self.failing = total, stream, 0, 0
        self._lock = threading.Lock()
        self._bar = None
        self._next_fraction, self._last_line = 0.1, time.monotonic()
        if (interactive(stream) if bar is None else bar) and total:
            from tqdm import tqdm  # imported only when drawing

            self._bar = tqdm(total=total, file=stream, unit="url", desc="check-links", leave=True)

    def advance(self, result: Result) -> None:
        with self._lock:
            self.done += 1
            self.failing += result.verdict.is_failure
            if self._bar is not None:
                self._bar.update(1)
                self._bar.set_postfix(failing=self.failing, refresh=False)
                return
            now = time.monotonic()
            if self.done >= self.total or self.done >= self._next_fraction * self.total or now - self._last_line >= 30:
                while self._next_fraction * self.total <= self.done:
                    self._next_fraction += 0.1
                self._last_line = now
                print(f"check-links: {self.done}/{self.total} checked, {self.failing} failing",
                      file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def results_with_uses(results: Iterable[Result], uses: dict[str, list[Location]]) -> list[Result]:
    """Attach this run's locations (a cached or fetched result may carry none)."""
    from dataclasses import replace

    return [replace(r, uses=list(uses.get(r.url, r.uses))) for r in results]
