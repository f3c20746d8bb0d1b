"""The real site: ``mkdocs build --strict`` of the repository, checked page by page."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from site_helpers import REPO, broken_internal_links

from learnpath.catalog import load_catalog
from learnpath.catalog.durations import path_time
from learnpath.site import render


@pytest.fixture(scope="module")
def index() -> render.SiteIndex:
    return render.SiteIndex(load_catalog(REPO / "resources.yaml").catalog)


def page(site: Path, url: str) -> str:
    """A built page by its source path without .md (the offline plugin turns directory URLs off)."""
    return (site / f"{url}.html").read_text(encoding="utf-8")


def card_ids(html: str) -> list[str]:
    return re.findall(r'<article class="lp-card[^"]*"[^>]*data-resource="([^"]+)"', html)


def test_every_path_page_has_its_cards_in_order(real_site: Path, index: render.SiteIndex) -> None:
    for path in index.catalog.paths:
        html = page(real_site, f"paths/{path.id}")
        assert card_ids(html) == [step.resource for stage in path.stages for step in stage.steps], path.id
        for stage in path.stages:
            assert f'id="stage-{stage.id}"' in html
        time = path_time(index.catalog, path)
        assert f">{render.format_minutes(time.required_minutes)}</span>" in html


def test_catalog_page_has_every_resource_once(real_site: Path, index: render.SiteIndex) -> None:
    ids = card_ids(page(real_site, "catalog"))
    assert sorted(ids) == sorted(r.id for r in index.catalog.resources)


def test_every_topic_page_lists_its_resources(real_site: Path, index: render.SiteIndex) -> None:
    for topic in index.catalog.topics:
        html = page(real_site, f"topics/{topic.id}")
        assert "learnpath:" not in html, topic.id  # every marker was replaced
        assert card_ids(html) == [r.id for r in index.resources_of_topic(topic.id)], topic.id


def test_home_page_lists_the_paths(real_site: Path, index: render.SiteIndex) -> None:
    html = (real_site / "index.html").read_text(encoding="utf-8")
    for path in index.catalog.paths:
        assert f'data-path="{path.id}"' in html
        assert f'href="paths/{path.id}.html"' in html


def test_search_index_finds_attention(real_site: Path) -> None:
    docs = json.loads((real_site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    hits = {d["location"].split("#")[0] for d in docs if "attention" in (d["title"] + d["text"]).lower()}
    assert "paths/transformers-from-scratch.html" in hits
    assert "topics/self-attention.html" in hits


def test_internal_links_resolve(real_site: Path) -> None:
    broken, checked = broken_internal_links(real_site)
    assert broken == []
    assert checked > 100


def test_external_links_are_noopener(real_site: Path) -> None:
    html = page(real_site, "catalog")
    external = re.findall(r'<a [^>]*href="https?://[^"]*"[^>]*>', html)
    assert len(external) >= 40
    assert [a for a in external if 'rel="noopener"' not in a] == []


def test_nothing_is_loaded_from_another_host(real_site: Path) -> None:
    """Offline at view time: no script, stylesheet, font or image from a CDN."""
    loads = re.compile(
        r'<(?:script|img|iframe|source)[^>]+src="(?:https?:)?//[^"]+"'
        r'|<link[^>]+rel="(?:stylesheet|preconnect|preload|icon|dns-prefetch)"[^>]+href="(?:https?:)?//[^"]+"'
        r'|<link[^>]+href="(?:https?:)?//[^"]+"[^>]+rel="(?:stylesheet|preconnect|preload|icon|dns-prefetch)"'
    )
    offenders = []
    for html_file in real_site.rglob("*.html"):
        offenders += [f"{html_file.relative_to(real_site)}: {m}" for m in loads.findall(html_file.read_text("utf-8"))]
    for css in real_site.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        offenders += [f"{css.relative_to(real_site)}: {m}" for m in re.findall(r"@import[^;]*//[^;]*;|url\((?:['\"])?(?:https?:)?//[^)]*\)", text)]
    assert offenders == []
    assert "fonts.googleapis.com" not in (real_site / "index.html").read_text(encoding="utf-8")


def test_topic_pages_show_the_runnable_files_the_tests_run(real_site: Path) -> None:
    shown = 0
    for topic_page in sorted((REPO / "content" / "topics").glob("*.md")):
        for file in re.findall(r"<!-- learnpath:runnable (\S+) -->", topic_page.read_text(encoding="utf-8")):
            source = (REPO / file).read_text(encoding="utf-8")
            html = page(real_site, f"topics/{topic_page.stem}")
            text = re.sub(r"<[^>]+>", "", html)
            first_line = source.splitlines()[0].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert first_line in text, (topic_page.name, file)
            assert (real_site / file).read_text(encoding="utf-8") == source
            shown += 1
    assert shown >= 9


def test_contributing_page_is_the_repository_guide(real_site: Path) -> None:
    guide = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    heading = next(line[2:] for line in guide.splitlines() if line.startswith("# "))
    html = page(real_site, "contributing")
    assert re.search(rf"<h1[^>]*>{re.escape(heading)}", html)
    assert (real_site / "resources.yaml").read_bytes() == (REPO / "resources.yaml").read_bytes()


def test_figures_are_drawn_into_their_pages(real_site: Path) -> None:
    expected = {
        "positional-encoding": ["positional-encoding"],
        "transformer": ["toy-attention", "toy-training"],
        "bpe": ["bpe-merges"],
        "llms": ["gpt-training"],
        "decoding": ["sampling"],
        "positions-beyond-sinusoids": ["rope-scores"],
    }
    for topic, names in expected.items():
        html = page(real_site, f"topics/{topic}")
        for name in names:
            start = html.index(f'<figure class="lp-figure" id="figure-{name}">')
            figure = html[start : html.index("</figure>", start)]
            assert "<svg" in figure and "<figcaption>" in figure, name
    attention = page(real_site, "topics/transformer")
    start = attention.index('id="figure-toy-attention"')
    assert attention[start : attention.index("</figure>", start)].count('class="cell"') == 10 * 10
    merges = page(real_site, "topics/bpe")
    start = merges.index('id="figure-bpe-merges"')
    assert merges[start : merges.index("</figure>", start)].count('class="bar"') == 20


def test_the_shipped_iframe_worker_shim_is_the_npm_package_file(real_site: Path) -> None:
    """The offline plugin would load this shim from a CDN; we ship the package's own file instead."""
    shipped = REPO / "content" / "javascripts" / "vendor" / "iframe-worker-shim.js"
    assert (real_site / "javascripts" / "vendor" / "iframe-worker-shim.js").read_bytes() == shipped.read_bytes()
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/iframe-worker"]["version"] == "1.0.4"
    package_file = REPO / "node_modules" / "iframe-worker" / "shim" / "index.js"
    if package_file.is_file():  # after `npm ci` (make test); the lock pins its integrity hash
        assert package_file.read_bytes() == shipped.read_bytes()
    html = (real_site / "index.html").read_text(encoding="utf-8")
    assert 'src="javascripts/vendor/iframe-worker-shim.js"' in html and "unpkg.com" not in html


def test_the_site_opens_from_disk(real_site: Path) -> None:
    """The offline plugin: links end in .html, and the search index is also a script (file:// has no fetch)."""
    html = (real_site / "index.html").read_text(encoding="utf-8")
    assert 'href="paths/transformers-from-scratch.html"' in html
    assert (real_site / "search" / "search_index.js").read_text(encoding="utf-8").startswith("var __index = ")


def test_sitemap_lists_every_page(real_site: Path) -> None:
    sitemap = (real_site / "sitemap.xml").read_text(encoding="utf-8")
    assert sitemap.count("<loc>") >= 18
    base = os.environ.get("LEARNPATH_SITE_URL", "http://127.0.0.1:8000/")  # mkdocs.yml's site_url
    assert f"<loc>{base}paths/weekend.html</loc>" in sitemap


def test_axe_core_is_not_shipped(real_site: Path) -> None:
    assert not [p for p in real_site.rglob("*") if "axe" in p.name.lower()]
    for page_file in real_site.rglob("*.html"):
        assert "axe.min.js" not in page_file.read_text(encoding="utf-8")


def test_home_page_how_to_list_keeps_its_five_steps(real_site: Path) -> None:
    """A mis-indented paragraph once swallowed steps 2 to 5 into step 1's text."""
    html = (real_site / "index.html").read_text(encoding="utf-8")
    section = html[html.index('id="how-to-use-it"'):html.index('id="how-resources-are-chosen"')]
    steps = re.findall(r"<li>\s*<p><strong>([^<]+)", section)
    assert steps == ["Pick a path.", "Work through the stages in order.",
                     "Read the topic pages when you want the idea in brief.", "Browse the ", "Run the code."]
    # The path cards come before any of it, above the fold.
    assert html.index('class="lp-pathcards"') < html.index('id="who-it-is-for"')
