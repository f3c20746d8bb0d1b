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

import datetime as dt
import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from learnpath.catalog.durations import Time, distinct_resources, path_steps, path_time, steps_time
from learnpath.catalog.schema import Catalog, LearningPath, Level, Resource, Stage, Step, Topic
from learnpath.site import pathmap
from learnpath.site.linkhealth import Health, LinkHealth, LinkStatus

# (page source path relative to docs_dir, optional anchor) -> URL relative to the current page.
Linker = Callable[[str, str | None], str]

CATALOG_PAGE = "catalog.md"
LINK_HEALTH_PAGE = "link-health.md"

_LEVEL_ORDER = {level: rank for rank, level in enumerate(Level)}
# Python-Markdown's backslash-escapable characters (markdown.Markdown.ESCAPED_CHARS).
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")


# Raw HTML blocks (card grids, maps, figures) are wrapped in these comment lines.
# The hook swaps each wrapped block for a placeholder before Markdown runs and
# puts the HTML back afterwards: Python-Markdown would otherwise parse every
# tag of every card (most of a build's time on a large catalog) only to pass
# them through unchanged. Left in place (a plain Markdown conversion), they are
# harmless comments around valid raw HTML.
RAW_OPEN = "<!--lp:raw-->"
RAW_CLOSE = "<!--/lp:raw-->"


def raw_block(html_text: str) -> str:
    """``html_text`` (one raw HTML block, no blank lines) marked for the hook, with blank lines around."""
    return f"\n{RAW_OPEN}\n{html_text.strip(chr(10))}\n{RAW_CLOSE}\n"


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
    """Lookups over a validated catalog, so each page renders in time linear in its own size.

    ``health`` is the link checker's history as the site may show it, or None
    (no history: every card claims nothing about its link).
    """

    catalog: Catalog
    health: LinkHealth | None = None
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

    def link_status(self, resource: Resource) -> LinkStatus | None:
        return self.health.status(resource.url) if self.health is not None else None


# --------------------------------------------------------------------------- #
# Topics: what each builds on and what it leads to
# --------------------------------------------------------------------------- #


def topic_relations(index: SiteIndex) -> dict[str, tuple[list[str], list[str]]]:
    """topic id -> (topics it builds on, topics it leads to), each in catalog order.

    A topic builds on the topics its resources name as prerequisites (directly,
    or as the main topic of a prerequisite resource). A topic whose resources
    name none builds on the topic the paths teach just before it. "Leads to" is
    the same relation read backwards, so the two lists always agree.
    """
    order = {t.id: n for n, t in enumerate(index.catalog.topics)}
    builds_on: dict[str, set[str]] = {t: set() for t in order}
    for resource in index.catalog.resources:
        topic = resource.topics[0]
        for ref in resource.prerequisites:
            if ref in index.topics:
                builds_on[topic].add(ref)
            elif ref in index.resources:
                builds_on[topic].add(index.resources[ref].topics[0])
    previous: dict[str, str] = {}
    for path in index.catalog.paths:
        taught: list[str] = []
        for step in path_steps(path):
            topic = index.resources[step.resource].topics[0]
            if topic not in taught:
                taught.append(topic)
        for before, after in zip(taught, taught[1:]):
            previous.setdefault(after, before)
    for topic, earlier in previous.items():
        if not builds_on[topic] - {topic}:
            builds_on[topic].add(earlier)
    leads_to: dict[str, set[str]] = {t: set() for t in order}
    for topic, bases in builds_on.items():
        bases.discard(topic)
        for base in bases:
            leads_to[base].add(topic)
    return {t: (sorted(builds_on[t], key=order.get), sorted(leads_to[t], key=order.get)) for t in order}


def render_topic_relations(index: SiteIndex, topic_id: str, link: Linker) -> str:
    """The "Builds on / Leads to" links at the top of a topic page ("" when it has neither)."""
    builds_on, leads_to = topic_relations(index)[topic_id]
    rows = []
    for label, topics in (("Builds on", builds_on), ("Leads to", leads_to)):
        if topics:
            links = join_names(_internal(link(topic_page(t), None), esc(index.topics[t].title)) for t in topics)
            rows.append(f'<p><span class="lp-label">{label}:</span> {links}</p>')
    if not rows:
        return ""
    return '\n<nav class="lp-related" aria-label="Related topics">\n' + "\n".join(rows) + "\n</nav>\n"


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

    def unique(self, wanted: str) -> str:
        """``wanted``, or ``wanted-2``, ``wanted-3``... whichever is free first."""
        candidate, n = wanted, 1
        while candidate in self._taken:
            n += 1
            candidate = f"{wanted}-{n}"
        self._taken.add(candidate)
        return candidate


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
    return '<p class="lp-card__meta" data-search-exclude>' + "".join(parts) + "</p>"


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
    return (f'<p class="lp-card__prereq" data-search-exclude><span class="lp-label">Before this:</span> '
            f"{join_names(links)}</p>")


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
    return (f'<p class="lp-card__paths" data-search-exclude><span class="lp-label">On the path:</span> '
            f"{join_names(links)}</p>")


def _topic_chips(resource: Resource, index: SiteIndex, link: Linker) -> str:
    chips = "".join(
        f'<a class="lp-chip" href="{esc(link(topic_page(t), None))}">{esc(index.topics[t].title)}</a>'
        for t in resource.topics
        if t in index.topics
    )
    return f'<p class="lp-card__topics" data-search-exclude>{chips}</p>'


def _mirrors(resource: Resource) -> str:
    """Other addresses of the same work, each named by its site (``arxiv.org``)."""
    if not resource.alternate_urls:
        return ""
    hosts = [(urlsplit(u).hostname or "link").removeprefix("www.") for u in resource.alternate_urls]
    # Two copies on one site (a PDF and an HTML version) get numbered apart.
    names = [h if hosts.count(h) == 1 else f"{h} ({hosts[:i + 1].count(h)})" for i, h in enumerate(hosts)]
    links = [_external(u, esc(name)) for u, name in zip(resource.alternate_urls, names)]
    return (f'<p class="lp-card__mirrors" data-search-exclude><span class="lp-label">Also at:</span> '
            f'{", ".join(links)}</p>')


def _day(moment: dt.datetime) -> str:
    """``2026-11-22`` -> ``22 Nov 2026`` (English month names, whatever the build machine's locale)."""
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    return f"{moment.day} {months[moment.month - 1]} {moment.year}"


def _time_element(moment: dt.datetime) -> str:
    """A ``<time>`` with the exact instant; progress.js rewrites the text as "3 days ago"."""
    stamp = moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{stamp}" data-relative>on {_day(moment)}</time>'


def health_badge(status: LinkStatus | None) -> str:
    """What a card says about its link, from the link checker's history ("" when it may claim nothing)."""
    if status is None or not status.health.claims:
        return ""
    if status.health is Health.broken:
        since = f" since {_day(status.broken_since)}" if status.broken_since else ""
        use = (f" Read the {_external(status.snapshot, 'archived copy')} instead."
               if status.snapshot else " No archived copy is known.")
        return (f'<p class="lp-health lp-health--broken" data-search-exclude><strong>Broken link</strong> '
                f"({esc(status.verdict.label.lower())}{since}, last checked {_time_element(status.checked)}): "
                f'the original address, <span class="lp-url">{esc(status.url)}</span>, no longer works.{use}</p>')
    checked = f"Link checked {_time_element(status.checked)}."
    if status.health is Health.moved and status.new_url:
        return (f'<p class="lp-health lp-health--moved" data-search-exclude>{checked} It now redirects '
                f'permanently to {_external(status.new_url, esc(status.new_url), "lp-url")}.</p>')
    return f'<p class="lp-health lp-health--ok" data-search-exclude>{checked}</p>'


def _done_control(resource: Resource, ids: _Ids) -> str:
    """The "done" checkbox, keyed on the resource id; progress.js enables it.

    Disabled in the HTML itself, with the reason written next to it, so that
    without JavaScript (or with storage refused, when progress.js rewrites the
    reason) the control says why it does nothing instead of failing silently.
    """
    box = ids.unique(f"done-{resource.id}")
    return (
        f'<p class="lp-done" data-search-exclude><input type="checkbox" class="lp-done__box" id="{esc(box)}" '
        f'value="{esc(resource.id)}" disabled> <label for="{esc(box)}">Done'
        '<span class="lp-done__why"> (saving progress needs JavaScript)</span></label></p>'
    )


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
    the step's position on the path. The title heading carries the resource id
    as its anchor, so a link or a search hit lands on the card, and the search
    index reads the card as its title, authors, description and why; the
    badges and the lists of links are kept out of it (``data-search-exclude``).
    """
    ids = ids or _Ids()
    anchor = ids.claim(resource.id)
    optional = step is not None and step.optional
    status = index.link_status(resource)
    classes = ["lp-card"]
    if optional:
        classes.append("lp-card--optional")
    if status is not None and status.health is Health.broken:
        classes.append("lp-card--broken")
    id_attr = f' id="{esc(anchor)}"' if anchor else ""
    head = [f'<span class="lp-badge lp-badge--{resource.kind.value}">{resource.kind.value}</span>']
    if optional:
        head.append('<span class="lp-badge lp-badge--optional">optional</span>')
    if number is not None:
        head.insert(0, f'<span class="lp-card__number" title="Step {number}">{number}</span>')
    # A confirmed-broken link sends the reader to the archived copy; the badge names the original.
    href = status.snapshot if status is not None and status.health is Health.broken and status.snapshot else None
    title_link = _external(href or resource.url, esc(resource.title))
    lines = [
        f'<article class="{" ".join(classes)}" data-resource="{esc(resource.id)}" '
        f'data-kind="{resource.kind.value}" data-level="{resource.level.value}" '
        f'data-free="{"true" if resource.free else "false"}" data-topics="{esc(" ".join(resource.topics))}">',
        '<div class="lp-card__head" data-search-exclude>' + "".join(head) + "</div>",
        f'<h3 class="lp-card__title"{id_attr}>{title_link}</h3>',
        '<p class="lp-card__authors">by ' + join_names(esc(a) for a in resource.authors) + "</p>",
        _meta_line(resource),
        f'<p class="lp-card__desc">{esc(resource.description)}</p>',
    ]
    if step is not None and step.why:
        lines.append(f'<p class="lp-card__why"><span class="lp-label">Why here:</span> {esc(step.why)}</p>')
    lines += [
        health_badge(status),
        _prerequisites(resource, index, link),
        _placements(resource, index, link) if show_placements else "",
        _mirrors(resource),
        _topic_chips(resource, index, link),
        _done_control(resource, ids),
        "</article>",
    ]
    return "\n".join(line for line in lines if line)


def _card_grid(cards: list[str], attributes: str = "") -> str:
    # A blank line before and after keeps the raw HTML block apart from the Markdown around it.
    return raw_block(f'<div class="lp-cards"{attributes}>\n' + "\n".join(cards) + "\n</div>")


# --------------------------------------------------------------------------- #
# Progress: the data progress.js counts with, and its controls
# --------------------------------------------------------------------------- #


def progress_steps(index: SiteIndex, steps: Iterable[Step], href: Callable[[str], str], stage_of=None) -> str:
    """The steps as JSON for ``data-steps``: each resource once (the rule of catalog/durations.py).

    ``[{"id", "minutes", "optional", "title", "href", "stage"}]`` in order of first
    mention; ``optional`` only when no step requires it. progress.js adds these
    up and never decides the rule itself. Escaped for an attribute by the caller.
    """
    steps = list(steps)
    stages = stage_of or {}
    data = []
    for resource_id, required in distinct_resources(steps).items():
        resource = index.resources[resource_id]
        item = {"id": resource_id, "minutes": resource.minutes, "optional": not required,
                "title": resource.title, "href": href(resource_id)}
        if resource_id in stages:
            item["stage"] = stages[resource_id]
        data.append(item)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _time_text(time: Time) -> str:
    text = format_minutes(time.required_minutes)
    if time.optional_minutes:
        text += f" (+ {format_minutes(time.optional_minutes)} optional)"
    return text


PROGRESS_UNAVAILABLE = "Saving progress needs JavaScript, which is off or blocked here; the pages read the same without it."


def progress_tools() -> str:
    """Export, import and reset: disabled until progress.js finds storage it may use."""
    return "\n".join([
        '<div class="lp-progress__tools" data-search-exclude>',
        '<button type="button" class="md-button lp-progress__export" disabled>Export progress</button>',
        '<label class="md-button lp-progress__import">Import progress'
        '<input type="file" accept="application/json,.json" class="lp-progress__file" disabled></label>',
        '<button type="button" class="md-button lp-progress__reset" disabled>Reset</button>',
        "</div>",
    ])


def progress_panel(steps_json: str, *, path: LearningPath, tools: bool) -> str:
    """A path's progress: bar, counts, "continue" link and (on the path page) the tools."""
    lines = [
        f'<section class="lp-progress" data-path="{esc(path.id)}" data-steps="{esc(steps_json)}" '
        f'aria-label="Your progress on {esc(path.title)}" data-search-exclude>',
        '<progress class="lp-progress__bar" max="1" value="0" aria-label="Required steps done" hidden></progress>',
        f'<p class="lp-progress__status" role="status">{PROGRESS_UNAVAILABLE}</p>',
        '<p class="lp-progress__continue" hidden></p>',
    ]
    if tools:
        lines += [progress_tools(), '<p class="lp-progress__message" role="status" aria-live="polite"></p>']
    lines.append("</section>")
    return "\n" + "\n".join(lines) + "\n"


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
    return f'\n<div class="lp-facts" data-search-exclude>{cells}</div>\n'


def render_check(stage: Stage) -> str:
    """A stage's "check yourself" questions, each answer folded in a ``<details>`` ("" when none).

    Native ``<details>``: keyboard and screen readers open it without script,
    and Material opens every one when the page is printed.
    """
    if not stage.check:
        return ""
    items = [
        f'<details class="lp-check__item"><summary>{esc(item.question)}</summary>'
        f'<p>{esc(item.answer)}</p></details>'
        for item in stage.check
    ]
    return "\n".join([
        "",
        f'<section class="lp-check" aria-label="Check yourself: {esc(stage.title)}">',
        '<p class="lp-check__title">Check yourself</p>',
        *items,
        "</section>",
        "",
    ])


def _stage_section(
    index: SiteIndex, link: Linker, number: int, stage: Stage, first_step: int, ids: _Ids
) -> list[str]:
    """A stage: numbered heading (anchor ``stage-<id>``), its time and progress, goal, cards, check."""
    time = steps_time(index.catalog, stage.steps)
    cards = [
        resource_card(index.resources[step.resource], index, link, ids=ids, step=step, number=first_step + offset)
        for offset, step in enumerate(stage.steps)
    ]
    steps_json = progress_steps(index, stage.steps, lambda r: "#" + r)
    return [
        f"## {number}. {esc_markdown(stage.title)} {{ #stage-{stage.id} }}",
        "",
        f'<p class="lp-stage__meta" data-search-exclude>{plural(len(stage.steps), "step")} · {_time_text(time)}'
        f'<span class="lp-stage__progress" data-stage="{esc(stage.id)}" data-steps="{esc(steps_json)}"></span></p>',
        "",
        f'<p class="lp-stage__goal"><span class="lp-label">Goal:</span> {esc(stage.goal)}</p>',
        _card_grid(cards, f' data-stage="{esc(stage.id)}"'),
        render_check(stage),
    ]


def find_path(index: SiteIndex, path_id: str) -> LearningPath:
    for path in index.catalog.paths:
        if path.id == path_id:
            return path
    raise KeyError(f"no path with id {path_id!r} in the catalog")


def _path_progress_json(index: SiteIndex, path: LearningPath, href: Callable[[str], str]) -> str:
    stage_of: dict[str, str] = {}
    for stage in path.stages:
        for step in stage.steps:
            stage_of.setdefault(step.resource, stage.id)
    return progress_steps(index, path_steps(path), href, stage_of)


def path_map(index: SiteIndex, path: LearningPath) -> str:
    """The map of a path's stages (see pathmap.py), each node linking to its stage heading."""
    nodes = []
    for number, stage in enumerate(path.stages, start=1):
        time = steps_time(index.catalog, stage.steps)
        detail = f"{plural(len(stage.steps), 'step')} · {format_minutes(time.required_minutes)}"
        nodes.append(pathmap.Node(number, stage.id, stage.title, detail, f"#stage-{stage.id}"))
    return raw_block(pathmap.render_map(nodes, path.title))


def render_path_page(index: SiteIndex, path_id: str, link: Linker) -> str:
    """The page of one learning path: summary, totals, map, progress, then each stage with its cards."""
    path = find_path(index, path_id)
    time = path_time(index.catalog, path)
    facts = [(format_minutes(time.required_minutes), "required")]
    if time.optional_minutes:
        facts.append((format_minutes(time.all_minutes), "with the optional steps"))
    facts += [(str(len(path.stages)), "stages"), (str(time.resources), "resources")]
    out = [
        f"# {esc_markdown(path.title)}",
        "",
        f'<p class="lp-lead">{esc(path.summary)}</p>',
        _facts(facts),
        path_map(index, path),
        progress_panel(_path_progress_json(index, path, lambda r: "#" + r), path=path, tools=True),
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
    topics_json = json.dumps([[t.id, t.title] for t in catalog.topics], ensure_ascii=False, separators=(",", ":"))
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
        f'<div class="lp-filter" data-topics="{esc(topics_json)}" hidden data-search-exclude></div>',
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
            links = ", ".join(
                _internal(link(CATALOG_PAGE, r.id), esc(r.title)) for r in also
            )
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
    """Every path as a card with its summary, size, hours and the reader's progress (``path-list``)."""
    cards = []
    for path in index.catalog.paths:
        time = path_time(index.catalog, path)
        hours = format_minutes(time.required_minutes)
        extra = f" (+ {format_minutes(time.optional_minutes)} optional)" if time.optional_minutes else ""
        href = link(path_page(path.id), None)
        steps_json = _path_progress_json(index, path, lambda r, p=path: link(path_page(p.id), r))
        cards.append("\n".join([
            f'<article class="lp-pathcard" data-path="{esc(path.id)}">',
            f'<h3 class="lp-pathcard__title">{_internal(href, esc(path.title))}</h3>',
            f'<p class="lp-pathcard__hours"><strong>{hours}</strong>{extra}</p>',
            f'<p class="lp-pathcard__summary">{esc(path.summary)}</p>',
            f'<p class="lp-pathcard__meta">{plural(len(path.stages), "stage")} · '
            f'{plural(time.resources, "resource")}</p>',
            progress_panel(steps_json, path=path, tools=False).strip("\n"),
            f'<p class="lp-pathcard__go">{_internal(href, "Open the path &rarr;")}</p>',
            "</article>",
        ]))
    tools = [
        '<section class="lp-progress lp-progress--tools" aria-label="Your progress in this browser" '
        "data-search-exclude>",
        f'<p class="lp-progress__status" role="status">{PROGRESS_UNAVAILABLE}</p>',
        progress_tools(),
        '<p class="lp-progress__message" role="status" aria-live="polite"></p>',
        "</section>",
    ]
    return '\n<div class="lp-pathcards">\n' + "\n".join(cards) + "\n</div>\n" + "\n".join(tools) + "\n"


def render_runnable(
    file: str, *, href: str, module: str | None, test_file: str | None, source_url: str | None = None
) -> str:
    """A collapsed block showing ``file`` (a runnable module), links to it and how to run it.

    The source is not copied here: the block holds a pymdownx.snippets line,
    so the page shows the very file the tests run, and a missing file fails
    the build (``check_paths``). ``file`` is a checked ``runnable/<name>.py``
    path, never catalog text; ``href`` is its copy published with the site,
    ``source_url`` (when the site knows its repository) the file in the repository.
    """
    commands = []
    if module:
        commands.append(f".venv/bin/python -m {module}")
    if test_file:
        commands.append(f".venv/bin/pytest {test_file}")
    how = "From the repository root, run it with:" if module else "From the repository root, run its tests with:"
    where = f" ([in the repository]({source_url}))" if source_url else ""
    lines = [
        f'??? example "The code: `{file}`"',
        "",
        "    ```python",
        f'    --8<-- "{file}"',
        "    ```",
        "",
        f"[`{file}`]({href}){where} is plain NumPy. {how}" if commands
        else f"[`{file}`]({href}){where} is plain NumPy.",
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
    return raw_block(
        f'<figure class="lp-figure" id="figure-{esc(name)}">\n{body}\n'
        f"<figcaption>{esc(caption)}</figcaption>\n</figure>"
    )


# --------------------------------------------------------------------------- #
# Link health page
# --------------------------------------------------------------------------- #


def render_link_health_page(index: SiteIndex, link: Linker, history_name: str) -> str:
    """The last link check's summary (date, counts by verdict) and the catalog links that need a look."""
    out = ["# Link health", ""]
    health = index.health
    if health is None or health.saved is None:
        out += [
            '<p class="lp-lead">This copy of the site was built without a link-check history, so it makes '
            "no claim about its links. Every link in the catalog is checked by "
            "<code>learnpath check-links</code>; a site built where its history "
            f"(<code>{esc(history_name)}</code>) exists shows here when each link was last verified.</p>",
        ]
        return "\n".join(out) + "\n"
    counts = health.counts()
    total = sum(n for _, n in counts)
    out += [
        f'<p class="lp-lead">The link checker last saved its history {_time_element(health.saved)} '
        f"({_day(health.saved)}, UTC). It knows {plural(total, 'link')}; each is counted by the verdict "
        "of its latest check. A failure is only called broken once it has been seen on separate runs.</p>",
        "",
        '<table class="lp-health-table">',
        "<thead><tr><th scope=\"col\">Verdict</th><th scope=\"col\">Links</th></tr></thead>",
        "<tbody>",
        *[f"<tr><td>{esc(verdict.label)}</td><td>{count}</td></tr>" for verdict, count in counts],
        "</tbody>",
        "</table>",
        "",
    ]
    attention = []
    for resource in index.catalog.resources:
        status = index.link_status(resource)
        if status is not None and status.health in (Health.broken, Health.moved):
            what = "broken" if status.health is Health.broken else "moved permanently"
            attention.append(f"<li>{_internal(link(CATALOG_PAGE, resource.id), esc(resource.title))}: {what}</li>")
    if attention:
        out += ["## Links that need a look", "", '<ul class="lp-health-list">', *attention, "</ul>", ""]
    else:
        out += ["", '<p>No catalog link is confirmed broken or permanently moved.</p>', ""]
    return "\n".join(out) + "\n"
