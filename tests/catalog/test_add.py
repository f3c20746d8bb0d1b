"""`learnpath add`: one entry in the canonical layout, nothing else touched, refused when it would be wrong."""

from __future__ import annotations

import difflib
import os
import shutil
import socket
from pathlib import Path

import pytest

from learnpath.catalog import load_catalog
from learnpath.catalog.add import suggest_id
from learnpath.cli import run
from tests.conftest import FIXTURES, ROOT

GOOD = ["--url", "https://example.org/gru-notes", "--title", "GRU notes: a short tour", "--kind", "article",
        "--authors", "Gus Example, Hal Example", "--topics", "lstm", "--level", "beginner", "--minutes", "25",
        "--description", "A short tour of the GRU cell and its two gates. It ends with a worked example."]


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "resources.yaml"
    shutil.copyfile(FIXTURES / "valid" / "small.yaml", path)
    return path


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """add never fetches the URL: any attempt to open a connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("learnpath add tried to use the network")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def inserted(before: str, after: str) -> list[str]:
    """The lines of ``after`` not in ``before``; fails if anything was removed or changed."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")], "add changed or removed a line"
    return [line[2:] for line in diff if line.startswith("+ ")]


def test_adds_the_entry_and_its_step_touching_nothing_else(capsys, catalog: Path) -> None:
    before = catalog.read_text(encoding="utf-8")
    code = run(["add", "--file", str(catalog), *GOOD, "--path", "weekend", "--stage", "cells",
                "--why", "It shows the same gating idea in a smaller cell.", "--optional"])
    assert code == 0, capsys.readouterr()
    assert "added 'gru-notes-a-short-tour' to path 'weekend', stage 'cells'" in capsys.readouterr().out
    after = catalog.read_text(encoding="utf-8")
    new = inserted(before, after)
    assert new[:4] == ["  - id: gru-notes-a-short-tour", '    title: "GRU notes: a short tour"',
                       "    url: https://example.org/gru-notes", "    kind: article"]
    assert "    authors: [Gus Example, Hal Example]" in new
    assert new[-4:] == ["          - resource: gru-notes-a-short-tour", "            optional: true",
                        "            why: >-", "              It shows the same gating idea in a smaller cell."]
    loaded = load_catalog(catalog)
    weekend = next(p for p in loaded.catalog.paths if p.id == "weekend")
    assert weekend.stages[0].steps[-1].resource == "gru-notes-a-short-tour"
    assert loaded.catalog.resources[-1].id == "gru-notes-a-short-tour"


def test_the_repository_catalog_keeps_its_section_comments(tmp_path: Path, capsys) -> None:
    path = tmp_path / "resources.yaml"
    shutil.copyfile(ROOT / "resources.yaml", path)
    before = path.read_text(encoding="utf-8")
    topic = load_catalog(path).catalog.topics[0].id
    args = [a if a != "lstm" else topic for a in GOOD]
    assert run(["add", "--file", str(path), *args]) == 0, capsys.readouterr()
    after = path.read_text(encoding="utf-8")
    new = inserted(before, after)
    assert new[0] == "  - id: gru-notes-a-short-tour" and new[-1].startswith("    added: ")
    # The new entry ends the resources list; the comment block introducing `paths:` still does.
    tail = after[:after.index("\npaths:")].rstrip().splitlines()
    assert tail[-1].startswith("# ") and "      A short tour of the GRU cell" in after


def test_an_invalid_entry_leaves_the_file_byte_for_byte(capsys, catalog: Path) -> None:
    before = catalog.read_bytes()
    args = [a if a != "article" else "blog" for a in GOOD]
    assert run(["add", "--file", str(catalog), *args]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'article'?" in err and "[LP104 unknown-choice]" in err and "Traceback" not in err
    assert catalog.read_bytes() == before


@pytest.mark.parametrize("spelling", [
    "http://example.org/blog/rnn-intro", "https://www.example.org/blog/rnn-intro/",
    "https://example.org/blog/rnn-intro?utm_source=feed", "https://EXAMPLE.org/blog/rnn-intro#top",
    "https://youtu.be/AAAAAAAAAAA", "https://example.org/posts/lstm.pdf",
])
def test_a_url_already_in_the_catalog_is_refused_naming_the_entry(capsys, catalog: Path, spelling: str) -> None:
    before = catalog.read_bytes()
    args = GOOD[:]
    args[1] = spelling
    assert run(["add", "--file", str(catalog), *args]) == 1
    err = capsys.readouterr().err
    assert "is already in the catalog as '" in err and "nothing was added" in err
    assert any(f"as '{rid}'" in err for rid in ("rnn-intro", "attention-lecture", "lstm-explained"))
    assert catalog.read_bytes() == before


def test_missing_values_off_a_terminal_are_a_usage_error(capsys, catalog: Path) -> None:
    assert run(["add", "--file", str(catalog), "--url", "https://example.org/x"]) == 2
    err = capsys.readouterr().err
    assert "missing --title, --kind, --authors, --topics, --level, --minutes, --description" in err


def test_missing_values_are_asked_for_on_a_terminal(catalog: Path) -> None:
    from learnpath.catalog import add
    from learnpath.cli import build_parser

    answers = {"Title": "Gated cells by hand", "Kind": "tutorial", "Authors": "Ivy Example", "Topics": "lstm",
               "Level": "intermediate", "Minutes": "40",
               "Description": "Builds a gated cell step by step in NumPy. Each gate gets its own small test."}
    asked = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(value for key, value in answers.items() if prompt.startswith(key))

    args = build_parser("add").parse_args(["add", "--file", str(catalog), "--url", "https://example.org/cells"])
    assert add.run(args, ask=ask) == 0
    assert len(asked) == 7
    resource = load_catalog(catalog).catalog.resources[-1]
    assert (resource.id, resource.kind.value, resource.minutes) == ("gated-cells-by-hand", "tutorial", 40)


def test_unknown_path_or_stage_is_a_usage_error(capsys, catalog: Path) -> None:
    before = catalog.read_bytes()
    assert run(["add", "--file", str(catalog), *GOOD, "--path", "nope", "--stage", "x"]) == 2
    assert "no path 'nope'; the paths are main, weekend" in capsys.readouterr().err
    assert run(["add", "--file", str(catalog), *GOOD, "--path", "main", "--stage", "x"]) == 2
    assert "has no stage 'x'; its stages are recurrence, attention" in capsys.readouterr().err
    assert catalog.read_bytes() == before


def test_an_invalid_catalog_is_not_added_to(capsys, tmp_path: Path) -> None:
    path = tmp_path / "resources.yaml"
    shutil.copyfile(FIXTURES / "invalid" / "bad-enum.yaml", path)
    before = path.read_bytes()
    assert run(["add", "--file", str(path), *GOOD]) == 1
    assert "learnpath add needs a valid catalog" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_a_failed_write_leaves_the_old_file_and_no_temporary(monkeypatch, capsys, catalog: Path) -> None:
    before = catalog.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    assert run(["add", "--file", str(catalog), *GOOD]) == 2
    assert "No space left on device; the file was not changed" in capsys.readouterr().err
    assert catalog.read_bytes() == before
    assert sorted(p.name for p in catalog.parent.iterdir()) == ["resources.yaml"]


def test_dry_run_prints_the_entry_and_writes_nothing(capsys, catalog: Path) -> None:
    before = catalog.read_bytes()
    assert run(["add", "--file", str(catalog), *GOOD, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("  - id: gru-notes-a-short-tour\n") and catalog.read_bytes() == before


def test_suggested_ids_are_slugs_and_unique() -> None:
    assert suggest_id("The Illustrated Transformer", set()) == "the-illustrated-transformer"
    assert suggest_id("Café: Über Attention!", set()) == "cafe-uber-attention"
    assert suggest_id("LSTM", {"lstm"}) == "lstm-2"
    assert suggest_id("???", set()) == "resource"
    assert len(suggest_id("word " * 40, set())) <= 64
