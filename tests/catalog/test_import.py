"""`learnpath import`: every link of a learning list found, known ones recognised, the rest drafted."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from learnpath.catalog import CatalogInvalid, load_catalog
from learnpath.catalog.markdown_import import guess_kind, is_home_page, links_in
from learnpath.catalog.rules import Rule
from learnpath.cli import run
from tests.conftest import FIXTURES, ROOT

LIST = FIXTURES / "import" / "learning-list.md"
SMALL = FIXTURES / "valid" / "small.yaml"


# The project's seed write-ups, kept verbatim as test input (see the README beside them).
SEEDS = sorted((FIXTURES / "seeds").glob("*.txt"))


def test_the_four_seeds_are_here() -> None:
    assert len(SEEDS) == 4


def test_every_form_of_link_is_found_and_code_and_images_are_not() -> None:
    links = links_in(LIST.read_text(encoding="utf-8"), str(LIST))
    urls = [link.url for link in links]
    assert urls == [
        "http://www.example.org/blog/rnn-intro/", "https://example.org/gates?utm_source=list",
        "https://example.org/autolinked-notes", "https://youtu.be/AAAAAAAAAAA?si=abc",
        "https://colab.research.google.com/drive/abc123", "https://arxiv.org/abs/1706.03762v5",
        "https://example.net/", "https://github.com/example/repo", "https://example.org/gates",
        "https://example.org/referenced-page",
    ]
    assert links[1].text == "Gates, drawn" and links[7].text == "a repository" and links[2].text is None
    assert (links[0].location.line, links[0].location.column) == (8, 29)


def test_report_and_drafts(capsys) -> None:
    assert run(["import", "--file", str(SMALL), str(LIST)]) == 0
    out, err = capsys.readouterr()
    assert "learning-list.md:8:29: already in the catalog as 'rnn-intro'" in err
    assert "learning-list.md:16:30: already in the catalog as 'attention-lecture'" in err
    assert "learning-list.md:22:1: skipped, a site's home page" in err
    assert "learning-list.md:23:24: repeats the link on line 9" in err
    assert "10 links: 2 already in the catalog, 1 skipped, 1 repeated, 6 new drafts" in err
    drafts = yaml.safe_load(out)
    assert [d["url"] for d in drafts][:2] == ["https://example.org/gates", "https://example.org/autolinked-notes"]
    assert [d["kind"] for d in drafts] == ["article", "article", "notebook", "paper", "code", "article"]
    assert all(d["authors"] == ["TODO"] and d["level"] == "TODO" for d in drafts)
    assert drafts[0]["title"] == "Gates, drawn" and drafts[0]["id"] == "gates-drawn"


def test_write_appends_drafts_that_fail_only_on_their_todos(capsys, tmp_path: Path) -> None:
    catalog = tmp_path / "resources.yaml"
    shutil.copyfile(SMALL, catalog)
    before = catalog.read_text(encoding="utf-8")
    assert run(["import", "--write", "--file", str(catalog), str(LIST)]) == 0
    after = catalog.read_text(encoding="utf-8")
    assert after.startswith(before[:before.index("\npaths:")])
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog(catalog)
    assert {p.rule for p in caught.value.problems} == {Rule.DRAFT_PLACEHOLDER}
    assert "6 drafts added" in capsys.readouterr().err


def test_guesses() -> None:
    assert guess_kind("https://www.youtube.com/watch?v=x") is guess_kind("https://youtu.be/x")
    assert guess_kind("https://example.org/paper.pdf").value == "paper"
    assert guess_kind("https://example.org/nb.ipynb").value == "notebook"
    assert is_home_page("https://example.net") and is_home_page("https://example.net/")
    assert not is_home_page("https://course.example/?lesson=1") and not is_home_page("https://example.net/a")


def test_unreadable_list_is_a_usage_error(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "list.md"
    bad.write_bytes(b"[x](https://example.org/\xff)")
    assert run(["import", "--file", str(SMALL), str(bad)]) == 2
    assert "is not UTF-8" in capsys.readouterr().err
    assert run(["import", "--file", str(SMALL), str(tmp_path / "none.md")]) == 2


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_every_seed_link_is_found_and_already_in_the_catalog(capsys, seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    # An independent count: every http(s) address written in the file, as a plain regex sees it.
    expected = {re.sub(r"[.,;:!?*_]+$", "", url) for url in re.findall(r"https?://[^\s)\]|>]+", text)}
    found = {link.url for link in links_in(text, str(seed))}
    assert found == expected
    assert run(["import", "--file", str(ROOT / "resources.yaml"), str(seed)]) == 0
    out, err = capsys.readouterr()
    assert out == ""  # no drafts: the catalog holds every seed resource
    for line in err.splitlines()[:-1]:
        assert "already in the catalog as" in line or "skipped, a site's home page" in line, line
    skipped = [line.rsplit(": ", 1)[1] for line in err.splitlines() if "skipped, a site" in line]
    assert all(re.fullmatch(r"https?://[^/]+/?", url) for url in skipped)
