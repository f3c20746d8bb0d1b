"""The MkDocs hook, driven by real builds of small throw-away projects.

Each test writes a project (the repository's own mkdocs.yml, a small catalog,
topic pages) into a temporary directory and builds it in-process with
``mkdocs.commands.build.build``, as ``mkdocs build --strict`` would.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

from site_helpers import broken_internal_links, dump_catalog, make_project, mkdocs_build, topic_markdown

from learnpath.site.hook import find_markers


def build_project(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Build like the CLI does (strict, from the project directory); return the site dir."""
    # pymdownx.snippets resolves base_path "." against the working directory.
    monkeypatch.chdir(config_file.parent)
    site = config_file.parent / "site"
    config = load_config(config_file=str(config_file), site_dir=str(site), strict=True)
    build(config)
    return site


def abort_message(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    with pytest.raises(Abort) as caught:
        build_project(config_file, monkeypatch)
    return caught.value.format_message()


# --------------------------------------------------------------------------- #
# A good build
# --------------------------------------------------------------------------- #


def test_builds_generated_pages_and_expands_markers(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_project(make_project(tmp_path, catalog_data), monkeypatch)
    path_page = (site / "paths" / "mini.html").read_text()
    assert path_page.count('<article class="lp-card') == 3
    assert '<a href="https://example.org/alpha" rel="noopener">Title of alpha</a>' in path_page
    catalog = (site / "catalog.html").read_text()
    assert catalog.count('<article class="lp-card') == 4
    topic = (site / "topics" / "transformer.html").read_text()
    assert "<!-- learnpath:" not in topic
    assert [m for m in re.findall(r'data-resource="([^"]+)"', topic)] == ["gamma", "beta", "delta"]
    home = (site / "index.html").read_text()
    assert 'data-path="mini"' in home and 'href="paths/mini.html"' in home
    # The generated pages take their nav title from their heading.
    assert re.search(r'class="md-nav__link[^"]*"[^>]*>\s*<span class="md-ellipsis">\s*A mini path', home)


def test_every_internal_link_resolves(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_project(make_project(tmp_path, catalog_data), monkeypatch)
    broken, checked = broken_internal_links(site)
    assert broken == []
    assert checked > 20


def test_catalog_edits_show_on_the_next_build(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `mkdocs serve` does on a change: build again in the same process, hook already loaded."""
    config_file = make_project(tmp_path, catalog_data)
    build_project(config_file, monkeypatch)
    catalog_data["resources"][0]["title"] = "A brand new title"
    (tmp_path / "resources.yaml").write_text(dump_catalog(catalog_data))
    site = build_project(config_file, monkeypatch)
    assert "A brand new title" in (site / "paths" / "mini.html").read_text()


def test_snippet_syntax_in_catalog_text_includes_nothing(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
    catalog_data["resources"][0]["description"] = 'Read this.\n--8<-- "secret.txt"\nThen that.'
    catalog_data["resources"][0]["title"] = '--8<-- "secret.txt"'
    site = build_project(make_project(tmp_path, catalog_data), monkeypatch)
    for page in site.rglob("*.html"):
        assert "TOP-SECRET-CONTENT" not in page.read_text(), page


def test_catalog_text_is_escaped_everywhere_in_the_built_site(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only in our cards: the page <title>, the nav, the table of contents and the search index too.

    The <title> case is real: Material filters the title through Jinja's
    `striptags`, which decodes entities, so the hook must set the title itself.
    """
    hostile = '</title><script>alert(1)</script><img src=x onerror=alert(2)> "q"'
    catalog_data["paths"][0]["title"] = hostile
    catalog_data["paths"][0]["stages"][0]["title"] = hostile
    catalog_data["resources"][0]["title"] = hostile
    catalog_data["resources"][0]["authors"] = [hostile]
    catalog_data["resources"][0]["description"] = f"It says {hostile} here."
    site = build_project(make_project(tmp_path, catalog_data), monkeypatch)
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 5
    for html_file in pages:
        html = html_file.read_text()
        assert "<script>alert" not in html and "<img src=x" not in html, html_file
    path_page = (site / "paths" / "mini.html").read_text()
    assert "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in path_page
    index = (site / "search" / "search_index.json").read_text()
    assert "<script>alert" not in index


def test_markers_in_fenced_code_are_left_alone(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = "# Home\n\nWrite this line:\n\n```markdown\n<!-- learnpath:path-list -->\n<!-- learnpath:nonsense -->\n```\n"
    site = build_project(make_project(tmp_path, catalog_data, index=index), monkeypatch)
    home = (site / "index.html").read_text()
    assert "lp-pathcard" not in home
    assert "&lt;!-- learnpath:path-list --&gt;" in home


def test_find_markers() -> None:
    text = "a\n<!-- learnpath:path-list -->\n~~~\n<!-- learnpath:x -->\n~~~\n  <!--learnpath:topic-resources-->  \n"
    assert [(m.name, m.line) for m in find_markers(text)] == [("path-list", 2), ("topic-resources", 6)]


# --------------------------------------------------------------------------- #
# Failures: an Abort whose message says where, what and how to fix it
# --------------------------------------------------------------------------- #


def test_invalid_catalog_stops_the_build_with_the_validator_report(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog_data["resources"][1]["kind"] = "blog"
    catalog_data["resources"][2]["url"] = "javascript:alert(1)"
    message = abort_message(make_project(tmp_path, catalog_data), monkeypatch)
    assert "the catalog is invalid, so the site was not built" in message
    # Every problem, each with file:line:col, as `learnpath validate` prints them.
    assert re.search(r"resources\.yaml:\d+:\d+: resources\[1\] \(id: beta\) field 'kind': 'blog'", message)
    assert re.search(r"resources\.yaml:\d+:\d+: resources\[2\] \(id: gamma\) field 'url'", message)
    assert not (tmp_path / "site" / "paths").exists()


def test_invalid_catalog_report_matches_learnpath_validate(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from learnpath.catalog import CatalogInvalid, load_catalog

    catalog_data["paths"][0]["stages"][0]["steps"][0]["resource"] = "no-such-resource"
    config_file = make_project(tmp_path, catalog_data)
    monkeypatch.chdir(tmp_path)  # as `learnpath validate` is run, from the project directory
    with pytest.raises(CatalogInvalid) as invalid:
        load_catalog("resources.yaml")
    assert invalid.value.report() in abort_message(config_file, monkeypatch)


def test_invalid_catalog_under_the_cli_prints_no_traceback(tmp_path: Path, catalog_data: dict[str, Any]) -> None:
    catalog_data["resources"][0]["minutes"] = "thirty"
    make_project(tmp_path, catalog_data)
    result = mkdocs_build(tmp_path, tmp_path / "site", timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r"resources\.yaml:\d+:\d+: resources\[0\] \(id: alpha\) field 'minutes'", output), output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        pytest.param(
            "# Home\n\nIntro.\n<!-- learnpath:path-lst -->\n",
            "content/index.md:4: unknown marker <!-- learnpath:path-lst -->\n    hint: the markers are",
            id="unknown-marker",
        ),
        pytest.param(  # MkDocs strips front matter before the hook sees the page; the line is the file's
            "---\ntitle: Home\nhide:\n  - toc\n---\n\n# Home\n\n<!-- learnpath:nope -->\n",
            "content/index.md:9: unknown marker <!-- learnpath:nope -->",
            id="line-after-front-matter",
        ),
        pytest.param(
            "# Home\n\n<!-- learnpath:topic-resources -->\n",
            "content/index.md:3: <!-- learnpath:topic-resources --> is only for a catalog topic's page",
            id="topic-marker-off-a-topic-page",
        ),
        pytest.param(
            "# Home\n\n<!-- learnpath:path-list weekend -->\n",
            "content/index.md:3: <!-- learnpath:path-list --> takes no argument, but has 'weekend'",
            id="argument-where-none-is-taken",
        ),
    ],
)
def test_bad_marker_on_the_home_page(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch, index: str, expected: str
) -> None:
    message = abort_message(make_project(tmp_path, catalog_data, index=index), monkeypatch)
    assert expected in message


def test_missing_topic_page(tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    pages = {"attention": topic_markdown("Attention")}
    message = abort_message(make_project(tmp_path, catalog_data, topic_pages=pages), monkeypatch)
    assert "content/topics/transformer.md: the catalog has the topic 'transformer' but its page does not exist" in message
    assert "hint: create it" in message


def test_topic_page_without_its_marker(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {"attention": topic_markdown("Attention"), "transformer": "# The Transformer\n\nNo list here.\n"}
    message = abort_message(make_project(tmp_path, catalog_data, topic_pages=pages), monkeypatch)
    assert "content/topics/transformer.md: the page of topic 'transformer' has no" in message


def test_path_missing_from_the_nav(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    message = abort_message(make_project(tmp_path, catalog_data, nav_paths=[]), monkeypatch)
    assert "the catalog has the path 'mini' but the nav does not list paths/mini.md" in message
    assert "hint: add `- paths/mini.md` under `Paths:`" in message


def test_nav_names_a_path_the_catalog_lacks(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = make_project(tmp_path, catalog_data, nav_paths=["paths/mini.md", "paths/weekend.md"])
    message = abort_message(config_file, monkeypatch)
    assert "mkdocs.yml: the nav lists paths/weekend.md, but the catalog has no path 'weekend' (its paths: mini)" in message


def test_hand_written_file_in_place_of_a_generated_page(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = make_project(tmp_path, catalog_data)
    (tmp_path / "content" / "catalog.md").write_text("# My catalog\n")
    message = abort_message(config_file, monkeypatch)
    assert "content/catalog.md: this page is generated from the catalog" in message


# --------------------------------------------------------------------------- #
# Runnable code on topic pages
# --------------------------------------------------------------------------- #

DEMO = '"""Demo module <for> the site & its tests."""\n\n\ndef main() -> int:\n    return 0\n\n\nif __name__ == "__main__":\n    raise SystemExit(main())\n'


def project_with_runnable(root: Path, data: dict[str, Any], marker: str) -> Path:
    pages = {
        "attention": f"# Attention\n\n## Run it\n\n{marker}\n\n## Resources\n\n<!-- learnpath:topic-resources -->\n",
        "transformer": topic_markdown("The Transformer"),
    }
    config_file = make_project(root, data, topic_pages=pages)
    (root / "runnable").mkdir()
    (root / "runnable" / "demo.py").write_text(DEMO)
    (root / "tests" / "runnable").mkdir(parents=True)
    (root / "tests" / "runnable" / "test_demo.py").write_text("def test_nothing():\n    assert True\n")
    return config_file


def test_runnable_marker_shows_the_file_links_it_and_says_how_to_run_it(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = project_with_runnable(tmp_path, catalog_data, "<!-- learnpath:runnable runnable/demo.py -->")
    site = build_project(config_file, monkeypatch)
    html = (site / "topics" / "attention.html").read_text()
    details = html[html.index('<details class="example">'):html.index("</details>")]
    # The source, from the file itself (escaped by the highlighter), collapsed in a details block.
    assert "Demo module &lt;for&gt; the site &amp; its tests." in re.sub(r"<[^>]+>", "", details)
    assert '<a href="../runnable/demo.py"><code>runnable/demo.py</code></a>' in html
    text = re.sub(r"<[^>]+>", "", html)  # the highlighter wraps words in spans
    assert ".venv/bin/python -m runnable.demo\n.venv/bin/pytest tests/runnable/test_demo.py" in text
    assert (site / "runnable" / "demo.py").read_text() == DEMO  # the linked file is published as is
    # Editing the file shows on the next build (what `mkdocs serve` does, watching runnable/).
    (tmp_path / "runnable" / "demo.py").write_text(DEMO.replace("Demo module", "Changed module"))
    site = build_project(config_file, monkeypatch)
    assert "Changed module" in (site / "topics" / "attention.html").read_text()


@pytest.mark.parametrize(
    "marker",
    ["<!-- learnpath:runnable runnable/missing.py -->", "<!-- learnpath:runnable ../secret.py -->",
     "<!-- learnpath:runnable -->"],
)
def test_runnable_marker_must_name_a_runnable_file(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch, marker: str
) -> None:
    message = abort_message(project_with_runnable(tmp_path, catalog_data, marker), monkeypatch)
    assert "content/topics/attention.md:5:" in message and "does not name a file in runnable/" in message
    assert "with one of: demo.py" in message


# --------------------------------------------------------------------------- #
# Figures drawn at build time
# --------------------------------------------------------------------------- #


def project_with_figure(root: Path, data: dict[str, Any], marker: str) -> Path:
    pages = {
        "attention": f"# Attention\n\n## See it\n\n{marker}\n\n## Resources\n\n<!-- learnpath:topic-resources -->\n",
        "transformer": topic_markdown("The Transformer"),
    }
    return make_project(root, data, topic_pages=pages)


def test_figure_marker_inlines_the_svg_with_its_caption(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = project_with_figure(tmp_path, catalog_data, "<!-- learnpath:figure positional-encoding -->")
    html = (build_project(config_file, monkeypatch) / "topics" / "attention.html").read_text()
    figure = html[html.index('<figure class="lp-figure" id="figure-positional-encoding">'):]
    figure = figure[: figure.index("</figure>")]
    assert figure.count('class="cell"') == 48 * 48  # one cell per (position, dimension)
    assert "<figcaption>The sinusoidal positional encoding of the first 48 positions" in figure


def test_unknown_figure(tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = project_with_figure(tmp_path, catalog_data, "<!-- learnpath:figure heatmap -->")
    message = abort_message(config_file, monkeypatch)
    assert "content/topics/attention.md:5: <!-- learnpath:figure heatmap --> names no figure" in message
    assert "the figures are: positional-encoding, toy-attention, toy-training" in message


def test_a_failing_figure_names_itself(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from learnpath.site import figures

    def broken() -> str:
        raise ValueError("shapes do not match")

    monkeypatch.setattr(figures, "positional_encoding_figure", broken)
    config_file = project_with_figure(tmp_path, catalog_data, "<!-- learnpath:figure positional-encoding -->")
    message = abort_message(config_file, monkeypatch)
    assert "drawing the figure 'positional-encoding' failed: ValueError: shapes do not match" in message
    assert "figures.positional_encoding_figure()" in message


# --------------------------------------------------------------------------- #
# Link health from the checker's history
# --------------------------------------------------------------------------- #


def set_history_setting(config_file: Path, value: str) -> None:
    import yaml

    config = yaml.safe_load(config_file.read_text())
    config.setdefault("extra", {}).setdefault("learnpath", {})["link_history"] = value
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))


def test_history_shows_on_cards_and_the_link_health_page(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from site_helpers import SNAPSHOT, small_history

    config_file = make_project(tmp_path, catalog_data)
    set_history_setting(config_file, "state/links.json")  # configurable in mkdocs.yml
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "links.json").write_text(json.dumps(small_history()))
    site = build_project(config_file, monkeypatch)
    path_page = (site / "paths" / "mini.html").read_text()
    assert '<time datetime="2026-11-20T03:00:00Z" data-relative>on 20 Nov 2026</time>' in path_page
    assert f'<a href="{SNAPSHOT}" rel="noopener">Title of beta</a>' in path_page
    health = (site / "link-health.html").read_text()
    assert re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", health) == [
        ("Broken", "2"), ("Permanently redirected", "1"), ("OK", "1")]


def test_without_history_nothing_is_claimed(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_project(make_project(tmp_path, catalog_data), monkeypatch)
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "lp-health" not in text and "<time" not in text, page
    assert "makes no claim about its links" in (site / "link-health.html").read_text()


@pytest.mark.parametrize(("content", "says"), [
    ("{broken", "learnpath check-links"),
    ('["foreign"]', "learnpath check-links"),
    ('{"version": 1, "entries": {"https://x.org/": 3}}', "the entry for https://x.org/ is damaged"),
])
def test_a_damaged_history_is_a_warning_not_a_failed_build(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch, content: str, says: str
) -> None:
    """Under --strict too: the site is built, says nothing about links, and the warning says why."""
    make_project(tmp_path, catalog_data)
    (tmp_path / ".linkcheck").mkdir()
    (tmp_path / ".linkcheck" / "history.json").write_text(content)
    result = mkdocs_build(tmp_path, tmp_path / "site", timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING -  learnpath: .linkcheck/history.json" in output.replace(str(tmp_path) + "/", "")
    assert says in output and "Traceback" not in output
    assert "lp-health" not in (tmp_path / "site" / "paths" / "mini.html").read_text()


def test_a_bad_history_setting_stops_the_build(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = make_project(tmp_path, catalog_data)
    set_history_setting(config_file, "")
    message = abort_message(config_file, monkeypatch)
    assert "extra.learnpath.link_history must be a file path" in message and "hint:" in message


# --------------------------------------------------------------------------- #
# Topic pages, repository links
# --------------------------------------------------------------------------- #


def test_topic_pages_link_what_they_build_on_and_lead_to(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_project(make_project(tmp_path, catalog_data), monkeypatch)
    topic = (site / "topics" / "transformer.html").read_text()
    title_end = topic.index("</h1>")
    related = topic.index('<nav class="lp-related"')
    assert title_end < related < topic.index("A few words on the idea.")  # right under the title
    assert '<span class="lp-label">Builds on:</span> <a href="attention.html">Attention</a>' in topic


def test_runnable_links_to_the_repository_only_when_told_it(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = project_with_runnable(tmp_path, catalog_data, "<!-- learnpath:runnable runnable/demo.py -->")
    site = build_project(config_file, monkeypatch)
    html = (site / "topics" / "attention.html").read_text()
    assert "in the repository" not in html and "md-content__button" not in html  # no repo_url: no guess
    import yaml

    config = yaml.safe_load(config_file.read_text())
    config["repo_url"] = "https://forge.example/learn/transformers"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    site = build_project(config_file, monkeypatch)
    html = (site / "topics" / "attention.html").read_text()
    assert '(<a href="https://forge.example/learn/transformers/blob/main/runnable/demo.py">in the repository</a>)' in html
    # "Edit this page" on a hand-written page, none on a generated one.
    assert 'href="https://forge.example/learn/transformers/edit/main/content/topics/attention.md"' in html
    assert "/edit/main/" not in (site / "paths" / "mini.html").read_text()


# --------------------------------------------------------------------------- #
# The figure cache
# --------------------------------------------------------------------------- #


def test_figures_come_from_the_cache_until_their_code_changes(
    tmp_path: Path, catalog_data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from learnpath.site import figcache, figures

    cache = tmp_path / "figure-cache"
    monkeypatch.setenv(figcache.ENV, str(cache))
    calls = []
    original = figures.positional_encoding_figure

    def counted() -> str:
        calls.append(1)
        return original(n_positions=4, d_model=4)

    monkeypatch.setattr(figures, "positional_encoding_figure", counted)
    config_file = project_with_figure(tmp_path, catalog_data, "<!-- learnpath:figure positional-encoding -->")
    first = (build_project(config_file, monkeypatch) / "topics" / "attention.html").read_text()
    assert calls == [1] and len(list(cache.glob("positional_encoding_figure-*.svg"))) == 1
    second = (build_project(config_file, monkeypatch) / "topics" / "attention.html").read_text()
    assert calls == [1] and second == first  # the warm build did not draw it
    # Different code -> a different key -> drawn again, and the stale entry is dropped.
    monkeypatch.setattr(figcache, "FIGURES_SOURCE", tmp_path / "figures_changed.py")
    (tmp_path / "figures_changed.py").write_text("# the drawing code changed\n")
    build_project(config_file, monkeypatch)
    assert calls == [1, 1] and len(list(cache.glob("positional_encoding_figure-*.svg"))) == 1
    # A damaged entry is drawn again, not served.
    next(cache.glob("*.svg")).write_text("<svg half-written")
    build_project(config_file, monkeypatch)
    assert calls == [1, 1, 1]
    # And with the cache off, every build draws.
    monkeypatch.setenv(figcache.ENV, "off")
    build_project(config_file, monkeypatch)
    build_project(config_file, monkeypatch)
    assert len(calls) == 5


def test_figure_key_covers_code_and_versions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from learnpath.site import figcache

    key = figcache.figure_key("attention_figure")
    assert key == figcache.figure_key("attention_figure")  # stable
    assert key != figcache.figure_key("training_curve_figure")
    monkeypatch.setattr("platform.python_version", lambda: "0.0.1")
    assert key != figcache.figure_key("attention_figure")


def test_figure_key_covers_the_shipped_corpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The BPE and GPT figures learn from runnable/data/: a new corpus must not be served old figures."""
    import shutil

    import runnable
    from learnpath.site import figcache

    package = tmp_path / "runnable"
    shutil.copytree(Path(runnable.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runnable, "__file__", str(package / "__init__.py"))
    key = figcache.figure_key("bpe_merges_figure")
    (package / "data" / "corpus.txt").write_text("Another text entirely.\n", encoding="utf-8")
    assert figcache.figure_key("bpe_merges_figure") != key


def test_raw_html_is_set_aside_from_markdown_and_restored() -> None:
    """Cards skip Markdown's HTML parsing (the bulk of a large build) and come back byte for byte."""
    from learnpath.site import render
    from learnpath.site.hook import restore_raw_html, stash_raw_html

    block = '<div class="lp-cards">\n<article id="x">*not emphasis* [not a link](y)</article>\n</div>'
    text = "# Title\n" + render.raw_block(block) + "\nSome *Markdown*.\n" + render.raw_block("<p>two</p>")
    stashed, blocks = stash_raw_html(text)
    assert "article" not in stashed and len(blocks) == 2
    tokens = list(blocks)
    assert all(re.fullmatch(r"<!--lp-html-[0-9a-f]{16}-\d-->", t) for t in tokens)
    assert stash_raw_html(text)[1].keys() != blocks.keys()  # a fresh token per call: nothing can forge one
    import markdown

    html = restore_raw_html(markdown.markdown(stashed), blocks)
    assert block in html and "<p>two</p>" in html and "<em>Markdown</em>" in html
