"""`learnpath fmt`: one canonical layout, idempotent, data and comments kept, written atomically.

None of these tests needs the repository's resources.yaml to be formatted
already: they format copies and fixtures.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learnpath.catalog.layout import LINE_WIDTH, comment_lines, render, scan_comments
from learnpath.catalog.load import load_yaml
from learnpath.cli import run
from tests.conftest import FIXTURES, ROOT


def fmt_text(text: str, tmp_path: Path) -> str:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return render(load_yaml(path))


def test_formatting_the_catalog_changes_only_how_prose_wraps(tmp_path: Path) -> None:
    original = (ROOT / "resources.yaml").read_text(encoding="utf-8")
    formatted = fmt_text(original, tmp_path)
    assert yaml.safe_load(formatted) == yaml.safe_load(original)
    assert comment_lines(formatted) == comment_lines(original)
    # Every line outside prose blocks is as it was: keys, quoting, lists, comments, blank lines.
    def structure(text: str) -> list[str]:
        lines, out, in_block = text.splitlines(), [], None
        for line in lines:
            indent = len(line) - len(line.lstrip())
            if in_block is not None and (not line.strip() or indent > in_block):
                continue
            in_block = indent if line.rstrip().endswith(">-") else None
            out.append(line)
        return out
    assert structure(formatted) == structure(original)
    single_line = ("url:", "title:", "- http", "- question:")  # fields that are never folded
    assert max(len(line) for line in formatted.splitlines() if not line.lstrip().startswith(single_line)) <= LINE_WIDTH
    assert fmt_text(formatted, tmp_path) == formatted


def test_fixture_gets_schema_order_and_folded_prose(tmp_path: Path) -> None:
    text = fmt_text((FIXTURES / "valid" / "small.yaml").read_text(encoding="utf-8"), tmp_path)
    resource = text[text.index("  - id: lstm-explained"):text.index("  - id: attention-lecture")]
    keys = [line.split(":")[0].strip(" -") for line in resource.splitlines() if not line.startswith("      ")]
    assert keys == ["id", "title", "url", "alternate_urls", "kind", "authors", "topics", "level", "minutes",
                    "free", "description", "prerequisites", "added"]
    assert "    description: >-\n      Explains each gate of the LSTM cell with diagrams. Worth it for the\n" in resource
    assert "    authors: [Bea Example, Cy Example]\n" in resource


def test_comments_stay_before_the_key_they_preceded(tmp_path: Path) -> None:
    text = """# header
schema_version: 1
topics:
  # the first topic
  - title: Recurrent neural networks  # shown on the site
    id: rnn
    # a note on the summary
    summary: Networks that read a sequence one item at a time and carry a state forward.
# resources follow
resources: []
paths: []
# the end
"""
    out = fmt_text(text, tmp_path)
    assert out == """# header
schema_version: 1
topics:
  # the first topic
  - id: rnn
    title: Recurrent neural networks  # shown on the site
    # a note on the summary
    summary: >-
      Networks that read a sequence one item at a time and carry a state
      forward.
# resources follow
resources: []
paths: []
# the end
"""


@pytest.mark.parametrize(("value", "written"), [
    ("Plain words", "Plain words"),
    ("4: Natural Language (NLP)", '"4: Natural Language (NLP)"'),
    ("yes", '"yes"'),
    ("2017", '"2017"'),
    ("# not a comment", '"# not a comment"'),
    ("a #hash", '"a #hash"'),
    ("- dash", '"- dash"'),
    ("-dash", "-dash"),
    ('say "hi"', 'say "hi"'),
    ("'quoted'", "\"'quoted'\""),
    ("line\u2028break", '"line\\u2028break"'),
])
def test_strings_are_quoted_only_when_yaml_needs_it(tmp_path: Path, value: str, written: str) -> None:
    data = {"schema_version": 1, "topics": [{"id": "a", "title": value}], "resources": [], "paths": []}
    out = fmt_text(yaml.safe_dump(data, allow_unicode=True), tmp_path)
    assert f"    title: {written}\n" in out
    assert yaml.safe_load(out) == data


def test_long_lists_go_one_per_line(tmp_path: Path) -> None:
    authors = [f"Author Number {n}" for n in range(8)]
    data = {"resources": [{"id": "x", "authors": authors, "topics": ["a"], "alternate_urls": ["https://e.org/a"]}]}
    out = fmt_text(yaml.safe_dump(data), tmp_path)
    assert "    authors:\n      - Author Number 0\n" in out
    assert "    topics: [a]\n" in out
    assert "    alternate_urls:\n      - https://e.org/a\n" in out


# --------------------------------------------------------------------------- #
# The command
# --------------------------------------------------------------------------- #


def copy_of(source: Path, tmp_path: Path) -> Path:
    path = tmp_path / "resources.yaml"
    shutil.copyfile(source, path)
    return path


def test_check_fails_with_the_first_differing_line_and_writes_nothing(capsys, tmp_path: Path) -> None:
    path = copy_of(FIXTURES / "valid" / "small.yaml", tmp_path)
    before = path.read_bytes()
    assert run(["fmt", "--check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:10:1: not in the canonical layout" in err and "learnpath fmt" in err
    assert path.read_bytes() == before
    assert run(["fmt", str(path)]) == 0
    assert run(["fmt", "--check", str(path)]) == 0
    assert path.read_bytes() != before


def test_fmt_keeps_the_file_mode_and_writes_through_a_symlink(tmp_path: Path) -> None:
    real = copy_of(FIXTURES / "valid" / "small.yaml", tmp_path)
    os.chmod(real, 0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to(real.name)
    assert run(["fmt", str(link)]) == 0
    assert link.is_symlink() and stat.S_IMODE(real.stat().st_mode) == 0o640
    assert "description: >-" in real.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_invalid_yaml_is_reported_at_its_line_and_nothing_is_written(capsys, tmp_path: Path) -> None:
    path = copy_of(FIXTURES / "invalid" / "yaml-indent.yaml", tmp_path)
    before = path.read_bytes()
    assert run(["fmt", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:13:4: line 13 is indented 3 spaces" in err and "Traceback" not in err
    assert path.read_bytes() == before


def test_missing_file_is_a_usage_error(capsys, tmp_path: Path) -> None:
    assert run(["fmt", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the catalog" in capsys.readouterr().err


def test_a_file_changed_meanwhile_is_not_overwritten(monkeypatch, capsys, tmp_path: Path) -> None:
    from learnpath.catalog import fmt

    path = copy_of(FIXTURES / "valid" / "small.yaml", tmp_path)
    real_formatted = fmt.formatted

    def edit_meanwhile(document):
        path.write_text(path.read_text(encoding="utf-8") + "# saved by an editor\n", encoding="utf-8")
        return real_formatted(document)

    monkeypatch.setattr(fmt, "formatted", edit_meanwhile)
    assert run(["fmt", str(path)]) == 2
    assert "changed while learnpath was working" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8").endswith("# saved by an editor\n")


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

_WORD = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABC0123456789:#'\"-,.!?()[]{}&*é—"),
                min_size=1, max_size=14)
_TEXT = st.lists(_WORD, min_size=1, max_size=40).map(" ".join)
_SLUG = st.from_regex(r"[a-z][a-z0-9]{1,8}(-[a-z0-9]{1,5}){0,2}", fullmatch=True)


@st.composite
def catalogs(draw) -> dict:
    """Catalog-shaped data, in any key order, with text that needs quoting now and then."""
    def record(fields: dict) -> dict:
        keys = draw(st.permutations(list(fields)))
        return {key: fields[key] for key in keys}

    resources = [record({
        "id": draw(_SLUG), "title": draw(_WORD), "url": "https://example.org/" + draw(_SLUG),
        "kind": "article", "authors": draw(st.lists(_WORD, min_size=1, max_size=9)),
        "topics": draw(st.lists(_SLUG, min_size=1, max_size=4)), "level": "beginner",
        "minutes": draw(st.integers(1, 6000)), "free": draw(st.booleans()), "description": draw(_TEXT),
        **({"alternate_urls": ["https://example.org/alt"]} if draw(st.booleans()) else {}),
        **({"year": draw(st.integers(1950, 2100))} if draw(st.booleans()) else {}),
        **({"extra_field": draw(_WORD)} if draw(st.booleans()) else {}),
    }) for _ in range(draw(st.integers(0, 3)))]
    steps = [record({"resource": draw(_SLUG), "why": draw(_TEXT), "optional": draw(st.booleans())})
             for _ in range(draw(st.integers(1, 3)))]
    stage = record({"id": draw(_SLUG), "title": draw(_WORD), "goal": draw(_TEXT), "steps": steps})
    path = record({"id": draw(_SLUG), "title": draw(_TEXT), "summary": draw(_TEXT), "stages": [stage]})
    topic = record({"id": draw(_SLUG), "title": draw(_TEXT), "summary": draw(_TEXT)})
    return record({"schema_version": 1, "topics": [topic], "resources": resources, "paths": [path]})


@st.composite
def yaml_texts(draw) -> tuple[dict, str]:
    """A catalog dumped in one of several styles, with comment lines where YAML allows them."""
    data = draw(catalogs())
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=draw(st.sampled_from([40, 80, 1000])),
                          indent=draw(st.sampled_from([2, 4])), default_flow_style=draw(st.sampled_from([False, None])))
    lines = text.splitlines()
    for position in draw(st.lists(st.integers(0, len(lines)), max_size=6)):
        indent = " " * draw(st.sampled_from([0, 2, 4]))
        candidate = lines[:position] + [f"{indent}# note {position}"] + lines[position:]
        try:
            if yaml.safe_load("\n".join(candidate)) == data:
                lines = candidate
        except yaml.YAMLError:
            pass
    return data, "\n".join(lines) + "\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(case=yaml_texts())
def test_fmt_is_idempotent_and_keeps_data_and_comments(tmp_path: Path, case: tuple[dict, str]) -> None:
    data, text = case
    once = fmt_text(text, tmp_path)
    assert yaml.safe_load(once) == data
    assert comment_lines(once) == comment_lines(text)
    assert fmt_text(once, tmp_path) == once
    prose_lines = [line for line in once.splitlines() if line.startswith(" ") and ":" not in line
                   and not line.lstrip().startswith(("-", "#"))]
    assert all(len(line) <= LINE_WIDTH or " " not in line.strip() for line in prose_lines)


def test_comment_scan_ignores_hashes_in_quotes_and_text(tmp_path: Path) -> None:
    text = 'a: "x # y"  # real\nb: >-\n  # text, not a comment\n  more\nc: \'it\'\'s # here\'\n'
    comments = scan_comments(text)
    assert comments.end_of_line == {1: "# real"}
    assert comments.leading == {}
