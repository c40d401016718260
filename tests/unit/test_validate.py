"""Validation turns either wire shape into one Event, or says exactly what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest.validate import parse_event

NOW = 1_800_000_000.0


def sdk_view(**over: object) -> dict[str, object]:
    event: dict[str, object] = {
        "eventId": "e1",
        "deviceId": "d1",
        "dateTime": "2027-01-15T08:00:00Z",
        "interaction": {
            "name": "View Catalog Object",
            "catalogObject": {"type": "Product", "id": "i1"},
        },
        "consents": [{"provider": "x", "purpose": "Tracking", "status": "Opt In"}],
    }
    event.update(over)
    return event


def test_an_sdk_view_becomes_a_catalog_event_with_its_item_and_consent() -> None:
    event = parse_event(sdk_view(), now=NOW)
    assert (event.kind, event.item_id, event.device_id, event.consent) == (
        "catalog",
        "i1",
        "d1",
        "Opt In",
    )
    assert event.shape == "sdk"
    assert event.ts == datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()


def test_an_sdk_order_sums_its_lines_into_value_and_quantity() -> None:
    raw = sdk_view(
        interaction={
            "name": "Purchase",
            "order": {
                "id": "o1",
                "currency": "USD",
                "lineItems": [
                    {"catalogObjectId": "a", "quantity": 2, "price": 10},
                    {"catalogObjectId": "b", "quantity": 1, "price": 5.5},
                ],
            },
        }
    )
    event = parse_event(raw, now=NOW)
    assert event.kind == "order"
    assert event.value == pytest.approx(25.5)
    assert event.quantity == 3
    assert [ln.item_id for ln in event.lines] == ["a", "b"]
    assert event.item_id is None


def test_an_identity_event_needs_no_interaction() -> None:
    raw = {
        "deviceId": "d1",
        "user": {"attributes": {"eventType": "contactPointEmail", "email": "A@B.com"}},
    }
    event = parse_event(raw, now=NOW)
    assert (event.kind, event.interaction, event.identity) == (
        "identity",
        "contactPointEmail",
        {"email": "A@B.com"},
    )


def test_a_flat_purchase_line_carries_value_and_a_line() -> None:
    raw = {
        "individualId": "c1",
        "interaction": "Purchase",
        "itemId": "i9",
        "quantity": 2,
        "price": 3.0,
        "orderId": "o",
    }
    event = parse_event(raw, now=NOW)
    assert (event.shape, event.kind, event.value, event.order_id) == ("flat", "order", 6.0, "o")
    assert event.lines[0].item_id == "i9"


def test_flat_aliases_and_unknown_interactions_are_kept() -> None:
    assert (
        parse_event(
            {"individualId": "c", "interaction": "view", "itemId": "i"}, now=NOW
        ).interaction
        == "View Catalog Object"
    )
    custom = parse_event({"individualId": "c", "interaction": "Watched Video"}, now=NOW)
    assert (custom.kind, custom.interaction) == ("custom", "Watched Video")


def test_events_without_an_id_get_the_same_content_derived_id_each_time() -> None:
    raw = {
        "individualId": "c",
        "interaction": "view",
        "itemId": "i",
        "dateTime": "2027-01-01T00:00:00Z",
    }
    assert parse_event(dict(raw), now=NOW).event_id == parse_event(dict(raw), now=NOW).event_id
    other = parse_event({**raw, "itemId": "j"}, now=NOW)
    assert other.event_id != parse_event(dict(raw), now=NOW).event_id


def test_a_missing_time_means_now() -> None:
    assert parse_event({"individualId": "c", "interaction": "x"}, now=NOW).ts == NOW


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("not an object", "JSON object"),
        ({"interaction": "view", "itemId": "i"}, "names nobody"),
        ({"individualId": "c", "interaction": "view"}, "needs the item"),
        ({"deviceId": "d", "interaction": {"name": "Add To Cart"}}, "needs the item"),
        (
            {"individualId": "c", "interaction": "view", "itemId": "i", "quantity": "lots"},
            "quantity",
        ),
        ({"individualId": "c", "interaction": "x", "price": -1}, "price"),
        ({"individualId": "c", "interaction": "x", "dateTime": "2099-01-01T00:00:00Z"}, "future"),
        ({"individualId": "c", "interaction": "x", "dateTime": "yesterday"}, "dateTime"),
        ({"deviceId": "d", "user": {"attributes": {}}}, "interaction is missing"),
        (
            {"deviceId": "d", "interaction": {"name": "View Catalog Object", "catalogObject": {}}},
            "catalogObject.id",
        ),
    ],
)
def test_bad_events_are_rejected_with_a_reason_that_names_the_problem(
    raw: object, needle: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_event(raw, now=NOW)
    assert needle in info.value.message
