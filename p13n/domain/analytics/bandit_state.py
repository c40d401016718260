"""A bandit experiment's weights over time, and how results stay unbiased when they move.

The services store a `BanditState` per experiment run in `bandit` mode: the weights in force
and every re-weighting with its time. `rebalance` computes the next weights from the primary
metric (Thompson sampling, `bandit.thompson_weights`, with a minimum share per cohort) when the
schedule says it is due (hourly by default). Assignment stays sticky: only new units are split
by the new weights.

The logged propensity: a unit's chance of landing in its cohort is the weight in force at its
first exposure, so the history tells each unit's period (the span between two re-weightings)
and its propensity. Pooling the periods is biased: when traffic moves to a cohort during a
high-converting week, that cohort looks better with no effect at all (Simpson's paradox). So
results are stratified by period: within a period the weights are fixed and the assignment is
a plain randomised split, so each period's cohort means are unbiased; the cohort's mean is the
average of its period means weighted by each period's share of all units (a weight fixed by
the traffic, not by the assignment), with variance Σ w_p² s²_pk / n_pk. This is post-
stratification by period (GrowthBook's `weight_by_period`), chosen over inverse-propensity
weighting because it needs no per-unit weights in the aggregates and has a smaller variance.
The sample-ratio check compares each cohort's units with Σ_p N_p · weight_pk.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.analytics.bandit import MIN_SHARE, thompson_weights
from p13n.domain.analytics.sufficient import Moments, Summary
from p13n.domain.errors import InvalidInput

__all__ = [
    "BANDIT_INTERVAL",
    "BanditEntry",
    "BanditState",
    "start_bandit",
    "rebalance",
    "stratify",
]

BANDIT_INTERVAL = 3600.0


class BanditEntry(BaseModel):
    """One re-weighting: from `ts` on, new units are split by `weights` (fractions summing to
    1). best: each cohort's chance to be best that gave them (None for the start); units: the
    primary metric's units per cohort read then; exploring: too little data, equal weights."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: float
    weights: dict[str, float]
    best: dict[str, float] | None = None
    units: dict[str, int] | None = None
    exploring: bool = False


class BanditState(BaseModel):
    """The weights in force (the last entry's) and their history, oldest first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment: str
    history: tuple[BanditEntry, ...] = Field(min_length=1)
    interval: float = Field(default=BANDIT_INTERVAL, gt=0)
    min_share: float = Field(default=MIN_SHARE, ge=0, le=0.5)

    @property
    def weights(self) -> dict[str, float]:
        return self.history[-1].weights

    @property
    def cohorts(self) -> tuple[str, ...]:
        return tuple(self.history[0].weights)

    def period_of(self, ts: float) -> int:
        """The index of the entry in force at `ts` (the first before the bandit started)."""
        return max(bisect_right([e.ts for e in self.history], ts) - 1, 0)

    def propensity(self, cohort: str, ts: float) -> float:
        """The chance a unit first exposed at `ts` had of landing in `cohort`."""
        return self.history[self.period_of(ts)].weights[cohort]

    def due(self, now: float) -> bool:
        return now >= self.history[-1].ts + self.interval


def start_bandit(
    experiment: str,
    weights: Mapping[str, float],
    *,
    now: float,
    interval: float = BANDIT_INTERVAL,
    min_share: float = MIN_SHARE,
) -> BanditState:
    """A bandit starting from the configured weights (percents or fractions)."""
    total = float(sum(weights.values()))
    if len(weights) < 2 or total <= 0 or any(w <= 0 for w in weights.values()):
        raise InvalidInput("a bandit needs at least 2 cohorts, each with a weight > 0.")
    shares = {c: w / total for c, w in weights.items()}
    return BanditState(
        experiment=experiment,
        history=(BanditEntry(ts=now, weights=shares),),
        interval=interval,
        min_share=min_share,
    )


def rebalance(
    state: BanditState,
    arms: Mapping[str, Summary],
    *,
    now: float,
    rng: np.random.Generator,
    draws: int = 10_000,
) -> BanditState:
    """The state with one more entry: Thompson weights from the primary metric's per-cohort
    statistics (`arms`, every cohort of the state). Call when `state.due(now)`."""
    missing = [c for c in state.cohorts if c not in arms]
    if missing:
        raise InvalidInput(f"the bandit needs statistics for every cohort; missing {missing}.")
    if now < state.history[-1].ts:
        raise InvalidInput("a bandit cannot be re-weighted before its last re-weighting.")
    order = state.cohorts
    found = thompson_weights(
        [arms[c] for c in order], rng=rng, min_share=state.min_share, draws=draws
    )
    entry = BanditEntry(
        ts=now,
        weights=dict(zip(order, found.weights, strict=True)),
        best=dict(zip(order, found.best, strict=True)),
        units={c: arms[c].n for c in order},
        exploring=found.exploring,
    )
    return state.model_copy(update={"history": (*state.history, entry)})


def stratify(strata: Sequence[Sequence[Summary]]) -> tuple[tuple[Summary, ...], int]:
    """Per-period cohort summaries (`strata[p][k]`: period p, cohort k) combined into one per
    cohort, weighting each period by its share of units; and the units left out: a period is
    used only when every cohort has at least 2 units in it (else its contrast is not
    estimable). One period is returned as it is."""
    if not strata:
        raise InvalidInput("stratification needs at least one period.")
    if len(strata) == 1:
        return tuple(strata[0]), 0
    used = [p for p in strata if all(s.n >= 2 for s in p)]
    dropped = sum(s.n for p in strata for s in p) - sum(s.n for p in used for s in p)
    k = len(strata[0])
    if not used:
        return tuple(
            Moments(n=0, mean=0.0, variance=0.0, unadjusted_mean=0.0) for _ in range(k)
        ), dropped
    sizes = np.array([sum(s.n for s in p) for p in used], dtype=float)
    w = sizes / sizes.sum()
    combined: list[Summary] = []
    for j in range(k):
        cells = [p[j] for p in used]
        n = sum(c.n for c in cells)
        mean = float(sum(wp * c.mean for wp, c in zip(w, cells, strict=True)))
        base = float(sum(wp * c.unadjusted_mean for wp, c in zip(w, cells, strict=True)))
        var_of_mean = float(sum(wp**2 * c.variance / c.n for wp, c in zip(w, cells, strict=True)))
        combined.append(
            Moments(n=n, mean=mean, variance=max(var_of_mean * n, 0.0), unadjusted_mean=base)
        )
    assert all(math.isfinite(c.mean) for c in combined)
    return tuple(combined), dropped
