"""Attribution invariants on seeded random journeys, against a brute-force reference.

hypothesis is not installed in this venv, so the journeys come from `random.Random(seed)`: a few
units, exposures (some clicked, some shown nothing), carts and multi-line orders, with times on
a coarse grid so that touches land exactly on window edges and on conversion seconds, some a
second either side. The
reference scans every touch for every conversion (no bisect, no index) and computes the model's
shares in floats straight from the ages.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import orjson
import pytest

from p13n.domain.analytics import (
    ATTRIBUTION_MODELS,
    Attribution,
    AttributionSettings,
    Conversion,
    Journeys,
    attribute,
    build_journeys,
)
from p13n.domain.timeutil import DAY

T = 20_000 * DAY
GRID = 6 * 3600.0  # six hours: 24 h, 7 d and 30 d windows all fall on the grid
WINDOWS = (DAY, 7 * DAY, 30 * DAY)
SEEDS = range(150)


def random_rows(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    units = ["u1", "u2", "u3"]
    logs: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for k in range(rng.randint(0, 14)):
        pid, unit = f"p{k}", rng.choice(units)
        ts = T + rng.randint(0, 40 * 4) * GRID + rng.choice([0, 0, 0, 0, 0, -1, 1])
        shown = rng.random() < 0.85
        content = [{"contentId": f"{pid}:0", "id": "i1", "rank": 1}] if shown else []
        logs.append(
            {
                "personalization_id": pid,
                "request_id": f"r{k // 2}",
                "ts": ts,
                "unified_id": unit,
                "point": rng.choice(["home", "pdp"]),
                "content": orjson.dumps(content).decode(),
            }
        )
        for c in range(rng.choice([0, 0, 1, 2])):
            events.append(
                {
                    "event_id": f"c{k}-{c}",
                    "ts": ts + rng.randint(0, 8) * GRID,
                    "interaction": "personalization-click",
                    "unified_id": unit,
                    "payload": orjson.dumps({"personalizationContentId": f"{pid}:0"}).decode(),
                }
            )
    for k in range(rng.randint(0, 8)):
        unit, ts = rng.choice(units), T + rng.randint(0, 44 * 4) * GRID
        if rng.random() < 0.4:
            events.append(
                {
                    "event_id": f"k{k}",
                    "ts": ts,
                    "interaction": "Add To Cart",
                    "unified_id": unit,
                    "value": rng.randint(1, 5000) / 100,
                    "payload": "{}",
                }
            )
            continue
        for line in range(rng.randint(1, 3)):
            events.append(
                {
                    "event_id": f"o{k}-{line}",
                    "ts": ts,
                    "interaction": "Purchase",
                    "unified_id": unit,
                    "order_id": f"order{k}",
                    "value": rng.randint(0, 99_999) / 100,
                    "quantity": 1.0,
                    "payload": "{}",
                }
            )
    return logs, events


def qualifying_reference(journeys: Journeys, conversion: Conversion, basis: str, window: float):
    """Brute force: (personalization id, touch ts) of every qualifying touch, oldest first."""
    latest: dict[str, float] = {}
    if basis == "view":
        moments = [(e.personalization_id, e.ts, e.unit) for e in journeys.exposures if e.shown]
    else:
        moments = [(c.personalization_id, c.ts, c.unit) for c in journeys.clicks]
    for pid, ts, unit in moments:
        if unit == conversion.unit and 0 <= conversion.ts - ts <= window:
            latest[pid] = max(ts, latest.get(pid, ts))
    return sorted(((pid, ts) for pid, ts in latest.items()), key=lambda m: (m[1], m[0]))


def float_shares(model: str, ages: list[float], half_life: float) -> list[float]:
    n = len(ages)
    if model == "first_touch":
        return [1.0] + [0.0] * (n - 1)
    if model == "last_touch":
        return [0.0] * (n - 1) + [1.0]
    if model == "linear":
        return [1 / n] * n
    if model == "position_based":
        if n <= 2:
            return [1 / n] * n
        return [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
    weights = [0.5 ** (age / half_life) for age in ages]
    return [w / sum(weights) for w in weights]


def by_conversion(result: Attribution) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    for credit in result.credits:
        out.setdefault((credit.conversion.unit, credit.conversion.key), []).append(credit)
    return out


SETTINGS = [
    AttributionSettings(model=m, basis=b, window_s=w, half_life_s=2 * DAY)  # type: ignore[arg-type]
    for m in ATTRIBUTION_MODELS
    for b in ("view", "click")
    for w in WINDOWS
]


@pytest.mark.parametrize("seed", SEEDS)
def test_credit_matches_the_brute_force_reference_and_sums_exactly(seed: int) -> None:
    journeys = build_journeys(*random_rows(seed))
    for settings in SETTINGS:
        result = attribute(journeys, settings)
        credits = by_conversion(result)
        assert len(result.attributed) + len(result.unattributed) == len(journeys.conversions)
        for conversion in journeys.conversions:
            reference = qualifying_reference(
                journeys, conversion, settings.basis, settings.window_s
            )
            mine = credits.get((conversion.unit, conversion.key), [])
            if not reference:
                assert conversion in result.unattributed and mine == []
                continue
            assert conversion in result.attributed
            assert sum(c.share for c in mine) == 1
            assert sum(c.revenue for c in mine) == conversion.revenue
            ages = [conversion.ts - ts for _, ts in reference]
            expected = float_shares(settings.model, ages, settings.half_life_s)
            got = {(c.touch.exposure.personalization_id, c.touch.ts): c.share for c in mine}
            for (pid, ts), share in zip(reference, expected, strict=True):
                assert float(got.get((pid, ts), 0)) == pytest.approx(share, abs=1e-12)
            assert set(got) <= set(reference)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_touch_after_the_conversion_or_of_another_unit_is_ever_credited(seed: int) -> None:
    journeys = build_journeys(*random_rows(seed))
    for settings in SETTINGS:
        for credit in attribute(journeys, settings).credits:
            conversion, touch = credit.conversion, credit.touch
            assert 0 <= conversion.ts - touch.ts <= settings.window_s
            unit = touch.click.unit if touch.click else touch.exposure.unit
            assert unit == conversion.unit
            assert 0 <= credit.share <= 1
            assert credit.revenue == credit.revenue.quantize(Decimal("0.01"))


@pytest.mark.parametrize("seed", SEEDS)
def test_repeated_event_ids_and_log_rows_change_nothing(seed: int) -> None:
    logs, events = random_rows(seed)
    rng = random.Random(seed + 1000)
    noisy_logs = logs + [dict(r) for r in rng.choices(logs, k=len(logs))] if logs else []
    noisy_events = events + [dict(r) for r in rng.choices(events, k=len(events))] if events else []
    rng.shuffle(noisy_logs)
    rng.shuffle(noisy_events)
    once, again = build_journeys(logs, events), build_journeys(noisy_logs, noisy_events)
    for settings in SETTINGS:
        assert attribute(again, settings) == attribute(once, settings)


def test_the_random_journeys_exercise_edges_and_every_outcome() -> None:
    """The generator is worth its name: some touches sit exactly on a window edge or at the
    conversion second, and there are attributed and unattributed conversions of both kinds."""
    edges = same_second = attributed = unattributed = 0
    kinds: set[str] = set()
    for seed in SEEDS:
        journeys = build_journeys(*random_rows(seed))
        kinds.update(c.kind for c in journeys.conversions)
        for conversion in journeys.conversions:
            for e in journeys.exposures:
                if e.unit == conversion.unit:
                    edges += conversion.ts - e.ts in WINDOWS
                    same_second += conversion.ts == e.ts
        result = attribute(journeys)
        attributed += len(result.attributed)
        unattributed += len(result.unattributed)
    assert edges > 0 and same_second > 0 and attributed > 0 and unattributed > 0
    assert kinds == {"cart", "order"}
