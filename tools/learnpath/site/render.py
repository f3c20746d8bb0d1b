"""Render the catalog as Markdown pages with HTML resource cards.

Plain functions from catalog models to strings: no MkDocs import, so they can
be tested (and reused) without a build. Links between pages go through a
``Linker`` the caller supplies, because only the caller knows where the current
page lives and how the site lays out its URLs.

Every string that comes from the catalog is HTML-escaped here, once, at the
point where it is placed into markup: a ``<script>`` in a title shows as text.
Cards are raw HTML blocks (no ``markdown`` attribute), so Markdown never
reinterprets catalog text either; the few catalog strings that land in Markdown
(headings, for the table of contents) also get their Markdown syntax escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from learnpath.catalog.schema import Catalog, LearningPath, Level, Resource, Stage, Step, Topic

# (page source path relative to docs_dir, optional anchor) -> URL relative to the current page.
Linker = Callable[[str, str | None], str]

CATALOG_PAGE = "catalog.md"
INDEX_PAGE = "index.md"

_LEVEL_ORDER = {level: rank for rank, level in enumerate(Level)}
# Python-Markdown's backslash-escapable characters (markdown.Markdown.ESCAPED_CHARS).
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")


def path_page(path_id: str) -> str:
    """Source path of a learning path's generated page."""
    return f"paths/{path_id}.md"


def topic_page(topic_id: str) -> str:
    """Source path of a topic's hand-written page."""
    return f"topics/{topic_id}.md"


# --------------------------------------------------------------------------- #
# Escaping and small formatting helpers
# --------------------------------------------------------------------------- #


def esc(text: str) -> str:
    """HTML-escape catalog text (quotes too, so it is safe in attributes).

    White space is folded to single spaces: catalog prose can hold newlines
    (YAML block scalars), and a line break inside a raw HTML block could let a
    line such as ``--8<--`` start a line of its own and reach the snippets
    preprocessor.
    """
    return html.escape(" ".join(text.split()), quote=True)


def esc_markdown(text: str) -> str:
    """Escape catalog text for a Markdown context (headings): HTML first, then Markdown syntax."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", esc(text))


def format_minutes(minutes: int) -> str:
    """``45`` -> ``45 min``, ``120`` -> ``2 h``, ``135`` -> ``2 h 15 min``."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def join_names(names: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c`` (already escaped by the caller)."""
    names = list(names)
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --------------------------------------------------------------------------- #
# Index: the lookups every page needs, built once per build
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Placement:
    """Where a resource sits on a path: which stage and which step number."""

    path: LearningPath
    stage_number: int
    stage: Stage
    step: Step


@dataclass
class SiteIndex:
    """Lookups over a validated catalog, so each page renders in time linear in its own size."""

    catalog: Catalog
    resources: dict[str, Resource] = field(init=False)
    topics: dict[str, Topic] = field(init=False)
    placements: dict[str, list[Placement]] = field(init=False)
    _teaching_rank: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.resources = {r.id: r for r in self.catalog.resources}
        self.topics = {t.id: t for t in self.catalog.topics}
        self.placements = {}
        self._teaching_rank = {}
        for path in self.catalog.paths:
            for number, stage in enumerate(path.stages, start=1):
                for step in stage.steps:
                    self.placements.setdefault(step.resource, []).append(
                        Placement(path, number, stage, step)
                    )
                    self._teaching_rank.setdefault(step.resource, len(self._teaching_rank))

    def teaching_order(self, resources: Iterable[Resource]) -> list[Resource]:
        """The order a reader would meet them: first appearance on the paths (the
        first path leads), then the ones no path uses, easiest first."""
        unplaced = len(self._teaching_rank)
        return sorted(
            resources,
            key=lambda r: (self._teaching_rank.get(r.id, unplaced), _LEVEL_ORDER[r.level], r.title.lower()),
        )

    def resources_of_topic(self, topic_id: str) -> list[Resource]:
        return self.teaching_order(r for r in self.catalog.resources if topic_id in r.topics)


@dataclass(frozen=True)
class PathTotals:
    """A path's size; each resource counts once, even if two steps name it."""

    required_minutes: int
    all_minutes: int
    stages: int
    resources: int


def _minutes(index: SiteIndex, steps: Iterable[Step]) -> tuple[int, int]:
    """(required, required + optional) minutes of ``steps``, each resource once."""
    required: dict[str, int] = {}
    everything: dict[str, int] = {}
    for step in steps:
        minutes = index.resources[step.resource].minutes
        everything[step.resource] = minutes
        if not step.optional:
            required[step.resource] = minutes
    return sum(required.values()), sum(everything.values())


def path_totals(index: SiteIndex, path: LearningPath) -> PathTotals:
    steps = [step for stage in path.stages for step in stage.steps]
    required, everything = _minutes(index, steps)
    return PathTotals(required, everything, len(path.stages), len({s.resource for s in steps}))


# --------------------------------------------------------------------------- #
# Resource cards
# --------------------------------------------------------------------------- #


class _Ids:
    """HTML ids already used on one page: a resource shown twice keeps its anchor on the first card."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)

    def claim(self, wanted: str) -> str | None:
        if wanted in self._taken:
            return None
        self._taken.add(wanted)
        return wanted


def _external(url: str, text: str, css: str = "") -> str:
    """A link off the site; noopener so the target page cannot reach back into ours."""
    klass = f' class="{css}"' if css else ""
    return f'<a{klass} href="{esc(url)}" rel="noopener">{text}</a>'


def _internal(href: str, text: str) -> str:
    return f'<a href="{esc(href)}">{text}</a>'


def _meta_line(resource: Resource) -> str:
    cost = "free" if resource.free else "paid"
    parts = [
        f'<span class="lp-level lp-level--{resource.level.value}" title="Level">'
        f"{resource.level.value.capitalize()}</span>",
        f'<span class="lp-minutes" title="Time to work through it">{format_minutes(resource.minutes)}</span>',
        f'<span class="lp-cost lp-cost--{cost}">{"Free" if resource.free else "Paid"}</span>',
    ]
    if resource.year is not None:
        parts.append(f'<span class="lp-year">{resource.year}</span>')
    return '<p class="lp-card__meta">' + "".join(parts) + "</p>"


def _prerequisites(resource: Resource, index: SiteIndex, link: Linker) -> str:
    """Links to what to know first: a topic page, or the resource's card in the catalog."""
    if not resource.prerequisites:
        return ""
    links = []
    for ref in resource.prerequisites:
        if ref in index.resources:
            links.append(_internal(link(CATALOG_PAGE, ref), esc(index.resources[ref].title)))
        elif ref in index.topics:
            links.append(_internal(link(topic_page(ref), None), esc(index.topics[ref].title)))
        else:  # the validator refuses unknown ids; show the bare id rather than fail the page
            links.append(esc(ref))
    return f'<p class="lp-card__prereq"><span class="lp-label">Before this:</span> {join_names(links)}</p>'


def _placements(resource: Resource, index: SiteIndex, link: Linker) -> str:
    """'On the path' links from catalog and topic pages back to the step on each path."""
    places = index.placements.get(resource.id, [])
    if not places:
        return ""
    links = [
        _internal(
            link(path_page(p.path.id), resource.id),
            f"{esc(p.path.title)}, stage {p.stage_number}" + (" (optional)" if p.step.optional else ""),
        )
        for p in places
    ]
    return f'<p class="lp-card__paths"><span class="lp-label">On the path:</span> {join_names(links)}</p>'


def _topic_chips(resource: Resource, index: SiteIndex, link: Linker) -> str:
    chips = "".join(
        f'<a class="lp-chip" href="{esc(link(topic_page(t), None))}">{esc(index.topics[t].title)}</a>'
        for t in resource.topics
        if t in index.topics
    )
    return f'<p class="lp-card__topics">{chips}</p>'


def _mirrors(resource: Resource) -> str:
    """Other addresses of the same work, each named by its site (``arxiv.org``)."""
    if not resource.alternate_urls:
        return ""
    hosts = [(urlsplit(u).hostname or "link").removeprefix("www.") for u in resource.alternate_urls]
    # Two copies on one site (a PDF and an HTML version) get numbered apart.
    names = [h if hosts.count(h) == 1 else f"{h} ({hosts[:i + 1].count(h)})" for i, h in enumerate(hosts)]
    links = [_external(u, esc(name)) for u, name in zip(resource.alternate_urls, names)]
    return f'<p class="lp-card__mirrors"><span class="lp-label">Also at:</span> {", ".join(links)}</p>'


def resource_card(
    resource: Resource,
    index: SiteIndex,
    link: Linker,
    *,
    ids: _Ids | None = None,
    step: Step | None = None,
    number: int | None = None,
    show_placements: bool = False,
) -> str:
    """One resource as an ``<article>`` card (raw HTML, one element per line, no blank lines).

    ``step`` adds the path's "why" note and the optional marker; ``number`` is
    the step's position on the path.
    """
    anchor = (ids or _Ids()).claim(resource.id)
    optional = step is not None and step.optional
    classes = "lp-card lp-card--optional" if optional else "lp-card"
    id_attr = f' id="{esc(anchor)}"' if anchor else ""
    head = [f'<span class="lp-badge lp-badge--{resource.kind.value}">{resource.kind.value}</span>']
    if optional:
        head.append('<span class="lp-badge lp-badge--optional">optional</span>')
    if number is not None:
        head.insert(0, f'<span class="lp-card__number" title="Step {number}">{number}</span>')
    lines = [
        f'<article class="{classes}"{id_attr} data-resource="{esc(resource.id)}" '
        f'data-kind="{resource.kind.value}" data-level="{resource.level.value}" '
        f'data-free="{"true" if resource.free else "false"}">',
        '<div class="lp-card__head">' + "".join(head) + "</div>",
        '<h3 class="lp-card__title">' + _external(resource.url, esc(resource.title)) + "</h3>",
        '<p class="lp-card__authors">by ' + join_names(esc(a) for a in resource.authors) + "</p>",
        _meta_line(resource),
        f'<p class="lp-card__desc">{esc(resource.description)}</p>',
    ]
    if step is not None and step.why:
        lines.append(f'<p class="lp-card__why"><span class="lp-label">Why here:</span> {esc(step.why)}</p>')
    lines += [
        _prerequisites(resource, index, link),
        _placements(resource, index, link) if show_placements else "",
        _mirrors(resource),
        _topic_chips(resource, index, link),
        "</article>",
    ]
    return "\n".join(line for line in lines if line)


def _card_grid(cards: list[str]) -> str:
    # A blank line before and after keeps the raw HTML block apart from the Markdown around it.
    return '\n<div class="lp-cards">\n' + "\n".join(cards) + "\n</div>\n"


# --------------------------------------------------------------------------- #
# Pages
# --------------------------------------------------------------------------- #


def _facts(items: list[tuple[str, str]]) -> str:
    """A row of big figures with captions (values and captions are ours, not the catalog's)."""
    cells = "".join(
        f'<div class="lp-fact"><span class="lp-fact__value">{value}</span>'
        f'<span class="lp-fact__label">{label}</span></div>'
        for value, label in items
    )
    return f'\n<div class="lp-facts">{cells}</div>\n'


def _stage_section(
    index: SiteIndex, link: Linker, number: int, stage: Stage, first_step: int, ids: _Ids
) -> list[str]:
    """A stage: numbered heading (anchor ``stage-<id>``), its time, its goal, its cards."""
    required, everything = _minutes(index, stage.steps)
    time = format_minutes(required)
    if everything > required:
        time += f" (+ {format_minutes(everything - required)} optional)"
    cards = [
        resource_card(index.resources[step.resource], index, link, ids=ids, step=step, number=first_step + offset)
        for offset, step in enumerate(stage.steps)
    ]
    return [
        f"## {number}. {esc_markdown(stage.title)} {{ #stage-{stage.id} }}",
        "",
        f'<p class="lp-stage__meta">{plural(len(stage.steps), "step")} · {time}</p>',
        "",
        f'<p class="lp-stage__goal"><span class="lp-label">Goal:</span> {esc(stage.goal)}</p>',
        _card_grid(cards),
    ]


def find_path(index: SiteIndex, path_id: str) -> LearningPath:
    for path in index.catalog.paths:
        if path.id == path_id:
            return path
    raise KeyError(f"no path with id {path_id!r} in the catalog")


def render_path_page(index: SiteIndex, path_id: str, link: Linker) -> str:
    """The page of one learning path: summary, totals, then each stage with its cards."""
    path = find_path(index, path_id)
    totals = path_totals(index, path)
    facts = [(format_minutes(totals.required_minutes), "required")]
    if totals.all_minutes > totals.required_minutes:
        facts.append((format_minutes(totals.all_minutes), "with the optional steps"))
    facts += [(str(totals.stages), "stages"), (str(totals.resources), "resources")]
    out = [
        f"# {esc_markdown(path.title)}",
        "",
        f'<p class="lp-lead">{esc(path.summary)}</p>',
        _facts(facts),
        '<p class="lp-hint">Work through the stages in order. Each card links to the resource itself; '
        "steps marked <em>optional</em> deepen a point and can be skipped without losing the thread.</p>",
        "",
    ]
    # Stage anchors are reserved first, so a resource whose id happens to be
    # "stage-..." cannot steal a stage's anchor.
    ids = _Ids(f"stage-{s.id}" for s in path.stages)
    step_number = 1
    for number, stage in enumerate(path.stages, start=1):
        out += _stage_section(index, link, number, stage, step_number, ids)
        step_number += len(stage.steps)
    return "\n".join(out) + "\n"


def render_catalog_page(index: SiteIndex, link: Linker) -> str:
    """Every resource once, grouped under its first (primary) topic, topics in catalog order.

    Each card appears exactly once, so ``catalog/#<resource-id>`` is the one
    stable permalink of a resource and the page grows linearly with the
    catalog; a resource's other topics list it under "Also about this topic"
    as a link to that card instead of repeating it.
    """
    catalog = index.catalog
    primary: dict[str, list[Resource]] = {t.id: [] for t in catalog.topics}
    secondary: dict[str, list[Resource]] = {t.id: [] for t in catalog.topics}
    for resource in catalog.resources:
        first, *others = resource.topics
        primary.setdefault(first, []).append(resource)
        for topic_id in others:
            secondary.setdefault(topic_id, []).append(resource)
    minutes = sum(r.minutes for r in catalog.resources)
    out = [
        "# Catalog",
        "",
        '<p class="lp-lead">Every resource we curate, grouped by the topic it mainly teaches, '
        "in the order the main path meets them. Each card's title leads to the resource itself.</p>",
        _facts([
            (str(len(catalog.resources)), "resources"),
            (str(len(catalog.topics)), "topics"),
            (str(len(catalog.paths)), "paths"),
            (format_minutes(minutes), "of material"),
        ]),
        # Filled by javascripts/filter.js; hidden until then, so without
        # JavaScript the page is simply the full list.
        '<div class="lp-filter" hidden></div>',
        "",
    ]
    ids = _Ids(f"topic-{t.id}" for t in catalog.topics)
    for topic in catalog.topics:
        out += [
            f"## {esc_markdown(topic.title)} {{ #topic-{topic.id} }}",
            "",
            f'<p class="lp-topic__summary">{esc(topic.summary)} '
            f'{_internal(link(topic_page(topic.id), None), "Read the topic page")}.</p>',
        ]
        own = index.teaching_order(primary[topic.id])
        if own:
            out.append(_card_grid([resource_card(r, index, link, ids=ids, show_placements=True) for r in own]))
        elif not secondary[topic.id]:
            out += ["", '<p class="lp-empty">No resource in the catalog covers this topic yet.</p>', ""]
        also = index.teaching_order(secondary[topic.id])
        if also:
            links = ", ".join(_internal(link(CATALOG_PAGE, r.id), esc(r.title)) for r in also)
            out += ["", f'<p class="lp-also"><span class="lp-label">Also about this topic:</span> {links}</p>', ""]
    return "\n".join(out) + "\n"


def render_topic_resources(index: SiteIndex, topic_id: str, link: Linker) -> str:
    """The resource cards of one topic (what replaces ``<!-- learnpath:topic-resources -->``)."""
    resources = index.resources_of_topic(topic_id)
    if not resources:
        return '\n<p class="lp-empty">No resource in the catalog covers this topic yet.</p>\n'
    intro = (
        f'<p class="lp-hint">{plural(len(resources), "resource")} in the catalog '
        "cover this topic, in the order the learning paths meet them.</p>"
    )
    cards = [resource_card(r, index, link, ids=_Ids(), show_placements=True) for r in resources]
    return "\n" + intro + "\n" + _card_grid(cards)


def render_path_list(index: SiteIndex, link: Linker) -> str:
    """Every path as a card with its summary, stage count and time (``<!-- learnpath:path-list -->``)."""
    cards = []
    for path in index.catalog.paths:
        totals = path_totals(index, path)
        time = format_minutes(totals.required_minutes)
        if totals.all_minutes > totals.required_minutes:
            time += f" ({format_minutes(totals.all_minutes)} with the optional steps)"
        href = link(path_page(path.id), None)
        cards.append("\n".join([
            f'<article class="lp-pathcard" data-path="{esc(path.id)}">',
            f'<h3 class="lp-pathcard__title">{_internal(href, esc(path.title))}</h3>',
            f'<p class="lp-pathcard__summary">{esc(path.summary)}</p>',
            f'<p class="lp-pathcard__meta">{plural(totals.stages, "stage")} · '
            f'{plural(totals.resources, "resource")} · {time}</p>',
            f'<p class="lp-pathcard__go">{_internal(href, "Start the path &rarr;")}</p>',
            "</article>",
        ]))
    return '\n<div class="lp-pathcards">\n' + "\n".join(cards) + "\n</div>\n"


def render_runnable(file: str, *, href: str, module: str | None, test_file: str | None) -> str:
    """A collapsed block showing ``file`` (a runnable module), a link to it and how to run it.

    The source is not copied here: the block holds a pymdownx.snippets line,
    so the page shows the very file the tests run, and a missing file fails
    the build (``check_paths``). ``file`` is a checked ``runnable/<name>.py``
    path, never catalog text.
    """
    commands = []
    if module:
        commands.append(f".venv/bin/python -m {module}")
    if test_file:
        commands.append(f".venv/bin/pytest {test_file}")
    how = "From the repository root, run it with:" if module else "From the repository root, run its tests with:"
    lines = [
        f'??? example "The code: `{file}`"',
        "",
        "    ```python",
        f'    --8<-- "{file}"',
        "    ```",
        "",
        f"[`{file}`]({href}) is plain NumPy. {how}" if commands else f"[`{file}`]({href}) is plain NumPy.",
    ]
    if commands:
        lines += ["", "```sh", *commands, "```"]
    return "\n".join(lines) + "\n"


def render_figure(name: str, svg: str, caption: str) -> str:
    """An inline SVG figure with its caption, as one raw HTML block.

    Inline rather than ``<img>``: the SVG's text uses ``currentColor`` and so
    follows the light or dark palette. Blank lines are dropped, because one
    would end the raw HTML block and hand the rest of the SVG to Markdown.
    ``svg`` is generated by our own code; ``caption`` is ours too, escaped anyway.
    """
    body = "\n".join(line for line in svg.splitlines() if line.strip())
    return (
        f'\n<figure class="lp-figure" id="figure-{esc(name)}">\n{body}\n'
        f"<figcaption>{esc(caption)}</figcaption>\n</figure>\n"
    )
