"""Each output format: text, JSON (round trip), Markdown tables, GitHub annotations."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

from learnpath.catalog.problems import Location
from learnpath.safe_text import escape_workflow_data, escape_workflow_property
from learnpath.linkcheck import report as rep
from learnpath.linkcheck.report import OutputFormat, Progress, Report, RunInfo
from learnpath.linkcheck.verdicts import FragmentStatus, Result, Verdict


def make_report() -> Report:
    broken = Result("https://example.org/gone", Verdict.broken, 404, "https://example.org/gone", 0.2, 1,
                    "the server answers 404 Not Found", "find the new address | or an archive",
                    confirmed=True, uses=[Location("resources.yaml", 12, 10), Location("content/a.md", 3, 5)])
    unconfirmed = Result("https://example.org/a|b", Verdict.broken, 410, None, 0.1, 1,
                         "gone: 50% sure,\nsecond line", "wait", uses=[Location("resources.yaml", 20, 10)])
    blocked = Result("https://example.org/bot", Verdict.blocked, 403, None, 0.1, 1, "forbidden", "check by hand",
                     uses=[Location("content/b.md", 7, 1)])
    moved = Result("https://example.org/old", Verdict.redirected, 301, "https://example.org/new", 0.1, 1,
                   "moved permanently", "update the catalog", uses=[Location("resources.yaml", 30, 10)])
    fine = Result("https://example.org/ok", Verdict.ok, 200, "https://example.org/ok", 0.1, 1, "", "",
                  uses=[Location("resources.yaml", 40, 10)])
    info = RunInfo(started="2026-11-22T03:00:00Z", finished="2026-11-22T03:01:00Z", elapsed=60.0,
                   sources=["resources.yaml"], urls=5, fetched=4, cached=1)
    return Report(info=info, results=[fine, moved, blocked, unconfirmed, broken], cached={fine.url})


def test_text_groups_by_verdict_with_locations_and_advice() -> None:
    text = rep.format_text(make_report())
    assert text.index("BROKEN (2)") < text.index("PERMANENTLY REDIRECTED (1)") < text.index("BLOCKED")
    block = text[text.index("BROKEN (2)"):]
    assert block.index("https://example.org/gone [404] (confirmed)") < block.index("(unconfirmed)")
    assert "    at resources.yaml:12\n    at content/a.md:3" in text
    assert "why: the server answers 404 Not Found" in text and "fix: find the new address" in text
    assert "now at: https://example.org/new" in text
    assert "https://example.org/ok" not in text  # successes are only counted
    assert "1 confirmed-broken link(s)." in text and "Broken: 2 (1 confirmed)" in text


def test_json_is_versioned_and_round_trips() -> None:
    report = make_report()
    data = json.loads(rep.format_json(report))
    assert data["version"] == 1 and data["run"]["urls"] == 5
    assert data["summary"] == {"by_verdict": {"broken": 2, "soft_broken": 0, "fragment_missing": 0, "invalid": 0,
                                              "redirected": 1, "blocked": 1, "transient": 0, "ok": 1},
                               "confirmed_broken": 1}
    assert [r["cached"] for r in data["results"]] == [True, False, False, False, False]
    again = rep.load_json(rep.format_json(report))
    assert again.info == report.info and again.cached == report.cached
    assert [r.to_dict() for r in again.results] == [r.to_dict() for r in report.results]


def test_markdown_has_a_table_per_verdict_with_escaped_cells() -> None:
    text = rep.format_markdown(make_report())
    lines = text.splitlines()
    assert "### \u2717 Broken (2)" in lines and "### \u26d4 Blocked (unverifiable) (1)" in lines
    header = lines.index("### \u2717 Broken (2)")
    assert lines[header + 1:header + 4] == ["", "| Where | URL | Verdict | Suggestion |", "| --- | --- | --- | --- |"]
    # Location labels and the explanation come from files and servers: backslash-escaped,
    # which renders as the plain text.
    assert lines[header + 4] == (
        "| resources\\.yaml\\:12<br>content/a\\.md\\:3 | <https://example.org/gone> | **Broken** (confirmed) 404: "
        "the server answers 404 Not Found | find the new address \\| or an archive |"
    )
    assert lines[header + 5] == (
        "| resources\\.yaml\\:20 | <https://example.org/a%7Cb> | **Broken** (unconfirmed) 410: "
        "gone\\: 50% sure, second line | wait |"
    )
    # Every table row has exactly four cells once escaped pipes are ignored.
    for line in lines:
        if line.startswith("| ") and "Count" not in line and "---:" not in line and line.count("|") > 3:
            assert line.replace("\\|", "").count("|") == 5, line


def test_markdown_links_lines_to_the_commit_and_says_when_all_pass() -> None:
    text = rep.format_markdown(make_report(), link_base="https://github.com/o/r/blob/abc/")
    assert "[resources\\.yaml\\:12](https://github.com/o/r/blob/abc/resources.yaml#L12)" in text
    report = make_report()
    report.results = [r for r in report.results if r.verdict is Verdict.ok]
    assert "Every link passed" in rep.format_markdown(report)
    report.results = []
    assert "No links were checked." in rep.format_markdown(report) and "| Verdict |" not in rep.format_markdown(report)


def test_markdown_stays_under_githubs_issue_limit() -> None:
    report = make_report()
    one = report.results[-1]
    report.results = [Result(f"https://example.org/{i}", Verdict.broken, 404, None, 0.1, 1, "x" * 200, "y",
                             confirmed=True, uses=one.uses) for i in range(2000)]
    text = rep.format_markdown(report)
    assert len(text) < 65_536 and "more row(s) left out" in text


def test_github_annotations_levels_and_escaping() -> None:
    lines = rep.format_github(make_report()).splitlines()
    assert lines[0] == (
        "::error file=resources.yaml,line=12,col=10,title=Link Broken (confirmed)::"
        "https://example.org/gone [404]: the server answers 404 Not Found%0Afind the new address | or an archive"
    )
    assert lines[1].startswith("::error file=content/a.md,line=3,col=5,")
    assert lines[2] == (
        "::warning file=resources.yaml,line=20,col=10,title=Link Broken (unconfirmed)::"
        "https://example.org/a|b [410]: gone: 50%25 sure,\\x0asecond line%0Await"  # one field, one line
    )
    assert lines[3].startswith("::notice file=resources.yaml,line=30,")
    assert lines[4].startswith("::warning file=content/b.md,line=7,col=1,title=Link Blocked (unverifiable)::")
    assert len(lines) == 5  # nothing for the working link


def test_escaping_rules() -> None:
    assert escape_workflow_data("50%\r\nx:y,z") == "50%25%0D%0Ax:y,z"
    assert escape_workflow_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert rep.md_cell("a | b\n c\\") == "a \\| b c\\\\"


def test_every_format_is_registered() -> None:
    assert set(rep.FORMATTERS) == set(OutputFormat)


def test_progress_prints_quiet_lines_without_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(20, stream=stream)
    for r in make_report().results * 4:
        progress.advance(r)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[-1] == "check-links: 20/20 checked, 8 failing"
    assert 5 <= len(lines) <= 11  # about one per 10 %, not one per URL


def test_progress_bar_on_a_terminal_counts_every_result() -> None:
    stream = io.StringIO()
    progress = Progress(5, stream=stream, bar=True)
    for r in make_report().results:
        progress.advance(r)
    progress.close()
    assert "5/5" in stream.getvalue() and progress.failing == 2


# A hostile server: a status line and a page title that try to drive the terminal, break
# out of the annotation and put a mention, a tag, an image and a link into the issue.
HOSTILE = ("title says '\x1b]0;pwned\x07\x1b[2J @octocat <img src=x onerror=alert(1)> "
           "![t](https://evil.example/t.png) [click](https://evil.example) fixes #1\r\n::error::forged'")


def hostile_report() -> Report:
    bad = Result("https://example.org/x\x1b[31m", Verdict.soft_broken, 200, None, 0.1, 1, HOSTILE,
                 "see \x1b[2J", confirmed=True, uses=[Location("content/a\x1b.md", 3, 1)],
                 snapshot="https://web.archive.org/web/2020/x")
    info = RunInfo(started="s", finished="f", elapsed=1.0, urls=1, fetched=1)
    return Report(info=info, results=[bad])


def test_text_report_escapes_control_characters() -> None:
    text = rep.format_text(hostile_report())
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "\\x1b]0;pwned\\x07" in text and "Archived copy: https://web.archive.org/web/2020/x" in text
    assert text.count("\n") == len(text.splitlines())  # no line of the result was split by the server


def test_github_annotations_cannot_be_forged_or_broken() -> None:
    lines = rep.format_github(hostile_report()).splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error file=content/a\\x1b.md,")
    message = lines[0].split("::", 2)[2]
    assert "\x1b" not in message and "\r" not in message  # the forged "::error::" stays inside our line
    assert message.count("%0A") == 1  # our own line break before the suggestion, nothing else


def test_markdown_has_no_live_mention_html_image_or_link_from_a_page() -> None:
    text = rep.format_markdown(hostile_report())
    row = next(line for line in text.splitlines() if line.startswith("| content"))
    assert "\x1b" not in row and "\r" not in row
    for live in ("@octocat", "#1", "https://evil"):
        assert live not in row, live
    for opener in (r"<img", r"!\[t\]", r"\[click\]"):  # present only backslash-escaped
        assert re.search(r"(?<!\\)" + opener, row) is None, opener
    assert "\\@<!-- -->octocat" in row and "\\<img" in row and "\\#<!-- -->1" in row
    assert row.replace("\\|", "").count("|") == 5  # still four cells


def test_sentences_are_built_from_the_facts() -> None:
    info = RunInfo(started="s", finished="f", elapsed=1.0, confirm_runs=3, confirm_hours=6)
    base = Result("https://example.org/p#sec", Verdict.broken, 404, None, 0.1, 1, "404 Not Found", "find it")
    unconfirmed = replace(base, failed_runs=1, first_failure="2026-11-20T03:00:00Z")
    assert rep.why(unconfirmed, info) == ("404 Not Found (unconfirmed: failed 1 of the 3 runs, 6 h apart, "
                                          "needed to confirm; first failure 2026-11-20T03:00:00Z)")
    assert rep.why(replace(unconfirmed, confirmed=True), info) == "404 Not Found"
    ok = replace(base, verdict=Verdict.ok, explanation="200 OK", cached_at="2026-11-20T03:00:00Z",
                 fragment_status=FragmentStatus.not_verified, bytes_read=2_000_000)
    assert rep.why(ok) == ("200 OK; fragment 'sec' not verified: not in the first 2,000,000 bytes read "
                           "(cached: checked 2026-11-20T03:00:00Z, within --max-age)")
    assert rep.why(replace(ok, fragment_status=FragmentStatus.not_html, cached_at=None)) == \
        "200 OK; fragment 'sec' not checked: the resource is not HTML"
    assert rep.fix(replace(base, snapshot="https://web.archive.org/web/1/x")) == \
        "find it Archived copy: https://web.archive.org/web/1/x (replace the link with it, or with the page's new address)."
