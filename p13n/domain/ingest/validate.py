"""Turn one raw event (either wire shape) into an `Event`, or say exactly what is wrong with it."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from pydantic import ValidationError

from p13n.domain.errors import EventRejected
from p13n.domain.ingest.events import (
    IDENTITY_EVENT_TYPES,
    INTERACTION_ALIASES,
    Event,
    Line,
    kind_of,
)
from p13n.domain.ingest.schemas import FlatEvent, LineItem, SdkEvent
from p13n.domain.timeutil import to_iso, to_ts

__all__ = [
    "parse_event",
    "describe_validation_error",
    "UnreadableRow",
    "MAX_FUTURE_SKEW_S",
    "REJECTION_REASONS",
]

MAX_FUTURE_SKEW_S = 24 * 3600.0
# Why an event is rejected, as the code `EventRejected.reason` carries (pipeline counts group
# by it; the message says the detail).
REJECTION_REASONS: dict[str, str] = {
    "unreadable": "the row or body is not a JSON object (or an import line did not parse)",
    "invalid_field": "a field has the wrong type or value",
    "no_interaction": "neither interaction.name nor an identity eventType",
    "no_identity": "neither deviceId nor individualId",
    "no_item": "a catalog or cart interaction without its item",
    "future_time": "dateTime more than 24 hours in the future",
}
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c2a4e-5d0b-4c8e-9a57-0e6d1b3f2a11")


class UnreadableRow(str):
    """A row of an import file that could not be parsed; its text is the rejection reason."""


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _is_sdk_shape(raw: dict[str, Any]) -> bool:
    return isinstance(raw.get("interaction"), dict) or (
        "interaction" not in raw and ("user" in raw or "deviceId" in raw)
    )


def _content_event_id(raw: dict[str, Any]) -> str:
    """Events sent without an id get one derived from their content, so re-imports are idempotent."""
    return str(
        uuid.uuid5(_EVENT_ID_NAMESPACE, orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode())
    )


def parse_event(raw: Any, *, now: float) -> Event:
    """Validate and normalize; raises `EventRejected` whose message is the rejection reason
    and whose `reason` is one of `REJECTION_REASONS`."""
    if isinstance(raw, UnreadableRow):
        raise EventRejected("unreadable", str(raw))
    if not isinstance(raw, dict):
        raise EventRejected(
            "unreadable", f"an event must be a JSON object, got {type(raw).__name__}"
        )
    try:
        event = _from_sdk(raw) if _is_sdk_shape(raw) else _from_flat(raw)
    except ValidationError as exc:
        raise EventRejected("invalid_field", describe_validation_error(exc)) from None
    if event.ts == 0.0:
        event.ts = now
    elif event.ts > now + MAX_FUTURE_SKEW_S:
        raise EventRejected(
            "future_time",
            f"dateTime {to_iso(event.ts)} is more than 24 hours in the future; "
            "send the time the event happened, in UTC (ISO 8601)",
        )
    if not event.device_id and not event.individual_id:
        raise EventRejected(
            "no_identity",
            "the event names nobody: give deviceId (SDK shape) or individualId (flat shape)",
        )
    _check_item(event)
    event.raw = raw
    if not event.event_id:
        event.event_id = _content_event_id(raw)
    return event


def _check_item(event: Event) -> None:
    if event.kind == "catalog" and not event.item_id:
        raise EventRejected(
            "no_item",
            f"'{event.interaction}' needs the item: interaction.catalogObject.id (SDK) or itemId (flat)",
        )
    if event.interaction in ("Add To Cart", "Remove From Cart") and not event.item_id:
        raise EventRejected(
            "no_item",
            f"'{event.interaction}' needs the item: interaction.lineItem (SDK) or itemId (flat)",
        )


def _line(li: LineItem) -> Line:
    return Line(li.catalogObjectId, li.quantity, li.price, li.catalogObjectType)


def _from_sdk(raw: dict[str, Any]) -> Event:
    sdk = SdkEvent.model_validate(raw)
    user_attrs = dict(sdk.user.attributes) if sdk.user else {}
    identity_type = (
        user_attrs.get("eventType") if isinstance(user_attrs.get("eventType"), str) else None
    )
    inter = sdk.interaction
    if inter is not None:
        name = inter.name
    elif identity_type in IDENTITY_EVENT_TYPES:
        name = str(identity_type)
    else:
        raise EventRejected(
            "no_interaction",
            "interaction is missing: give interaction.name, or user.attributes.eventType "
            "for an identity event",
        )
    tracking = [c for c in sdk.consents or [] if c.purpose == "Tracking"]
    event = Event(
        event_id=sdk.eventId or "",
        ts=to_ts(sdk.dateTime) if sdk.dateTime else 0.0,
        interaction=name,
        kind=kind_of(name),
        shape="sdk",
        device_id=sdk.deviceId or (sdk.user.anonymousId if sdk.user else None),
        session_id=sdk.sessionId,
        event_type=sdk.eventType,
        consent=tracking[-1].status if tracking else None,
        consent_provider=tracking[-1].provider if tracking else None,
        personalization_id=sdk.personalizationId,
        personalization_content_id=sdk.personalizationContentId,
    )
    if sdk.user is not None:
        ids = sdk.user.identities
        known = ids.get("individualId") or ids.get("userId")
        event.individual_id = str(known) if known else None
        if identity_type in IDENTITY_EVENT_TYPES:
            event.identity = {k: v for k, v in user_attrs.items() if k != "eventType"}
        else:
            event.attributes = user_attrs
    if sdk.source is not None:
        event.channel, event.page_type, event.url = (
            sdk.source.channel,
            sdk.source.pageType,
            sdk.source.url,
        )
    if inter is not None:
        _fill_interaction_sdk(event, inter)
    return event


def _fill_interaction_sdk(event: Event, inter: Any) -> None:
    if inter.catalogObject is not None:
        event.item_id, event.item_type = inter.catalogObject.id, inter.catalogObject.type
    if inter.lineItem is not None:
        line = _line(inter.lineItem)
        event.lines = [line]
        event.item_id, event.item_type = line.item_id, line.item_type
        event.quantity, event.price = line.quantity, line.price
    if inter.lineItems is not None:
        event.lines = [_line(li) for li in inter.lineItems]
    if inter.order is not None:
        order = inter.order
        event.order_id, event.currency = order.id, order.currency
        if order.lineItems:
            event.lines = [_line(li) for li in order.lineItems]
        event.value = order.totalValue
    if event.lines and event.kind == "order":
        if event.value is None:
            event.value = sum((ln.price or 0.0) * ln.quantity for ln in event.lines)
        event.quantity = sum(ln.quantity for ln in event.lines)
        if len(event.lines) == 1:
            event.item_id, event.price = event.lines[0].item_id, event.lines[0].price
    elif event.kind == "cart" and event.price is not None:
        event.value = event.price * (event.quantity or 1.0)


def _from_flat(raw: dict[str, Any]) -> Event:
    flat = FlatEvent.model_validate(raw)
    name = INTERACTION_ALIASES.get(flat.interaction, flat.interaction)
    kind = kind_of(name)
    attrs = dict(flat.attributes)
    tracking = [c for c in flat.consents or [] if c.purpose == "Tracking"]
    event = Event(
        event_id=flat.eventId or "",
        ts=to_ts(flat.dateTime) if flat.dateTime else 0.0,
        interaction=name,
        kind=kind,
        shape="flat",
        device_id=flat.deviceId,
        individual_id=flat.individualId,
        session_id=flat.sessionId,
        item_id=flat.itemId,
        quantity=flat.quantity,
        price=flat.price,
        order_id=flat.orderId,
        currency=flat.currency,
        channel=flat.channel,
        consent=tracking[-1].status if tracking else None,
        consent_provider=tracking[-1].provider if tracking else None,
        personalization_id=flat.personalizationId,
        personalization_content_id=flat.personalizationContentId,
    )
    if kind == "identity":
        event.identity = attrs
    else:
        event.attributes = attrs
    if flat.itemId and kind in ("cart", "order"):
        qty = flat.quantity if flat.quantity is not None else 1.0
        event.quantity = qty
        event.lines = [Line(flat.itemId, qty, flat.price)]
        if flat.price is not None:
            event.value = flat.price * qty
    return event
