"""Helpers for the site tests: a small catalog, throw-away MkDocs projects, a link checker.

A module with its own name rather than ``conftest``, so ``from site_helpers
import ...`` cannot pick up another directory's conftest. The small catalog is
plain data, so each test can break exactly one thing; ``make_project`` writes
it with the real ``mkdocs.yml`` (nav adjusted) into a temporary directory, so
the hook runs the way ``mkdocs build`` runs it.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "tools" / "learnpath" / "site" / "hook.py"


def small_catalog_data() -> dict[str, Any]:
    """Two topics, four resources, one path of two stages with an optional step."""

    def resource(rid: str, **extra: Any) -> dict[str, Any]:
        base = {
            "id": rid,
            "title": f"Title of {rid}",
            "url": f"https://example.org/{rid}",
            "kind": "article",
            "authors": ["Ada Example"],
            "topics": ["attention"],
            "level": "beginner",
            "minutes": 30,
            "free": True,
            "description": f"A description of {rid} that is long enough to pass.",
            "added": "2026-11-22",
        }
        base.update(extra)
        return base

    return {
        "schema_version": 1,
        "topics": [
            {"id": "attention", "title": "Attention", "summary": "How a decoder looks back at the input."},
            {"id": "transformer", "title": "The Transformer", "summary": "Attention without recurrence, stacked."},
        ],
        "resources": [
            resource("alpha", kind="video", authors=["Ada Example", "Bo Sample"], minutes=45, year=2017),
            resource("beta", kind="paper", level="advanced", minutes=90, free=False,
                     topics=["transformer", "attention"], prerequisites=["alpha"]),
            resource("gamma", kind="tutorial", level="intermediate", minutes=15, topics=["transformer"]),
            resource("delta", kind="book", minutes=600, topics=["transformer"]),
        ],
        "paths": [
            {
                "id": "mini",
                "title": "A mini path",
                "summary": "A short path used by the tests.",
                "stages": [
                    {"id": "first", "title": "First things", "goal": "You can explain attention.",
                     "steps": [{"resource": "alpha", "why": "It shows the idea in pictures."},
                               {"resource": "gamma", "optional": True}]},
                    {"id": "second", "title": "Second things", "goal": "You can read the paper.",
                     "steps": [{"resource": "beta"}]},
                ],
            }
        ],
    }


class _NoAliases(yaml.SafeDumper):
    """The loader refuses YAML aliases, so shared lists must be written out in full."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _ConfigLoader(yaml.SafeLoader):
    """mkdocs.yml as plain data: an ``!ENV [NAME, default]`` setting reads as its default."""


def _env_default(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    values = loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else [None]
    return values[-1] if len(values) > 1 else None


_ConfigLoader.add_constructor("!ENV", _env_default)


def repository_config() -> dict[str, Any]:
    """The repository's mkdocs.yml, with each environment-dependent setting at its default."""
    return yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader


def dump_catalog(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=False, allow_unicode=True)


def topic_markdown(title: str) -> str:
    return f"# {title}\n\nA few words on the idea.\n\n<!-- learnpath:topic-resources -->\n"


def make_project(
    root: Path,
    data: dict[str, Any] | str,
    *,
    topic_pages: dict[str, str] | None = None,
    index: str = "# Home\n\n<!-- learnpath:path-list -->\n",
    nav_paths: list[str] | None = None,
) -> Path:
    """Write an MkDocs project into ``root`` and return its mkdocs.yml.

    ``data`` is the catalog (a dict, dumped as YAML, or raw YAML text).
    The config is the repository's own mkdocs.yml with the nav and the file
    locations adjusted; ``nav_paths`` overrides the path pages it lists.
    """
    catalog_text = data if isinstance(data, str) else dump_catalog(data)
    (root / "resources.yaml").write_text(catalog_text, encoding="utf-8")
    content = root / "content"
    (content / "topics").mkdir(parents=True)
    (content / "stylesheets").mkdir()
    shutil.copy(REPO / "content" / "stylesheets" / "extra.css", content / "stylesheets" / "extra.css")
    shutil.copytree(REPO / "content" / "javascripts", content / "javascripts")
    (content / "index.md").write_text(index, encoding="utf-8")
    parsed = data if isinstance(data, dict) else {}
    if topic_pages is None:
        topic_pages = {t["id"]: topic_markdown(t["title"]) for t in parsed.get("topics", [])}
    for topic_id, text in topic_pages.items():
        (content / "topics" / f"{topic_id}.md").write_text(text, encoding="utf-8")
    if nav_paths is None:
        nav_paths = [f"paths/{p['id']}.md" for p in parsed.get("paths", [])]

    config = copy.deepcopy(repository_config())
    config["nav"] = [
        {"Home": "index.md"},
        {"Paths": nav_paths},
        {"Topics": [f"topics/{t}.md" for t in topic_pages]},
        {"Catalog": "catalog.md"},
        {"Link health": "link-health.md"},
    ]
    config["hooks"] = [str(HOOK)]
    config["watch"] = []
    config_file = root / "mkdocs.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return config_file


def mkdocs_build(project: Path, site: Path, *, timeout: float = 300,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``project`` into ``site`` in a child process, as the CLI runs it."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir", str(site)],
        cwd=project, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})},
    )


def broken_internal_links(site: Path) -> tuple[list[str], int]:
    """Relative links (and their #anchors) in the built pages that lead nowhere, and how many were checked.

    The cards are raw HTML, which MkDocs' own link validation does not see.
    """
    broken, checked = [], 0
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":  # Material links it from the site root ("/")
            continue
        html = page.read_text(encoding="utf-8")
        for target_url, anchor in re.findall(r'<a (?:class="[^"]*" )?href="([^"#:/][^"#:]*)(?:#([^"]*))?"', html):
            checked += 1
            target = (page.parent / target_url).resolve()
            target = target / "index.html" if target.is_dir() else target
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {target_url} does not exist")
            elif anchor and f'id="{anchor}"' not in target.read_text(encoding="utf-8"):
                broken.append(f"{page.relative_to(site)}: no #{anchor} in {target_url}")
    return broken, checked


# --------------------------------------------------------------------------- #
# A link checker history, as `learnpath check-links` writes it
# --------------------------------------------------------------------------- #

CHECKED = "2026-11-20T03:00:00Z"
SNAPSHOT = "https://web.archive.org/web/20240101000000/https://example.org/beta"


def history_entry(url: str, verdict: str, *, final_url: str | None = None, failures: int = 0,
                  confirmed: bool = False, snapshot: str | None = None, checked: str = CHECKED) -> dict[str, Any]:
    """One entry as `learnpath check-links` writes it; ``confirmed`` is the checker's decision."""
    return {
        "last": {"url": url, "verdict": verdict, "status": 200 if verdict in ("ok", "redirected") else 404,
                 "final_url": final_url, "elapsed": 0.1, "attempts": 1, "explanation": "", "suggestion": "",
                 "confirmed": confirmed, "redirects": []},
        "last_checked": checked,
        "consecutive_failures": failures,
        "first_failure": "2026-11-18T03:00:00Z" if failures else None,
        "last_counted_failure": checked if failures else None,
        "snapshot": snapshot,
        "snapshot_checked": checked if snapshot else None,
    }


def small_history() -> dict[str, Any]:
    """For the small catalog: alpha verified, beta confirmed broken with a snapshot, gamma moved,
    delta failed once (unconfirmed: no claim)."""
    return {
        "version": 1,
        "tool": "learnpath check-links",
        "saved": "2026-11-20T03:05:00Z",
        "entries": {
            "https://example.org/alpha": history_entry("https://example.org/alpha", "ok"),
            "https://example.org/beta": history_entry("https://example.org/beta", "broken", failures=2, confirmed=True,
                                                      snapshot=SNAPSHOT),
            "https://example.org/gamma": history_entry("https://example.org/gamma", "redirected",
                                                       final_url="https://example.com/new-gamma"),
            "https://example.org/delta": history_entry("https://example.org/delta", "broken", failures=1),
        },
    }
