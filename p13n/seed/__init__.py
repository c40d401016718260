"""Deterministic demo data: a Mercari catalog sample, simulated shoppers' events, and a
measured week in which the shoppers react to what p13n shows them.

Uses only the public domain API (never `p13n.server`), so benchmarks and the demo seed share it.
"""

from __future__ import annotations

from p13n.seed.demo import apply_demo_decisioning, load_demo, measure_demo
from p13n.seed.measured import MEASURED_DAYS, WeekReport
from p13n.seed.mercari import load_mercari
from p13n.seed.reactions import match
from p13n.seed.simulator import NAMED_SHOPPERS, simulate, simulate_flat

__all__ = [
    "MEASURED_DAYS",
    "NAMED_SHOPPERS",
    "WeekReport",
    "apply_demo_decisioning",
    "load_demo",
    "load_mercari",
    "match",
    "measure_demo",
    "simulate",
    "simulate_flat",
]
