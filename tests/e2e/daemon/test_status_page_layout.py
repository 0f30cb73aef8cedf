"""The status page and a package page in real headless Chromium at 1280x900 and 390x844, over
a real ledger of 10 packages on 3 environments (``page_support``): every environment column
fits, nothing is wider than the screen, frozen / failed / held / orphaned cells say what runs,
the package page has its revisions and every step's correlation ID, hostile names stay text,
and a refresh in place keeps the scroll position. The screenshots in ``docs/`` come from here.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from faas_gitops.daemon.server import LoopState
from faas_gitops.daemon.status_source import PageSources, ledger_status
from faas_gitops.daemon.statuspage import StatusSnapshot
from faas_gitops.records import SyncSummary
from tests.e2e.daemon.page_support import (
    ENVIRONMENTS,
    HOSTILE,
    PACKAGES,
    fill_ledger,
    revision,
    serve_page,
)

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[3] / "docs"
WIDE = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: Elements whose box reaches past the viewport's edges (none may), and the page's scroll width.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 || box.left < -0.5)
      wide.push(`${el.tagName}.${el.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
}"""


@pytest.fixture
def page_url(tmp_path: Path) -> Any:
    fill_ledger(tmp_path)
    with serve_page(tmp_path) as url:
        yield url


def opened(browser: Any, url: str, viewport: dict[str, int]) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport=viewport)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: problems.append("dialog: " + dialog.message))
    answer = page.goto(url)
    assert answer is not None
    assert answer.status == 200
    return page, problems


def assert_fits(page: Any) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["wide"] == []
    assert found["scrollWidth"] <= found["width"]


@pytest.mark.parametrize(
    ("viewport", "shot"), [(WIDE, "status-page.png"), (PHONE, "status-page-phone.png")]
)
def test_ten_packages_on_three_environments_fit_the_screen_without_sideways_scrolling(
    browser: Any, page_url: str, viewport: dict[str, int], shot: str
) -> None:
    page, problems = opened(browser, page_url + "/", viewport)
    assert page.locator("#packages tbody tr").count() == len(PACKAGES)
    assert_fits(page)
    if viewport is WIDE:  # every environment column is on screen, side by side
        heads = page.locator("#packages thead th.env")
        assert heads.count() == len(ENVIRONMENTS)
        for i in range(heads.count()):
            box = heads.nth(i).bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= viewport["width"]
    else:  # a card per package, each environment labelled inside it
        cell = page.locator('#packages tr[data-path="team-chat/service"] td[data-label="qa"]')
        label = cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert label == '"qa"'
    assert problems == []
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / shot), full_page=viewport is not WIDE)


def test_frozen_failed_held_and_orphaned_cells_say_what_runs_and_what_git_wants(
    browser: Any, page_url: str
) -> None:
    page, problems = opened(browser, page_url + "/", WIDE)

    def cell(path: str, env: str) -> str:
        found = page.locator(f'#packages tr[data-path="{path}"] td[data-label="{env}"] .line')
        return " ".join(found.inner_text().split())

    old, new = revision(1), revision(2)
    assert cell("team-chat/service", "production") == (
        f"{old} frozen → {new} frozen in faas-gitops.yaml"
    )
    assert cell("team-geo/service", "staging") == f"{old} ✕ failed → {new}"
    assert cell("team-presence/service", "qa").startswith(f"{old} held → {new}")
    assert cell("team-billing/service", "production").startswith(f"{old} orphaned")
    assert cell("team-audit/service", "staging") == f"{new} in sync"
    geo = page.locator('#packages tr[data-path="team-geo/service"]')
    assert "failing" in (geo.get_attribute("class") or "")
    assert "FAAS-1012" in geo.inner_text()
    production = page.locator("#packages thead th.env").first.inner_text()
    assert "498765" in production
    assert "frozen" in production
    assert problems == []


def test_the_package_page_shows_revisions_and_each_deployment_step_and_fits(
    browser: Any, page_url: str
) -> None:
    page, problems = opened(browser, page_url + "/", WIDE)
    page.locator('#packages tr[data-path="team-audit/service"] a.path').click()
    page.wait_for_selector("#package")
    about = page.locator("#about").inner_text()
    assert "team-audit-functions" in about
    assert "pkg-05" in about
    assert revision(2) in page.locator("#revisions").inner_text()
    staging = page.locator('table.deployments[data-environment="staging"]').inner_text()
    assert "corr-create-staging-05" in staging
    assert "corr-running-staging-05" in staging
    assert "webhook" in staging
    assert_fits(page)
    page.screenshot(path=str(DOCS / "package-page.png"), full_page=False)
    page.set_viewport_size(PHONE)
    assert_fits(page)
    assert problems == []


@pytest.fixture
def hostile_page_url(tmp_path: Path) -> Any:
    fill_ledger(tmp_path, hostile=True)
    with serve_page(tmp_path) as url:
        yield url


def test_hostile_names_stay_text_and_unknown_paths_are_404(
    browser: Any, hostile_page_url: str
) -> None:
    page_url = hostile_page_url
    page, problems = opened(browser, page_url + "/", PHONE)
    row = page.locator("#packages tbody tr").filter(has_text=HOSTILE)
    assert row.count() == 1
    row.locator("a.path").click()
    page.wait_for_selector("#package")
    assert HOSTILE in page.locator("h1").inner_text()
    assert page.locator("img").count() == 0
    for bad in ("/packages/..%2F..%2Fetc%2Fpasswd", "/packages/../../etc/passwd",
                "/packages/team-chat", "/packages/"):  # fmt: skip
        answer = httpx.get(page_url + bad)
        assert answer.status_code == 404, bad
        assert "passwd" not in answer.text
    assert problems == []


def test_a_refresh_in_place_keeps_the_scroll_position(browser: Any, tmp_path: Path) -> None:
    fill_ledger(tmp_path)
    state = LoopState(unready_after=3, stuck_after=60.0, synced_once=True)
    current: list[StatusSnapshot] = [ledger_status(PageSources(tmp_path), state, ref="main")]
    with serve_page(tmp_path, lambda: current[0]) as url:
        page, problems = opened(browser, url + "/", PHONE)
        page.evaluate("window.scrollTo(0, 1500)")
        page.wait_for_timeout(200)
        before = page.evaluate("window.scrollY")
        assert before == 1500
        newer = "c0ffee" + "1" * 34
        now = datetime.now(UTC)
        extra = SyncSummary(99, newer, "main", "poll", False, now, now, {"total": 0}, None)
        current[0] = dataclasses.replace(current[0], syncs=[extra, *current[0].syncs])
        page.wait_for_function(
            "sha => document.querySelector('#syncs')?.innerText.includes(sha)",
            arg=newer[:12],
            timeout=20_000,
        )
        assert page.evaluate("window.scrollY") == before
        assert problems == []


@pytest.mark.parametrize("viewport", [WIDE, PHONE])
def test_dark_mode_stays_and_a_screen_reader_gets_headers_for_every_cell(
    browser: Any, page_url: str, viewport: dict[str, int]
) -> None:
    page = browser.new_page(viewport=viewport, color_scheme="dark")
    answer = page.goto(page_url + "/")
    assert answer is not None
    assert answer.status == 200
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(part) for part in background[4:-1].split(","))
    assert max(red, green, blue) < 64, background  # dark, not the light theme's near-white
    assert_fits(page)
    table = page.locator("#packages")
    assert table.locator("thead th[scope=col]").count() == 1 + len(ENVIRONMENTS)
    assert table.locator("tbody th[scope=row]").count() == len(PACKAGES)
    # Stacked on a phone, every cell still names its environment (the ARIA roles stay).
    labels = table.locator("tbody td.env").evaluate_all("cells => cells.map(c => c.dataset.label)")
    assert set(labels) == set(ENVIRONMENTS)
    assert table.locator("tbody td.env[role=cell]").count() == len(labels)
