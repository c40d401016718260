"""Manual content (a banner) logs no items: its view or click is what shows it was displayed,
so it earns one impression and is a touch; a point that served nothing and got no view is
still only a request."""

from __future__ import annotations

from decimal import Decimal

from test_analytics_journeys import T, event, log_row

from p13n.domain.analytics import attribute, build_journeys, kpis


def test_a_banner_logged_without_items_is_shown_once_its_view_comes_back() -> None:
    rows = [log_row("b1", T, items=[], point="banner"), log_row("b2", T + 1, items=[])]
    events = [
        event("v1", T + 2, "personalization-view", personalization_id="b1"),
        event("v2", T + 3, "personalization-view", personalization_id="b1"),
    ]
    by_pid = {e.personalization_id: e for e in build_journeys(rows, events).exposures}
    assert by_pid["b1"].shown and by_pid["b1"].viewed and by_pid["b1"].items == ()
    assert not by_pid["b2"].shown and not by_pid["b2"].viewed


def test_a_click_alone_shows_a_banner_and_its_order_is_credited_to_it_view_based() -> None:
    rows = [log_row("b1", T, items=[], point="banner")]
    events = [
        event("c1", T + 5, "personalization-click", personalization_id="b1"),
        event("o1", T + 60, "Purchase", order_id="o-1", value=12.5, item_id="mug"),
    ]
    journeys = build_journeys(rows, events)
    (shown,) = journeys.exposures
    assert shown.shown and not shown.viewed
    (row,) = kpis(journeys, attribute(journeys), group_by=["point"])
    assert row.impressions == 1 and row.clicks == 1
    assert row.revenue == Decimal("12.50")
