"""Fixtures for the site tests: the small catalog as data, and the real site built once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from site_helpers import REPO, mkdocs_build, small_catalog_data


@pytest.fixture
def catalog_data() -> dict[str, Any]:
    return small_catalog_data()


@pytest.fixture(scope="session")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` of the repository's site, as CI runs it, into a temporary dir."""
    site = tmp_path_factory.mktemp("real-site") / "site"
    result = mkdocs_build(REPO, site)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return site


@pytest.fixture(scope="session")
def health_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small catalog's site, built with a fixture link-check history (see site_helpers.small_history)."""
    import json

    from site_helpers import make_project, small_history

    root = tmp_path_factory.mktemp("health-site")
    data = small_catalog_data()
    data["paths"][0]["stages"][0]["check"] = [
        {"question": "What does attention let a decoder do?", "answer": "Look back at every input position."},
        {"question": "Why is a fixed-length summary a problem?", "answer": "Long inputs do not fit in it."},
    ]
    make_project(root, data)
    (root / ".linkcheck").mkdir()
    (root / ".linkcheck" / "history.json").write_text(json.dumps(small_history()), encoding="utf-8")
    site = root / "site"
    result = mkdocs_build(root, site)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return site


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (see browser.py); each test checks it left no off-host request."""
    from browser import Browser, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = Browser(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(autouse=True)
def _fresh_browser_state(request: pytest.FixtureRequest):
    """Each browser test starts clean, even after one that failed before its ``browser.check()``."""
    if "browser" in request.fixturenames:
        request.getfixturevalue("browser").reset()
    yield


@pytest.fixture(scope="module")
def real_url(real_site: Path):
    from browser import serve

    with serve(real_site) as url:
        yield url


@pytest.fixture(scope="module")
def health_url(health_site: Path):
    from browser import serve

    with serve(health_site) as url:
        yield url
