"""The console's Measure pages in a real browser (Debian's chromium through Playwright): an
experiment started in the console and its results and charts read; the demo's experiment with
its interval bars and uPlot charts; attribution re-read by an htmx picker; a demo shopper found,
what p13n showed them listed, and their decisions previewed without being logged. Screenshots
go to test-artifacts/console/ (two of them, taken on the demo, are docs/console/'s)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from _browser import ARTIFACTS, DEMO_SHOPPER, Console, shot, sign_in

pytestmark = pytest.mark.browser
POINT = {"name": "browser_measure", "contentSchema": {"type": "Recommendations"}, "maxItems": 3}
DECISION = {
    "name": "browser_trending",
    "point": "browser_measure",
    "state": "Live",
    "recommender": "trending",
}


def _docs_shot(page: Any, name: str) -> None:
    """The visible 1280x800 only (README's pictures stay under 200 KB): docs/console/ takes
    `docs-<name>.png` from test-artifacts/console/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"docs-{name}.png"), full_page=False)


def _no_csp_violations(page: Any) -> None:
    bad = [m for m in page.console_messages if "Content Security Policy" in m or "Refused" in m]
    assert bad == [], bad


def _api(console: Console, key: str) -> httpx.Client:
    return httpx.Client(base_url=console.base, headers={"Authorization": f"Bearer {key}"})


def _decide(console: Console, who: str, point: str) -> dict[str, Any]:
    body = {
        "context": {"individualId": who, "channel": "web"},
        "personalizationPoints": [{"name": point}],
    }
    with _api(console, console.public_key) as c:
        r = c.post("/personalization/decisions", json=body)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["personalizations"][0]
    return found


def test_an_experiment_started_in_the_console_counts_its_units_on_its_results_page(
    page: Any, console: Console
) -> None:
    with _api(console, console.admin_key) as c:
        assert c.put(f"/admin/points/{POINT['name']}", json=POINT).status_code in (200, 201)
        assert c.put(f"/admin/decisions/{DECISION['name']}", json=DECISION).status_code in (
            200,
            201,
        )
    page.on("dialog", lambda d: d.accept())
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/experiments:new")
    page.get_by_label("Name").fill("browser_exp")
    page.get_by_label("Point").select_option("browser_measure")
    page.get_by_label("Cohort 2 served by").select_option("recommender")
    page.get_by_label("Cohort 2 decision or recommender").fill("newest")
    page.get_by_role("button", name="Create experiment").click()
    page.wait_for_url(re.compile(r"/console/experiments/browser_exp$"))
    assert page.get_by_test_id("status").inner_text() == "Created"
    page.get_by_role("button", name="Start experiment").click()
    page.wait_for_url(re.compile(r"/console/experiments/browser_exp$"))
    assert page.get_by_test_id("status").inner_text() == "Started"
    visitors = [f"browser-exp-{k}" for k in range(6)]
    for who in visitors:
        _decide(console, who, "browser_measure")
    page.wait_for_timeout(800)  # the log writer's cycle
    page.goto(f"{console.base}/console/experiments")
    units = page.get_by_test_id("units-browser_exp")
    units.get_by_text(re.compile(r"^\d+$")).wait_for()
    assert int(units.inner_text()) == len(visitors)
    page.goto(f"{console.base}/console/experiments/browser_exp")
    page.wait_for_selector("#chart-cumulative .uplot canvas")
    headers = page.locator("figure:has(#chart-cumulative) thead th").all_text_contents()
    assert headers[1:] == ["control", "treatment"]
    health = page.locator("section:has(#health-title) tbody tr")
    assert sum(int(health.nth(k).locator("td").nth(2).inner_text()) for k in range(2)) == len(
        visitors
    )
    _no_csp_violations(page)


def test_the_demo_experiment_shows_intervals_verdict_and_charts(
    page: Any, console: Console
) -> None:
    sign_in(page, console, console.analyst_key)
    page.goto(f"{console.base}/console/experiments/home_recs_revenue_test")
    assert page.get_by_test_id("verdict").inner_text().strip()
    assert page.get_by_test_id("srm").count() == 1
    assert page.locator("figure.intervals svg g[data-cohort=revenue]").count() >= 1
    page.wait_for_selector("#chart-cumulative .uplot canvas")
    page.wait_for_selector("#chart-lift .uplot canvas")
    page.get_by_label("Statistics engine").select_option("frequentist")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"engine=frequentist"))
    assert page.get_by_role("columnheader", name="p-value").count() >= 1
    page.wait_for_selector("#chart-cumulative .uplot canvas")
    _no_csp_violations(page)
    shot(page, "experiment")
    page.locator("#time-title").scroll_into_view_if_needed()
    _docs_shot(page, "experiment-charts")
    page.evaluate("() => window.scrollTo(0, 0)")
    _docs_shot(page, "experiment")


def test_attribution_is_re_read_when_a_picker_changes(page: Any, console: Console) -> None:
    sign_in(page, console, console.analyst_key)
    page.goto(f"{console.base}/console/attribution")
    kpis = page.get_by_test_id("kpis")
    assert kpis.locator("thead th").first.inner_text() == "point"
    with page.expect_response(re.compile(r"/console/attribution/report\?")) as answer:
        page.get_by_label("Group by").select_option("day")
    assert answer.value.status == 200
    page.wait_for_selector("#chart-attribution-days .uplot canvas")
    assert kpis.locator("thead th").first.inner_text() == "day"
    assert page.url.endswith("/console/attribution")  # swapped in place
    page.get_by_label("Window").fill("0h")
    page.get_by_label("Window").dispatch_event("change")
    page.get_by_test_id("problem").wait_for()
    assert "not a positive duration" in page.get_by_test_id("problem").inner_text()
    _no_csp_violations(page)
    page.get_by_label("Window").fill("7d")
    page.get_by_label("Group by").select_option("channel")
    page.get_by_test_id("kpis").wait_for()
    shot(page, "attribution")
    _docs_shot(page, "attribution")


def test_a_demo_shopper_is_previewed_and_the_preview_is_not_logged(
    page: Any, console: Console
) -> None:
    _decide(console, "demo-device-1", "home_banner")  # shopper1's device: one logged decision
    sign_in(page, console, console.admin_key)
    page.wait_for_timeout(800)
    page.goto(f"{console.base}/console/people")
    page.get_by_label("Find a person by any identifier").fill(DEMO_SHOPPER)
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(r"/console/people/u-"))
    shown = page.get_by_test_id("shown").locator("tbody tr")
    before = shown.count()
    assert before >= 1 and "home_banner" in shown.first.inner_text()
    page.get_by_role("button", name="Preview decisions").click()
    card = page.get_by_test_id("preview-home_banner")
    card.wait_for()
    assert "Decision" in card.inner_text()
    assert page.locator(".preview-card").count() >= 3
    card.locator("summary").click()
    assert '"decision"' in card.locator("pre").inner_text()
    _no_csp_violations(page)
    shot(page, "person-preview")
    page.wait_for_timeout(800)
    page.reload()
    assert page.get_by_test_id("shown").locator("tbody tr").count() == before
