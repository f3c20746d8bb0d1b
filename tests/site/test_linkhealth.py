"""The link checker's history, read for the site: what each card may claim, and nothing from a bad file."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import markdown
import pytest

from site_helpers import SNAPSHOT, history_entry, small_history

from learnpath.catalog.schema import Catalog
from learnpath.linkcheck.verdicts import Verdict
from learnpath.site import render
from learnpath.site.linkhealth import Health, HistoryUnusable, read_history


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "history.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_no_history_file_means_no_claims(tmp_path: Path) -> None:
    assert read_history(tmp_path / "missing.json") is None


def test_each_verdict_becomes_what_the_card_may_say(tmp_path: Path) -> None:
    health = read_history(write(tmp_path, small_history()))
    assert health is not None
    assert health.saved == dt.datetime(2026, 11, 20, 3, 5, tzinfo=dt.timezone.utc)
    alpha = health.status("https://example.org/alpha")
    assert alpha.health is Health.verified and alpha.checked == dt.datetime(2026, 11, 20, 3, tzinfo=dt.timezone.utc)
    beta = health.status("https://example.org/beta")
    assert beta.health is Health.broken and beta.snapshot == SNAPSHOT
    assert beta.broken_since == dt.datetime(2026, 11, 18, 3, tzinfo=dt.timezone.utc)
    gamma = health.status("https://example.org/gamma")
    assert gamma.health is Health.moved and gamma.new_url == "https://example.com/new-gamma"
    # One failure is not yet a broken link (the checker confirms on the second run): no claim.
    assert health.status("https://example.org/delta") is None
    assert health.links["https://example.org/delta"].health is Health.unknown
    assert health.status("https://example.org/never-checked") is None
    assert dict(health.counts()) == {Verdict.broken: 2, Verdict.redirected: 1, Verdict.ok: 1}


@pytest.mark.parametrize("verdict", ["blocked", "transient"])
def test_unverifiable_results_claim_nothing(tmp_path: Path, verdict: str) -> None:
    url = "https://example.org/alpha"
    data = {"version": 1, "entries": {url: history_entry(url, verdict, failures=3, confirmed=True)}}
    assert read_history(write(tmp_path, data)).status(url) is None


@pytest.mark.parametrize(("failures", "confirmed"), [(1, True), (5, False)])
def test_broken_is_the_checkers_decision_not_the_sites(tmp_path: Path, failures: int, confirmed: bool) -> None:
    """A --strict run confirms after one failure, a --confirm-runs 6 run not after five: the site
    shows what the run that wrote the history decided, whatever the counts."""
    url = "https://example.org/alpha"
    data = {"version": 1, "entries": {url: history_entry(url, "broken", failures=failures, confirmed=confirmed)}}
    status = read_history(write(tmp_path, data)).links[url]
    assert status.health is (Health.broken if confirmed else Health.unknown)


def test_hostile_addresses_in_the_history_are_dropped(tmp_path: Path) -> None:
    """A history is a file anyone could edit: a javascript: 'snapshot' or redirect target never becomes a link."""
    data = small_history()
    data["entries"]["https://example.org/beta"]["snapshot"] = "javascript:alert(1)"
    data["entries"]["https://example.org/gamma"]["last"]["final_url"] = "data:text/html,<script>alert(1)</script>"
    health = read_history(write(tmp_path, data))
    beta = health.status("https://example.org/beta")
    assert beta.health is Health.broken and beta.snapshot is None
    # A "redirect" to nowhere usable is only a verified link.
    assert health.status("https://example.org/gamma").health is Health.verified


@pytest.mark.parametrize("address", ["https://\u0430pple.com/", "https://@example.org/x", "https://example.org/a b"])
def test_addresses_the_catalog_would_refuse_are_not_shown(tmp_path: Path, address: str) -> None:
    """The history's addresses pass the catalog's own URL rule: no look-alike host (a Cyrillic
    'a' in a Latin name), no empty credentials, no white space."""
    data = small_history()
    data["entries"]["https://example.org/gamma"]["last"]["final_url"] = address
    data["entries"]["https://example.org/beta"]["snapshot"] = address
    health = read_history(write(tmp_path, data))
    assert health.status("https://example.org/gamma").new_url is None
    assert health.status("https://example.org/beta").snapshot is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("{not json", "not valid JSON", id="not-json"),
        pytest.param({"name": "some other tool"}, "not a link-check history", id="foreign"),
        pytest.param({"version": 7, "entries": {}}, "version 7", id="future-version"),
        pytest.param({"version": 1, "entries": []}, '"entries" must be an object', id="entries-list"),
        pytest.param("[" * 100_000 + "]" * 100_000, "damaged", id="nested-too-deep"),
        pytest.param(b"\xff\xfe{}", "cannot read", id="not-utf8"),
    ],
)
def test_a_bad_history_is_refused_with_a_reason(tmp_path: Path, content: Any, expected: str) -> None:
    path = tmp_path / "history.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write(tmp_path, content)
    with pytest.raises(HistoryUnusable) as caught:
        read_history(path)
    message = str(caught.value)
    assert expected in message and str(path) in message
    assert "learnpath check-links" in message  # how to get a good one


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param({"verdict": "fine"}, id="unknown-verdict"),
        pytest.param({"last_checked": 12}, id="number-for-a-date"),
        pytest.param({"snapshot": ["javascript:alert(1)"]}, id="list-for-a-snapshot"),
        pytest.param({"url": "https://example.org/other"}, id="result-for-another-url"),
    ],
)
def test_a_damaged_entry_is_left_out_with_a_warning(tmp_path: Path, damage: dict[str, Any]) -> None:
    """The checker's loader drops a damaged entry and says so; the site claims nothing about that URL
    and keeps the rest."""
    data = small_history()
    entry = data["entries"]["https://example.org/alpha"]
    for key, value in damage.items():
        (entry["last"] if key in ("verdict", "url") else entry)[key] = value
    health = read_history(write(tmp_path, data))
    assert health.status("https://example.org/alpha") is None
    assert health.status("https://example.org/beta").health is Health.broken  # the rest still counts
    assert len(health.warnings) == 1 and "https://example.org/alpha is damaged" in health.warnings[0]


# --------------------------------------------------------------------------- #
# The card badge
# --------------------------------------------------------------------------- #


def index_with_history(tmp_path: Path, catalog_data: dict[str, Any], history: dict[str, Any]) -> render.SiteIndex:
    return render.SiteIndex(Catalog.model_validate(catalog_data), health=read_history(write(tmp_path, history)))


def link(src: str, anchor: str | None) -> str:
    return f"/{src}" + (f"#{anchor}" if anchor else "")


def test_badges_on_the_cards(tmp_path: Path, catalog_data: dict[str, Any]) -> None:
    index = index_with_history(tmp_path, catalog_data, small_history())
    alpha = render.resource_card(index.resources["alpha"], index, link)
    assert ('<p class="lp-health lp-health--ok" data-search-exclude>Link checked '
            '<time datetime="2026-11-20T03:00:00Z" data-relative>on 20 Nov 2026</time>.</p>') in alpha

    beta = render.resource_card(index.resources["beta"], index, link)
    assert "lp-card--broken" in beta
    # The archived copy is the link to use: the title leads there, and the badge names the dead address.
    assert f'<h3 class="lp-card__title" id="beta"><a href="{SNAPSHOT}" rel="noopener">Title of beta</a></h3>' in beta
    assert "<strong>Broken link</strong> (broken since 18 Nov 2026" in beta
    assert 'the original address, <span class="lp-url">https://example.org/beta</span>, no longer works.' in beta
    assert f'Read the <a href="{SNAPSHOT}" rel="noopener">archived copy</a> instead.' in beta

    gamma = render.resource_card(index.resources["gamma"], index, link)
    assert ('It now redirects permanently to <a class="lp-url" href="https://example.com/new-gamma" '
            'rel="noopener">https://example.com/new-gamma</a>.') in gamma
    assert '<a href="https://example.org/gamma" rel="noopener">Title of gamma</a>' in gamma  # still the catalog's

    delta = render.resource_card(index.resources["delta"], index, link)
    assert "lp-health" not in delta  # failed once: unconfirmed, so the card claims nothing


def test_broken_without_a_snapshot_keeps_the_link_and_says_so(tmp_path: Path, catalog_data: dict[str, Any]) -> None:
    history = small_history()
    history["entries"]["https://example.org/beta"]["snapshot"] = None
    index = index_with_history(tmp_path, catalog_data, history)
    beta = render.resource_card(index.resources["beta"], index, link)
    assert '<a href="https://example.org/beta" rel="noopener">Title of beta</a>' in beta
    assert "No archived copy is known." in beta


def test_history_text_is_escaped(tmp_path: Path, catalog_data: dict[str, Any]) -> None:
    """A URL with markup in it (valid http, hostile text) is shown as text, never as markup."""
    target = 'https://example.com/x"><script>alert(1)</script>'
    history = small_history()
    history["entries"]["https://example.org/gamma"]["last"]["final_url"] = target.replace(" ", "")
    index = index_with_history(tmp_path, catalog_data, history)
    gamma = markdown.markdown(render.resource_card(index.resources["gamma"], index, link), extensions=["md_in_html"])
    assert "<script>" not in gamma
    assert "&lt;script&gt;" in gamma


def test_without_history_the_cards_are_as_before(catalog_data: dict[str, Any]) -> None:
    index = render.SiteIndex(Catalog.model_validate(catalog_data))
    for resource in index.catalog.resources:
        card = render.resource_card(resource, index, link)
        assert "lp-health" not in card and "<time" not in card


def test_link_health_page(tmp_path: Path, catalog_data: dict[str, Any]) -> None:
    index = index_with_history(tmp_path, catalog_data, small_history())
    page = render.render_link_health_page(index, link, ".linkcheck/history.json")
    assert '<time datetime="2026-11-20T03:05:00Z" data-relative>on 20 Nov 2026</time>' in page
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td></tr>", page)
    assert rows == [("Broken", "2"), ("Permanently redirected", "1"), ("OK", "1")]  # most actionable first
    assert '<li><a href="/catalog.md#beta">Title of beta</a>: broken</li>' in page
    assert '<li><a href="/catalog.md#gamma">Title of gamma</a>: moved permanently</li>' in page
    assert "delta" not in page  # unconfirmed


def test_link_health_page_without_history_claims_nothing(catalog_data: dict[str, Any]) -> None:
    index = render.SiteIndex(Catalog.model_validate(catalog_data))
    page = render.render_link_health_page(index, link, ".linkcheck/history.json")
    assert "makes no claim about its links" in page and "<table" not in page and "<time" not in page
