"""Which links are found, and at exactly which line: catalogs, Markdown, --only-changed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from learnpath.catalog import CatalogInvalid
from learnpath.linkcheck import extract
from learnpath.linkcheck.extract import Link, Location, group_links, links_in_markdown

FIXTURE = Path(__file__).parents[1] / "fixtures" / "valid" / "small.yaml"

PAGE = """\
# A page

Read [the intro](https://example.org/intro) first, then <https://example.org/auto>.
An image: ![diagram](https://example.org/d.png "title") and a relative [link](../other.md).
Wikipedia: [T](https://en.example.org/wiki/Transformer_(deep_learning_architecture)), done.
Mail <mailto:someone@example.org> and `https://example.org/in-code` are not links.
<a href="https://example.org/html?a=1&amp;b=2">html</a> <img src='https://example.org/img.png'>

```python
fetch("https://example.org/fenced")
```

~~~~
https://example.org/tilde [x](https://example.org/tilde-link)
~~~~

    [indented code](https://example.org/indented-code)

- a list item

    [list continuation](https://example.org/list-body)

!!! note "Admonition"

    [in an admonition](https://example.org/admonition)

    ```
    [fenced in admonition](https://example.org/admonition-fence)
    ```

<!-- [commented](https://example.org/comment)
still a comment https://example.org/comment2 -->
[ref]: https://example.org/reference "Title"
[angle](<https://example.org/angle path>) and ``code `with` https://example.org/x`` end
[same](https://example.org/intro)
"""


def test_markdown_links_with_exact_lines_and_columns() -> None:
    found = [(link.url, link.location.line, link.location.column) for link in links_in_markdown(PAGE, "p.md")]
    assert found == [
        ("https://example.org/intro", 3, 18),
        ("https://example.org/auto", 3, 58),
        ("https://example.org/d.png", 4, 22),
        ("https://en.example.org/wiki/Transformer_(deep_learning_architecture)", 5, 16),
        ("https://example.org/html?a=1&b=2", 7, 10),
        ("https://example.org/img.png", 7, 67),
        ("https://example.org/list-body", 21, 25),
        ("https://example.org/admonition", 25, 24),
        ("https://example.org/reference", 33, 8),
        ("https://example.org/angle path", 34, 10),
        ("https://example.org/intro", 35, 8),
    ]


def test_code_blocks_inline_code_and_comments_are_skipped() -> None:
    urls = {link.url for link in links_in_markdown(PAGE, "p.md")}
    for skipped in ("in-code", "fenced", "tilde", "indented-code", "admonition-fence", "comment", "/x"):
        assert not any(u.endswith(skipped) or skipped + "\"" in u for u in urls), skipped
    assert not any("mailto" in u or "other.md" in u for u in urls)


def test_unclosed_fence_hides_the_rest_of_the_file() -> None:
    text = "[a](https://example.org/a)\n```\n[b](https://example.org/b)\n"
    assert [link.url for link in links_in_markdown(text, "p.md")] == ["https://example.org/a"]


def test_group_links_fetches_each_url_once_and_keeps_every_use() -> None:
    links = links_in_markdown(PAGE, "p.md")
    targets = group_links(links)
    intro = next(t for t in targets if t.url == "https://example.org/intro")
    assert [u.line for u in intro.uses] == [3, 35]
    assert len(targets) == len(links) - 1


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_catalog_urls_and_alternate_urls_at_their_lines(tmp_path: Path) -> None:
    catalog = tmp_path / "resources.yaml"
    shutil.copy(FIXTURE, catalog)
    text = catalog.read_text()
    links = extract.links_in_catalog(catalog)
    expected = [
        (url, _line_of(text, url))
        for url in ("https://example.org/blog/rnn-intro", "https://example.org/posts/lstm/",
                    "https://example.org/posts/lstm.pdf", "https://www.youtube.com/watch?v=AAAAAAAAAAA")
    ]
    assert sorted((link.url, link.location.line) for link in links) == sorted(expected)
    assert all(link.location.path == str(catalog) for link in links)


def test_invalid_catalog_raises_with_the_validators_problems(tmp_path: Path) -> None:
    bad = tmp_path / "resources.yaml"
    bad.write_text(FIXTURE.read_text().replace("kind: article", "kind: artcle", 1))
    with pytest.raises(CatalogInvalid) as caught:
        extract.links_in_catalog(bad)
    assert "artcle" in caught.value.report()


def test_expand_sources_rejects_missing_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(extract.SourceError, match="no such file"):
        extract.expand_sources([str(tmp_path / "nope.md")])
    with pytest.raises(extract.SourceError, match="not a catalog"):
        extract.expand_sources([str(tmp_path / "notes.txt")])
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.md").write_text("x")
    assert extract.expand_sources([str(tmp_path / "d")]) == [tmp_path / "d" / "a.md"]


def test_default_sources_need_a_catalog(tmp_path: Path) -> None:
    with pytest.raises(extract.SourceError, match="resources.yaml"):
        extract.default_sources(tmp_path)
    (tmp_path / "resources.yaml").write_text("x")
    (tmp_path / "content" / "topics").mkdir(parents=True)
    (tmp_path / "content" / "topics" / "rnn.md").write_text("x")
    assert extract.default_sources(tmp_path) == [tmp_path / "resources.yaml", tmp_path / "content/topics/rnn.md"]


def test_exclude_file_entries_bad_regex_and_missing_reason(tmp_path: Path) -> None:
    good = tmp_path / "ex.txt"
    good.write_text("# header\n\n^https://blocked\\.example/  # answers 403 to every bot\nnoreason\\.example\n")
    exclusions, warnings = extract.parse_exclude_file(good)
    assert [e.why for e in exclusions] == ["answers 403 to every bot", ""]
    assert warnings and f"{good}:4" in warnings[0]
    assert extract.excluded(["https://blocked.example/x", "https://fine.example/", "https://noreason.example/"],
                            exclusions) == {"https://blocked.example/x": exclusions[0],
                                            "https://noreason.example/": exclusions[1]}
    bad = tmp_path / "bad.txt"
    bad.write_text("ok  # fine\n(unclosed  # oops\n")
    with pytest.raises(extract.SourceError, match=rf"{bad}:2: .*not a valid regular expression"):
        extract.parse_exclude_file(bad)


def test_repository_exclude_file_explains_every_entry() -> None:
    path = Path(__file__).parents[2] / "linkcheck-exclude.txt"
    exclusions, warnings = extract.parse_exclude_file(path)
    assert warnings == []
    assert all(e.why for e in exclusions)


# --------------------------------------------------------------------------- #
# --only-changed
# --------------------------------------------------------------------------- #


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "page.md").write_text("[a](https://example.org/a)\n[b](https://example.org/b)\n")
    shutil.copy(FIXTURE, tmp_path / "resources.yaml")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_only_changed_keeps_added_and_edited_urls(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    Path("page.md").write_text("[a](https://example.org/a)\n[b](https://example.org/b2)\n[c](https://example.org/c)\n")
    catalog = Path("resources.yaml")
    catalog.write_text(catalog.read_text().replace("https://example.org/posts/lstm.pdf", "https://example.org/lstm2.pdf"))
    (repo / "new.md").write_text("[n](https://example.org/new)\n")
    extract.verify_ref("HEAD")
    links = extract.collect([Path("resources.yaml"), Path("page.md"), Path("new.md")])
    kept = extract.changed_links(links, "HEAD")
    assert [(link.url, link.location.path, link.location.line) for link in kept] == [
        ("https://example.org/lstm2.pdf", "resources.yaml", _line_of(catalog.read_text(), "lstm2.pdf")),
        ("https://example.org/b2", "page.md", 2),
        ("https://example.org/c", "page.md", 3),
        ("https://example.org/new", "new.md", 1),
    ]


def test_only_changed_errors_unknown_ref_and_no_repository(repo: Path, tmp_path_factory) -> None:
    with pytest.raises(extract.GitError, match="no commit by that name"):
        extract.verify_ref("no-such-branch", repo)
    outside = tmp_path_factory.mktemp("plain")
    with pytest.raises(extract.GitError, match="not inside a git repository"):
        extract.verify_ref("HEAD", outside)


def test_links_located_as_given() -> None:
    link = Link("https://example.org/", Location("a.md", 2, 3))
    assert group_links([link, link])[0].uses == [Location("a.md", 2, 3)]


def test_grouping_one_url_used_20000_times_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    # Count location comparisons instead of timing: a list scan makes n^2/2 of them
    # (200 million here); a set needs about one per link (only on a hash collision).
    n = 20_000
    links = [Link("https://example.org/same", Location("page.md", line, 1)) for line in range(1, n + 1)]
    links += links[:100]  # the same places again: kept once
    compared = [0]
    original = Location.__eq__

    def counting_eq(self, other):
        compared[0] += 1
        if compared[0] > 4 * n:
            raise AssertionError(f"more than {4 * n} comparisons for {n} links: grouping is not linear")
        return original(self, other)

    monkeypatch.setattr(Location, "__eq__", counting_eq)
    (target,) = group_links(links)
    assert len(target.uses) == n and target.uses[0].line == 1 and target.uses[-1].line == n


def test_an_exclusion_that_backtracks_without_end_is_named_within_its_budget(tmp_path: Path) -> None:
    # (a+)+$ on 40 a's and a mismatch takes about 2^40 steps in Python's re; the child doing the
    # matching is killed at the budget and the pattern named with its file and line.
    path = tmp_path / "ex.txt"
    path.write_text("fine\\.example  # ok\n(a+)+$  # oops\n")
    exclusions, _ = extract.parse_exclude_file(path)
    urls = ["https://fine.example/", "https://x.example/" + "a" * 40 + "!"]
    with pytest.raises(extract.SourceError, match=rf"{path}:2: the exclusion '\(a\+\)\+\$' did not finish"):
        extract.excluded(urls, exclusions, budget=3.0)  # ample for the fine pattern, even on a loaded machine


def test_the_first_matching_exclusion_wins() -> None:
    first, second = extract.compile_exclusion("example", "a"), extract.compile_exclusion("x", "b")
    assert extract.excluded(["https://x.example/", "https://y.test/x", "https://z.test/"], [first, second]) == {
        "https://x.example/": first, "https://y.test/x": second}
    assert extract.excluded([], [first]) == {} and extract.excluded(["https://x.example/"], []) == {}
