"""What a shipped recommender's business rules and exploration cost, measured on the validation
split of `p13n train` beside the bare model.

The bare model is what `evaluate` scores (a visitor's top 10 of the items they have not engaged
with). Each rule is then applied alone, and all together (the recommender as shipped), by the
serving code's own functions (`ranking.diversify`, `ranking.explore`, seeded per visitor like a
request), over the bare model's best `POOL` candidates:
- diversity: the cap of `max_per_value` items per category and, with `weight` > 0, the re-ranking;
  also at each weight of `WEIGHTS`, so that a merchant sees what variety costs;
- exploration: `epsilon` of the slots from `limit // 2` on drawn by item uncertainty;
- the switches (drop items viewed in the last day, in the cart, purchased) remove only items the
  visitor engaged with, which a hold-out never holds and the bare model never ranks: they cost
  nothing here by construction, and are listed with that reason rather than a measured 0.
Costs are 1 - NDCG@10(rule) / NDCG@10(bare), the mean over the split's hold-outs; coverage is of
the catalog, as in `evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from p13n.domain.recommend.config import ObjectiveBased, RecommenderConfig
from p13n.domain.recommend.evaluation import (
    Holdout,
    K,
    RankingMetrics,
    ValidationSplit,
    ranking_metrics,
    scored_rows,
    top_rows,
)
from p13n.domain.recommend.model import TrainedModel
from p13n.domain.recommend.ranking import Slot, diversify, explore, request_rng

__all__ = ["RuleCost", "rule_costs", "suggested_weight", "WEIGHTS", "SWITCH_NOTE"]

POOL = 64
WEIGHTS = (0.01, 0.02, 0.05, 0.1)
SWITCH_NOTE = (
    "0 on validation by construction: they drop only items the visitor engaged with, which "
    "a hold-out never holds"
)


@dataclass(frozen=True)
class RuleCost:
    rule: str
    ndcg_at_10: float
    recall_at_10: float
    coverage: float
    ndcg_cost: float
    """1 - NDCG@10 / the bare model's (positive: the rule costs relevance)."""

    def as_dict(self) -> dict[str, float | str]:
        return {
            "rule": self.rule,
            "ndcg_at_10": self.ndcg_at_10,
            "recall_at_10": self.recall_at_10,
            "coverage": self.coverage,
            "ndcg_cost": self.ndcg_cost,
        }


def _mean(per: Mapping[Holdout, RankingMetrics], name: str) -> float:
    return float(np.mean([getattr(m, name) for m in per.values()]))


def rule_costs(
    model: TrainedModel,
    split: ValidationSplit,
    config: RecommenderConfig,
    categories: Mapping[str, str],
    *,
    popularity_exponent: float = 0.0,
    limit: int = K,
) -> list[RuleCost]:
    """The rows of the module docstring for `config` (its diversity and, for the objective
    recipe, its exploration); `categories`: item id -> category (missing: its own category)."""
    ids = model.item_ids
    keys = [categories.get(i) or f"\x00{i}" for i in ids]  # no category: never shares one
    uncertainty = model.uncertainty().astype(np.float64)
    div = config.diversity
    eps = config.recipe.exploration if isinstance(config.recipe, ObjectiveBased) else 0.0
    first = max(1, limit // 2)
    variants: dict[str, tuple[float, int | None, bool]] = {"bare model": (0.0, None, False)}
    if div is not None:
        variants[f"diversity: at most {div.max_per_value} per {div.field}"] = (
            0.0,
            div.max_per_value,
            False,
        )
        if div.weight > 0:
            variants[f"diversity: re-ranking weight {div.weight:g}"] = (div.weight, None, False)
    if eps > 0:
        variants[f"exploration {eps:g} from slot {first + 1}"] = (0.0, None, True)
    if div is not None or eps > 0:
        variants["as shipped"] = (
            div.weight if div is not None else 0.0,
            div.max_per_value if div is not None else None,
            eps > 0,
        )
    for w in WEIGHTS:
        variants.setdefault(f"diversity: re-ranking weight {w:g}", (w, None, False))
    tops: dict[str, dict[Holdout, dict[str, list[str]]]] = {
        name: {h: {} for h in split.holdouts} for name in variants
    }
    for _, h, users, s in scored_rows(model, split, (popularity_exponent,)):
        for n, (user, pool) in enumerate(zip(users, top_rows(s, POOL), strict=True)):
            rows = pool.tolist()
            values = s[n, pool].astype(np.float64).tolist()
            for name, (weight, cap, exploring) in variants.items():
                if weight == 0 and cap is None:
                    picked = list(range(min(limit, len(rows))))
                else:
                    picked = diversify(
                        values, [keys[r] for r in rows], limit, weight=weight, cap=cap
                    )
                chosen = [rows[k] for k in picked]
                if exploring and eps > 0 and chosen:
                    taken = set(chosen)
                    slots = [Slot(r, 0.0, "", config.name) for r in chosen]
                    rest = [r for r in rows if r not in taken]
                    rng = request_rng(0, user)
                    slots = explore(slots, rest, uncertainty, eps, rng, first_slot=first)
                    chosen = [sl.row for sl in slots]
                tops[name][h][user] = [ids[r] for r in chosen]
    per = {
        name: {
            h: ranking_metrics(t, split.holdouts[h], catalog_size=split.catalog_size)
            for h, t in by.items()
        }
        for name, by in tops.items()
    }
    bare = max(_mean(per["bare model"], "ndcg_at_10"), 1e-12)
    return [
        RuleCost(
            rule=name,
            ndcg_at_10=round(_mean(m, "ndcg_at_10"), 4),
            recall_at_10=round(_mean(m, "recall_at_10"), 4),
            coverage=round(_mean(m, "coverage"), 4),
            ndcg_cost=round(1.0 - _mean(m, "ndcg_at_10") / bare, 4),
        )
        for name, m in per.items()
    ]


def suggested_weight(costs: Sequence[RuleCost], most: float = 0.005) -> float:
    """The largest re-ranking weight of `WEIGHTS` costing at most `most` of NDCG@10 (0: none)."""
    ok = [
        w
        for w in WEIGHTS
        for c in costs
        if c.rule == f"diversity: re-ranking weight {w:g}" and c.ndcg_cost <= most
    ]
    return max(ok, default=0.0)
