"""`p13n seed demo`: the demo tenant through the public domain API (catalog, then 30 days of
events; after training and decisioning, the measured week of `measured.py`)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import yaml

from p13n.domain.ingest import ImportSummary
from p13n.domain.services import ApplyReport, DecisionService, Engine, apply_bundle, parse_bundle
from p13n.seed.measured import (
    MEASURED_DAYS,
    NEWCOMER_SHARE,
    WeekReport,
    engine_clock,
    measure_week,
)
from p13n.seed.mercari import load_mercari
from p13n.seed.simulator import simulate

__all__ = ["load_demo", "apply_demo_decisioning", "measure_demo", "DEMO_DECISIONING"]

DEMO_DECISIONING = "data/decisioning.yaml"


def load_demo(
    engine: Engine,
    *,
    shoppers: int = 2000,
    n_items: int = 3000,
    days: int = 30,
    seed: int = 42,
    end: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Catalog of Mercari listings, then simulated shoppers ending at `end` (default: now).
    Default insights and segments are installed by the engine itself when the store is new."""
    now = engine.now() if end is None else end
    items = load_mercari(n_items, now=now)
    engine.upsert_items(items)
    events = simulate(items, shoppers=shoppers, days=days, end=now, seed=seed)
    return engine.import_events(events, on_progress=on_progress)


def apply_demo_decisioning(service: DecisionService, *, at: float | None = None) -> ApplyReport:
    """The demo's points, decisions and experiment (`seed/data/decisioning.yaml`), applied like
    `p13n config apply` (idempotent); stamped at `at` when given (the experiment then started
    then: `p13n seed demo` starts it with the measured week)."""
    text = resources.files("p13n.seed").joinpath(DEMO_DECISIONING).read_text(encoding="utf-8")
    bundle = parse_bundle(yaml.safe_load(text))
    if at is None:
        return apply_bundle(service, bundle)
    with engine_clock(service.engine) as set_time:
        set_time(at)
        return apply_bundle(service, bundle)


def measure_demo(
    service: DecisionService,
    *,
    end: float,
    shoppers: int = 2000,
    n_items: int = 3000,
    seed: int = 42,
    newcomers: int | None = None,
    days: int = MEASURED_DAYS,
    on_progress: Callable[[int], None] | None = None,
) -> WeekReport:
    """The measured week of the tenant `load_demo` loaded with the same `end`, `shoppers`,
    `n_items` and `seed` (its decisioning applied, its model trained): visits decided by
    `service`, and what the shoppers did with what they were shown. `newcomers` defaults to
    `NEWCOMER_SHARE` of `shoppers`."""
    items = load_mercari(n_items, now=end)  # the same catalog, in the same order
    if newcomers is None:
        newcomers = round(shoppers * NEWCOMER_SHARE)
    return measure_week(
        service,
        items,
        shoppers=shoppers,
        newcomers=newcomers,
        end=end,
        seed=seed,
        days=days,
        on_progress=on_progress,
    )
