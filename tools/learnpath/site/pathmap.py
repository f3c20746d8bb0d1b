"""The map at the top of a path page: its stages in order, as an SVG drawn at build time.

No graph library and nothing at view time: each stage is a rounded box naming
the stage, its step count and its time, wrapped in a link to the stage's
heading; arrows join the boxes in reading order, row by row. Two layouts are
drawn, a wide one (three boxes a row) and a narrow one (two a row) that stays
legible on a 390 px phone; the stylesheet shows the one that fits. The reader's
progress colours the boxes: ``javascripts/progress.js`` sets a state class on
each link and fills its status line, so the map is complete without JavaScript.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@dataclass(frozen=True)
class Node:
    """One stage on the map; the text is catalog text and is escaped here."""

    number: int
    stage_id: str
    title: str
    detail: str  # "4 steps · 3 h 30 min"
    href: str  # the stage heading, e.g. "#stage-embeddings"


@dataclass(frozen=True)
class Layout:
    name: str  # "wide" or "narrow": a CSS class, and part of the arrow marker's id
    width: int  # viewBox width, drawn at about one CSS pixel per unit
    columns: int
    gap: int = 24
    font_size: int = 14
    char_width: float = 0.66  # average width of a bold sans-serif glyph, in ems (generous: never clipped)
    max_lines: int = 3  # of the title; longer titles end in an ellipsis (the full one is the link's name)


WIDE = Layout("wide", 720, 3)
NARROW = Layout("narrow", 360, 2, gap=14, font_size=13)


def _esc(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=True)


def wrap(text: str, max_chars: int, max_lines: int = 2) -> list[str]:
    """Words in lines of at most ``max_chars``; what does not fit ends in an ellipsis."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= max_chars:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
    if current:
        lines.append(current)
    lines = [line if len(line) <= max_chars else line[: max_chars - 1].rstrip() + "…" for line in lines]
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        lines = lines[: max_lines - 1] + [(last[: max_chars - 1] if len(last) >= max_chars else last).rstrip() + "…"]
    return lines


def _box(layout: Layout, title_lines: int) -> tuple[float, float, float]:
    """(line height, box height, x padding) for boxes whose longest title has ``title_lines`` lines."""
    line = layout.font_size * 1.3
    return line, 10 + title_lines * line + 2 * line + 6, 10


def _positions(count: int, layout: Layout, box_h: float) -> tuple[list[tuple[float, float]], float, float]:
    """Top-left corner of each box, the box width, and the total height."""
    gap = layout.gap
    box_w = (layout.width - (layout.columns + 1) * gap) / layout.columns
    row_h = box_h + gap * 1.5
    corners = [
        (gap + (i % layout.columns) * (box_w + gap), gap + (i // layout.columns) * row_h) for i in range(count)
    ]
    rows = (count + layout.columns - 1) // layout.columns
    height = gap + rows * row_h - gap * 0.5
    return corners, box_w, height


def _connector(a: tuple[float, float], b: tuple[float, float], box_w: float, box_h: float, marker: str) -> str:
    """An arrow from box a to box b: straight along a row, a bent path down to the next row."""
    (ax, ay), (bx, by) = a, b
    if ay == by:  # same row: from a's right edge to b's left edge
        y = ay + box_h / 2
        return (f'<line class="lp-map__arrow" x1="{ax + box_w:.1f}" y1="{y:.1f}" x2="{bx - 3:.1f}" y2="{y:.1f}" '
                f'marker-end="url(#{marker})"/>')
    mid = ay + box_h + (by - ay - box_h) / 2
    return (f'<path class="lp-map__arrow" d="M{ax + box_w / 2:.1f},{ay + box_h:.1f} V{mid:.1f} '
            f'H{bx + box_w / 2:.1f} V{by - 3:.1f}" fill="none" marker-end="url(#{marker})"/>')


def map_svg(nodes: list[Node], layout: Layout, label: str) -> str:
    """One layout of the map as an ``<svg>`` element (one line per element, no blank lines)."""
    fs = layout.font_size
    box_w = (layout.width - (layout.columns + 1) * layout.gap) / layout.columns
    max_chars = max(8, int((box_w - 20) / (fs * layout.char_width)))
    titles = [wrap(f"{node.number}. {node.title}", max_chars, layout.max_lines) for node in nodes]
    line_h, box_h, pad = _box(layout, max((len(t) for t in titles), default=1))
    corners, box_w, height = _positions(len(nodes), layout, box_h)
    marker = f"lp-map-arrow-{layout.name}"
    out = [
        f'<svg class="lp-map__svg lp-map__svg--{layout.name}" xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="0 0 {layout.width} {height:.0f}" width="{layout.width}" height="{height:.0f}" '
        f'role="group" aria-label="{_esc(label)}" font-family="{FONT}">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>',
    ]
    for a, b in zip(corners, corners[1:]):
        out.append(_connector(a, b, box_w, box_h, marker))
    for node, lines, (x, y) in zip(nodes, titles, corners):
        name = f"Stage {node.number}: {node.title}, {node.detail}"
        # xlink:href, not href: Material's instant navigation re-assigns every
        # element's `href` property, and an SVG link's is read-only (a TypeError
        # that aborts the page swap). Browsers follow xlink:href all the same.
        out.append(
            f'<a class="lp-map__node" xlink:href="{_esc(node.href)}" data-stage="{_esc(node.stage_id)}" '
            f'aria-label="{_esc(name)}">'
        )
        out.append(f"<title>{_esc(name)}</title>")
        out.append(
            f'<rect class="lp-map__box" x="{x:.1f}" y="{y:.1f}" width="{box_w:.1f}" height="{box_h:.1f}" rx="8"/>'
        )
        for i, line in enumerate(lines):
            out.append(
                f'<text class="lp-map__title" x="{x + pad:.1f}" y="{y + 6 + line_h * (i + 1):.1f}" '
                f'font-size="{fs}" font-weight="700">{_esc(line)}</text>'
            )
        bottom = y + box_h
        out.append(
            f'<text class="lp-map__detail" x="{x + pad:.1f}" y="{bottom - 8 - line_h:.1f}" '
            f'font-size="{fs - 1}">{_esc(node.detail)}</text>'
        )
        # Filled by progress.js ("done", "2 of 5 done"); empty without JavaScript.
        out.append(
            f'<text class="lp-map__state" x="{x + pad:.1f}" y="{bottom - 8:.1f}" font-size="{fs - 1}"></text>'
        )
        out.append("</a>")
    out.append("</svg>")
    return "\n".join(out)


def render_map(nodes: list[Node], path_title: str) -> str:
    """The map block of a path page: both layouts in one raw HTML block, kept out of the search index."""
    label = f"Map of the path {path_title}: {len(nodes)} stages in order; each links to its stage"
    return "\n".join([
        "",
        f'<nav class="lp-map" aria-label="{_esc("Stages of " + path_title)}" data-search-exclude>',
        map_svg(nodes, WIDE, label),
        map_svg(nodes, NARROW, label),
        "</nav>",
        "",
    ])
