"""Thompson sampling: cohort weights for an experiment run as a multi-armed bandit.

Each cohort's traffic share is the probability that it is the best on the primary metric,
estimated from draws of the cohorts' posteriors (Beta for rates, normal for means: the same
posteriors as `bayesian`), then floored at a minimum share so that no cohort starves and the
results stay estimable (gbstats' `min_variation_weight`, 1 % by default). Randomness comes only
from the Generator passed in, so a seeded schedule replays exactly.

Weights are multiples of 2⁻²⁰, so they are exact in binary floating point and add up to 1.0
exactly (a weight schedule that sums to 0.9999999 would leave traffic unassigned).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from p13n.domain.analytics.bayesian import UNIFORM, BetaPosterior, BetaPrior
from p13n.domain.analytics.sufficient import RateStats, Summary
from p13n.domain.errors import InvalidInput

__all__ = ["MIN_SHARE", "BanditWeights", "thompson_weights", "floor_shares"]

MIN_SHARE = 0.01
_UNITS = 2**20


@dataclass(frozen=True, slots=True)
class BanditWeights:
    """weights: traffic share per cohort (order given), each ≥ min_share, summing to exactly
    1; best: the share of posterior draws in which each cohort was best (before the floor);
    draws: how many joint draws; min_share: the floor applied. exploring: True while some
    cohort has too little data for a posterior (then the weights are equal)."""

    weights: tuple[float, ...]
    best: tuple[float, ...]
    draws: int
    min_share: float
    exploring: bool = False


def thompson_weights(
    arms: Sequence[Summary],
    *,
    rng: np.random.Generator,
    min_share: float = MIN_SHARE,
    draws: int = 10_000,
    prior: BetaPrior = UNIFORM,
) -> BanditWeights:
    """Weights from the primary metric's per-cohort statistics. RateStats cohorts draw from
    Beta(prior + counts); any other Summary from N(mean, variance / n) (flat prior), which
    needs at least 2 units and some variance per cohort: until then every cohort gets an
    equal share."""
    k = len(arms)
    if k < 2:
        raise InvalidInput("a bandit needs at least 2 cohorts.")
    if not 0 <= min_share <= 1 / k:
        raise InvalidInput(
            f"the minimum share must be between 0 and 1/{k} for {k} cohorts, got {min_share}."
        )
    if draws < 100:
        raise InvalidInput(f"Thompson sampling needs at least 100 draws, got {draws}.")
    if all(isinstance(a, RateStats) for a in arms):
        posteriors = [BetaPosterior.of(a, prior) for a in arms if isinstance(a, RateStats)]
        sample = np.column_stack([rng.beta(p.alpha, p.beta, size=draws) for p in posteriors])
    elif any(a.n < 2 or a.variance <= 0 for a in arms):
        equal = floor_shares(np.full(k, 1 / k), min_share)
        return BanditWeights(equal, tuple([1 / k] * k), 0, min_share, exploring=True)
    else:
        sample = np.column_stack(
            [rng.normal(a.mean, math.sqrt(a.variance / a.n), size=draws) for a in arms]
        )
    best = np.bincount(np.argmax(sample, axis=1), minlength=k) / draws
    return BanditWeights(
        floor_shares(best, min_share), tuple(float(b) for b in best), draws, min_share
    )


def floor_shares(shares: NDArray[np.float64], min_share: float) -> tuple[float, ...]:
    """Shares proportional to `shares`, each at least `min_share`, in multiples of 2⁻²⁰
    summing to exactly 1. Cohorts below the floor are raised to it and the rest scaled down in
    proportion, repeated until none is below (water-filling)."""
    p = np.clip(np.asarray(shares, dtype=float), 0, None)
    k = p.size
    fixed = np.zeros(k, dtype=bool)
    w = np.full(k, 1 / k)
    for _ in range(k):
        free = ~fixed
        left = 1 - min_share * fixed.sum()
        mass = p[free].sum()
        w[free] = p[free] / mass * left if mass > 0 else left / free.sum()
        w[fixed] = min_share
        low = free & (w < min_share)
        if not low.any():
            break
        fixed |= low
    w[fixed] = min_share
    return _quantised(w, min_share)


def _quantised(w: NDArray[np.float64], min_share: float) -> tuple[float, ...]:
    """Whole numbers of 2⁻²⁰ units: floor, hold the minimum, hand out the remainder by the
    largest fractional part (and take any excess from the arms furthest above target)."""
    target = w * _UNITS
    # At min_share = 1/k the ceiling cannot hold for every arm; then equal to within 2⁻²⁰.
    least = min(math.ceil(min_share * _UNITS - 1e-9), _UNITS // w.size)
    units = np.maximum(np.floor(target).astype(np.int64), least)
    diff = _UNITS - int(units.sum())
    if diff > 0:
        order = np.argsort(-(target - units), kind="stable")
        for i in range(diff):
            units[order[i % len(order)]] += 1
    for _ in range(-diff):
        over = np.where(units > least, target - units, np.inf)
        units[int(np.argmin(over))] -= 1
    return tuple(float(u) / _UNITS for u in units)
