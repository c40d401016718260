"""Budgeted, seeded search over the model's parameters, beside the baselines, on a validation split.

Candidates, all fitted on the split's training part by `train_model` and scored by `evaluate`:
- `popularity`: `ModelParams(popularity_only=True, popularity_weight=1)`;
- `ease`: plain EASE (binary X, no dropout, sessions, transitions or popularity exponent), λ
  on a grid of four values and then halved / doubled around the best;
- `ours`: first the given defaults, then the defaults with transitions at γt = 0.3 and 1 (a
  temporal hold-out of MovieLens-1M chose 3, a random one 0), then, while the budget lasts, a seeded mix of draws from the whole space
  and perturbations of the best so far. Each fit is scored at several popularity exponents
  (no refit: the exponent only divides B's columns);
- `serving`: the parameters of the model serving now, refitted on the same split, so that a new
  model is compared with it on the same data.

Choosing (`TuneResult.score`): each trial is scored on every hold-out of the split (`both`, the
default: a temporal and a random one, see `evaluation.py`) by its ratio to the best EASE of that
hold-out, on NDCG@10 and on Recall@10; its score is the worst of those ratios, and the best
trial of a kind is the one with the highest score. A setting wins only if it beats the tuned
EASE under both readings of "held out": what predicts the next engagement (transitions) is kept
only as far as it costs nothing when order does not matter. With one hold-out this is the
plain ratio to EASE, which orders trials like NDCG@10.

Why our own search and not Optuna: a fit costs seconds to tens of seconds, so a 5-minute budget
holds 10-20 fits, too few for TPE to learn much over random draws; half the space (the
popularity exponent) is evaluated per fit for free, which a generic optimizer would not know.
Successive halving on subsamples was not used: EASE-family quality depends on the whole Gram
matrix, a subsample ranks λ differently. The candidate sequence is fixed by the seed; how far the
search gets depends on the budget (`max_trials` fixes it for reproducible runs).

Budget: after the first EASE fit the cost of the smallest useful run (the EASE grid, one fit of
ours and the final fit on all data) is predicted; a budget below it raises `BudgetTooSmall`
naming the smallest budget that works. Ours's search stops when the next fit (predicted from the
slowest fit of its kind so far) and the final fit would not fit in what is left.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend.evaluation import (
    Holdout,
    RankingMetrics,
    SplitKind,
    ValidationSplit,
    evaluate,
    validation_split,
)
from p13n.domain.recommend.model import (
    SIGNAL_WEIGHTS,
    Interactions,
    ModelParams,
    TrainedModel,
    train_model,
)

__all__ = [
    "Trial",
    "TuneResult",
    "BudgetTooSmall",
    "CandidateName",
    "tune",
    "ease_params",
    "reference",
    "score",
    "rank_key",
    "POPULARITY_PARAMS",
    "POPULARITY_EXPONENTS",
]

CandidateName = Literal["ours", "ease", "popularity", "serving"]
POPULARITY_PARAMS = ModelParams(
    popularity_only=True, popularity_weight=1.0, embedding_weight=0.0, popularity_exponent=0.0
)
POPULARITY_EXPONENTS = (0.0, 0.05, 0.1, 0.2)
EASE_GRID = (100.0, 400.0, 1600.0, 6400.0)
_OURS_FACTOR = 1.5  # a fit of ours against one of EASE (sessions; measured 0.8-1.9 on ML-1M)
_FINAL_FACTOR = 1.25  # the final fit is on all data: a little more than the split's train part


def ease_params(l2: float, base: ModelParams) -> ModelParams:
    """Plain EASE at λ = `l2`, under the same item cap as `base`; no content term when served."""
    return ModelParams(
        l2=l2,
        dropout=0.0,
        popularity_exponent=0.0,
        session_weight=0.0,
        transition_weight=0.0,
        embedding_weight=0.0,
        binary=True,
        max_items=base.max_items,
    )


class BudgetTooSmall(InvalidInput):
    """The budget does not cover one fit of each candidate and the final fit."""

    def __init__(self, budget: float, needed: float) -> None:
        self.needed_seconds = int(math.ceil(needed))
        super().__init__(
            f"a budget of {budget:g} s is too small to tune on this data: the baselines, one "
            f"fit of the model and the final fit need about {self.needed_seconds} s.",
            hint=f"Pass --budget-seconds {self.needed_seconds} or more, or --no-tune.",
        )


@dataclass(frozen=True)
class Trial:
    name: CandidateName
    params: ModelParams
    metrics: RankingMetrics
    """Over all hold-outs: the mean of each hold-out's figures (`holdouts`)."""
    fit_seconds: float
    holdouts: dict[Holdout, RankingMetrics]


_SCORED = ("ndcg_at_10", "recall_at_10")


def _combined(per: dict[Holdout, RankingMetrics]) -> RankingMetrics:
    """The mean of each figure over the hold-outs (a single hold-out: its own figures)."""
    ms = list(per.values())
    if len(ms) == 1:
        return ms[0]

    def mean(name: str) -> float:
        return round(float(np.mean([getattr(m, name) for m in ms])), 4)

    return RankingMetrics(
        ndcg_at_10=mean("ndcg_at_10"),
        recall_at_10=mean("recall_at_10"),
        coverage=mean("coverage"),
        hit_at_10=mean("hit_at_10"),
        mrr_at_10=mean("mrr_at_10"),
        users=max(m.users for m in ms),
    )


def reference(trials: Sequence[Trial]) -> dict[Holdout, RankingMetrics]:
    """Per hold-out, the figures of the EASE trial best on that hold-out's NDCG@10."""
    eases = [t for t in trials if t.name == "ease"]
    out: dict[Holdout, RankingMetrics] = {}
    for t in eases:
        for h, m in t.holdouts.items():
            if h not in out or m.ndcg_at_10 > out[h].ndcg_at_10:
                out[h] = m
    return out


def _ratios(trial: Trial, ref: dict[Holdout, RankingMetrics]) -> list[float]:
    return [
        getattr(m, f) / max(getattr(ref[h], f), 1e-6)
        for h, m in trial.holdouts.items()
        if h in ref
        for f in _SCORED
    ]


def score(trial: Trial, ref: dict[Holdout, RankingMetrics]) -> float:
    """The worst ratio of `trial` to `ref` over hold-outs and NDCG@10 / Recall@10 (no
    reference yet: the mean NDCG@10)."""
    return min(_ratios(trial, ref)) if ref else trial.metrics.ndcg_at_10


def rank_key(trial: Trial, ref: dict[Holdout, RankingMetrics]) -> tuple[float, float]:
    """Order of trials: the worst ratio (`score`), ties (a saturated Recall@10 on small
    data) broken by the mean ratio."""
    if not ref:
        return (trial.metrics.ndcg_at_10, trial.metrics.ndcg_at_10)
    ratios = _ratios(trial, ref)
    return (round(min(ratios), 4), float(np.mean(ratios)))


@dataclass(frozen=True)
class TuneResult:
    trials: tuple[Trial, ...]
    split: ValidationSplit
    seconds: float
    stopped: str
    """Why ours's search ended: `budget`, `max_trials` or `no search` (fixed defaults)."""
    models: dict[CandidateName, tuple[TrainedModel, float]] = field(default_factory=dict)
    """Per kind, the model of its best trial (fitted on the split's train part) and the
    popularity exponent to apply on top of it (what its figures were scored at)."""

    def score(self, trial: Trial) -> float:
        """`trial`'s worst ratio to the tuned EASE (module docstring)."""
        return score(trial, reference(self.trials))

    def key(self, trial: Trial) -> tuple[float, float]:
        """What trials are ordered by (`rank_key`): higher is better."""
        return rank_key(trial, reference(self.trials))

    def best(self, name: CandidateName) -> Trial | None:
        mine = [t for t in self.trials if t.name == name]
        return max(mine, key=self.key) if mine else None


class _Clock:
    def __init__(self, budget: float, clock: Callable[[], float]) -> None:
        self.budget, self.clock, self.start = budget, clock, clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def left(self) -> float:
        return self.budget - self.elapsed()


def _fit(
    name: CandidateName,
    split: ValidationSplit,
    params: ModelParams,
    now: float,
    exponents: Sequence[float],
) -> tuple[list[Trial], float, TrainedModel]:
    """One fit (returned too), scored at each exponent in `exponents` (added to the params' own exponent when
    `exponents` is (0,), otherwise replacing it)."""
    t = time.perf_counter()
    fit_params = params if tuple(exponents) == (0.0,) else replace(params, popularity_exponent=0.0)
    model = train_model(split.train, fit_params, now=now)
    scored = evaluate(model, split, popularity_exponents=exponents)
    seconds = round(time.perf_counter() - t, 3)
    trials = [
        Trial(
            name,
            params if tuple(exponents) == (0.0,) else replace(params, popularity_exponent=beta),
            _combined(m),
            seconds,
            m,
        )
        for beta, m in zip(exponents, scored, strict=True)
    ]
    return trials, seconds, model


def _draw(
    rng: np.random.Generator, base: ModelParams, signals: list[str], items: int
) -> ModelParams:
    """One point of the whole space."""
    weights = None
    if len(signals) > 1:
        weights = {
            s: round(SIGNAL_WEIGHTS.get(s, 1.0) * float(np.exp(rng.uniform(-0.7, 0.7))), 3)
            for s in signals
        }
    caps = [base.max_items]
    if items > 2000:
        caps.append(max(1000, items // 2))
    return replace(
        base,
        l2=round(float(np.exp(rng.uniform(np.log(50.0), np.log(5000.0)))), 1),
        dropout=round(float(rng.uniform(0.0, 0.75)), 3),
        session_weight=float(rng.choice([0.0, 0.5, 1.0, 2.0])),
        transition_weight=float(rng.choice([0.0, 0.0, 0.3, 1.0, 3.0, 10.0])),
        recency_half_life_days=[None, None, 30.0, 180.0][int(rng.integers(4))],
        signal_weights=weights,
        max_items=int(caps[int(rng.integers(len(caps)))]),
    )


def _perturb(rng: np.random.Generator, best: ModelParams, drawn: ModelParams) -> ModelParams:
    """Near the best so far: λ and dropout moved a little, one other parameter from `drawn`."""
    p = replace(
        best,
        l2=round(float(best.l2 * np.exp(rng.normal(0.0, 0.4))), 1),
        dropout=round(float(np.clip(best.dropout + rng.normal(0.0, 0.08), 0.0, 0.8)), 3),
    )
    key = ["session_weight", "transition_weight", "recency_half_life_days", "signal_weights"][
        int(rng.integers(4))
    ]
    return replace(p, **{key: getattr(drawn, key)})


def tune(
    data: Interactions,
    *,
    base: ModelParams,
    now: float,
    budget_seconds: float,
    split: SplitKind = "both",
    seed: int = 0,
    search: bool = True,
    serving: ModelParams | None = None,
    max_trials: int | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TuneResult:
    """Fit and score the candidates of the module docstring within `budget_seconds`."""
    budget = _Clock(budget_seconds, clock)
    sp = validation_split(data, kind=split, seed=seed)
    trials: list[Trial] = []

    def ranked(t: Trial) -> tuple[float, float]:
        return rank_key(t, reference(trials))

    def keep(new: list[Trial]) -> Trial:
        best = max(new, key=ranked)  # one trial per fit: its best popularity exponent
        trials.append(best)
        if on_trial is not None:
            on_trial(best)
        return best

    keep(_fit("popularity", sp, POPULARITY_PARAMS, now, (0.0,))[0])
    first, ease_s, _ = _fit("ease", sp, ease_params(EASE_GRID[0], base), now, (0.0,))
    keep(first)
    # the rest of the grid, then one fit of ours (about 1.5 EASE fits) and the final fit
    needed = budget.elapsed() + ease_s * (len(EASE_GRID) - 1 + _OURS_FACTOR * (1 + _FINAL_FACTOR))
    if search and needed > budget_seconds:
        raise BudgetTooSmall(budget_seconds, 1.2 * needed)
    for l2 in EASE_GRID[1:]:
        keep(_fit("ease", sp, ease_params(l2, base), now, (0.0,))[0])
    best_l2 = max((t for t in trials if t.name == "ease"), key=ranked)
    for l2 in (best_l2.params.l2 / 2, best_l2.params.l2 * 2):
        if not search or budget.left() > ease_s * (1 + 4 * _FINAL_FACTOR):
            keep(_fit("ease", sp, ease_params(l2, base), now, (0.0,))[0])

    exponents = POPULARITY_EXPONENTS if search else (0.0,)
    seen: list[ModelParams] = []
    models: dict[CandidateName, tuple[TrainedModel, float]] = {}
    slowest = {False: 0.0, True: 0.0}

    def run(params: ModelParams) -> None:
        fit_params = replace(params, popularity_exponent=0.0) if search else params
        if fit_params in seen:
            return
        seen.append(fit_params)
        got, s, model = _fit("ours", sp, params, now, exponents)
        slowest[params.transition_weight > 0] = max(slowest[params.transition_weight > 0], s)
        kept = keep(got)
        if max((t for t in trials if t.name == "ours"), key=ranked) is kept:
            extra = kept.params.popularity_exponent if search else 0.0
            models["ours"] = (model, extra)

    run(base)
    if serving is not None:
        reuse = [t for t in trials if t.params == serving]
        if reuse:
            trials.append(replace(reuse[0], name="serving"))
        else:
            keep(_fit("serving", sp, serving, now, (0.0,))[0])
    stopped = "no search"
    if search:
        rng = np.random.default_rng(seed)
        signals = sorted(set(sp.train.interactions))
        items = len(set(sp.train.items))
        # then the defaults with a little and some transitions: how much the order predicts
        queue = [
            replace(base, transition_weight=g) for g in (0.3, 1.0) if g != base.transition_weight
        ]
        stopped = "budget"
        while True:
            n_ours = len(seen)
            if max_trials is not None and n_ours >= max_trials:
                stopped = "max_trials"
                break
            drawn = _draw(rng, base, signals, items)
            if queue:
                nxt = queue.pop(0)
            elif rng.random() < 0.5:
                nxt = drawn
            else:
                best = max((t for t in trials if t.name == "ours"), key=ranked)
                nxt = _perturb(rng, best.params, drawn)
            kind = nxt.transition_weight > 0
            cost = slowest[kind] or 2.0 * max(slowest.values())
            final = _FINAL_FACTOR * max(slowest.values())
            if budget.left() < cost + final:
                break
            run(nxt)
    return TuneResult(tuple(trials), sp, round(budget.elapsed(), 3), stopped, models)
