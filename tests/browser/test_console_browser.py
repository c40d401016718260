"""The console in a real browser (Debian's chromium through Playwright): sign-in and its
failures, sign-out, each page rendering (charts drawn by uPlot, no CSP violation), a tool call
in the playground, finding a demo shopper, the CSRF and CSP refusals, and a read-only key.
Each page's screenshot is written to test-artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from _browser import DEMO_SHOPPER, Console, shot, sign_in

pytestmark = pytest.mark.browser


def _no_csp_violations(page: Any) -> None:
    bad = [m for m in page.console_messages if "Content Security Policy" in m or "Refused" in m]
    assert bad == [], bad


def test_a_wrong_key_is_refused_on_the_sign_in_page(page: Any, console: Console) -> None:
    sign_in(page, console, "p13n_not-a-real-key")
    assert page.url.endswith("/console/signin")
    assert "unknown, revoked or expired" in page.get_by_role("alert").inner_text()
    shot(page, "signin-failed")


def test_an_admin_signs_in_to_an_overview_with_drawn_charts(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin_key)
    assert re.search(r"/console/?$", page.url), page.url
    page.wait_for_selector("#chart-traffic .uplot canvas")
    assert page.locator(".plot .uplot canvas").count() == 4
    tiles = page.locator(".tiles").inner_text()
    requests = int(re.search(r"([\d,]+)\s*decision requests", tiles).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert requests >= 12  # the fixture's decision requests
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["p13n_console"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert console.admin_key not in page.content() and console.admin_key not in page.url
    _no_csp_violations(page)
    shot(page, "overview")


def test_sign_out_ends_the_session(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin_key)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/signin\?reason=signed-out"))
    assert "signed out" in page.get_by_role("status").inner_text()
    page.goto(f"{console.base}/console/people")
    assert "/console/signin" in page.url


def test_the_playground_calls_a_tool_and_shows_the_text_block_and_its_size(
    page: Any, console: Console
) -> None:
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/playground/tools/get_context")
    page.get_by_label(re.compile("^Individual")).fill(DEMO_SHOPPER)
    page.get_by_role("button", name="Call get_context").click()
    size = page.locator("[data-testid=size]")
    size.wait_for()
    text = page.locator("pre.text").inner_text()
    shown = int(re.search(r"([\d,]+) bytes", size.inner_text()).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert shown == len(text.encode("utf-8"))
    assert '"found":true' in text
    assert page.url.endswith("/console/playground/tools/get_context")  # htmx swapped the pane
    _no_csp_violations(page)
    shot(page, "playground")


def test_a_demo_shopper_is_found_by_email_and_their_profile_shown(
    page: Any, console: Console
) -> None:
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/people")
    page.get_by_label("Find a person by any identifier").fill(DEMO_SHOPPER)
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(r"/console/people/u-"))
    assert DEMO_SHOPPER not in page.url
    for heading in ("Attributes", "Insights", "Segments", "Affinities", "Timeline"):
        assert page.get_by_role("heading", name=re.compile(f"^{heading}")).count() >= 1
    assert page.get_by_role("heading", name="Identity lineage").count() == 1  # admin sees it
    _no_csp_violations(page)
    shot(page, "person")


def test_a_form_without_its_csrf_token_is_refused(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/keys")
    before = page.locator("tbody tr").count()
    page.locator("form[action='/console/keys'] input[name=csrf_token]").evaluate("e => e.remove()")
    page.get_by_label("Label (what the key is for)").fill("should not exist")
    page.get_by_role("checkbox", name="decide").check()
    with page.expect_response(f"{console.base}/console/keys") as answer:
        page.get_by_role("button", name="Create key").click()
    assert answer.value.status == 403
    assert "security token" in page.get_by_role("heading", level=1).inner_text()
    page.goto(f"{console.base}/console/keys")
    assert page.locator("tbody tr").count() == before
    assert "should not exist" not in page.content()


def test_an_admin_creates_a_key_shown_once(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/keys")
    page.get_by_role("checkbox", name="analyst").check()
    page.get_by_label("Label (what the key is for)").fill("made in the browser")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key").input_value()
    assert secret.startswith("p13n_")
    shot(page, "keys")
    page.reload()
    assert page.locator("#new-key").count() == 0 and secret not in page.content()


def test_pages_carry_a_csp_that_blocks_an_injected_inline_script(
    page: Any, console: Console
) -> None:
    sign_in(page, console, console.admin_key)
    injected = "<script>window.__injected = 1;</script>"

    def add_script(route: Any) -> None:
        response = route.fetch()
        body = response.text().replace("</main>", injected + "</main>")
        route.fulfill(response=response, body=body)

    page.route(f"{console.base}/console/people", add_script)
    response = page.goto(f"{console.base}/console/people")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert injected in page.content()
    assert page.evaluate("() => window.__injected") is None
    assert any("Content Security Policy" in m for m in page.console_messages)


def test_a_read_only_key_sees_no_edit_controls_and_its_posts_are_refused(
    page: Any, console: Console
) -> None:
    sign_in(page, console, console.analyst_key)
    nav = page.get_by_role("navigation", name="Console pages").inner_text()
    assert "Overview" in nav and "Keys" not in nav and "People" not in nav
    assert "read-only" in page.locator(".who").inner_text()
    assert page.get_by_role("button", name=re.compile("Create|Revoke")).count() == 0
    shot(page, "overview-analyst")
    page.goto(f"{console.base}/console/keys")
    assert page.get_by_role("heading", name="Not allowed with this key").count() == 1
    assert page.get_by_role("button", name="Create key").count() == 0
    token = page.locator("form[action='/console/signout'] input[name=csrf_token]").input_value()
    posted = page.request.post(
        f"{console.base}/console/keys", form={"csrf_token": token, "scopes": "admin"}
    )
    assert posted.status == 403


def test_pages_fit_a_phone_width(browser: Any, console: Console) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        sign_in(page, console, console.admin_key)
        page.wait_for_selector("#chart-traffic .uplot canvas")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390 + 1
        shot(page, "overview-phone")
    finally:
        context.close()


def test_an_unknown_person_is_a_404_page(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin_key)
    response = page.goto(f"{console.base}/console/people/u-000000000000000000000000")
    assert response.status == 404
    assert page.get_by_role("heading", name="No such person").count() == 1


def test_a_decision_made_in_the_browser_is_served_by_the_decisioning_api(
    page: Any, console: Console
) -> None:
    import httpx

    sign_in(page, console, console.admin_key)
    page.goto(f"{console.base}/console/decisioning/decisions:new?point=home_banner")
    page.get_by_label("Name").fill("bad name")
    page.get_by_role("button", name="Create decision").click()
    assert "pattern" in page.locator("#name-error").inner_text()
    assert page.get_by_label("Name").get_attribute("aria-invalid") == "true"
    shot(page, "decision-form-error")
    page.get_by_label("Name").fill("browser_banner")
    page.get_by_label("State").select_option("Live")
    page.get_by_label("Priority").fill("1")
    page.get_by_label("Content attributes").fill("header: Made in a browser")
    page.get_by_role("button", name="Create decision").click()
    page.wait_for_url(re.compile(r"/console/decisioning/points/home_banner"))
    assert page.locator("ol.priority li").first.inner_text().startswith("browser_banner")
    shot(page, "point")
    body = {
        "context": {"individualId": "browser-new-visitor"},
        "personalizationPoints": [{"name": "home_banner"}],
    }
    served = httpx.post(
        f"{console.base}/personalization/decisions",
        json=body,
        headers={"Authorization": f"Bearer {console.public_key}"},
    ).json()["personalizations"][0]
    assert served["attributes"]["header"] == "Made in a browser"
    page.goto(f"{console.base}/console/decisioning")
    shot(page, "decisioning")
    _no_csp_violations(page)
