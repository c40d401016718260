"""The online and batch insight paths agree on the same history, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, Table

from p13n.domain.ingest.events import Event, kind_of
from p13n.domain.insights import (
    BUILTIN_INSIGHTS,
    InsightDefinition,
    apply_event_insights,
    insight_values,
    recompute_insights,
    validate_insight_set,
)
from p13n.domain.store import SqlStore
from p13n.domain.store.database import open_engine
from p13n.domain.store.tables import EventRow
from p13n.domain.timeutil import DAY, window_start

NOW = datetime(2024, 5, 15, 12, tzinfo=UTC).timestamp()
PEOPLE = ["u-ada", "u-bob", "u-cy", "u-dee", "u-eve", "u-fay"]
INTERACTIONS = [
    "View Catalog Object",
    "View Catalog Object Detail",
    "Quick View Catalog Object",
    "Add To Cart",
    "Remove From Cart",
    "Purchase",
    "Favorite Catalog Object",
    "personalization-click",
    "Watched Video",
]
CATEGORIES = ["Women/Tops", "Women/Dresses", "Electronics/Phones", "Men/Shoes", None]
BRANDS = ["Acme", "Zed", "Nori", None]
CHANNELS = ["web", "app", "email", None]


def _define(name: str, **fields: Any) -> InsightDefinition:
    return InsightDefinition.model_validate({"name": name, **fields})


DEFINITIONS: list[InsightDefinition] = [
    *BUILTIN_INSIGHTS,
    _define("events_all", measure="count"),
    _define(
        "carts_3d_by_category",
        measure="count",
        interactions=["Add To Cart"],
        window_days=3,
        dimension="category",
    ),
    _define("revenue_30d", measure="sum", field="value", interactions=["Purchase"], window_days=30),
    _define("units_by_brand", measure="sum", field="quantity", dimension="brand"),
    _define("cheapest_price", measure="min", field="price"),
    _define("dearest_price", measure="max", field="price"),
    _define(
        "cheapest_7d_by_category", measure="min", field="price", window_days=7, dimension="category"
    ),
    _define("first_seen", measure="min", field="ts"),
    _define("avg_price", measure="avg", field="price"),
    _define("avg_value_14d", measure="avg", field="value", window_days=14),
    _define("last_item", measure="last", field="item_id"),
    _define("last_channel_2d", measure="last", field="channel", window_days=2),
    _define("last_value_by_category", measure="last", field="value", dimension="category"),
    _define("items_7d", measure="distinct_count", field="item_id", window_days=7),
    _define("sessions_by_brand", measure="distinct_count", field="session_id", dimension="brand"),
    _define("distinct_values", measure="distinct_count", field="value"),
    _define(
        "interactions_by_channel_5d",
        measure="distinct_count",
        field="interaction",
        window_days=5,
        dimension="channel",
    ),
    _define(
        "revenue_by_category",
        measure="sum",
        field="value",
        interactions=["Purchase"],
        dimension="category",
    ),
    _define(
        "orders_by_category",
        measure="distinct_count",
        field="order_id",
        interactions=["Purchase"],
        dimension="category",
    ),
    _define(
        "aov_by_category",
        measure="ratio",
        numerator="revenue_by_category",
        denominator="orders_by_category",
    ),
    _define(
        "revenue_share_30d",
        measure="ratio",
        numerator="revenue_30d",
        denominator="lifetime_revenue",
    ),
]


def _timestamps(rng: random.Random) -> list[float]:
    """Mostly random times over 60 days, plus window edges and exact repeats."""
    stamps = [NOW - rng.uniform(0, 60) * DAY for _ in range(40)]
    for days in (1, 2, 3, 5, 7, 14, 30):
        edge = window_start(NOW, days)
        stamps += [edge, edge - 0.001, edge + 0.001]
    stamps += [NOW, NOW - 1.0, NOW - 1.0]
    return stamps


def _history(seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    stamps = _timestamps(rng)
    events: list[Event] = []
    for person in PEOPLE:
        for n in range(rng.randint(40, 80)):
            interaction = rng.choice(INTERACTIONS)
            ts = rng.choice(stamps)
            order = None
            if interaction == "Purchase" and rng.random() < 0.9:
                order = f"{person}-o{rng.randint(1, 6)}"
            events.append(
                Event(
                    event_id=f"{person}-{n}",
                    ts=ts,
                    interaction=interaction,
                    kind=kind_of(interaction),
                    shape="flat",
                    unified_id=person,
                    session_id=rng.choice([f"s{rng.randint(1, 5)}", None]),
                    item_id=rng.choice([f"i{rng.randint(1, 12)}", None]),
                    quantity=rng.choice([float(rng.randint(1, 4)), None]),
                    price=rng.choice([round(rng.uniform(1, 300), 2), None]),
                    value=rng.choice([round(rng.uniform(0, 500), 3), None, 0.0, 10.0]),
                    order_id=order,
                    category=rng.choice(CATEGORIES),
                    brand=rng.choice(BRANDS),
                    channel=rng.choice(CHANNELS),
                )
            )
    # An individual whose only events miss every field the measures read.
    events.append(
        Event(
            event_id="bare-1",
            ts=NOW - 40 * DAY,
            interaction="Watched Video",
            kind="custom",
            shape="flat",
            unified_id="u-bare",
        )
    )
    rng.shuffle(events)  # arrival (seq) order differs from time order
    return events


def _row(seq: int, e: Event) -> dict[str, Any]:
    return {
        "seq": seq,
        "event_id": e.event_id,
        "unified_id": e.unified_id,
        "session_id": e.session_id,
        "ts": e.ts,
        "interaction": e.interaction,
        "kind": e.kind,
        "item_id": e.item_id,
        "category": e.category,
        "brand": e.brand,
        "quantity": e.quantity,
        "price": e.price,
        "value": e.value,
        "order_id": e.order_id,
        "channel": e.channel,
        "payload": "{}",
    }


def _load(engine: Engine, events: list[Event]) -> None:
    rows = [_row(seq, e) for seq, e in enumerate(events, start=1)]
    random.Random(1).shuffle(rows)  # insertion order is not seq order either
    table: Table = EventRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


def _online(events: list[Event], now: float) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    for e in events:  # already in seq order
        assert e.unified_id is not None
        apply_event_insights(states.setdefault(e.unified_id, {}), DEFINITIONS, e)
    return {uid: insight_values(state, DEFINITIONS, now) for uid, state in states.items()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return bool(a == b) and type(a) is type(b)


@pytest.fixture
def history_engine(database_url: str) -> Any:
    engine = open_engine(database_url)
    events = _history()
    _load(engine, events)
    yield engine, events
    engine.dispose()


def test_the_history_exercises_every_measure_window_and_dimension() -> None:
    validate_insight_set(DEFINITIONS)
    measures = {d.measure for d in DEFINITIONS}
    assert measures == {"count", "sum", "min", "max", "last", "distinct_count", "avg", "ratio"}
    values = _online(_history(), NOW)
    for definition in DEFINITIONS:
        assert any(definition.name in v for v in values.values()), definition.name
    assert values["u-bare"] == {"events_all": 1, "first_seen": NOW - 40 * DAY}


def _batch(engine: Engine, definitions: Any, now: float) -> dict[str, dict[str, Any]]:
    """The batch path through the SQL store's aggregates."""
    store = SqlStore(engine)
    return recompute_insights(
        definitions, now, unified_ids=store.event_unified_ids(), aggregate=store.insight_aggregates
    )


@pytest.mark.parametrize("offset_days", [0.0, 2.5, 70.0])
def test_batch_recompute_agrees_with_online_state_for_every_individual(
    history_engine: tuple[Engine, list[Event]], offset_days: float
) -> None:
    engine, events = history_engine
    now = NOW + offset_days * DAY
    online = _online(events, now)
    batch = _batch(engine, DEFINITIONS, now)
    assert batch.keys() == online.keys()
    for uid, values in online.items():
        assert values.keys() == batch[uid].keys(), uid
        for name, value in values.items():
            assert _same(value, batch[uid][name]), (uid, name, value, batch[uid][name])


def test_insights_whose_windows_have_passed_are_empty_on_both_paths(
    history_engine: tuple[Engine, list[Event]],
) -> None:
    engine, events = history_engine
    windowed = [d for d in DEFINITIONS if d.window_days is not None]
    later = NOW + 40 * DAY
    batch = _batch(engine, windowed, later)
    states: dict[str, dict[str, Any]] = {}
    for e in events:
        assert e.unified_id is not None
        apply_event_insights(states.setdefault(e.unified_id, {}), windowed, e)
    assert all(v == {} for v in batch.values())
    assert all(insight_values(s, windowed, later) == {} for s in states.values())
    assert len(batch) == len(PEOPLE) + 1
