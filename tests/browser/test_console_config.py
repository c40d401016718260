"""The console's configuration pages in a real browser: a decision targeted with the rule
builder and served (or not) by the Decisioning API, the merge-field preview following what is
typed, the priority order changed by drag, the recommender preview's cards, a segment
recompute polled to its end, and the new pages at phone width. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from _browser import DEMO_SHOPPER, Console, shot, sign_in

pytestmark = pytest.mark.browser
POINT = "builder_banner"


def _no_csp_violations(page: Any) -> None:
    bad = [m for m in page.console_messages if "Content Security Policy" in m or "Refused" in m]
    assert bad == [], bad


def _settled(page: Any) -> None:
    """Wait until htmx has swapped and processed new content (a control changed before that
    has no htmx listener yet)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def _admin(console: Console) -> httpx.Client:
    return httpx.Client(
        base_url=console.base, headers={"Authorization": f"Bearer {console.admin_key}"}
    )


@pytest.fixture(scope="module")
def point(console: Console) -> str:
    body = {"name": POINT, "contentSchema": {"type": "ManualContent"}, "maxItems": 1}
    with _admin(console) as c:
        assert c.put(f"/admin/points/{POINT}", json=body).status_code == 200
    return POINT


def _served_header(console: Console, topic: str) -> Any:
    body = {
        "context": {"individualId": f"browser-{topic}", "topic": topic},
        "personalizationPoints": [{"name": POINT}],
    }
    answer = httpx.post(
        f"{console.base}/personalization/decisions",
        json=body,
        headers={"Authorization": f"Bearer {console.public_key}"},
    ).json()
    return answer["personalizations"][0].get("attributes", {}).get("header")


def test_a_rule_built_in_the_builder_decides_who_is_served(
    page: Any, console: Console, point: str
) -> None:
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/decisioning/decisions:new?point={point}")
    page.get_by_label("Name").fill("hikers_only")
    page.get_by_label("State").select_option("Live")
    page.get_by_label("Content attributes").fill("header: Trails for you")
    page.get_by_label("Who qualifies").select_option("Any")
    page.get_by_label("Rule 1 Kind").wait_for()
    _settled(page)
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Rule 2 Kind").wait_for()
    _settled(page)
    page.get_by_role("button", name="Remove rule 2").click()
    page.get_by_label("Rule 2 Kind").wait_for(state="detached")
    _settled(page)
    page.get_by_label("Rule 1 Kind").select_option("context")
    page.get_by_label("Rule 1 Variable").fill("topic")
    page.get_by_label("Rule 1 Operator").select_option("Match Any")
    page.get_by_label("Rule 1 Value").fill("hiking, climbing")
    shot(page, "decision-rule-builder")
    page.get_by_role("button", name="Create decision").click()
    page.wait_for_url(re.compile(rf"/console/decisioning/points/{point}"))
    assert _served_header(console, "climbing") == "Trails for you"
    assert _served_header(console, "golf") != "Trails for you"
    _no_csp_violations(page)


def test_the_merge_field_preview_follows_what_is_typed(
    page: Any, console: Console, point: str
) -> None:
    with _admin(console) as c:
        profile = c.get(f"/profiles/{DEMO_SHOPPER}").json()
    first = (profile.get("attributes") or {}).get("firstName") or "friend"
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/decisioning/decisions:new?point={point}")
    page.get_by_label("Preview the content for").fill(DEMO_SHOPPER)
    page.get_by_label("Content attributes").fill("header: Hello {{{firstName|friend}}}")
    header = page.locator("#preview dd[data-attribute=header]")
    header.filter(has_text=f"Hello {first}").wait_for()
    page.get_by_label("Content attributes").fill("header: Welcome back {{{firstName|friend}}}!")
    header.filter(has_text=f"Welcome back {first}!").wait_for()
    assert DEMO_SHOPPER in page.locator("#preview").inner_text()
    shot(page, "decision-merge-preview")
    _no_csp_violations(page)


def test_decisions_are_reordered_by_drag(page: Any, console: Console, point: str) -> None:
    with _admin(console) as c:
        for name in ("drag_one", "drag_two"):
            body = {"name": name, "point": point, "attributes": {"header": name}}
            assert c.put(f"/admin/decisions/{name}", json=body).status_code == 200
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/decisioning/points/{point}")
    items = page.locator("ol.priority li")
    before = [n.split()[0] for n in items.all_inner_texts()]
    items.nth(len(before) - 1).drag_to(items.nth(0))
    page.wait_for_load_state()
    page.locator("ol.priority[aria-busy]").wait_for(state="detached")
    after = [n.split()[0] for n in page.locator("ol.priority li").all_inner_texts()]
    assert after == [before[-1], *before[:-1]]
    with _admin(console) as c:
        stored = {n: c.get(f"/admin/decisions/{n}").json()["priority"] for n in after}
    assert [stored[n] for n in after] == list(range(1, len(after) + 1))
    shot(page, "point-drag")


def test_the_recommender_preview_shows_item_cards(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/recommenders")
    shot(page, "recommenders")
    page.get_by_role("link", name="recommended-for-you").click()
    page.get_by_label("Person to preview for").fill(DEMO_SHOPPER)
    page.get_by_role("button", name="Preview").click()
    cards = page.locator("#rec-preview .card")
    cards.first.wait_for()
    assert cards.count() >= 1
    first = cards.first.inner_text()
    assert re.search(r"\d+\.\d\d", first)  # a price
    assert cards.first.locator(".reason").inner_text().strip()
    assert (
        page.locator("#rec-preview .card img, #rec-preview .card .noimg").count() == cards.count()
    )
    shot(page, "recommender-preview")
    _no_csp_violations(page)


def test_a_segment_recompute_shows_its_progress_to_the_end(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/segments")
    page.locator("td[data-members]").first.wait_for()  # the counts load after the page
    page.get_by_role("button", name="Recompute segments").click()
    page.locator("#jobs .job").first.filter(has_text="done:").wait_for(timeout=30_000)
    assert page.locator("#jobs progress").first.get_attribute("value") == "100"
    shot(page, "segments")
    _no_csp_violations(page)


def test_the_configuration_pages_fit_a_phone_width(browser: Any, console: Console) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        sign_in(page, console, console.admin_key)
        for path, name in (
            ("/console/decisioning/decisions:new?point=builder_banner", "decision-form-phone"),
            ("/console/recommenders/recommended-for-you", "recommender-phone"),
            ("/console/segments", "segments-phone"),
        ):
            page.goto(f"{console.base}{path}")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390 + 1, (path, width)
            shot(page, name)
    finally:
        context.close()
