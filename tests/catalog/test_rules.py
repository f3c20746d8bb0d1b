"""Rule codes, and the validator's refusals a contributor or an attacker runs into."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from learnpath.catalog import CatalogInvalid, load_catalog
from learnpath.catalog.rules import Rule, Severity
from learnpath.cli import run
from tests.catalog.test_validate import problems_of, variant
from tests.conftest import ROOT


def test_codes_are_unique_and_grouped() -> None:
    codes = [rule.code for rule in Rule]
    assert len(set(codes)) == len(codes)
    for rule in Rule:
        assert re.fullmatch(r"LP[0-3]\d\d", rule.code), rule
        assert (rule.severity is Severity.warning) == rule.code.startswith("LP3")


def test_contributing_documents_every_rule() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `(LP\d{3})` \| `([a-z0-9-]+)` \|", text, flags=re.M))
    assert documented == {rule.code: rule.slug for rule in Rule}


def test_every_printed_problem_names_its_rule(capsys, small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("    kind: lecture\n", "    kind: blog\n"),
                   ("topics: [rnn]\n", "topics: [rnn, nope]\n"))
    assert run(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[LP104 unknown-choice]" in out and "[LP204 unknown-reference]" in out


# --------------------------------------------------------------------------- #
# URLs
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("url", "clean"), [
    ("https://example.org/blog/rnn-intro?utm_source=news&utm_medium=mail", "https://example.org/blog/rnn-intro"),
    ("https://example.org/blog/rnn-intro?page=2&fbclid=abc#part", "https://example.org/blog/rnn-intro?page=2#part"),
    ("https://youtu.be/AAAAAAAAAAB?si=Q7tAaOkHZUwokVAV", "https://youtu.be/AAAAAAAAAAB"),
    ("https://www.youtube.com/watch?v=AAAAAAAAAAB&list=PL1&index=26", "https://www.youtube.com/watch?v=AAAAAAAAAAB"),
])
def test_tracking_parameters_are_errors_with_the_clean_url_as_fix(small_catalog: Path, tmp_path: Path, url: str,
                                                                  clean: str) -> None:
    path = variant(small_catalog, tmp_path, ("url: https://example.org/blog/rnn-intro\n", f"url: {url}\n"))
    [problem] = problems_of(path)
    assert problem.rule is Rule.TRACKING_PARAMETER and problem.field == "url"
    assert problem.hint == f"use the address without them: {clean}"
    assert path.read_text().splitlines()[problem.location.line - 1].endswith(url)


def test_a_playlist_keeps_its_list_parameter(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("url: https://example.org/blog/rnn-intro\n",
                                             "url: https://www.youtube.com/playlist?list=PL1\n"))
    load_catalog(path)


@pytest.mark.parametrize("port", ["99999", "0", "65536", "x1"])
def test_an_impossible_port_is_refused(small_catalog: Path, tmp_path: Path, port: str) -> None:
    path = variant(small_catalog, tmp_path, ("https://example.org/blog/rnn-intro", f"https://example.org:{port}/rnn"))
    [problem] = problems_of(path)
    assert problem.rule is Rule.BAD_URL and "port" in problem.message
    assert (problem.location.line, problem.field) == (21, "url")


# --------------------------------------------------------------------------- #
# Text
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("escape", "shown"), [
    ("\\u200b", "\\u200b (zero width space)"),
    ("\\u202e", "\\u202e (right-to-left override)"),
    ("\\e[2J", "\\x1b"),
    ("\\x07", "\\x07"),
    ("\\t", "\\x09"),
])
@pytest.mark.parametrize("field", ["title", "url", "authors"])
def test_control_and_invisible_characters_are_refused(small_catalog: Path, tmp_path: Path, escape: str,
                                                      shown: str, field: str) -> None:
    # Written as YAML escapes inside double quotes, the only way YAML lets them in.
    old, new = {
        "title": ('title: "An introduction to RNNs: a first look"', f'title: "An introduction{escape} to RNNs"'),
        "url": ("url: https://example.org/blog/rnn-intro", f'url: "https://example.org/blog/{escape}rnn-intro"'),
        "authors": ("authors: [Ada Example]", f'authors: ["Ada{escape} Example"]'),
    }[field]
    path = variant(small_catalog, tmp_path, (old, new))
    if field == "url" and escape == "\\t":  # white space in a URL has its own message
        [problem] = problems_of(path)
        assert problem.rule is Rule.BAD_URL and "white space" in problem.message
        return
    problems = [p for p in problems_of(path) if p.rule is Rule.INVISIBLE_CHARACTER]
    assert len(problems) == 1, problems_of(path)
    [problem] = problems
    assert shown in problem.message
    assert problem.field.startswith(field) and problem.location.line in (20, 21, 23)
    text = str(problem)
    assert "\x1b" not in text and "\u200b" not in text and "\u202e" not in text and "\x07" not in text


def test_prose_may_keep_line_breaks_but_not_other_controls(small_catalog: Path, tmp_path: Path) -> None:
    ok = variant(small_catalog, tmp_path, ("description: A gentle, illustrated walk",
                                           'description: "A gentle,\\nillustrated walk'),
                 ("It builds intuition before any equation.", 'It builds intuition before any equation."'))
    load_catalog(ok)
    bad = variant(small_catalog, tmp_path, ("description: A gentle, illustrated walk",
                                            'description: "A gentle,\\u2066 illustrated walk'),
                  ("It builds intuition before any equation.", 'It builds intuition before any equation."'))
    [problem] = problems_of(bad)
    assert problem.rule is Rule.INVISIBLE_CHARACTER and problem.field == "description"


def test_messages_quoting_the_catalog_cannot_drive_a_terminal(capsys, small_catalog: Path, tmp_path: Path) -> None:
    # Unknown ids and fields are quoted verbatim in messages: escape sequences must come out inert.
    path = variant(small_catalog, tmp_path, ("topics: [rnn]\n", 'topics: [rnn, "\\e]0;pwned\\a"]\n'),
                   ("    year: 2015\n", '    "ye\\e[2Jar": 2015\n'))
    for fmt in ("text", "github", "json"):
        assert run(["validate", "--format", fmt, str(path)]) == 1
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out, fmt
        assert "ye\\x1b[2Jar" in out or "ye\\\\x1b[2Jar" in out, fmt


@pytest.mark.parametrize("spelling", ["yes", "no", "on", "off", "Yes", "OFF"])
def test_yaml_1_1_booleans_are_refused(small_catalog: Path, tmp_path: Path, spelling: str) -> None:
    path = variant(small_catalog, tmp_path, ("    free: false\n", f"    free: {spelling}\n"))
    problems = problems_of(path)
    assert [p.rule for p in problems] == [Rule.YAML11_BOOLEAN]
    [problem] = problems
    line = path.read_text().splitlines().index(f"    free: {spelling}") + 1
    assert (problem.location.line, problem.location.column) == (line, 11)
    assert "write true or false" in problem.hint


def test_yes_as_a_repeated_value_is_reported_at_every_use(small_catalog: Path, tmp_path: Path) -> None:
    text = small_catalog.read_text(encoding="utf-8").replace("free: true", "free: yes")
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    assert len(problems_of(path)) == text.count("free: yes") == 2


def test_kind_synonyms_suggest_the_catalogs_word(small_catalog: Path, tmp_path: Path) -> None:
    for word, kind in [("blog", "article"), ("Blog", "article"), ("colab", "notebook"), ("repo", "code"),
                       ("talk", "lecture")]:
        path = variant(small_catalog, tmp_path, ("    kind: lecture\n", f"    kind: {word}\n"))
        [problem] = problems_of(path)
        assert problem.rule is Rule.UNKNOWN_CHOICE and problem.hint == f"did you mean '{kind}'?", word


def test_added_in_the_future_is_refused(small_catalog: Path, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    later = today + dt.timedelta(days=30)
    path = variant(small_catalog, tmp_path, ("    added: 2026-11-22\n", f"    added: {later.isoformat()}\n"))
    [problem] = problems_of(path)
    assert problem.rule is Rule.FUTURE_DATE and problem.field == "added" and later.isoformat() in problem.message
    assert path.read_text().splitlines()[problem.location.line - 1].endswith(later.isoformat())
    load_catalog(variant(small_catalog, tmp_path, ("    added: 2026-11-22\n", f"    added: {today.isoformat()}\n")))


def test_todo_placeholders_of_a_draft_are_errors(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, ("    level: beginner\n", "    level: TODO\n"),
                   ("authors: [Ada Example]", "authors: [TODO]"),
                   ("description: A gentle, illustrated walk", "description: TODO A gentle, illustrated walk"))
    problems = problems_of(path)
    assert {(p.field, p.rule) for p in problems} == {
        ("level", Rule.DRAFT_PLACEHOLDER), ("authors[0]", Rule.DRAFT_PLACEHOLDER),
        ("description", Rule.DRAFT_PLACEHOLDER)}


# --------------------------------------------------------------------------- #
# Structure
# --------------------------------------------------------------------------- #

PASTED = """  - id: pasted
    title: A resource pasted at the end of the file
    url: https://example.org/pasted
    kind: blog
    authors: [Pat Example]
    topics: [rnn]
    level: beginner
    minutes: 10
    free: true
    description: Added at the end of the file, which is the paths list.
    added: 2026-11-22
"""


def test_a_resource_pasted_under_paths_gets_one_hint(small_catalog: Path, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(small_catalog.read_text(encoding="utf-8") + PASTED, encoding="utf-8")
    [problem] = problems_of(path)
    assert problem.rule is Rule.MISPLACED_RESOURCE
    assert problem.where == "paths[2] (id: pasted)"
    assert path.read_text().splitlines()[problem.location.line - 1] == "  - id: pasted"
    assert "move it up under `resources:`" in problem.hint


def test_a_resource_pasted_into_a_stage_gets_the_hint_too(small_catalog: Path, tmp_path: Path) -> None:
    path = variant(small_catalog, tmp_path, (
        "          - resource: lstm-explained\n        check:",
        "          - id: pasted\n            url: https://example.org/pasted\n            kind: article\n"
        "        check:"))
    [problem] = problems_of(path)
    assert problem.rule is Rule.MISPLACED_RESOURCE
    assert problem.where == "paths[1] (id: weekend) stages[0] (id: cells) steps[1] (id: pasted)"


def _shifted(text: str):
    """Every variant of ``text`` with one structural line indented 1 or 2 spaces more or less."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        for delta in (-2, -1, 1, 2):
            if indent + delta < 0:
                continue
            changed = lines[:]
            changed[index] = " " * (indent + delta) + line.lstrip()
            yield index + 1, "\n".join(changed) + "\n"


def test_indentation_mistakes_are_told_in_plain_words(small_catalog: Path, tmp_path: Path) -> None:
    told = 0
    for line, text in _shifted(small_catalog.read_text(encoding="utf-8")):
        path = tmp_path / "c.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_catalog(path)
        except CatalogInvalid as exc:
            syntax = [p for p in exc.problems if p.rule in (Rule.INDENTATION, Rule.YAML_SYNTAX)]
        else:
            continue
        if not syntax or line <= 5:
            continue  # valid YAML that the schema reports, or the first key (no line above to compare)
        [problem] = syntax
        assert problem.rule is Rule.INDENTATION, (line, str(problem))
        # The shifted line, or the one after it when the shifted one still fits as a first child.
        assert problem.location.line in (line, line + 1), (line, str(problem))
        assert re.match(rf"line {problem.location.line} (is indented|starts a new list item)", problem.message)
        assert "while parsing" not in problem.message and re.search(r"indent it by (exactly )?(\d+ spaces|no spaces|1 space)",
                                                                    problem.hint), problem.hint
        told += 1
    assert told > 200


def test_a_tab_is_an_indentation_problem(tmp_path: Path, small_catalog: Path) -> None:
    path = variant(small_catalog, tmp_path, ("    kind: lecture\n", "\tkind: lecture\n"))
    [problem] = problems_of(path)
    assert problem.rule is Rule.INDENTATION and "tab" in problem.message


def test_a_colon_in_a_plain_value_is_not_called_indentation(tmp_path: Path, small_catalog: Path) -> None:
    path = variant(small_catalog, tmp_path, ("title: Attention in sequence models", "title: Attention: a survey"))
    [problem] = problems_of(path)
    assert problem.rule is Rule.YAML_SYNTAX and "quote" in problem.hint


# --------------------------------------------------------------------------- #
# Output size
# --------------------------------------------------------------------------- #


def test_repeated_errors_are_capped_with_a_count(capsys, small_catalog: Path, tmp_path: Path) -> None:
    bad_ids = ", ".join(f"missing-topic-{n}" for n in range(10_000))
    path = variant(small_catalog, tmp_path, ("topics: [rnn]\n", f"topics: [rnn, {bad_ids}]\n"))
    assert run(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert len(out) < 20_000
    assert out.count("[LP204 unknown-reference]") == 20
    assert "... and 9,980 more LP204 unknown-reference errors (not shown" in out
    assert "10,000 errors" in out
    assert run(["validate", "--format", "json", str(path)]) == 1
    assert '"LP204": 9980' in capsys.readouterr().out
