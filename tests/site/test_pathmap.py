"""The path map: a well-formed SVG per layout, one linked box per stage, in order, text that fits."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from learnpath.catalog.schema import Catalog
from learnpath.site import pathmap, render

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"  # see map_svg: Material's instant navigation and SVG href


def index_of(data: dict[str, Any]) -> render.SiteIndex:
    return render.SiteIndex(Catalog.model_validate(data))


def svgs(block: str) -> dict[str, ET.Element]:
    """The <svg> elements of a map block, by layout name, parsed as XML (so they are well-formed)."""
    found = {}
    for match in re.finditer(r"<svg .*?</svg>", block, flags=re.S):
        root = ET.fromstring(match.group(0))
        found[re.search(r"lp-map__svg--(\w+)", root.get("class")).group(1)] = root
    return found


def nodes(root: ET.Element) -> list[ET.Element]:
    return [a for a in root.iter(f"{SVG}a") if a.get("class") == "lp-map__node"]


def many_stages(catalog_data: dict[str, Any], count: int) -> dict[str, Any]:
    stage = catalog_data["paths"][0]["stages"][0]
    catalog_data["paths"][0]["stages"] = [
        dict(stage, id=f"s{n}", title=f"Stage number {n} with a long and winding title about attention")
        for n in range(1, count + 1)
    ]
    return catalog_data


def test_one_linked_box_per_stage_in_order(catalog_data: dict[str, Any]) -> None:
    index = index_of(catalog_data)
    block = render.path_map(index, index.catalog.paths[0])
    assert "\n\n" not in block.strip()  # one raw HTML block
    assert re.search(r'<nav class="lp-map" [^>]*data-search-exclude>', block)  # its words stay out of search
    layouts = svgs(block)
    assert set(layouts) == {"wide", "narrow"}
    for root in layouts.values():
        assert root.get("role") == "group" and "2 stages in order" in root.get("aria-label")
        boxes = nodes(root)
        assert [a.get(XLINK_HREF) for a in boxes] == ["#stage-first", "#stage-second"]
        assert [a.get("data-stage") for a in boxes] == ["first", "second"]  # progress.js colours by stage
        # Each box names the stage, its steps and its required time (optional steps not counted).
        assert boxes[0].get("aria-label") == "Stage 1: First things, 2 steps · 45 min"
        texts = ["".join(t.itertext()) for t in boxes[1].iter(f"{SVG}text")]
        assert texts == ["2. Second things", "1 step · 1 h 30 min", ""]  # the last is progress.js's


def test_catalog_text_is_escaped_in_the_map(catalog_data: dict[str, Any]) -> None:
    catalog_data["paths"][0]["stages"][0]["title"] = '</text><script>alert(1)</script> & "q"'
    index = index_of(catalog_data)
    block = render.path_map(index, index.catalog.paths[0])
    assert "<script>" not in block
    boxes = nodes(svgs(block)["wide"])
    assert '<script>alert(1)</script> & "q"' in boxes[0].get("aria-label")  # intact once parsed


@pytest.mark.parametrize("layout", [pathmap.WIDE, pathmap.NARROW])
def test_titles_fit_their_boxes(catalog_data: dict[str, Any], layout: pathmap.Layout) -> None:
    """Readable at 390 px: the narrow layout is drawn 360 units wide (about one CSS pixel each),
    and no line of a title is longer than its box holds at a generous glyph width."""
    index = index_of(many_stages(catalog_data, 12))
    root = ET.fromstring(pathmap.map_svg(
        [pathmap.Node(n, s.id, s.title, "1 step · 1 h", f"#stage-{s.id}")
         for n, s in enumerate(index.catalog.paths[0].stages, start=1)], layout, "map"))
    assert root.get("viewBox").startswith(f"0 0 {layout.width} ")
    boxes = nodes(root)
    assert len(boxes) == 12
    for box in boxes:
        rect = next(box.iter(f"{SVG}rect"))
        width = float(rect.get("width"))
        for text in box.iter(f"{SVG}text"):
            size = float(text.get("font-size"))
            assert size >= 12  # legible on a phone, at the narrow layout's 1:1 scale
            assert len(text.text or "") * size * layout.char_width <= width - 2 * 10 + 1e-6
        titles = [t for t in box.iter(f"{SVG}text") if t.get("class") == "lp-map__title"]
        assert 1 <= len(titles) <= layout.max_lines
    # Rows follow the columns: the boxes of one row share a y, rows go down.
    ys = [float(next(b.iter(f"{SVG}rect")).get("y")) for b in boxes]
    assert ys == sorted(ys) and len(set(ys)) == 12 // layout.columns


def test_wrap() -> None:
    assert pathmap.wrap("one two three", 7) == ["one two", "three"]
    assert pathmap.wrap("a " * 20, 3, max_lines=2) == ["a a", "a…"]
    assert pathmap.wrap("Supercalifragilistic", 8) == ["Superca…"]
    assert all(len(line) <= 10 for line in pathmap.wrap("word " * 30, 10, max_lines=3))
