"""Decision targeting: every rule type, nesting, and configuration errors caught when saved."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from p13n.domain.decisions.targeting import (
    MAX_TARGETING_CONDITIONS,
    TargetingFacts,
    TargetingGroup,
    evaluate_targeting,
    parse_request_url,
)
from p13n.domain.graphs.profile import EngagementEntry, ProfileGraph, SegmentMembership

# Wednesday 2026-11-18 14:30 UTC
NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC).timestamp()
DAY = 86_400.0


def profile() -> ProfileGraph:
    return ProfileGraph(
        unified_id="u-1",
        created_at=NOW - 40 * DAY,
        updated_at=NOW,
        attributes={"firstName": "Ava", "tier": "gold"},
        insights={"lifetime_revenue": 250.0, "views_by_brand": {"Acme": 3}},
        segments={"big_spenders": SegmentMembership(entered_at=NOW - DAY)},
        affinities={"category": {"Women": 80.0}},
        engagement=[
            EngagementEntry(event_id="e1", ts=NOW - 2 * DAY, interaction="Add To Cart"),
            EngagementEntry(event_id="e2", ts=NOW - 20 * DAY, interaction="Add To Cart"),
        ],
    )


def facts(**kw: Any) -> TargetingFacts:
    base: dict[str, Any] = {"profile": profile(), "now": NOW}
    base.update(kw)
    return TargetingFacts(**base)


def rule(*rules: dict[str, Any], kind: str = "All") -> TargetingGroup:
    return TargetingGroup.model_validate({"type": kind, "rules": list(rules)})


def holds(group: TargetingGroup, **kw: Any) -> bool:
    return evaluate_targeting(group, facts(**kw))


def test_always_qualifies_even_an_anonymous_visitor() -> None:
    assert evaluate_targeting(TargetingGroup(type="Always"), TargetingFacts(profile=None, now=NOW))


def test_profile_attribute_insight_segment_and_affinity_conditions_read_the_profile() -> None:
    assert holds(
        rule({"source": "attribute", "field": "tier", "operator": "Is Equal To", "value": "GOLD"})
    )
    assert holds(
        rule(
            {
                "source": "insight",
                "field": "lifetime_revenue",
                "operator": "Is Greater Than",
                "value": 200,
            }
        )
    )
    assert holds(rule({"source": "segment", "field": "big_spenders", "operator": "Has Value"}))
    assert not holds(rule({"source": "segment", "field": "repeat_buyers", "operator": "Has Value"}))
    assert holds(
        rule(
            {
                "source": "affinity",
                "field": "category",
                "key": "Women",
                "operator": "Is Greater Than Or Equal To",
                "value": 60,
            }
        )
    )


def test_related_engagement_counts_within_the_window_and_at_least_one() -> None:
    within_week = {
        "source": "engagement",
        "field": "Add To Cart",
        "window_days": 7,
        "operator": "Is Equal To",
        "value": 1,
    }
    at_least_one = {
        "source": "engagement",
        "field": "Purchase",
        "operator": "Is Greater Than Or Equal To",
        "value": 1,
    }
    assert holds(rule(within_week))
    assert not holds(rule(at_least_one))


def test_an_anonymous_visitor_is_in_no_segment_and_has_no_engagement() -> None:
    not_member = rule(
        {"source": "segment", "field": "big_spenders", "operator": "Is Equal To", "value": False}
    )
    none_yet = rule(
        {"source": "engagement", "field": "Purchase", "operator": "Is Equal To", "value": 0}
    )
    anonymous = TargetingFacts(profile=None, now=NOW)
    assert evaluate_targeting(not_member, anonymous)
    assert evaluate_targeting(none_yet, anonymous)
    assert not evaluate_targeting(
        rule({"source": "attribute", "field": "tier", "operator": "Has Value"}), anonymous
    )


def test_request_url_utm_parameters_page_type_channel_locale_and_context_variables() -> None:
    url = parse_request_url(
        "https://shop.example.com/sale/boots?utm_source=news&utm_campaign=bf&ref=x"
    )
    request = {
        "url": url,
        "page_type": "pdp",
        "channel": "web",
        "locale": "fr_FR",
        "variables": {"city": "Paris", "cartValue": 120},
    }
    assert holds(
        rule({"source": "utm", "field": "source", "operator": "Is Equal To", "value": "news"}),
        **request,
    )
    assert holds(
        rule(
            {"source": "utm", "field": "campaign", "operator": "Match Any", "value": ["bf", "cm"]}
        ),
        **request,
    )
    assert holds(
        rule({"source": "urlParameter", "field": "ref", "operator": "Is Equal To", "value": "x"}),
        **request,
    )
    assert holds(
        rule(
            {
                "source": "requestUrl",
                "field": "path",
                "operator": "Is Equal To",
                "value": "/sale/boots",
            }
        ),
        **request,
    )
    assert holds(
        rule(
            {
                "source": "requestUrl",
                "field": "host",
                "operator": "Is Equal To",
                "value": "shop.example.com",
            }
        ),
        **request,
    )
    assert holds(rule({"source": "pageType", "operator": "Is Equal To", "value": "PDP"}), **request)
    assert holds(
        rule({"source": "channel", "operator": "Match Any", "value": ["web", "app"]}), **request
    )
    assert not holds(
        rule({"source": "locale", "operator": "Is Equal To", "value": "en_US"}), **request
    )
    assert holds(
        rule({"source": "context", "field": "city", "operator": "Is Equal To", "value": "paris"}),
        **request,
    )
    assert holds(
        rule(
            {
                "source": "context",
                "field": "cartValue",
                "operator": "Is Between",
                "value": [100, 200],
            }
        ),
        **request,
    )
    assert not holds(rule({"source": "utm", "field": "medium", "operator": "Has Value"}), **request)


def test_scheduling_windows_use_dates_days_and_hours_in_the_time_zone() -> None:
    # 14:30 UTC on Wednesday is 15:30 in Paris and 09:30 in New York.
    paris_afternoon = {
        "source": "schedule",
        "days": ["Wed"],
        "hours": {"start": "15:00", "end": "16:00"},
        "timeZone": "Europe/Paris",
    }
    new_york_afternoon = {**paris_afternoon, "timeZone": "America/New_York"}
    assert holds(rule(paris_afternoon))
    assert not holds(rule(new_york_afternoon))
    assert not holds(rule({"source": "schedule", "days": ["Sat", "Sun"]}))
    assert holds(rule({"source": "schedule", "startDate": "2026-11-18", "endDate": "2026-11-18"}))
    assert not holds(rule({"source": "schedule", "startDate": "2026-11-19"}))
    overnight = {"source": "schedule", "hours": {"start": "22:00", "end": "15:00"}}
    assert holds(rule(overnight))


def test_groups_nest_all_and_any() -> None:
    gold_or_fan = {
        "type": "Any",
        "rules": [
            {"source": "attribute", "field": "tier", "operator": "Is Equal To", "value": "silver"},
            {"source": "segment", "field": "big_spenders", "operator": "Has Value"},
        ],
    }
    web = {"source": "channel", "operator": "Is Equal To", "value": "web"}
    group = rule(gold_or_fan, web)
    assert holds(group, channel="web")
    assert not holds(group, channel="email")


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (
            {"type": "Always", "rules": [{"source": "channel", "operator": "Has Value"}]},
            "takes no rules",
        ),
        ({"type": "All", "rules": []}, "at least one rule"),
        (
            {"type": "All", "rules": [{"source": "schedule", "timeZone": "Mars/Olympus"}]},
            "unknown time zone",
        ),
        (
            {
                "type": "All",
                "rules": [{"source": "utm", "field": "color", "operator": "Has Value"}],
            },
            "utm field",
        ),
        (
            {
                "type": "All",
                "rules": [{"source": "pageType", "field": "x", "operator": "Has Value"}],
            },
            "takes no 'field'",
        ),
        (
            {
                "type": "All",
                "rules": [{"source": "context", "operator": "Is Equal To", "value": [1]}],
            },
            "Is Equal To",
        ),
        (
            {
                "type": "All",
                "rules": [{"source": "attribute", "field": "a", "operator": "Resembles"}],
            },
            "operator",
        ),
        (
            {
                "type": "All",
                "rules": [
                    {"source": "schedule", "startDate": "2026-12-01", "endDate": "2026-11-01"}
                ],
            },
            "after endDate",
        ),
    ],
)
def test_malformed_targeting_is_refused_with_what_is_wrong(bad: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        TargetingGroup.model_validate(bad)


def test_targeting_has_at_most_fifty_conditions() -> None:
    condition = {"source": "channel", "operator": "Has Value"}
    TargetingGroup.model_validate({"type": "All", "rules": [condition] * MAX_TARGETING_CONDITIONS})
    with pytest.raises(ValidationError, match="at most 50 conditions"):
        TargetingGroup.model_validate({"type": "All", "rules": [condition] * 51})
