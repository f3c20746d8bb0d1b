"""The markup progress.js works from: checkboxes, step data, counters, check questions, topic relations."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import markdown

from learnpath.catalog.schema import Catalog
from learnpath.site import render


def link(src: str, anchor: str | None) -> str:
    return f"/{src}" + (f"#{anchor}" if anchor else "")


def index_of(data: dict[str, Any]) -> render.SiteIndex:
    return render.SiteIndex(Catalog.model_validate(data))


def data_steps(fragment: str, css: str) -> list[dict[str, Any]]:
    match = re.search(rf'class="{css}"[^>]*data-steps="([^"]*)"', fragment)
    return json.loads(html.unescape(match.group(1)))


def test_done_checkbox_is_a_labelled_control_disabled_until_script_runs(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    card = render.resource_card(index.resources["alpha"], index, link)
    box = re.search(r'<input type="checkbox" class="lp-done__box" id="([^"]+)" value="alpha" disabled>', card)
    assert box, card
    # The label names the control and, without JavaScript, says why it does nothing.
    assert (f'<label for="{box.group(1)}">Done<span class="lp-done__why"> (saving progress needs JavaScript)'
            "</span></label>") in card


def test_path_progress_data_counts_each_resource_once(catalog_data: dict[str, Any]) -> None:
    # alpha again, optional (it stays required); gamma again, required (it becomes required).
    catalog_data["paths"][0]["stages"][1]["steps"] += [{"resource": "alpha", "optional": True}, {"resource": "gamma"}]
    index = index_of(catalog_data)
    page = render.render_path_page(index, "mini", link)
    steps = data_steps(page, "lp-progress")
    assert [(s["id"], s["minutes"], s["optional"], s["stage"]) for s in steps] == [
        ("alpha", 45, False, "first"), ("gamma", 15, False, "first"), ("beta", 90, False, "second")]
    assert steps[0]["title"] == "Title of alpha" and steps[0]["href"] == "#alpha"
    # Per stage, the same rule within the stage.
    stages = re.findall(r'<span class="lp-stage__progress" data-stage="([^"]+)" data-steps="([^"]*)"', page)
    decoded = {sid: [(s["id"], s["optional"]) for s in json.loads(html.unescape(raw))] for sid, raw in stages}
    assert decoded == {"first": [("alpha", False), ("gamma", True)],
                       "second": [("beta", False), ("alpha", True), ("gamma", False)]}


def test_path_page_has_map_progress_and_tools_without_script(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    page = markdown.markdown(render.render_path_page(index, "mini", link), extensions=["attr_list", "md_in_html"])
    assert page.index('class="lp-map"') < page.index('class="lp-progress"') < page.index('id="stage-first"')
    panel = page[page.index('<section class="lp-progress"'):page.index("</section>")]
    assert 'aria-label="Your progress on A mini path"' in panel
    assert '<progress class="lp-progress__bar" max="1" value="0" aria-label="Required steps done" hidden>' in panel
    assert render.PROGRESS_UNAVAILABLE in panel  # what a reader without JavaScript is told
    for control in ("Export progress", "Reset"):
        assert re.search(rf'<button type="button" class="md-button [^"]+" disabled>{control}</button>', panel)
    assert re.search(r'<label class="md-button lp-progress__import">Import progress<input type="file" '
                     r'accept="application/json,.json" class="lp-progress__file" disabled></label>', panel)


def test_home_path_cards_carry_hours_and_progress(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    block = render.render_path_list(index, link)
    steps = data_steps(block, "lp-progress")
    assert [s["href"] for s in steps] == ["/paths/mini.md#alpha", "/paths/mini.md#gamma", "/paths/mini.md#beta"]
    assert "<strong>2 h 15 min</strong> (+ 15 min optional)" in block
    assert block.count("lp-progress--tools") == 1  # export/import/reset once, under the cards


def test_check_questions_fold_their_answers(catalog_data: dict[str, Any]) -> None:
    catalog_data["paths"][0]["stages"][0]["check"] = [
        {"question": "Why does a decoder need attention <at all>?", "answer": "A fixed vector forgets long inputs."},
        {"question": "What does the softmax make of the scores?", "answer": "Weights that sum to one."},
    ]
    index = index_of(catalog_data)
    page = markdown.markdown(render.render_path_page(index, "mini", link), extensions=["attr_list", "md_in_html"])
    first, second = page.index('id="stage-first"'), page.index('id="stage-second"')
    section = page[first:second]
    items = re.findall(r'<details class="lp-check__item"><summary>(.*?)</summary><p>(.*?)</p></details>', section)
    assert items == [("Why does a decoder need attention &lt;at all&gt;?", "A fixed vector forgets long inputs."),
                     ("What does the softmax make of the scores?", "Weights that sum to one.")]
    assert section.index("lp-cards") < section.index("lp-check")  # after the stage's cards
    assert "lp-check" not in page[second:]  # a stage without questions shows none


def test_topic_relations(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    # beta (main topic transformer) names alpha (attention) first; the path also teaches attention first.
    assert render.topic_relations(index) == {"attention": ([], ["transformer"]), "transformer": (["attention"], [])}
    block = render.render_topic_relations(index, "transformer", link)
    assert '<span class="lp-label">Builds on:</span> <a href="/topics/attention.md">Attention</a>' in block
    assert "Leads to" not in block
    assert "Leads to:</span> <a href=\"/topics/transformer.md\">The Transformer</a>" in render.render_topic_relations(
        index, "attention", link)


def test_topic_relations_fall_back_to_the_paths_order(catalog_data: dict[str, Any]) -> None:
    catalog_data["resources"][1]["prerequisites"] = []  # no prerequisite links transformer to attention now
    index = index_of(catalog_data)
    assert render.topic_relations(index)["transformer"] == (["attention"], [])  # the path teaches attention first
