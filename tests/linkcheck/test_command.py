"""`learnpath check-links` end to end, against the loopback test server: exit codes 0/1/2,
formats, the history across runs, --only-changed, Wayback suggestions, a killed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from learnpath.cli import run
from learnpath.linkcheck.command import parse_duration
from learnpath.linkcheck.report import format_text, load_json
from tests.linkcheck.server import LinkServer
from tests.linkcheck.wayback_fake import FakeWayback, wayback_fake

FIXTURE = Path(__file__).parents[1] / "fixtures" / "valid" / "small.yaml"
BASE = ["check-links", "--allow-private", "--no-wayback", "--no-progress"]


@pytest.fixture
def server(link_server: LinkServer) -> LinkServer:
    """The suite's shared loopback server (conftest.py); hosts 0 and 1 are plain HTTP."""
    return link_server


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    return tmp_path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run([*BASE, *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def page(*urls: str, name: str = "page.md") -> Path:
    path = Path(name)
    path.write_text("# Links\n\n" + "".join(f"- [link {i}]({url})\n" for i, url in enumerate(urls)))
    return path


# --------------------------------------------------------------------------- #
# Exit codes
# --------------------------------------------------------------------------- #


def test_exit_0_when_every_link_works(server: LinkServer, capsys) -> None:
    page(server.url("/ok"), server.url("/page#intro"), server.url("/ok", host=1))
    code, out, err = check(capsys, "page.md", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {r["verdict"] for r in data["results"]} == {"ok"}
    assert data["results"][0]["uses"] == [{"path": "page.md", "line": 3, "column": 12}]
    assert "Nothing confirmed broken." in err


def test_exit_1_for_a_confirmed_broken_link_with_its_file_and_line(server: LinkServer, capsys) -> None:
    page(server.url("/ok"), server.url("/status/404"))
    code, out, _ = check(capsys, "page.md", "--strict")
    assert code == 1
    assert "(confirmed)" in out and "at page.md:4" in out and "/status/404" in out


def test_a_failure_needs_two_runs_hours_apart_without_strict(server: LinkServer, capsys) -> None:
    page(server.url("/status/410"))
    code, out, _ = check(capsys, "page.md", "--history", "h.json")
    assert code == 0 and "(unconfirmed)" in out
    code, _, _ = check(capsys, "page.md", "--history", "h.json")
    assert code == 0  # the same evening: still one failing run
    code, out, _ = check(capsys, "page.md", "--history", "h.json", "--confirm-hours", "0")
    assert code == 1 and "(confirmed)" in out
    entry = json.loads(Path("h.json").read_text())["entries"][server.url("/status/410")]
    assert entry["consecutive_failures"] == 2


def test_blocked_and_transient_never_fail_the_run(server: LinkServer, capsys) -> None:
    page(server.url("/status/403"), server.url("/status/999"), server.url("/status/503"))
    code, out, _ = check(capsys, "page.md", "--strict", "--retries", "0", "--format", "json")
    assert code == 0
    assert sorted(r["verdict"] for r in json.loads(out)["results"]) == ["blocked", "blocked", "transient"]


def test_private_addresses_are_refused_without_allow_private(server: LinkServer, capsys) -> None:
    page(server.url("/flaky/private-test?fail=0"))
    code = run(["check-links", "page.md", "--no-wayback", "--no-progress", "--no-history", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    result = json.loads(out)["results"][0]
    assert result["verdict"] == "invalid" and result["confirmed"]
    assert server.hits("flaky:private-test") == 0  # refused before any request


@pytest.mark.parametrize("args, message", [
    (["page.md", "--workers", "0"], "argument --workers: '0': must be at least 1"),
    (["page.md", "--workers", "2.5"], "'2.5' is not a whole number"),
    (["page.md", "--delay", "nan"], "argument --delay: 'nan': must be a finite number of seconds"),
    (["page.md", "--delay", "inf"], "argument --delay: 'inf': must be a finite number"),
    (["page.md", "--delay", "-1"], "must be at least 0 seconds"),
    (["page.md", "--delay", "1e9"], "must be at most 600 seconds"),
    (["page.md", "--timeout", "inf"], "argument --timeout: 'inf': must be a finite number"),
    (["page.md", "--timeout", "nan"], "argument --timeout: 'nan'"),
    (["page.md", "--timeout", "0"], "must be above 0 seconds"),
    (["page.md", "--run-timeout", "inf"], "argument --run-timeout: 'inf'"),
    (["page.md", "--retries", "1000"], "must be at most 20 retries"),
    (["page.md", "--per-host", "0"], "argument --per-host"),
    (["page.md", "--confirm-hours", "nan"], "argument --confirm-hours: 'nan': must be a finite number of hours"),
    (["page.md", "--confirm-runs", "0"], "argument --confirm-runs"),
    (["page.md", "--max-age", "9" * 400], "argument --max-age"),
    (["page.md", "--max-age", "1000d"], "must be at most"),
    (["page.md", "--format", "xml"], "invalid choice: 'xml'"),
    (["page.md", "--max-age", "soon"], "not a duration"),
    (["page.md", "--exclude", "(unclosed"], "not a valid regular expression"),
    (["page.md", "--exclude-file", "nope.txt"], "no such file"),
    (["missing.md"], "missing.md: no such file"),
    (["notes.txt"], "not a catalog"),
    (["--from-json", "page.md"], "not a JSON report"),
])
def test_exit_2_for_usage_errors(capsys, args: list[str], message: str) -> None:
    page("https://example.org/never-fetched")
    Path("notes.txt").write_text("x")
    code, _, err = check(capsys, *args)
    assert code == 2 and message in err


@pytest.mark.parametrize("text, seconds", [("3600", 3600), ("90s", 90), ("30m", 1800), ("12h", 43200),
                                           ("1d", 86400), ("1.5h", 5400), ("0", 0)])
def test_max_age_accepts_seconds_and_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_nan_delay_is_refused_before_any_work() -> None:
    # It used to spin a core forever in the dispatcher (nan compares false with every time)
    # and ignore SIGTERM; run as a user would, and bounded, so a regression cannot hang the suite.
    page("https://example.org/never-fetched")
    proc = subprocess.run([sys.executable, "-m", "learnpath", *BASE, "page.md", "--delay", "nan"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "must be a finite number" in proc.stderr and "Traceback" not in proc.stderr


def test_exit_2_without_a_catalog_in_the_current_directory(capsys) -> None:
    code, _, err = check(capsys)
    assert code == 2 and "no resources.yaml" in err


def test_invalid_catalog_gives_exit_2_with_the_validators_messages(capsys) -> None:
    Path("resources.yaml").write_text(FIXTURE.read_text().replace("kind: article", "kind: artcle", 1))
    code, out, err = check(capsys)
    assert code == 2 and "resources.yaml:" in err and "artcle" in err and "catalog is invalid" in err
    assert out == ""


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"), ('{"version": 42, "entries": {}}', "history version 42"),
])
def test_damaged_history_gives_exit_2_with_a_hint(server: LinkServer, capsys, content: str, message: str) -> None:
    page(server.url("/ok"))
    Path("h.json").write_text(content)
    code, _, err = check(capsys, "page.md", "--history", "h.json")
    assert code == 2 and message in err and "hint:" in err and "--no-history" in err
    assert Path("h.json").read_text() == content  # left as it was


def test_damaged_history_entries_are_dropped_and_the_run_goes_on(server: LinkServer, capsys) -> None:
    ok, bad = server.url("/ok"), server.url("/status/404")
    page(ok, bad)

    def entry(url: str, verdict: str, **fields) -> dict:
        last = {"url": url, "verdict": verdict, "status": 200, "final_url": url, "elapsed": 0.1, "attempts": 1,
                "explanation": "x", "suggestion": "y", "confirmed": False}
        return {"last": last, "last_checked": "2026-11-20T03:00:00Z", **fields}

    Path("h.json").write_text(json.dumps({"version": 1, "entries": {
        ok: entry(ok, "ok", last_checked="2999-01-01T00:00:00Z"),  # "checked" in 2999: cached until then
        bad: entry(bad, "broken", consecutive_failures=1, last_counted_failure=7),  # broke record() after the run
    }}))
    code, out, err = check(capsys, "page.md", "--history", "h.json", "--format", "json")
    assert code == 0 and err.count("is damaged") == 2 and "checked afresh" in err
    report = load_json(out)
    assert report.info.fetched == 2 and report.info.cached == 0
    saved = json.loads(Path("h.json").read_text())["entries"]
    assert saved[ok]["last_checked"] < "2999" and saved[bad]["consecutive_failures"] == 1


def test_help_documents_the_exit_codes(capsys) -> None:
    assert run(["check-links", "--help"]) == 0
    text = capsys.readouterr().out
    for line in ("0    nothing confirmed broken", "1    at least one confirmed-broken link", "2    usage or"):
        assert line in text


# --------------------------------------------------------------------------- #
# Catalog, cache, formats
# --------------------------------------------------------------------------- #


def _catalog_pointing_at(server: LinkServer) -> str:
    text = FIXTURE.read_text()
    text = text.replace("https://example.org/blog/rnn-intro", server.url("/ok"))
    text = text.replace("https://example.org/posts/lstm/", server.url("/status/404"))
    text = text.replace("https://example.org/posts/lstm.pdf", server.url("/page#intro"))
    return text.replace("https://www.youtube.com/watch?v=AAAAAAAAAAA", server.url("/page#nowhere", host=1))


def test_default_run_checks_catalog_and_content_with_lines(server: LinkServer, capsys) -> None:
    Path("resources.yaml").write_text(_catalog_pointing_at(server))
    Path("content/topics").mkdir(parents=True)
    page(server.url("/status/404"), server.url("/ok"), name="content/topics/rnn.md")
    code, out, _ = check(capsys, "--strict", "--format", "github")
    assert code == 1
    catalog_line = next(i for i, line in enumerate(Path("resources.yaml").read_text().splitlines(), 1)
                        if "/status/404" in line)
    assert f"::error file=resources.yaml,line={catalog_line},col=10,title=Link Broken (confirmed)::" in out
    assert "::error file=content/topics/rnn.md,line=3,col=12," in out
    assert "title=Link Missing fragment (confirmed)::" in out
    assert server.counters(0).paths["/status/404"] >= 1


def test_successes_are_cached_and_a_rerun_fetches_only_failures(server: LinkServer, capsys) -> None:
    ok, bad = server.url("/flaky/cache-test?fail=0"), server.url("/status/404")
    page(ok, bad)
    check(capsys, "page.md", "--history", "h.json")
    before = server.hits("flaky:cache-test")
    code, out, _ = check(capsys, "page.md", "--history", "h.json", "--format", "json")
    report = load_json(out)
    assert report.info.cached == 1 and report.info.fetched == 1 and report.cached == {ok}
    assert server.hits("flaky:cache-test") == before == 1
    _, out, _ = check(capsys, "page.md", "--history", "h.json", "--max-age", "0", "--format", "json")
    assert load_json(out).info.cached == 0


def test_output_file_and_rendering_a_saved_report(server: LinkServer, capsys) -> None:
    page(server.url("/status/404"), server.url("/ok"))
    Path("out").mkdir()
    code, out, err = check(capsys, "page.md", "--strict", "--format", "json", "--output", "out/report.json")
    assert code == 1 and out == "" and "1 confirmed-broken link(s)." in err
    code = run(["check-links", "--from-json", "out/report.json", "--format", "markdown", "--output", "issue.md"])
    assert code == 1
    issue = Path("issue.md").read_text()
    assert "| page\\.md\\:3 | <" + server.url("/status/404") + "> | **Broken** (confirmed) 404" in issue


def test_an_unwritable_output_prints_the_report_then_says_why(server: LinkServer, capsys) -> None:
    page(server.url("/status/404"))
    code, out, err = check(capsys, "page.md", "--strict", "--no-history", "--format", "json",
                           "--output", "missing/report.json")
    assert code == 2 and json.loads(out)["summary"]["confirmed_broken"] == 1  # the report, on stdout
    assert "could not write the report to missing/report.json: the directory missing does not exist" in err
    assert "printed above instead" in err and not Path("missing").exists()


@pytest.mark.parametrize("where, reason", [("missing/h.json", "the directory missing does not exist"),
                                           ("notes.txt/h.json", "the directory notes.txt is not a directory")])
def test_an_unwritable_history_comes_after_the_report(server: LinkServer, capsys, where: str, reason: str) -> None:
    Path("notes.txt").write_text("x")
    page(server.url("/status/404"))
    code, out, err = check(capsys, "page.md", "--strict", "--history", where)
    assert code == 2 and "/status/404" in out and "1 confirmed-broken link(s)." in out  # the whole text report
    assert f"could not save the history to {where}: {reason}" in err and "not remembered" in err
    assert ".tmp" not in err and not Path("missing").exists()


def test_the_default_history_directory_is_created_and_said(server: LinkServer, capsys) -> None:
    page(server.url("/ok"))
    code, _, err = check(capsys, "page.md")
    assert code == 0 and "created .linkcheck/ for the link-check history" in err
    assert server.url("/ok") in json.loads(Path(".linkcheck/history.json").read_text())["entries"]
    _, _, err = check(capsys, "page.md")
    assert "created" not in err


def test_the_history_keeps_the_users_umask_and_its_symlink(server: LinkServer, capsys) -> None:
    page(server.url("/ok"))
    Path("store").mkdir()
    Path("h.json").symlink_to(Path("store/real.json").absolute())
    saved = os.umask(0o027)
    try:
        code, _, _ = check(capsys, "page.md", "--history", "h.json")
    finally:
        os.umask(saved)
    assert code == 0 and Path("h.json").is_symlink()
    assert server.url("/ok") in json.loads(Path("store/real.json").read_text())["entries"]
    assert Path("store/real.json").stat().st_mode & 0o777 == 0o640


def test_a_catastrophic_exclusion_cannot_stall_the_run(server: LinkServer) -> None:
    # Run as a user would, in a process bounded here, so a regression fails instead of hanging.
    page(server.url("/ok"), "https://x.example/" + "a" * 40 + "!")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "learnpath", *BASE, "page.md", "--no-history",
                           "--exclude", "(a+)+$"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--exclude: the exclusion '(a+)+$' did not finish" in proc.stderr
    assert time.monotonic() - start < 100  # the budget is 5 s; the pattern alone would take hours


@pytest.mark.parametrize("fmt", ["text", "github", "markdown"])
def test_text_from_a_hostile_server_is_escaped_in_every_report(server: LinkServer, capsys, fmt: str) -> None:
    page(server.url("/hostile/status"), server.url("/hostile/title"))
    code, out, err = check(capsys, "page.md", "--no-history", "--strict", "--get-bodies", "--format", fmt)
    assert code == 1 and "/hostile/title" in out and "/hostile/status" in out
    for control in ("\x1b", "\x07", "\r"):
        assert control not in out + err
    assert "\\x1b" in out and "pwned" in out  # shown, as text
    if fmt == "markdown":
        assert "@octocat" not in out and "\\@<!-- -->octocat" in out and "\\<img" in out and "\\!\\[t\\]" in out


def test_exclusions_skip_urls(server: LinkServer, capsys) -> None:
    page(server.url("/status/404"), server.url("/ok"))
    Path("linkcheck-exclude.txt").write_text("/status/  # the test says so\n")
    code, out, _ = check(capsys, "page.md", "--strict", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["run"]["excluded"] == 1 and len(data["results"]) == 1


def test_confirmed_broken_link_gets_a_wayback_suggestion(server: LinkServer, capsys) -> None:
    url = server.url("/status/404?archived")
    page(url)
    with wayback_fake() as api:
        code = run(["check-links", "page.md", "--allow-private", "--no-progress", "--strict", "--history", "h.json",
                    "--wayback-url", api, "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 1 and FakeWayback.asked == [url]
    assert json.loads(out)["results"][0]["snapshot"].startswith("https://web.archive.org/web/20200102030405/")
    rendered = load_json(out)
    assert "Archived copy: https://web.archive.org/web/20200102030405/" in format_text(rendered)
    assert json.loads(Path("h.json").read_text())["entries"][url]["snapshot"].startswith("https://web.archive.org/")


def test_unreachable_wayback_is_not_an_error(server: LinkServer, capsys) -> None:
    page(server.url("/status/404"))
    code = run(["check-links", "page.md", "--allow-private", "--no-progress", "--strict", "--no-history",
                "--wayback-url", server.refused_url,
                "--timeout", "2"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err and "Archived copy" not in out


# --------------------------------------------------------------------------- #
# --only-changed
# --------------------------------------------------------------------------- #


def _git(*args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], check=True,
                   capture_output=True)


def test_only_changed_checks_just_the_new_links(server: LinkServer, capsys) -> None:
    _git("init", "-q", "-b", "main")
    page(server.url("/status/404"), server.url("/ok"))
    _git("add", ".")
    _git("commit", "-q", "-m", "base")
    page(server.url("/status/404"), server.url("/ok"), server.url("/status/410"))
    code, out, _ = check(capsys, "page.md", "--only-changed", "HEAD", "--strict", "--format", "json")
    data = json.loads(out)
    assert code == 1 and [r["url"] for r in data["results"]] == [server.url("/status/410")]
    assert data["run"]["only_changed"] == "HEAD"
    code, _, err = check(capsys, "page.md", "--only-changed", "no-such-ref")
    assert code == 2 and "no commit by that name" in err


def test_only_changed_outside_a_repository_is_a_usage_error(capsys) -> None:
    page("https://example.org/x")
    code, _, err = check(capsys, "page.md", "--only-changed", "HEAD")
    assert code == 2 and "not inside a git repository" in err


# --------------------------------------------------------------------------- #
# A killed run
# --------------------------------------------------------------------------- #


def _start(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CI", None)
    return subprocess.Popen([sys.executable, "-m", "learnpath", *BASE, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.02)


def _seed_history(path: Path) -> dict:
    previous = {"version": 1, "tool": "learnpath check-links", "entries": {"https://example.org/old": {
        "last": {"url": "https://example.org/old", "verdict": "broken", "status": 404, "final_url": None,
                 "elapsed": 0.1, "attempts": 1, "explanation": "x", "suggestion": "y", "confirmed": False},
        "last_checked": "2026-11-21T03:00:00Z", "consecutive_failures": 1,
        "first_failure": "2026-11-21T03:00:00Z", "last_counted_failure": "2026-11-21T03:00:00Z",
        "snapshot": None, "snapshot_checked": None}}}
    path.write_text(json.dumps(previous))
    return previous


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_keeps_the_history_and_saves_what_finished(server: LinkServer, sig: int) -> None:
    done = [server.url(f"/flaky/kill-{sig}-{i}?fail=0") for i in range(5)]
    page(*done, server.url(f"/hang?kill={sig}"))
    history = Path("h.json")
    previous = _seed_history(history)
    proc = _start(["page.md", "--history", str(history), "--timeout", "30"])
    try:
        _wait_for(lambda: server.counters(0).paths.get("/hang", 0) >= 1 and
                  all(server.hits(f"flaky:kill-{sig}-{i}") for i in range(5)))
        time.sleep(0.2)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130)
    assert "Traceback" not in out + err and "stopping; finished results will be saved" in err
    data = json.loads(history.read_text())
    assert data["entries"]["https://example.org/old"] == previous["entries"]["https://example.org/old"]
    assert set(done) <= set(data["entries"])
    assert not any(url.endswith(f"/hang?kill={sig}") for url in data["entries"])
    assert [p.name for p in Path(".").iterdir() if p.name.startswith(".h.json")] == []


def test_a_hard_killed_run_leaves_the_previous_history_intact(server: LinkServer) -> None:
    page(server.url("/hang?kill=9"))
    history = Path("h.json")
    previous = _seed_history(history)
    proc = _start(["page.md", "--history", str(history), "--timeout", "30"])
    try:
        _wait_for(lambda: server.counters(0).paths.get("/hang", 0) >= 1)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert json.loads(history.read_text()) == previous


def test_get_bodies_lets_soft_404_detectors_read_every_page(server: LinkServer, capsys) -> None:
    page(server.url("/soft404"))
    _, out, _ = check(capsys, "page.md", "--no-history", "--format", "json")
    assert json.loads(out)["results"][0]["verdict"] == "ok"  # HEAD alone cannot see the page says "not found"
    _, out, _ = check(capsys, "page.md", "--no-history", "--format", "json", "--get-bodies")
    assert json.loads(out)["results"][0]["verdict"] == "soft_broken"


def test_a_bug_is_one_line_not_a_traceback(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from learnpath.linkcheck import extract

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(extract, "collect", broken)
    page("https://example.org/x")
    code, _, err = check(capsys, "page.md")
    assert code == 3 and "internal error: RuntimeError: boom" in err and "LEARNPATH_DEBUG=1" in err


def test_checking_a_page_does_not_import_the_catalog_models() -> None:
    # pydantic is a third of the start-up before the first request; a Markdown page needs none of it.
    code = ("import sys, learnpath.cli, learnpath.linkcheck.command, learnpath.linkcheck.checker, "
            "learnpath.linkcheck.extract; print(sorted(m for m in sys.modules if m.startswith('pydantic'))[:1])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr
