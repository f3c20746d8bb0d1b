"""The built site in a real browser: Debian's Chromium driven by Playwright, fully offline.

Each test ends with ``browser.check()``: no request left 127.0.0.1 (or the
file system), and no page logged an error. See browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from browser import FULL_STORAGE, REFUSE_STORAGE, TIMEOUT_MS

pytestmark = pytest.mark.browser

MAIN = "paths/transformers-from-scratch.html"
WEEKEND = "paths/weekend.html"
KEY = "learnpath.progress.v1"


def done_boxes(page):
    return page.locator("input.lp-done__box")


def required_ids(page) -> list[str]:
    """The main progress panel's required steps, in order (each resource once)."""
    steps = json.loads(page.locator("section.lp-progress[data-steps]").first.get_attribute("data-steps"))
    return [s["id"] for s in steps if not s["optional"]]


def mark(page, resource_id: str) -> None:
    box = page.locator(f"input.lp-done__box[value='{resource_id}']").first
    box.check()
    assert box.is_checked()


def status(page) -> str:
    return page.locator("section.lp-progress[data-steps] .lp-progress__status").first.inner_text()


# --------------------------------------------------------------------------- #
# Cards, palette, search (the basics still work)
# --------------------------------------------------------------------------- #


def test_path_page_cards_palette_and_search_landing_on_a_card(browser, real_url: str) -> None:
    page = browser.page()
    page.goto(real_url + MAIN, wait_until="load")
    cards = page.locator("article.lp-card")
    assert cards.count() > 0
    title_link = cards.first.locator(".lp-card__title a")
    assert title_link.get_attribute("href").startswith("http") and title_link.get_attribute("rel") == "noopener"
    assert cards.first.locator(".lp-badge").first.is_visible()

    scheme = page.locator("body").get_attribute("data-md-color-scheme")
    page.locator("label.md-header__button[for^='__palette']:visible").first.click()
    page.wait_for_function("s => document.body.getAttribute('data-md-color-scheme') !== s", arg=scheme)

    # Search for a card's title: the hit reads as the title, and leads to that card.
    page.locator("label.md-header__button[for='__search']:visible, .md-search__input").first.click()
    # Typed key by key: Material searches on keyboard input, which fill() does not send.
    page.locator("input.md-search__input").press_sequentially("Illustrated Word2vec", delay=20)
    hit = page.locator(".md-search-result__item a[href*='#illustrated-word2vec']").first
    hit.wait_for(state="visible")
    assert "The Illustrated Word2vec" in hit.inner_text()
    assert not re.search(r"\d(article|video|paper|tutorial|course)", hit.inner_text())  # no badge soup
    hit.click()
    page.wait_for_url(re.compile(r"#illustrated-word2vec$"))
    heading = page.locator("h3#illustrated-word2vec")
    assert heading.evaluate("h => h.matches(':target')")
    page.wait_for_function("() => { const r = document.getElementById('illustrated-word2vec')"
                           ".getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")
    browser.check()


# --------------------------------------------------------------------------- #
# Progress
# --------------------------------------------------------------------------- #


def test_mark_five_steps_reload_counters_map_and_continue(browser, real_url: str) -> None:
    """The issue's learner: five steps done on the main path, back later, everything where they left it."""
    context = browser.context()
    page = context.new_page()
    page.goto(real_url + MAIN, wait_until="load")
    required = required_ids(page)
    assert status(page).startswith(f"0 of {len(required)} required steps done")
    for resource_id in required[:5]:
        mark(page, resource_id)

    page.reload(wait_until="load")  # "closes the browser and comes back": storage is the context's
    for resource_id in required[:5]:
        assert page.locator(f"input.lp-done__box[value='{resource_id}']").first.is_checked()
    assert status(page).startswith(f"5 of {len(required)} required steps done")
    assert page.locator("progress.lp-progress__bar").first.evaluate("p => [p.value, p.max]") == [5, len(required)]
    assert page.locator("article.lp-card--done").count() >= 5

    # The first stage has both its required steps done: its map node says so (both layouts' nodes).
    node = page.locator("svg.lp-map__svg--wide a.lp-map__node").first
    assert "lp-map__node--done" in node.get_attribute("class")
    assert node.locator(".lp-map__state").text_content() == "Done"
    assert node.get_attribute("aria-label").endswith(", done")  # what it shows, its name says
    first_stage = page.locator(".lp-stage__progress").first.inner_text()
    assert re.match(r"· (\d+) of \1 steps? done$", first_stage.strip()), first_stage

    # "Continue" goes to the first required step not done.
    cont = page.locator(".lp-progress__continue a").first
    assert cont.get_attribute("href") == f"#{required[5]}"
    cont.click()
    page.wait_for_url(re.compile(rf"#{required[5]}$"))

    # The home page's path card shows the same progress and the same next step.
    page.goto(real_url, wait_until="load")
    card = page.locator("article.lp-pathcard[data-path='transformers-from-scratch']")
    assert card.locator(".lp-progress__status").inner_text().startswith(f"5 of {len(required)} required steps")
    assert card.locator(".lp-progress__continue a").get_attribute("href") == f"{MAIN}#{required[5]}"
    browser.check()


def test_a_resource_done_on_one_path_is_done_everywhere(browser, real_url: str) -> None:
    page = browser.page()
    page.goto(real_url + MAIN, wait_until="load")
    mark(page, "illustrated-word2vec")  # on both paths, and on a topic page and the catalog
    for url in (WEEKEND, "catalog.html", "topics/embeddings.html"):
        page.goto(real_url + url, wait_until="load")
        assert page.locator("input.lp-done__box[value='illustrated-word2vec']").first.is_checked(), url
    page.goto(real_url + WEEKEND, wait_until="load")
    assert status(page).startswith("1 of ")
    browser.check()


def test_export_reset_and_import_round_trip(browser, real_url: str, tmp_path: Path) -> None:
    context = browser.context(downloads=True)
    page = context.new_page()
    page.goto(real_url + MAIN, wait_until="load")
    ids = required_ids(page)[:3]
    for resource_id in ids:
        mark(page, resource_id)

    with page.expect_download() as download:
        page.locator(".lp-progress__export").click()
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    data = json.loads(exported.read_text())
    assert data["format"] == "learn-transformers-progress" and data["version"] == 1
    assert sorted(data["done"]) == sorted(ids)
    assert "Exported 3 steps" in page.locator(".lp-progress__message").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".lp-progress__reset").click()
    assert status(page).startswith("0 of ")
    assert page.evaluate(f"localStorage.getItem('{KEY}')") is None

    page.locator("input.lp-progress__file").set_input_files(str(exported))
    page.wait_for_function("() => document.querySelector('.lp-progress__message').textContent.includes('Imported')")
    assert "3 steps marked done, 3 of them new here" in page.locator(".lp-progress__message").inner_text()
    assert status(page).startswith("3 of ")

    # A file that is not ours, or not JSON, changes nothing and says why.
    stored = page.evaluate(f"localStorage.getItem('{KEY}')")
    for name, content, reason in [
        ("other.json", '{"format": "someone-else", "done": {}}', "not written by this site"),
        ("notes.json", "these are my notes", "not JSON"),
        ("future.json", '{"format": "learn-transformers-progress", "version": 9, "done": {}}', "version 9"),
        ("evil.json", '{"format": "learn-transformers-progress", "version": 1, "done": {"<img>": "x"}}',
         "not a resource id"),
    ]:
        (tmp_path / name).write_text(content)
        page.locator("input.lp-progress__file").set_input_files(str(tmp_path / name))
        page.wait_for_function(
            "n => document.querySelector('.lp-progress__message').textContent.includes(n)", arg=name)
        text = page.locator(".lp-progress__message").inner_text()
        assert reason in text and "Nothing was changed." in text, text
        assert page.evaluate(f"localStorage.getItem('{KEY}')") == stored
    browser.check()


def test_a_corrupt_stored_value_is_reported_and_left_alone(browser, real_url: str) -> None:
    page = browser.page(init_script=f"if (!sessionStorage.seeded) {{ localStorage.setItem('{KEY}', '{{not json');"
                                    "sessionStorage.seeded = '1'; }")
    page.goto(real_url + MAIN, wait_until="load")
    message = page.locator(".lp-progress__message").inner_text()
    assert "damaged" in message and "nothing was changed" in message
    box = done_boxes(page).first
    assert box.is_disabled()
    assert "damaged" in page.locator(".lp-done__why").first.inner_text()
    assert page.evaluate(f"localStorage.getItem('{KEY}')") == "{not json"  # not overwritten
    # Reset (confirmed) clears it and the controls come back.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".lp-progress__reset").click()
    assert not box.is_disabled()
    mark(page, box.get_attribute("value"))
    browser.check()


@pytest.mark.parametrize(("init_script", "reason"), [
    pytest.param(REFUSE_STORAGE, "this browser refuses to let the site store data", id="refused"),
    pytest.param(FULL_STORAGE, "this browser's storage for the site is full", id="full"),
])
def test_storage_refused_says_why(browser, real_url: str, init_script: str, reason: str) -> None:
    page = browser.page(init_script=init_script)
    page.goto(real_url + MAIN, wait_until="load")
    assert done_boxes(page).first.is_disabled()
    assert f"(unavailable: {reason}" in page.locator(".lp-done__why").first.inner_text()
    tools = page.locator(".lp-progress--tools .lp-progress__status, section.lp-progress .lp-progress__status")
    assert any(reason in text for text in tools.all_inner_texts())
    # The page still reads perfectly: every card is there with its link.
    assert page.locator("article.lp-card .lp-card__title a").count() == page.locator("article.lp-card").count() > 40
    # Material's own scripts throw when touching refused storage; ours must not.
    browser.check(ignore_errors_outside="javascripts/")


def test_without_javascript_the_controls_say_why(browser, real_url: str) -> None:
    page = browser.page(script=False)
    page.goto(real_url + MAIN, wait_until="load")
    assert done_boxes(page).first.is_disabled()
    assert page.locator(".lp-done__why").first.inner_text().strip() == "(saving progress needs JavaScript)"
    assert "needs JavaScript" in status(page)
    assert page.locator("article.lp-card").count() > 40
    stages = page.locator("h2[id^='stage-']").count()
    assert stages > 1 and page.locator(".lp-map a.lp-map__node:visible").count() == stages  # complete without script
    browser.check()


def test_the_done_box_works_from_the_keyboard(browser, real_url: str) -> None:
    page = browser.page()
    page.goto(real_url + WEEKEND, wait_until="load")
    box = done_boxes(page).first
    box.focus()
    page.keyboard.press("Space")
    assert box.is_checked()
    label = page.locator(f"label[for='{box.get_attribute('id')}']")
    assert label.inner_text().strip() == "Done"  # its accessible name
    label.click()
    assert not box.is_checked()
    browser.check()


# --------------------------------------------------------------------------- #
# The map, the filter
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("width", "layout"), [(1280, "wide"), (390, "narrow")])
def test_map_nodes_link_to_their_stages(browser, real_url: str, width: int, layout: str) -> None:
    page = browser.page(width=width)
    page.goto(real_url + MAIN, wait_until="load")
    nodes = page.locator(f"svg.lp-map__svg--{layout} a.lp-map__node")
    assert nodes.count() == page.locator("h2[id^='stage-']").count() > 3 and nodes.first.is_visible()
    other = "narrow" if layout == "wide" else "wide"
    assert not page.locator(f"svg.lp-map__svg--{other}").is_visible()
    box = page.locator(f"svg.lp-map__svg--{layout}").bounding_box()
    assert box["width"] <= width  # never wider than the screen
    nodes.nth(3).click()
    page.wait_for_url(re.compile(r"#stage-[a-z0-9-]+$"))
    stage = page.url.split("#")[1]
    assert nodes.nth(3).get_attribute("data-stage") == stage.removeprefix("stage-")
    browser.check()


def test_catalog_filter_keeps_its_state_in_the_url_and_says_when_nothing_matches(browser, real_url: str) -> None:
    page = browser.page()
    page.goto(real_url + "catalog.html", wait_until="load")
    total = page.locator("article.lp-card").count()
    # Every resource is free: no "free only" control, since it would change nothing.
    assert page.locator(".lp-filter input[name=free]").count() == 0
    page.locator(".lp-filter select[name=kind]").select_option("paper")
    page.wait_for_url(re.compile(r"\?kind=paper"))
    visible = page.locator("article.lp-card:visible")
    assert 0 < visible.count() < total
    assert set(visible.evaluate_all("cards => cards.map(c => c.dataset.kind)")) == {"paper"}
    # Topic groups left without a card are hidden, headings included.
    for heading in page.locator("h2[id^='topic-']:visible").all():
        group = heading.evaluate_handle("h => h")
        assert group is not None
    shown_headings = page.locator("h2[id^='topic-']:visible").count()
    assert 0 < shown_headings < page.locator("h2[id^='topic-']").count()

    page.reload(wait_until="load")  # the state survives a reload (and a shared link)
    assert page.locator(".lp-filter select[name=kind]").input_value() == "paper"
    assert page.locator("article.lp-card:visible").count() == visible.count()

    page.goto(real_url + "catalog.html?topic=bert&kind=paper", wait_until="load")
    cards = page.locator("article.lp-card:visible")
    assert cards.count() > 0
    assert all("bert" in t.split() for t in cards.evaluate_all("cs => cs.map(c => c.dataset.topics)"))

    page.goto(real_url + "catalog.html?kind=paper&level=beginner&topic=rnn", wait_until="load")
    empty = page.locator(".lp-filter__empty")
    assert empty.is_visible() and "No resources match these filters." in empty.inner_text()
    assert page.locator("h2[id^='topic-']:visible").count() == 0
    empty.locator("button").click()
    assert page.locator("article.lp-card:visible").count() == total
    assert "?" not in page.url
    browser.check()


def test_catalog_filter_not_done_yet(browser, real_url: str) -> None:
    page = browser.page()
    page.goto(real_url + "catalog.html", wait_until="load")
    total = page.locator("article.lp-card").count()
    mark(page, "illustrated-word2vec")
    page.locator(".lp-filter input[name=todo]").check()
    page.wait_for_url(re.compile(r"todo=1"))
    assert page.locator("article.lp-card:visible").count() == total - 1
    assert not page.locator("article.lp-card[data-resource='illustrated-word2vec']").is_visible()
    browser.check()


# --------------------------------------------------------------------------- #
# Link health, from a fixture history
# --------------------------------------------------------------------------- #


def test_link_health_on_cards(browser, health_url: str) -> None:
    page = browser.page()
    page.goto(health_url + "paths/mini.html", wait_until="load")
    alpha = page.locator("article.lp-card[data-resource='alpha'] .lp-health")
    time = alpha.locator("time")
    assert time.get_attribute("datetime") == "2026-11-20T03:00:00Z"
    assert re.fullmatch(r"Link checked (today|yesterday|\d+ days ago|\d+ months ago)\.", alpha.inner_text()), \
        alpha.inner_text()
    assert time.get_attribute("title") == "20 Nov 2026"
    beta = page.locator("article.lp-card[data-resource='beta']")
    assert "Broken link" in beta.locator(".lp-health").inner_text()
    assert beta.locator(".lp-card__title a").get_attribute("href").startswith("https://web.archive.org/web/")
    gamma = page.locator("article.lp-card[data-resource='gamma'] .lp-health")
    assert "redirects permanently to https://example.com/new-gamma" in gamma.inner_text()
    # The check-yourself answers are folded and open on demand.
    question = page.locator("details.lp-check__item").first
    assert not question.locator("p").is_visible()
    question.locator("summary").click()
    assert question.locator("p").is_visible()
    page.goto(health_url + "link-health.html", wait_until="load")
    assert page.locator("table.lp-health-table tbody tr").count() == 3
    browser.check()


# --------------------------------------------------------------------------- #
# From disk: file://, search included
# --------------------------------------------------------------------------- #


def test_the_site_works_from_disk_search_included(browser, real_site: Path) -> None:
    page = browser.page()
    page.goto((real_site / "index.html").as_uri(), wait_until="load")
    page.locator("article.lp-pathcard a").first.click()
    page.wait_for_url(re.compile(r"paths/transformers-from-scratch\.html$"))
    assert page.locator("article.lp-card").count() > 40
    mark(page, required_ids(page)[0])  # localStorage works on file:// in Chromium
    page.locator("label.md-header__button[for='__search']:visible, .md-search__input").first.click()
    page.locator("input.md-search__input").press_sequentially("positional", delay=20)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert results.count() > 0
    browser.check()


# --------------------------------------------------------------------------- #
# Material's instant navigation (off on this site, for file://; the script must follow it when on)
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def instant_url(tmp_path_factory: pytest.TempPathFactory):
    import yaml

    from browser import serve
    from site_helpers import make_project, mkdocs_build, small_catalog_data

    root = tmp_path_factory.mktemp("instant-site")
    (root / "site").mkdir()
    with serve(root / "site") as url:  # serving first: instant navigation needs site_url to be this origin
        config_file = make_project(root, small_catalog_data())
        config = yaml.safe_load(config_file.read_text())
        config["theme"]["features"].append("navigation.instant")
        config["plugins"] = ["search"]  # instant navigation and the offline plugin exclude each other
        config["site_url"] = url
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        result = mkdocs_build(root, root / "site")
        assert result.returncode == 0, result.stdout + result.stderr
        yield url


def test_progress_follows_instant_navigation(browser, instant_url: str) -> None:
    page = browser.page()
    page.goto(instant_url, wait_until="load")
    page.evaluate("window.__sameDocument = true")  # survives only if no full page load happens
    page.locator("article.lp-pathcard h3 a").first.click()
    page.wait_for_url(re.compile(r"/paths/mini/$"))
    page.locator("article.lp-card").first.wait_for()
    assert page.evaluate("window.__sameDocument === true"), "expected an instant (XHR) navigation"
    box = page.locator("input.lp-done__box[value='alpha']")
    box.wait_for()
    page.wait_for_function("() => !document.querySelector(\"input.lp-done__box[value='alpha']\").disabled")
    box.check()
    assert status(page).startswith("1 of 2 required steps done")
    page.locator("nav.md-nav a[href$='catalog/']").first.click()
    page.wait_for_url(re.compile(r"/catalog/$"))
    page.wait_for_function("() => { const b = document.querySelector(\"input.lp-done__box[value='alpha']\");"
                           " return b && b.checked; }")
    assert page.evaluate("window.__sameDocument === true")
    page.locator(".lp-filter select[name=kind]").wait_for()  # the filter set itself up on the new page
    browser.check()
