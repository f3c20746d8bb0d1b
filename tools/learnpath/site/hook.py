"""MkDocs hook: render the catalog into the site.

Registered in ``mkdocs.yml`` as ``hooks: [tools/learnpath/site/hook.py]``. It

* loads ``resources.yaml`` (next to ``mkdocs.yml``) on every build, so
  ``mkdocs serve`` picks up edits, and stops the build with the validator's
  own report when the catalog is invalid;
* adds the generated pages: ``paths/<path-id>.md`` for each path and
  ``catalog.md``, and checks that the nav lists exactly the catalog's paths;
  publishes ``resources.yaml`` and ``runnable/*.py`` as plain files;
* replaces the markers in hand-written pages:
  ``<!-- learnpath:topic-resources -->`` on ``topics/<topic-id>.md``,
  ``<!-- learnpath:path-list -->`` anywhere (the home page), and
  ``<!-- learnpath:runnable runnable/<module>.py -->``: that module's source,
  included by pymdownx.snippets from the very file the tests run, with a link
  to the file (published with the site) and the commands that run it, and
  ``<!-- learnpath:figure <name> -->``: a figure computed at build time by
  ``learnpath.site.figures`` from the code in ``runnable/`` (see ``FIGURES``).

It also reads the link checker's history (``extra.learnpath.link_history`` in
``mkdocs.yml``, default ``.linkcheck/history.json``) when it exists, so cards
say when their link was last verified and ``link-health.md`` summarises the
last run; a missing history means no claims, a damaged one a warning and no
claims (never a failed build). Topic pages get their "Builds on / Leads to"
links under the title.

The HTML and Markdown come from ``learnpath.site.render``; this module only
adapts MkDocs (files, nav, URLs) to it. Every failure is an ``Abort`` whose
message says where, what and how to fix it: MkDocs prints it without a
traceback, both under ``mkdocs build`` and ``mkdocs serve``.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from learnpath.markdown import outside_fences
from learnpath.site import figcache, render
from learnpath.site.linkhealth import HistoryUnusable, LinkHealth, read_history

log = logging.getLogger("mkdocs.plugins.learnpath")
# Outside the "mkdocs" logger tree on purpose: a damaged link-check history is
# worth a warning on screen, but must not fail a --strict build (the site just
# makes no claims about its links).
history_log = logging.getLogger("learnpath.site.history")
if not history_log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("WARNING -  %(message)s"))
    history_log.addHandler(_handler)
    history_log.propagate = False

CATALOG_FILE = "resources.yaml"
DEFAULT_LINK_HISTORY = ".linkcheck/history.json"
MARKER = re.compile(r"^[ \t]*<!--[ \t]*learnpath:([A-Za-z0-9_-]*)(?:[ \t]+(\S+?))?[ \t]*-->[ \t]*$")
TOPIC_MARKER = "topic-resources"
PATH_LIST_MARKER = "path-list"
RUNNABLE_MARKER = "runnable"
FIGURE_MARKER = "figure"
RUNNABLE_DIR = "runnable"
_RUNNABLE_FILE = re.compile(r"runnable/[A-Za-z0-9_]+\.py")


@dataclass
class _Build:
    """What one build knows about the catalog; replaced at the start of every build."""

    index: render.SiteIndex
    catalog_path: Path
    history_name: str = DEFAULT_LINK_HISTORY


_current: _Build | None = None
# Raw HTML blocks set aside before Markdown runs, by page, and restored after (see stash_raw_html).
_stashed: dict[str, dict[str, str]] = {}
_RAW_BLOCK = re.compile(
    rf"^{re.escape(render.RAW_OPEN)}\n(.*?)\n{re.escape(render.RAW_CLOSE)}$", flags=re.MULTILINE | re.DOTALL
)
_ANCHOR_ID = re.compile(r'\sid="([^"]+)"')
_PLACEHOLDER = re.compile(r"<!--lp-html-[0-9a-f]{16}-\d+-->")


@dataclass(frozen=True)
class Figure:
    function: str  # the name of the function in learnpath.site.figures that draws it
    caption: str


# The figures a page can ask for, by marker name; captions in our own words.
FIGURES: dict[str, Figure] = {
    "positional-encoding": Figure(
        "positional_encoding_figure",
        "The sinusoidal positional encoding of the first 48 positions of a 48-dimensional model, computed by "
        "runnable/positional.py when this site was built. Each row is the vector added to one position: the "
        "dimensions on the left oscillate quickly from row to row and those on the right slowly, so no two "
        "rows are alike.",
    ),
    "toy-attention": Figure(
        "attention_figure",
        "Cross-attention of the small Transformer in runnable/train_toy.py, trained from scratch when this site "
        "was built to reverse sequences of 10 tokens. Each row is an output position and shows how much it "
        "attends to each input position (averaged over the heads): output i reads input 9 - i, the "
        "anti-diagonal.",
    ),
    "toy-training": Figure(
        "training_curve_figure",
        "The training loss of that same run, step by step on a log scale; every batch holds fresh random "
        "sequences, so the curve measures learning rather than memorising.",
    ),
    "bpe-merges": Figure(
        "bpe_merges_figure",
        "The first 20 merges that runnable/bpe.py learns from the shipped Shakespeare corpus when this site is "
        "built, with how often each pair occurred at the moment it won. Word beginnings after a space and common "
        "letter pairs come first; by the eleventh merge a whole word, ' the', is a single token.",
    ),
    "gpt-training": Figure(
        "gpt_training_figure",
        "The training loss of the small GPT in runnable/train_gpt.py (two pre-LN blocks, d_model 64, a BPE "
        "vocabulary of 512), trained with seed 0 on the corpus when this site was built; the title gives its "
        "loss on the held-out last tenth of the text.",
    ),
    "sampling": Figure(
        "sampling_figure",
        "What the decoding rules of runnable/generate.py do to that small GPT's next-token distribution after "
        "the prompt 'First Citizen: We are': a lower temperature sharpens it and a higher one flattens it, "
        "top-k keeps the five likeliest tokens, top-p the smallest set whose probability reaches one half, and "
        "greedy puts everything on the likeliest.",
    ),
    "rope-scores": Figure(
        "rope_figure",
        "With rotary position embeddings (runnable/rope.py), a query and a key holding the same 64 numbers "
        "score highest at the same position and less, with ripples, as they move apart. The curve is the same "
        "wherever the pair sits, because only their distance enters the score.",
    ),
}


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


def _fail(where: str, what: str, hint: str) -> Abort:
    """An Abort in the validator's shape: ``where: what`` then an indented hint."""
    return Abort(f"learnpath: {where}: {what}\n    hint: {hint}")


def _shown(config: MkDocsConfig, *parts: str) -> str:
    """A path as the user would type it: relative to mkdocs.yml's directory when inside it."""
    path = os.path.join(*parts)
    root = os.path.dirname(config.config_file_path or "mkdocs.yml") or "."
    relative = os.path.relpath(path, root)
    return path if relative.startswith("..") else relative


# --------------------------------------------------------------------------- #
# Loading the catalog
# --------------------------------------------------------------------------- #


def project_root(config: MkDocsConfig) -> Path:
    """The directory of mkdocs.yml: where resources.yaml and runnable/ live."""
    return Path(config.config_file_path or "mkdocs.yml").resolve().parent


def catalog_path(config: MkDocsConfig) -> Path:
    return project_root(config) / CATALOG_FILE


def load(config: MkDocsConfig) -> _Build:
    """Load and validate the catalog, or abort with exactly what ``learnpath validate`` prints."""
    # Imported here, not at the top: the hook module is loaded when mkdocs.yml
    # is read, and a broken catalog package should fail the build with the
    # message below, not as an import error while parsing the config.
    from learnpath.catalog import CatalogInvalid, load_catalog

    path = catalog_path(config)
    # Relative to the working directory when inside it, so the report reads
    # `resources.yaml:12:5: ...` exactly as `learnpath validate` prints it.
    relative = os.path.relpath(path)
    shown = path if relative.startswith("..") else Path(relative)
    try:
        loaded = load_catalog(shown)
    except CatalogInvalid as err:
        raise Abort(
            f"learnpath: the catalog is invalid, so the site was not built.\n{err.report()}\n"
            f"Run `learnpath validate {shown}` to check it on its own."
        ) from None
    for warning in loaded.warnings:
        log.info("learnpath: %s", warning)
    return _Build(render.SiteIndex(loaded.catalog, health=link_health(config)), path, history_setting(config))


def history_setting(config: MkDocsConfig) -> str:
    """``extra.learnpath.link_history`` from mkdocs.yml, or the checker's default."""
    settings = (config.extra or {}).get("learnpath") or {}
    value = settings.get("link_history", DEFAULT_LINK_HISTORY) if isinstance(settings, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise _fail(
            _shown(config, config.config_file_path or "mkdocs.yml"),
            f"extra.learnpath.link_history must be a file path, got {value!r}",
            f"write e.g. `link_history: {DEFAULT_LINK_HISTORY}` under `extra: learnpath:`",
        )
    return value


def link_health(config: MkDocsConfig) -> LinkHealth | None:
    """The link checker's history, when there is one the site can trust; else no claims."""
    setting = history_setting(config)
    path = project_root(config) / setting
    try:
        health = read_history(path)
    except HistoryUnusable as exc:
        history_log.warning("learnpath: %s", exc)
        return None
    for warning in health.warnings if health is not None else []:
        history_log.warning("learnpath: %s", warning)
    return health


# --------------------------------------------------------------------------- #
# Generated pages and the nav
# --------------------------------------------------------------------------- #


def _nav_pages(nav: object) -> Iterator[str]:
    """Every page path named in the ``nav`` setting (a nested list of strings and one-key dicts)."""
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def check_nav(config: MkDocsConfig, path_ids: list[str]) -> None:
    """The nav must list every path page, and no path page the catalog does not have.

    MkDocs itself would only warn about a nav entry with no page, and say
    nothing about a page missing from the nav; a learning path nobody can
    reach is a bug, so both stop the build.
    """
    if config.nav is None:  # no explicit nav: MkDocs lists every page itself
        return
    listed = {p for p in _nav_pages(config.nav) if p.startswith("paths/")}
    expected = {render.path_page(p) for p in path_ids}
    config_file = _shown(config, config.config_file_path or "mkdocs.yml")
    for missing in sorted(expected - listed):
        raise _fail(
            config_file,
            f"the catalog has the path '{Path(missing).stem}' but the nav does not list {missing}",
            f"add `- {missing}` under `Paths:` in the nav of {config_file}",
        )
    for extra in sorted(listed - expected):
        raise _fail(
            config_file,
            f"the nav lists {extra}, but the catalog has no path '{Path(extra).stem}' "
            f"(its paths: {', '.join(path_ids)})",
            f"remove it from the nav, or fix the path id in {CATALOG_FILE}",
        )


def _add_generated(files: Files, config: MkDocsConfig, src_uri: str, content: str) -> None:
    existing = files.get_file_from_path(src_uri)
    if existing is not None and not existing.generated_by:
        raise _fail(
            _shown(config, config.docs_dir, src_uri),
            "this page is generated from the catalog, so a hand-written file cannot have its name",
            "delete or rename the file; edit resources.yaml to change the generated page",
        )
    if existing is not None:
        files.remove(existing)
    files.append(File.generated(config, src_uri, content=content))


def _publish_sources(files: Files, config: MkDocsConfig, catalog_file: Path) -> None:
    """Copy runnable/*.py and the catalog file into the site as they are.

    A topic page links to the module it shows, and the contributing guide to
    resources.yaml; published, those links work on the site too.
    """
    sources = sorted((project_root(config) / RUNNABLE_DIR).glob("*.py"))
    uris = [f"{RUNNABLE_DIR}/{source.name}" for source in sources]
    for src_uri, source in zip([CATALOG_FILE, *uris], [catalog_file, *sources]):
        if files.get_file_from_path(src_uri) is None:
            files.append(File.generated(config, src_uri, abs_src_path=str(source)))


def _check_topic_pages(files: Files, config: MkDocsConfig, index: render.SiteIndex) -> None:
    for topic in index.catalog.topics:
        src_uri = render.topic_page(topic.id)
        if files.get_file_from_path(src_uri) is None:
            raise _fail(
                _shown(config, config.docs_dir, src_uri),
                f"the catalog has the topic '{topic.id}' but its page does not exist",
                f"create it: a '# {topic.title}' heading, a short explanation in our own words, "
                f"and a line `<!-- learnpath:{TOPIC_MARKER} -->` where its resources go",
            )


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """No repository named (LEARNPATH_REPO_URL unset): no "edit this page" links either.

    ``edit_uri`` is relative to ``repo_url``; without one MkDocs would build a
    link to nowhere and warn on every page.
    """
    if not config.repo_url:
        config.edit_uri = None
    return config


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    """Reload the catalog, check it against the nav and the topic pages, add the generated pages."""
    global _current
    _current = None  # a failed reload must not leave the previous build's catalog behind
    _stashed.clear()
    build = load(config)
    path_ids = [p.id for p in build.index.catalog.paths]
    check_nav(config, path_ids)
    _check_topic_pages(files, config, build.index)
    # The generated pages are rendered in on_page_markdown, when their URL and
    # thus their relative links are known; the file content is a placeholder
    # that never reaches the site.
    for path_id in path_ids:
        _add_generated(files, config, render.path_page(path_id), f"# {path_id}\n")
    _add_generated(files, config, render.CATALOG_PAGE, "# Catalog\n")
    _add_generated(files, config, render.LINK_HEALTH_PAGE, "# Link health\n")
    _publish_sources(files, config, build.catalog_path)
    _current = build
    return files


# --------------------------------------------------------------------------- #
# Page content
# --------------------------------------------------------------------------- #


def linker(page: Page, files: Files, config: MkDocsConfig) -> render.Linker:
    """Resolve a docs-relative page path (and anchor) to a URL relative to ``page``."""

    def link(src_uri: str, anchor: str | None) -> str:
        target = files.get_file_from_path(src_uri)
        if target is None:
            raise _fail(
                _shown(config, config.docs_dir, page.file.src_uri),
                f"a generated link points to {src_uri}, which is not a page of the site",
                f"create {_shown(config, config.docs_dir, src_uri)} or fix the reference in {CATALOG_FILE}",
            )
        url = get_relative_url(target.url, page.url)
        return f"{url}#{anchor}" if anchor else url

    return link


@dataclass(frozen=True)
class Marker:
    name: str
    line: int  # 1-based, as in the file
    argument: str | None = None


def find_markers(markdown: str) -> list[Marker]:
    """``<!-- learnpath:NAME -->`` lines, skipping fenced code (where docs may show a marker)."""
    markers = []
    for number, line in outside_fences(markdown):
        match = MARKER.match(line)
        if match:
            markers.append(Marker(match.group(1), number, match.group(2)))
    return markers


def _line_offset(page: Page, markdown: str) -> int:
    """Lines of front matter MkDocs removed before this event, so errors cite the file's own line."""
    try:
        source = page.file.content_string
    except OSError:  # pragma: no cover - the file vanished mid-build; the numbers are only for messages
        return 0
    if not source.rstrip("\n").endswith(markdown.rstrip("\n")):
        return 0
    return max(0, len(source.splitlines()) - len(markdown.splitlines()))


def _topic_of(page: Page) -> str | None:
    parts = page.file.src_uri.split("/")
    if len(parts) == 2 and parts[0] == "topics" and parts[1].endswith(".md"):
        return parts[1][: -len(".md")]
    return None


def _replacement(marker: Marker, page: Page, config: MkDocsConfig, build: _Build, link: render.Linker) -> str:
    where = f"{_shown(config, config.docs_dir, page.file.src_uri)}:{marker.line}"
    if marker.name == RUNNABLE_MARKER:
        return _runnable_block(marker, where, page, config)
    if marker.name == FIGURE_MARKER:
        return _figure_block(marker, where, config)
    if marker.name in (PATH_LIST_MARKER, TOPIC_MARKER) and marker.argument:
        raise _fail(
            where,
            f"<!-- learnpath:{marker.name} --> takes no argument, but has {marker.argument!r}",
            f"write the line as <!-- learnpath:{marker.name} -->",
        )
    if marker.name == PATH_LIST_MARKER:
        return render.render_path_list(build.index, link)
    if marker.name == TOPIC_MARKER:
        topic_id = _topic_of(page)
        if topic_id is None or topic_id not in build.index.topics:
            raise _fail(
                where,
                f"<!-- learnpath:{TOPIC_MARKER} --> is only for a catalog topic's page "
                f"(topics/<topic-id>.md), and this page is not one",
                f"move the marker to the right topics/<topic-id>.md, or add the topic to {CATALOG_FILE}",
            )
        return render.render_topic_resources(build.index, topic_id, link)
    raise _fail(
        where,
        f"unknown marker <!-- learnpath:{marker.name} -->",
        f"the markers are <!-- learnpath:{TOPIC_MARKER} --> (on a topic page), "
        f"<!-- learnpath:{PATH_LIST_MARKER} -->, <!-- learnpath:{RUNNABLE_MARKER} runnable/<module>.py --> "
        f"and <!-- learnpath:{FIGURE_MARKER} <name> -->; fix the spelling or remove the line",
    )


def _figure_block(marker: Marker, where: str, config: MkDocsConfig) -> str:
    """Draw the named figure now, from the current code in runnable/."""
    figure = FIGURES.get(marker.argument or "")
    if figure is None:
        raise _fail(
            where,
            f"<!-- learnpath:{FIGURE_MARKER} {marker.argument or ''} --> names no figure",
            f"the figures are: {', '.join(FIGURES)}",
        )
    # The figures run small NumPy models; a BLAS thread pool per core only adds
    # overhead there (several times the CPU time on two cores). Set before the
    # first NumPy import, and only where the user has not chosen.
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    # The figures import `runnable`, which lives next to mkdocs.yml; the
    # `mkdocs` command, unlike pytest, does not put that directory on sys.path.
    root = str(project_root(config))
    if root not in sys.path:
        sys.path.insert(0, root)
    from learnpath.site import figures

    try:
        svg, _ = figcache.cached_figure(figure.function, getattr(figures, figure.function), project_root(config))
    except Exception as exc:  # a bug in runnable/ or figures.py: say which figure, keep the build's output short
        raise _fail(
            where,
            f"drawing the figure '{marker.argument}' failed: {type(exc).__name__}: {exc}",
            f"run `python -c 'from learnpath.site import figures; figures.{figure.function}()'` "
            "from the repository root to see the traceback",
        ) from exc
    return render.render_figure(marker.argument or "", svg, figure.caption)


def _runnable_block(marker: Marker, where: str, page: Page, config: MkDocsConfig) -> str:
    """The code block for ``<!-- learnpath:runnable runnable/x.py -->``, after checking the file exists."""
    root = project_root(config)
    wanted = marker.argument or ""
    if not _RUNNABLE_FILE.fullmatch(wanted) or not (root / wanted).is_file():
        modules = ", ".join(p.name for p in sorted((root / RUNNABLE_DIR).glob("*.py"))) or "none yet"
        raise _fail(
            where,
            f"<!-- learnpath:{RUNNABLE_MARKER} {wanted} --> does not name a file in {RUNNABLE_DIR}/",
            f"write <!-- learnpath:{RUNNABLE_MARKER} runnable/<module>.py --> with one of: {modules}",
        )
    source = (root / wanted).read_text(encoding="utf-8")
    stem = Path(wanted).stem
    test_file = f"tests/runnable/test_{stem}.py"
    return render.render_runnable(
        wanted,
        # A docs-relative Markdown link, so MkDocs resolves and validates it.
        href=posixpath.relpath(wanted, posixpath.dirname(page.file.src_uri) or "."),
        module=f"{RUNNABLE_DIR}.{stem}" if '\nif __name__ == "__main__":' in source else None,
        test_file=test_file if (root / test_file).is_file() else None,
        source_url=repository_file_url(config, wanted),
    )


def repository_file_url(config: MkDocsConfig, file: str) -> str | None:
    """``file`` (relative to the repository root) in the repository's web view, or None.

    Built from ``repo_url`` and the branch named in ``edit_uri`` (``edit/<branch>/content/``),
    so the site never links to a repository it was not told about.
    """
    repo_url = (config.repo_url or "").rstrip("/")
    parts = (config.edit_uri or "").strip("/").split("/")
    if not repo_url or len(parts) < 2 or parts[0] not in ("edit", "blob"):
        return None
    return f"{repo_url}/blob/{parts[1]}/{file}"


def expand_markers(
    markdown: str, page: Page, config: MkDocsConfig, build: _Build, link: render.Linker
) -> str:
    """Replace every marker line; a catalog topic's page must have its resources marker."""
    markers = find_markers(markdown)
    topic_id = _topic_of(page)
    if topic_id in build.index.topics and not any(m.name == TOPIC_MARKER for m in markers):
        raise _fail(
            _shown(config, config.docs_dir, page.file.src_uri),
            f"the page of topic '{topic_id}' has no <!-- learnpath:{TOPIC_MARKER} --> line, "
            "so its resources would not be shown",
            f"add a line `<!-- learnpath:{TOPIC_MARKER} -->` where the list of resources should go",
        )
    if not markers:
        return markdown
    lines = markdown.splitlines()
    offset = _line_offset(page, markdown)
    for marker in markers:
        in_file = Marker(marker.name, marker.line + offset, marker.argument)
        lines[marker.line - 1] = _replacement(in_file, page, config, build, link)
    return "\n".join(lines) + "\n"


def _generated_page(src_uri: str, build: _Build, link: render.Linker) -> tuple[str, str] | None:
    """(title, Markdown) of a page this hook generates, or None for any other page."""
    if src_uri == render.CATALOG_PAGE:
        return "Catalog", render.render_catalog_page(build.index, link)
    if src_uri == render.LINK_HEALTH_PAGE:
        return "Link health", render.render_link_health_page(build.index, link, build.history_name)
    if src_uri.startswith("paths/") and src_uri.endswith(".md"):
        path_id = src_uri[len("paths/") : -len(".md")]
        for path in build.index.catalog.paths:
            if path.id == path_id:
                return path.title, render.render_path_page(build.index, path_id, link)
    return None


def stash_raw_html(markdown: str) -> tuple[str, dict[str, str]]:
    """Swap each block between RAW_OPEN and RAW_CLOSE for a placeholder comment.

    The placeholder carries a random token per call, so no page text (catalog
    text is escaped anyway) can name a stashed block.
    """
    nonce = secrets.token_hex(8)
    blocks: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        token = f"<!--lp-html-{nonce}-{len(blocks)}-->"
        blocks[token] = match.group(1)
        return token

    return _RAW_BLOCK.sub(swap, markdown), blocks


def restore_raw_html(html: str, blocks: dict[str, str]) -> str:
    """Put the stashed blocks back; a placeholder Markdown lost is a bug, and says so."""
    found: set[str] = set()

    def back(match: re.Match[str]) -> str:
        token = match.group(0)
        found.add(token)
        return blocks.get(token, token)

    # One pass over the page, whatever the number of blocks (a replace per block would be quadratic).
    html = _PLACEHOLDER.sub(back, html)
    lost = blocks.keys() - found
    if lost:  # pragma: no cover - only a change in Python-Markdown could do this
        raise Abort(f"learnpath: internal error: {len(lost)} generated HTML block(s) lost in Markdown")
    return html


def on_page_content(html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Restore the raw HTML set aside in on_page_markdown, and tell MkDocs the anchors it holds."""
    blocks = _stashed.pop(page.file.src_uri, None)
    if not blocks:
        return html
    if page.present_anchor_ids is not None:
        for block in blocks.values():
            page.present_anchor_ids.update(_ANCHOR_ID.findall(block))
    return restore_raw_html(html, blocks)


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Render generated pages and expand markers in hand-written ones; set their raw HTML aside."""
    result = _page_markdown(markdown, page=page, config=config, files=files)
    result, blocks = stash_raw_html(result)
    _stashed[page.file.src_uri] = blocks
    return result


def _page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Render generated pages; expand markers in hand-written ones."""
    if _current is None:  # pragma: no cover - on_files always runs first
        raise Abort("learnpath: internal error: the catalog was not loaded before the pages")
    link = linker(page, files, config)
    if page.file.generated_by:
        generated = _generated_page(page.file.src_uri, _current, link)
        if generated is not None:
            title, body = generated
            # An explicit, escaped title. Left to MkDocs, the title would come
            # from the <h1> with its entities intact, and Material's <title>
            # filters it through Jinja's `striptags`, which decodes them: a path
            # titled "</title><script>..." would run as a script.
            page.meta["title"] = render.esc(title)
            return body
    expanded = expand_markers(markdown, page, config, _current, link)
    topic_id = _topic_of(page)
    if topic_id in _current.index.topics:
        expanded = _after_title(expanded, render.render_topic_relations(_current.index, topic_id, link))
    return expanded


def _after_title(markdown: str, block: str) -> str:
    """``block`` inserted after the page's first ``# `` heading (at the top when it has none)."""
    if not block:
        return markdown
    lines = markdown.split("\n")
    for number, line in outside_fences(markdown):  # a "# comment" in a code block is no title
        if line.startswith("# "):
            return "\n".join(lines[:number] + [block] + lines[number:])
    return block + "\n" + markdown

