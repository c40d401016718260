"""`p13n seed demo`: the demo tenant through the public domain API (catalog, then 30 days of events)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import yaml

from p13n.domain.ingest import ImportSummary
from p13n.domain.services import ApplyReport, DecisionService, Engine, apply_bundle, parse_bundle
from p13n.seed.mercari import load_mercari
from p13n.seed.simulator import simulate

__all__ = ["load_demo", "apply_demo_decisioning", "DEMO_DECISIONING"]

DEMO_DECISIONING = "data/decisioning.yaml"


def load_demo(
    engine: Engine,
    *,
    shoppers: int = 2000,
    n_items: int = 3000,
    days: int = 30,
    seed: int = 42,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Catalog of Mercari listings, then simulated shoppers ending now. Default insights and
    segments are installed by the engine itself when the store is new."""
    now = engine.now()
    items = load_mercari(n_items, now=now)
    engine.upsert_items(items)
    events = simulate(items, shoppers=shoppers, days=days, end=now, seed=seed)
    return engine.import_events(events, on_progress=on_progress)


def apply_demo_decisioning(service: DecisionService) -> ApplyReport:
    """The demo's points, decisions and experiment (`seed/data/decisioning.yaml`), applied like
    `p13n config apply` (idempotent)."""
    text = resources.files("p13n.seed").joinpath(DEMO_DECISIONING).read_text(encoding="utf-8")
    return apply_bundle(service, parse_bundle(yaml.safe_load(text)))
