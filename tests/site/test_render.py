"""The render functions, on catalog models built here (no MkDocs build)."""

from __future__ import annotations

import re
from typing import Any

import markdown
import pytest

from learnpath.catalog.durations import path_time
from learnpath.catalog.schema import Catalog
from learnpath.site import render


def link(src: str, anchor: str | None) -> str:
    """A linker that makes the target obvious in assertions."""
    return f"/{src}" + (f"#{anchor}" if anchor else "")


def index_of(data: dict[str, Any]) -> render.SiteIndex:
    return render.SiteIndex(Catalog.model_validate(data))


def to_html(page: str) -> str:
    """Convert as the site does (the Markdown extensions that matter for raw HTML and headings)."""
    return markdown.markdown(page, extensions=["attr_list", "md_in_html", "toc"])


def cards(html: str) -> list[str]:
    return re.findall(r"<article class=\"lp-card[^\"]*\".*?</article>", html, flags=re.S)


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(1, "1 min"), (59, "59 min"), (60, "1 h"), (61, "1 h 1 min"), (135, "2 h 15 min"), (6000, "100 h")],
)
def test_format_minutes(minutes: int, text: str) -> None:
    assert render.format_minutes(minutes) == text


def test_join_names() -> None:
    assert render.join_names([]) == ""
    assert render.join_names(["a"]) == "a"
    assert render.join_names(["a", "b"]) == "a and b"
    assert render.join_names(["a", "b", "c"]) == "a, b and c"


# --------------------------------------------------------------------------- #
# Cards
# --------------------------------------------------------------------------- #


def test_card_shows_every_field(catalog_data: dict[str, Any]) -> None:
    catalog_data["resources"][1]["alternate_urls"] = [
        "https://www.example.org/beta.pdf", "https://mirror.example.net/a", "https://mirror.example.net/b"
    ]
    catalog_data["resources"][1]["year"] = 2017
    index = index_of(catalog_data)
    beta = index.resources["beta"]
    step = index.catalog.paths[0].stages[1].steps[0].model_copy(update={"why": "It is the source.", "optional": True})
    card = render.resource_card(beta, index, link, step=step, number=3, show_placements=True)

    assert 'id="beta"' in card and 'data-resource="beta"' in card
    assert 'data-kind="paper" data-level="advanced" data-free="false"' in card  # for the catalog filter
    assert '<a href="https://example.org/beta" rel="noopener">Title of beta</a>' in card
    assert 'class="lp-badge lp-badge--paper">paper<' in card
    assert "lp-card--optional" in card and "lp-badge--optional" in card
    assert ">Advanced<" in card and ">1 h 30 min<" in card and ">Paid<" in card and ">2017<" in card
    assert "by Ada Example" in card
    assert "A description of beta that is long enough to pass." in card
    assert "Why here:</span> It is the source." in card
    assert '<a href="/catalog.md#alpha">Title of alpha</a>' in card  # prerequisite -> its catalog card
    assert '<a href="/paths/mini.md#beta">A mini path, stage 2</a>' in card  # where the path uses it
    assert (
        'Also at:</span> <a href="https://www.example.org/beta.pdf" rel="noopener">example.org</a>, '
        '<a href="https://mirror.example.net/a" rel="noopener">mirror.example.net (1)</a>, '
        '<a href="https://mirror.example.net/b" rel="noopener">mirror.example.net (2)</a>'
    ) in card
    assert 'href="/topics/transformer.md">The Transformer<' in card and 'href="/topics/attention.md">Attention<' in card
    assert ">3<" in card  # the step number
    assert "\n\n" not in card  # a blank line would end the raw HTML block early


def test_card_free_and_several_authors(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    card = render.resource_card(index.resources["alpha"], index, link)
    assert ">Free<" in card and ">Beginner<" in card and ">45 min<" in card
    assert "by Ada Example and Bo Sample" in card
    assert "Why here" not in card and "optional" not in card  # no step given: no path notes


def test_prerequisite_topic_links_to_topic_page(catalog_data: dict[str, Any]) -> None:
    catalog_data["resources"][2]["prerequisites"] = ["attention"]
    index = index_of(catalog_data)
    card = render.resource_card(index.resources["gamma"], index, link)
    assert '<a href="/topics/attention.md">Attention</a>' in card


# --------------------------------------------------------------------------- #
# Escaping: catalog text never becomes markup
# --------------------------------------------------------------------------- #

HOSTILE = '<script>alert("x")</script> & *stars* [link](https://example.org) {#id} `code`'


def test_catalog_text_is_escaped_in_every_page(catalog_data: dict[str, Any]) -> None:
    catalog_data["resources"][0]["title"] = HOSTILE
    catalog_data["resources"][0]["authors"] = ["<b>Mallory</b>"]
    catalog_data["resources"][0]["description"] = "Look <img src=x onerror=alert(1)> here."
    catalog_data["paths"][0]["title"] = HOSTILE
    catalog_data["paths"][0]["stages"][0]["title"] = HOSTILE
    catalog_data["paths"][0]["stages"][0]["steps"][0]["why"] = "Because <iframe src=x></iframe> is bad."
    catalog_data["topics"][0]["title"] = HOSTILE
    index = index_of(catalog_data)
    pages = [
        render.render_path_page(index, "mini", link),
        render.render_catalog_page(index, link),
        render.render_topic_resources(index, "attention", link),
        render.render_path_list(index, link),
    ]
    for page in pages:
        html = to_html(page)
        for raw in ("<script", "<img", "<iframe", "<b>", "<em>stars", '<a href="https://example.org">', "<code>"):
            assert raw not in html, (raw, html)
    path_html = to_html(pages[0])
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in path_html
    # Shown as written, Markdown syntax included, in the heading too.
    assert re.search(r"<h1[^>]*>&lt;script&gt;.*\*stars\* \[link\]\(https://example.org\) \{#id\} `code`", path_html)
    assert "Look &lt;img src=x onerror=alert(1)&gt; here." in path_html
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in path_html


def test_multi_line_prose_stays_on_one_line(catalog_data: dict[str, Any]) -> None:
    # A block scalar could put '--8<-- "file"' on a line of its own, where the
    # snippets extension would include that file; folded, it stays inert text.
    catalog_data["resources"][0]["description"] = 'Read this.\n--8<-- "secret.txt"\nThen that.'
    index = index_of(catalog_data)
    card = render.resource_card(index.resources["alpha"], index, link)
    assert "Read this. --8&lt;-- &quot;secret.txt&quot; Then that." in card


# --------------------------------------------------------------------------- #
# Path page: order and totals
# --------------------------------------------------------------------------- #


def test_path_time_counts_each_resource_once(catalog_data: dict[str, Any]) -> None:
    """The one home of a path's time (catalog/durations.py), as the site and `learnpath stats` use it."""
    index = index_of(catalog_data)
    time = path_time(index.catalog, index.catalog.paths[0])
    assert (time.required_minutes, time.optional_minutes, time.all_minutes, time.resources) == (135, 15, 150, 3)
    # Named again, required and optional: still once, and required wins.
    catalog_data["paths"][0]["stages"][1]["steps"] += [{"resource": "alpha"}, {"resource": "beta", "optional": True}]
    catalog_data["paths"][0]["stages"][1]["steps"].append({"resource": "gamma"})  # optional before, required now
    index = index_of(catalog_data)
    time = path_time(index.catalog, index.catalog.paths[0])
    assert (time.required_minutes, time.optional_minutes, time.resources) == (45 + 90 + 15, 0, 3)


def test_learnpath_stats_uses_the_same_time(catalog_data: dict[str, Any]) -> None:
    from learnpath.catalog.commands import catalog_stats

    catalog_data["paths"][0]["stages"][1]["steps"].append({"resource": "alpha"})  # counted twice before the fix
    index = index_of(catalog_data)
    stats = catalog_stats(index.catalog)["paths"][0]
    time = path_time(index.catalog, index.catalog.paths[0])
    assert stats["hours"] == round(time.required_minutes / 60, 1) == 2.2  # 135 min, not 180
    assert stats["optional_hours"] == round(time.optional_minutes / 60, 1) == 0.2


def test_path_page_orders_stages_and_steps(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    html = to_html(render.render_path_page(index, "mini", link))
    assert re.search(r"<h1[^>]*>A mini path</h1>", html)
    assert "A short path used by the tests." in html
    assert ">2 h 15 min</span><span class=\"lp-fact__label\">required<" in html
    assert ">2 h 30 min</span><span class=\"lp-fact__label\">with the optional steps<" in html
    first, second = html.index('id="stage-first"'), html.index('id="stage-second"')
    assert first < second
    assert "You can explain attention." in html[first:second] and "You can read the paper." in html[second:]
    found = cards(html)
    assert [re.search(r'data-resource="([^"]+)"', c).group(1) for c in found] == ["alpha", "gamma", "beta"]
    assert [re.search(r'lp-card__number[^>]*>(\d+)<', c).group(1) for c in found] == ["1", "2", "3"]
    assert "lp-card--optional" in found[1] and "lp-card--optional" not in found[0]
    assert "It shows the idea in pictures." in found[0]
    assert "2 steps · 45 min (+ 15 min optional)" in html


def test_path_page_keeps_anchors_unique(catalog_data: dict[str, Any]) -> None:
    catalog_data["paths"][0]["stages"][1]["steps"].append({"resource": "alpha"})
    index = index_of(catalog_data)
    html = to_html(render.render_path_page(index, "mini", link))
    assert html.count('id="alpha"') == 1
    assert html.count('data-resource="alpha"') == 2
    # Each card's checkbox has an id of its own, and both are the same resource's.
    assert re.findall(r'<input type="checkbox" class="lp-done__box" id="([^"]+)" value="alpha"', html) == [
        "done-alpha", "done-alpha-2"]


def test_unknown_path_is_a_clear_error(catalog_data: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="no path with id 'nope'"):
        render.render_path_page(index_of(catalog_data), "nope", link)


# --------------------------------------------------------------------------- #
# Catalog page, topic lists, path list
# --------------------------------------------------------------------------- #


def test_catalog_page_lists_each_resource_once_under_its_first_topic(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    html = to_html(render.render_catalog_page(index, link))
    ids = [re.search(r'data-resource="([^"]+)"', c).group(1) for c in cards(html)]
    assert sorted(ids) == ["alpha", "beta", "delta", "gamma"]  # every resource, once, incl. one on no path
    attention, transformer = html.index('id="topic-attention"'), html.index('id="topic-transformer"')
    assert attention < transformer  # catalog order of topics
    assert html.index('data-resource="alpha"') < transformer
    # beta's first topic is transformer: its card is there, attention links to it.
    assert html.index('data-resource="beta"') > transformer
    assert 'Also about this topic:</span> <a href="/catalog.md#beta">Title of beta</a>' in html[attention:transformer]
    # Within a topic, the order the paths teach them; resources on no path last.
    assert ids.index("gamma") < ids.index("beta") < ids.index("delta")
    assert ">4</span><span class=\"lp-fact__label\">resources<" in html
    # Filled by javascripts/filter.js, which reads the topics (id, title) it offers from here.
    assert '<div class="lp-filter" data-topics="[[&quot;attention&quot;,&quot;Attention&quot;],' in html


def test_topic_resources_in_teaching_order(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    html = to_html(render.render_topic_resources(index, "transformer", link))
    ids = [re.search(r'data-resource="([^"]+)"', c).group(1) for c in cards(html)]
    assert ids == ["gamma", "beta", "delta"]
    assert "3 resources in the catalog cover this topic" in html
    attention = to_html(render.render_topic_resources(index, "attention", link))
    assert [re.search(r'data-resource="([^"]+)"', c).group(1) for c in cards(attention)] == ["alpha", "beta"]


def test_topic_without_resources_says_so(catalog_data: dict[str, Any]) -> None:
    catalog_data["topics"].append({"id": "bert", "title": "BERT", "summary": "An encoder trained to fill gaps."})
    index = index_of(catalog_data)
    assert "No resource in the catalog covers this topic yet." in render.render_topic_resources(index, "bert", link)


def test_path_list(catalog_data: dict[str, Any]) -> None:
    second = dict(catalog_data["paths"][0], id="other", title="Another path")
    catalog_data["paths"].append(second)
    index = index_of(catalog_data)
    html = to_html(render.render_path_list(index, link))
    assert html.index('data-path="mini"') < html.index('data-path="other"')
    assert '<a href="/paths/mini.md">A mini path</a>' in html
    assert "A short path used by the tests." in html
    assert "<strong>2 h 15 min</strong> (+ 15 min optional)" in html
    assert "2 stages · 3 resources" in html


def test_runnable_block() -> None:
    block = render.render_runnable(
        "runnable/x.py", href="../runnable/x.py", module="runnable.x", test_file="tests/runnable/test_x.py"
    )
    html = markdown.markdown(block, extensions=["admonition", "pymdownx.details", "pymdownx.superfences"])
    assert '--8<-- "runnable/x.py"' in block  # included by snippets at build time, not copied
    assert html.startswith('<details class="example">')
    assert '<a href="../runnable/x.py"><code>runnable/x.py</code></a>' in html
    text = re.sub(r"<[^>]+>", "", html)  # the highlighter wraps words in spans
    assert ".venv/bin/python -m runnable.x\n.venv/bin/pytest tests/runnable/test_x.py" in text
    bare = render.render_runnable("runnable/y.py", href="y.py", module=None, test_file=None)
    assert "run" not in bare.split("is plain NumPy.")[1]


def test_figure_is_one_raw_html_block() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg">\n\n<rect class="cell"/>\n  \n</svg>'
    block = render.render_figure("demo", svg, "A <caption> & more.")
    assert "\n\n" not in block.strip()  # a blank line would end the raw HTML block
    html = to_html(block)
    assert '<figure class="lp-figure" id="figure-demo">' in html and '<rect class="cell"/>' in html
    assert "<figcaption>A &lt;caption&gt; &amp; more.</figcaption>" in html
