"""Deterministic demo data: a Mercari catalog sample and simulated shoppers' events.

Uses only the public domain API (never `p13n.server`), so benchmarks and the demo seed share it.
"""

from __future__ import annotations

from p13n.seed.demo import apply_demo_decisioning, load_demo
from p13n.seed.mercari import load_mercari
from p13n.seed.simulator import NAMED_SHOPPERS, simulate, simulate_flat

__all__ = [
    "NAMED_SHOPPERS",
    "apply_demo_decisioning",
    "load_demo",
    "load_mercari",
    "simulate",
    "simulate_flat",
]
