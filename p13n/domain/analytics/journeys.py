"""Journeys: what each unit was shown, clicked and bought, built from rows the services hand in.

The inputs are plain mappings with the column names of the personalization log
(`personalization_id, request_id, ts, point, ..., content`) and of the event log (`event_id,
unified_id, individual_id, device_id, ts, interaction, item_id, quantity, price, value,
order_id, channel, personalization_id, payload`); `content` and `payload` may be JSON text or
already decoded. Nothing here reads the store.

The choices, written once:
- A unit is the unified individual, else the individual, else the device; `units` maps an id
  to its current survivor when identities merged after the rows were written.
- An exposure is one logged personalization (one point of one request, every channel and
  source). A `personalization-view` event of a logged personalization marks it `viewed` and
  adds no impression; a view (or click) of a personalization the log does not hold (dropped,
  or outside the rows handed in) becomes one bare exposure at its earliest event, so an
  impression is counted once per personalization id whatever the client sends.
- An exposure is `shown` when it carried content, or when a view or click of it came back
  (manual content, a banner, logs no items: its view is the proof it was displayed); a point
  that served nothing counts as a request, never as an impression or a touch.
- A click is a `personalization-click` / `catalog-object-click` that names a personalization:
  by `personalization_id`, else by the `<personalizationId>:<n>` prefix of its
  `personalizationContentId`. A catalog click naming none is organic and left out.
- Conversions are `Add To Cart` events (one each) and `Purchase` orders: the lines of one
  order (same unit and order id; flat senders send one event per line) are one order at its
  earliest line. Revenue is a line's `value`, else `price x quantity` (quantity 1 when
  missing), else 0 and counted in `revenue_missing`; summed exactly and rounded to cents,
  half up. Which conversions a touch earns is attribution's business (`attribution.py`).
- Rows repeated (same event id, same personalization id) count once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import orjson

__all__ = [
    "as_decimal",
    "as_text",
    "has_no_revenue",
    "line_revenue",
    "Exposure",
    "Click",
    "Conversion",
    "ConversionKind",
    "Journeys",
    "build_journeys",
    "engagement_pid",
    "unit_of",
    "to_cents",
    "CART_INTERACTION",
    "ORDER_INTERACTION",
    "VIEW_INTERACTION",
    "CLICK_INTERACTIONS",
]

VIEW_INTERACTION = "personalization-view"
CLICK_INTERACTIONS = frozenset({"personalization-click", "catalog-object-click"})
CART_INTERACTION = "Add To Cart"
ORDER_INTERACTION = "Purchase"  # as the built-in insights count orders
CENT = Decimal("0.01")

ConversionKind = Literal["cart", "order"]


@dataclass(frozen=True, slots=True)
class Exposure:
    """One personalization shown to (or requested for) a unit; `unit` is None when the request
    named nobody (such an exposure is counted, never attributed)."""

    personalization_id: str
    request_id: str
    ts: float
    unit: str | None
    point: str | None = None
    decision: str | None = None
    recommender: str | None = None
    experiment: str | None = None
    cohort: str | None = None
    channel: str | None = None
    source: str = "api"
    items: tuple[str, ...] = ()
    shown: bool = True
    viewed: bool = False
    logged: bool = True


@dataclass(frozen=True, slots=True)
class Click:
    event_id: str
    ts: float
    unit: str
    personalization_id: str
    content_id: str | None
    item_id: str | None
    interaction: str


@dataclass(frozen=True, slots=True)
class Conversion:
    """An add-to-cart or an order. `key` is the order id (else the event id) for an order, the
    event id for a cart. For a cart `revenue` is the value added to the cart; the KPIs count
    only orders' revenue."""

    key: str
    kind: ConversionKind
    ts: float
    unit: str
    revenue: Decimal
    units: Decimal
    items: tuple[str, ...]
    event_ids: tuple[str, ...]
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Journeys:
    """Everything attribution and the KPIs read, each tuple in time order. `views_merged`
    counts view events that added no impression (their personalization was already an
    exposure); `unlinked_engagements` views and personalization clicks naming no
    personalization; `revenue_missing` cart and order lines with neither value nor price."""

    exposures: tuple[Exposure, ...] = ()
    clicks: tuple[Click, ...] = ()
    conversions: tuple[Conversion, ...] = ()
    views_merged: int = 0
    unlinked_engagements: int = 0
    revenue_missing: int = 0
    _by_id: dict[str, Exposure] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.personalization_id: e for e in self.exposures})

    def exposure(self, personalization_id: str) -> Exposure | None:
        return self._by_id.get(personalization_id)


def unit_of(row: Mapping[str, Any], units: Mapping[str, str] | None = None) -> str | None:
    """The unified individual, else the individual, else the device; through `units` if given."""
    for column in ("unified_id", "individual_id", "device_id"):
        value = row.get(column)
        if value:
            found = str(value)
            return units.get(found, found) if units is not None else found
    return None


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def build_journeys(
    log_rows: Iterable[Mapping[str, Any]],
    event_rows: Iterable[Mapping[str, Any]],
    *,
    units: Mapping[str, str] | None = None,
) -> Journeys:
    """Exposures, clicks and conversions of the rows; see the module docstring for the rules."""
    exposures: dict[str, Exposure] = {}
    for row in log_rows:
        logged = str(row["personalization_id"])
        if logged not in exposures:
            exposures[logged] = _exposure(row, units)
    events = _unique_events(event_rows)
    clicks, views_merged, unlinked = _engagements(events, exposures, units)
    conversions, missing = _conversions(events, units)
    ordered = sorted(exposures.values(), key=lambda e: (e.ts, e.personalization_id))
    return Journeys(
        exposures=tuple(ordered),
        clicks=tuple(sorted(clicks, key=lambda c: (c.ts, c.event_id))),
        conversions=tuple(conversions),
        views_merged=views_merged,
        unlinked_engagements=unlinked,
        revenue_missing=missing,
    )


def _engagements(
    events: list[Mapping[str, Any]],
    exposures: dict[str, Exposure],
    units: Mapping[str, str] | None,
) -> tuple[list[Click], int, int]:
    """Clicks, views merged and unlinked engagements of `events` (in time order); views and
    clicks of unlogged personalizations add their bare exposure to `exposures`."""
    views_merged = unlinked = 0
    clicks: list[Click] = []
    for row in events:
        interaction = row.get("interaction")
        if interaction != VIEW_INTERACTION and interaction not in CLICK_INTERACTIONS:
            continue
        content_id = as_text(_payload(row).get("personalizationContentId"))
        pid = engagement_pid(row, content_id)
        unit = unit_of(row, units)
        if pid is None or unit is None:
            unlinked += interaction != "catalog-object-click"  # an organic catalog click is fine
            continue
        known = exposures.get(pid)
        if known is None:  # events come in time order: this is the earliest one naming it
            exposures[pid] = _bare_exposure(pid, row, unit, viewed=interaction == VIEW_INTERACTION)
        else:
            # the client saw it: manual content (a banner) logs no items, so its view or
            # click is what shows it was displayed (one impression, once per personalization)
            seen = interaction == VIEW_INTERACTION
            views_merged += seen
            if not known.shown or (seen and not known.viewed):
                exposures[pid] = replace(known, viewed=known.viewed or seen, shown=True)
        if interaction in CLICK_INTERACTIONS:
            clicks.append(
                Click(
                    event_id=str(row["event_id"]),
                    ts=float(row["ts"]),
                    unit=unit,
                    personalization_id=pid,
                    content_id=content_id,
                    item_id=as_text(row.get("item_id")),
                    interaction=str(interaction),
                )
            )
    return clicks, views_merged, unlinked


def _exposure(row: Mapping[str, Any], units: Mapping[str, str] | None) -> Exposure:
    content = row.get("content") or []
    if isinstance(content, str | bytes):
        content = orjson.loads(content)
    items = tuple(str(c["id"]) for c in content if c.get("id"))
    return Exposure(
        personalization_id=str(row["personalization_id"]),
        request_id=str(row.get("request_id") or row["personalization_id"]),
        ts=float(row["ts"]),
        unit=unit_of(row, units),
        point=as_text(row.get("point")),
        decision=as_text(row.get("decision")),
        recommender=as_text(row.get("recommender")),
        experiment=as_text(row.get("experiment")),
        cohort=as_text(row.get("cohort")),
        channel=as_text(row.get("channel")),
        source=str(row.get("source") or "api"),
        items=items,
        shown=bool(content),
    )


def _bare_exposure(pid: str, row: Mapping[str, Any], unit: str, *, viewed: bool) -> Exposure:
    """A personalization known only from its engagement events: shown, but not logged."""
    return Exposure(
        personalization_id=pid,
        request_id=pid,
        ts=float(row["ts"]),
        unit=unit,
        channel=as_text(row.get("channel")),
        source="event",
        viewed=viewed,
        logged=False,
    )


def _unique_events(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows once per event id, in time order (ties by event id)."""
    seen: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        seen.setdefault(str(row["event_id"]), row)
    return sorted(seen.values(), key=lambda r: (float(r["ts"]), str(r["event_id"])))


def _conversions(
    events: list[Mapping[str, Any]], units: Mapping[str, str] | None
) -> tuple[list[Conversion], int]:
    carts: list[Conversion] = []
    orders: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    missing = 0
    for row in events:
        interaction = row.get("interaction")
        if interaction not in (CART_INTERACTION, ORDER_INTERACTION):
            continue
        unit = unit_of(row, units)
        if unit is None:
            continue
        missing += has_no_revenue(row)
        if interaction == CART_INTERACTION:
            carts.append(_conversion("cart", str(row["event_id"]), unit, [row]))
        else:
            key = as_text(row.get("order_id")) or f"event:{row['event_id']}"
            orders.setdefault((unit, key), []).append(row)
    placed = [_conversion("order", key, unit, lines) for (unit, key), lines in orders.items()]
    every = carts + placed
    every.sort(key=lambda c: (c.ts, c.kind, c.unit, c.key))
    return every, missing


def _conversion(
    kind: ConversionKind, key: str, unit: str, lines: list[Mapping[str, Any]]
) -> Conversion:
    revenue = sum((line_revenue(r) for r in lines), Decimal(0))
    quantity = sum((as_decimal(r.get("quantity")) or Decimal(0) for r in lines), Decimal(0))
    items: list[str] = []
    for row in lines:
        for item in _items_of(row):
            if item not in items:
                items.append(item)
    order_id = as_text(lines[0].get("order_id")) if kind == "order" else None
    return Conversion(
        key=key,
        kind=kind,
        ts=min(float(r["ts"]) for r in lines),
        unit=unit,
        revenue=to_cents(revenue),
        units=quantity,
        items=tuple(items),
        event_ids=tuple(str(r["event_id"]) for r in lines),
        order_id=order_id,
    )


def line_revenue(row: Mapping[str, Any]) -> Decimal:
    """A line's revenue: `value`, else price x quantity (quantity 1 when missing), else 0."""
    value = as_decimal(row.get("value"))
    if value is not None:
        return value
    price = as_decimal(row.get("price"))
    if price is None:
        return Decimal(0)
    quantity = as_decimal(row.get("quantity"))
    return price * (Decimal(1) if quantity is None else quantity)


def has_no_revenue(row: Mapping[str, Any]) -> bool:
    """Neither value nor price: the line counts 0 and is counted as missing."""
    return row.get("value") is None and row.get("price") is None


def _items_of(row: Mapping[str, Any]) -> list[str]:
    """The row's item, else the line items its payload carries (an SDK order of several lines
    keeps them only there)."""
    item = as_text(row.get("item_id"))
    if item is not None:
        return [item]
    interaction = _payload(row).get("interaction")
    if not isinstance(interaction, dict):
        return []
    order = interaction.get("order")
    lines = (order.get("lineItems") if isinstance(order, dict) else None) or interaction.get(
        "lineItems"
    )
    if not isinstance(lines, list):
        return []
    return [
        str(li["catalogObjectId"])
        for li in lines
        if isinstance(li, dict) and li.get("catalogObjectId")
    ]


def _payload(row: Mapping[str, Any]) -> dict[str, Any]:
    payload = row.get("payload")
    if isinstance(payload, str | bytes):
        try:
            payload = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return {}
    return payload if isinstance(payload, dict) else {}


def engagement_pid(row: Mapping[str, Any], content_id: str | None = None) -> str | None:
    """The personalization a view or click names: its `personalization_id`, else the prefix of
    its payload's `personalizationContentId` (`content_id` when already read)."""
    named = as_text(row.get("personalization_id"))
    if named is not None:
        return named
    if content_id is None:
        content_id = as_text(_payload(row).get("personalizationContentId"))
    return _pid_of_content(content_id)


def _pid_of_content(content_id: str | None) -> str | None:
    """`<personalizationId>:<n>` -> the personalization id (REFERENCE.md's content id shape)."""
    if not content_id or ":" not in content_id:
        return None
    pid, _, index = content_id.rpartition(":")
    return pid if pid and index.isdigit() else None


def as_decimal(value: Any) -> Decimal | None:
    """Floats through their shortest repr, so that 19.99 is 19.99 and not its binary neighbour."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(float(value)))


def as_text(value: Any) -> str | None:
    """A row's text field; empty reads as missing."""
    return str(value) if value is not None and value != "" else None
