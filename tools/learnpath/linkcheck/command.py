"""``learnpath check-links``: argument parsing and the run, wiring the library together.

The work lives in the library (extract, fetch, history, wayback, report);
this module only turns options into calls, installs the signal handlers that
make Ctrl-C and SIGTERM a graceful stop, and maps the outcome to an exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from learnpath import __version__
from learnpath.exits import ExitCode, UsageError
from learnpath.linkcheck import extract, wayback
from learnpath.atomic import WriteFailed, atomic_write_text
from learnpath.linkcheck.history import (
    DEFAULT_HISTORY, POLICY_BOUNDS, History, HistoryError, Policy, format_time, utc_now,
)
from learnpath.linkcheck.options import BOUNDS, MAX_DEFAULT_WORKERS, Bound
from learnpath.linkcheck.report import (
    FORMATTERS, OutputFormat, Progress, Report, RunInfo, format_markdown, load_json, results_with_uses, summary,
)

# Write the history every so often during a long run, so even a SIGKILL loses little.
CHECKPOINT_SECONDS = 15.0

EPILOG = f"""\
what is checked:
  with no FILE: every resource url and alternate_urls in resources.yaml and every
  external link in content/**/*.md; with FILEs: the catalogs (.yaml/.yml) and
  Markdown pages named (a directory means its pages). Each distinct URL is
  fetched once and reported at every file:line that uses it.

confirmation:
  a link is confirmed broken after failing in --confirm-runs consecutive runs at
  least --confirm-hours apart (history in --history); --strict confirms on the
  first failure; an invalid URL (refused before any request) is confirmed at once.
  Blocked (403/999/bot wall) and transient (timeouts, 5xx, 429) results are never
  confirmed: they mean "could not verify", not "broken".

exit status:
  {ExitCode.OK:d}    nothing confirmed broken (unconfirmed and unverifiable links may remain)
  {ExitCode.FAILED:d}    at least one confirmed-broken link
  {ExitCode.USAGE:d}    usage or configuration error: bad option, unreadable file, invalid catalog
       (the validator's messages are printed), damaged history, unknown git ref
  {ExitCode.INTERNAL:d}    internal error: a bug in learnpath (LEARNPATH_DEBUG=1 shows the traceback)
  {ExitCode.INTERRUPTED:d}  interrupted by Ctrl-C; {ExitCode.TERMINATED:d} stopped by SIGTERM (what finished is saved)

examples:
  learnpath check-links                          # the catalog and the pages
  learnpath check-links README.md --strict --no-history
  learnpath check-links --only-changed origin/main --format github
  learnpath check-links --format json --output linkcheck.json
  learnpath check-links --from-json linkcheck.json --format markdown --output issue.md
"""


# --------------------------------------------------------------------------- #
# Argument types
# --------------------------------------------------------------------------- #

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Seconds from '3600', '90s', '30m', '12h', '1d' or '1w'."""
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; use seconds (3600) or a number with s, m, h, d or w (30m, 12h, 1d)"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def _number(bound: Bound, kind: type = float) -> Callable[[str], float | int]:
    """An argparse type: a number within ``bound`` (finite: 'nan' and 'inf' are refused)."""

    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a {'whole ' if kind is int else ''}number of {bound.unit}") from None
        problem = bound.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
        return value

    return parse


def _duration(bound: Bound) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = parse_duration(text)
        problem = bound.problem(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
        return value

    return parse


def _output_format(text: str) -> OutputFormat:
    try:
        return OutputFormat(text)
    except ValueError:
        choices = ", ".join(f.value for f in OutputFormat)
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {choices})") from None


# --------------------------------------------------------------------------- #
# Parser
# --------------------------------------------------------------------------- #


def add_check_links_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``learnpath check-links``; the epilog documents the exit codes."""
    parser.epilog = EPILOG
    parser.add_argument("paths", nargs="*", metavar="FILE",
                        help="catalogs (.yaml) and Markdown pages to check (default: resources.yaml and content/)")

    what = parser.add_argument_group("what to check")
    what.add_argument("--only-changed", metavar="REF",
                      help="check only URLs added or changed since the git ref REF (e.g. origin/main)")
    what.add_argument("--exclude", metavar="REGEX", action="append", default=[],
                      help="skip URLs matching this regular expression (repeatable)")
    what.add_argument("--exclude-file", metavar="PATH", type=Path,
                      help=f"file of exclusions, 'REGEX  # why' per line (default: {extract.DEFAULT_EXCLUDE_FILE} "
                           "if it exists)")

    fetching = parser.add_argument_group("fetching")
    fetching.add_argument("--workers", metavar="N", type=_number(BOUNDS["workers"], int),
                          help="requests in flight at once (default: hosts x --per-host, "
                               f"at most {MAX_DEFAULT_WORKERS})")
    fetching.add_argument("--per-host", metavar="N", type=_number(BOUNDS["per_host"], int), default=2,
                          help="requests in flight to one host (default: 2)")
    fetching.add_argument("--delay", metavar="S", type=_number(BOUNDS["min_delay"]),
                          default=0.0, help="minimum seconds between requests to one host (default: 0)")
    fetching.add_argument("--timeout", metavar="S", type=_number(BOUNDS["url_deadline"]), default=10.0,
                          help="give up on one URL after S seconds in all, redirects and retries included "
                               "(connecting: at most 5 s); a hung or dripping server costs no more (default: 10)")
    fetching.add_argument("--run-timeout", metavar="S", type=_number(BOUNDS["run_deadline"]),
                          help="stop the whole run after S seconds; unfinished URLs are reported as transient")
    fetching.add_argument("--retries", metavar="N", type=_number(BOUNDS["retries"], int),
                          default=2, help="retries for resets, 5xx and 429 (default: 2)")
    fetching.add_argument("--retry-timeouts", action="store_true",
                          help="also retry a URL that timed out (off: the history tolerates a bad night)")
    fetching.add_argument("--get-bodies", action="store_true",
                          help="GET every page (not just HEAD) so soft-404 detectors read its text; slower")
    fetching.add_argument("--allow-private", action="store_true",
                          help="allow loopback and private addresses (for tests; never in CI on pull requests)")

    memory = parser.add_argument_group("memory between runs")
    memory.add_argument("--history", metavar="PATH", type=Path,
                        help=f"history file, in an existing directory (default: {DEFAULT_HISTORY}; "
                             f"{DEFAULT_HISTORY.parent}/ is created if missing)")
    memory.add_argument("--no-history", action="store_true",
                        help="neither read nor write a history (then only --strict can confirm a failure)")
    memory.add_argument("--max-age", metavar="AGE", type=_duration(POLICY_BOUNDS["max_age"]), default=86400.0,
                        help="reuse a success younger than AGE: 3600, 30m, 12h, 1d; 0 disables (default: 1d)")
    memory.add_argument("--strict", action="store_true", help="confirm a failure on its first run")
    memory.add_argument("--confirm-runs", metavar="N", type=_number(POLICY_BOUNDS["confirm_runs"], int), default=2,
                        help="failing runs needed to confirm a failure (default: 2)")
    memory.add_argument("--confirm-hours", metavar="H", type=_number(POLICY_BOUNDS["confirm_hours"]),
                        default=12.0, help="hours between failing runs that count (default: 12)")
    memory.add_argument("--wayback-url", metavar="URL", default=wayback.DEFAULT_WAYBACK_URL,
                        help="Wayback Machine availability API, asked for a snapshot of confirmed-broken links")
    memory.add_argument("--no-wayback", action="store_true", help="do not ask the Wayback Machine")

    output = parser.add_argument_group("output")
    output.add_argument("--format", type=_output_format, default=OutputFormat.text,
                        metavar="{" + ",".join(f.value for f in OutputFormat) + "}",
                        help="text for people, json for machines, markdown for an issue, "
                             "github for workflow annotations (default: text)")
    output.add_argument("--output", metavar="FILE", type=Path,
                        help="write the report to FILE (atomically) instead of standard output")
    output.add_argument("--from-json", metavar="FILE", type=Path,
                        help="fetch nothing: render a JSON report written earlier in another --format")
    output.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")


# --------------------------------------------------------------------------- #
# Run
# --------------------------------------------------------------------------- #


def run_check_links(args: argparse.Namespace) -> int:
    """Check, report, and return the exit code; errors are messages, never tracebacks."""
    from learnpath.catalog import CatalogInvalid

    try:
        if args.from_json is not None:
            return _render_saved(args)
        return _check(args)
    except CatalogInvalid as exc:
        print(exc.report(), file=sys.stderr)
        print("check-links: the catalog is invalid; fix it (learnpath validate shows the same) and re-run.",
              file=sys.stderr)
    except (UsageError, extract.SourceError, HistoryError) as exc:
        print(f"check-links: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"check-links: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
    except Exception as exc:  # a bug: say so in one line; LEARNPATH_DEBUG=1 shows the traceback
        if os.environ.get("LEARNPATH_DEBUG"):
            raise
        print(f"check-links: internal error: {type(exc).__name__}: {exc}\n"
              "    hint: this is a bug in learnpath; re-run with LEARNPATH_DEBUG=1 and report the traceback",
              file=sys.stderr)
        return ExitCode.INTERNAL
    return ExitCode.USAGE


def _render_saved(args: argparse.Namespace) -> int:
    try:
        report = load_json(args.from_json.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{args.from_json}: not a JSON report written by check-links ({exc})") from None
    problem = _emit(report, args)
    if problem:
        print(f"check-links: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.FAILED if report.confirmed_broken else ExitCode.OK


def _check(args: argparse.Namespace) -> int:
    started, clock = utc_now(), time.monotonic()
    exclusions = _exclusions(args)
    sources = extract.expand_sources(args.paths) if args.paths else extract.default_sources()
    if args.only_changed:
        extract.verify_ref(args.only_changed)
    links = extract.collect(sources)
    if args.only_changed:
        links = extract.changed_links(links, args.only_changed)
    targets = extract.group_links(links)
    skipped = extract.excluded([t.url for t in targets], exclusions)
    kept = [t for t in targets if t.url not in skipped]
    uses = {t.url: t.uses for t in kept}

    history = History.load(None if args.no_history else args.history or DEFAULT_HISTORY, started)
    for warning in history.warnings:
        print(warning, file=sys.stderr)
    policy = Policy(confirm_runs=args.confirm_runs, confirm_hours=args.confirm_hours,
                    strict=args.strict, max_age=args.max_age)
    cached = {t.url: r for t in kept if (r := history.cached(t.url, started, policy)) is not None}
    to_fetch = [t.url for t in kept if t.url not in cached]

    fetched, stop_signal = _fetch(to_fetch, args, history, policy)
    results = [cached.get(t.url) or fetched.get(t.url) for t in kept]
    results = results_with_uses([r for r in results if r is not None], uses)
    if not args.no_wayback and stop_signal is None:  # a stopped run should end now, not ask the archive
        results = _suggest_snapshots(results, history, args.wayback_url, args.timeout)

    info = RunInfo(
        started=format_time(started), finished=format_time(utc_now()), elapsed=round(time.monotonic() - clock, 3),
        sources=[str(s) for s in sources], urls=len(kept), fetched=len(fetched), cached=len(cached),
        excluded=len(targets) - len(kept), interrupted=stop_signal is not None, strict=args.strict,
        confirm_runs=args.confirm_runs, confirm_hours=args.confirm_hours, only_changed=args.only_changed,
        learnpath_version=__version__,
    )
    report = Report(info=info, results=results, cached=set(cached))
    # The report first: whatever cannot be written afterwards, the run's findings are shown.
    problems = [_emit(report, args), _save_history(history, args)]
    for problem in filter(None, problems):
        print(f"check-links: {problem}", file=sys.stderr)
    if stop_signal is not None:
        return ExitCode.TERMINATED if stop_signal == signal.SIGTERM else ExitCode.INTERRUPTED
    if any(problems):
        return ExitCode.USAGE
    return ExitCode.FAILED if report.confirmed_broken else ExitCode.OK


def _save_history(history: History, args: argparse.Namespace) -> str | None:
    """Save the history; a sentence saying what could not be written and why, or None.

    Only the default history's own directory is created when missing (and the
    user is told); any other missing directory is the user's to create.
    """
    if history.path is None:
        return None
    directory = history.path.parent
    if args.history is None and not directory.exists():
        try:
            directory.mkdir()
        except OSError as exc:
            return f"could not create {directory}/ for the link-check history: {exc.strerror or exc}"
        print(f"check-links: created {directory}/ for the link-check history", file=sys.stderr)
    try:
        history.save()
    except WriteFailed as exc:
        return (f"could not save the history to {exc.path}: {exc.reason}. The report above is complete, "
                "but this run is not remembered: its failures will not count toward confirming them.")
    return None


def _exclusions(args: argparse.Namespace) -> list[extract.Exclusion]:
    exclusions = [extract.compile_exclusion(p, "--exclude") for p in args.exclude]
    path = args.exclude_file
    if path is None and extract.DEFAULT_EXCLUDE_FILE.is_file():
        path = extract.DEFAULT_EXCLUDE_FILE
    elif path is not None and not path.is_file():
        raise UsageError(f"--exclude-file {path}: no such file")
    if path is not None:
        from_file, warnings = extract.parse_exclude_file(path)
        for warning in warnings:
            print(warning, file=sys.stderr)
        exclusions += from_file
    return exclusions


def _fetch_options(args: argparse.Namespace):
    """Map the command's options onto the engine's."""
    from learnpath.linkcheck.options import FetchOptions

    try:
        return FetchOptions(
            workers=args.workers, per_host=args.per_host, min_delay=args.delay,
            connect_timeout=min(5.0, args.timeout), read_timeout=args.timeout,
            url_deadline=args.timeout, run_deadline=args.run_timeout, retries=args.retries,
            retry_timeouts=args.retry_timeouts, allow_private=args.allow_private, get_bodies=args.get_bodies,
        )
    except ValueError as exc:  # the engine's own check, should an option slip past argparse
        raise UsageError(str(exc)) from None


def _fetch(urls: list[str], args: argparse.Namespace, history: History,
           policy: Policy) -> tuple[dict, int | None]:
    """Fetch ``urls``; fold each result into the history as it arrives.

    Returns the results by URL (with ``confirmed`` decided) and the signal
    that stopped the run early, if any. The history is checkpointed every
    ``CHECKPOINT_SECONDS`` so a hard kill loses at most that much work.
    """
    from learnpath.linkcheck.checker import Checker

    if not urls:
        return {}, None
    checker = Checker(_fetch_options(args))
    recorded: dict = {}
    lock = threading.Lock()
    progress = None if args.no_progress else Progress(len(urls))
    last_checkpoint = [time.monotonic()]

    def on_result(result) -> None:
        with lock:
            recorded[result.url] = history.record(result, utc_now(), policy)
            if time.monotonic() - last_checkpoint[0] >= CHECKPOINT_SECONDS:
                # A checkpoint that fails is not retried until the end, where the failure is reported.
                last_checkpoint[0] = float("inf") if _save_history(history, args) else time.monotonic()
        if progress is not None:
            progress.advance(result)

    with _graceful_stop(checker) as stopped:
        try:
            returned = checker.check(urls, on_result=on_result)
        finally:
            if progress is not None:
                progress.close()
    with lock:
        for result in returned:  # anything the callback did not see (it should have seen all)
            if result.url not in recorded:
                recorded[result.url] = history.record(result, utc_now(), policy)
    if checker.stats.internal_errors:
        print(f"check-links: {checker.stats.internal_errors} request(s) ended in an internal error, reported as "
              "transient; this is a bug in learnpath: please report the explanations shown", file=sys.stderr)
    return recorded, stopped()


@contextmanager
def _graceful_stop(checker) -> Iterator[Callable[[], int | None]]:
    """Turn the first SIGINT or SIGTERM into ``checker.stop()``; a second Ctrl-C aborts.

    Yields a function returning the signal received, if any. Handlers can
    only be installed from the main thread; elsewhere (tests calling
    run() in a thread) the default behaviour stays.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return

    def handler(signum, frame) -> None:
        if received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(signum)
        print(f"\ncheck-links: {signal.Signals(signum).name}: stopping; finished results will be saved "
              "(Ctrl-C again to abort)", file=sys.stderr, flush=True)
        checker.stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: received[0] if received else None
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _suggest_snapshots(results: list, history: History, base_url: str, timeout: float) -> list:
    """Put the closest Wayback snapshot into each confirmed-broken link's suggestion."""
    now = utc_now()
    wanted = [r.url for r in results if r.verdict.is_failure and r.confirmed]
    known = {url: history.snapshot_for(url, now) for url in wanted}
    ask = [url for url, (fresh, _) in known.items() if not fresh]
    answers = wayback.lookup_many(ask, base_url, timeout=min(wayback.DEFAULT_TIMEOUT, timeout),
                                  user_agent=f"learnpath-check-links/{__version__}")
    snapshots: dict[str, str | None] = {url: snap for url, (fresh, snap) in known.items() if fresh}
    for url, answer in answers.items():
        snapshots[url] = answer.url if answer else None
        history.remember_snapshot(url, snapshots[url], now)
    return [dataclasses.replace(r, snapshot=snapshots[r.url]) if snapshots.get(r.url) else r for r in results]


def _github_blob_base() -> str | None:
    """In GitHub Actions, link each file:line of the Markdown report to the commit checked."""
    server, repo, sha = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    return f"{server}/{repo}/blob/{sha}/" if server and repo and sha else None


def _emit(report: Report, args: argparse.Namespace) -> str | None:
    """Write the report where asked, or to standard output if that fails (then say why).

    The summary goes to stderr unless the text report on stdout holds it.
    """
    if args.format is OutputFormat.markdown:
        text = format_markdown(report, link_base=_github_blob_base())
    else:
        text = FORMATTERS[args.format](report)
    problem = None
    if args.output is not None:
        try:
            atomic_write_text(args.output, text)
        except WriteFailed as exc:
            problem = f"could not write the report to {exc.path}: {exc.reason}; it is printed above instead."
    if args.output is None or problem:
        sys.stdout.write(text)
        sys.stdout.flush()
    if args.output is not None or args.format is not OutputFormat.text:
        print(summary(report), file=sys.stderr)
    return problem
