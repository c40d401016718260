"""What business rules cost on validation (`rule_costs`) and the diversity re-ranking."""

from __future__ import annotations

from pathlib import Path

import pytest
from _recommend_fixtures import run
from pydantic import ValidationError
from test_model_tuning import DAY, chains

from p13n.domain.recommend import (
    SWITCH_NOTE,
    ModelParams,
    RecommenderConfig,
    rule_costs,
    suggested_weight,
    train_model,
    validation_split,
)
from p13n.domain.recommend.ranking import diversify
from p13n.domain.services import RunStore, TrainOptions, run_training


def test_diversify_passes_a_better_item_only_for_one_within_the_weight() -> None:
    values, keys = [1.0, 0.99, 0.5, 0.0], ["x", "x", "y", "z"]
    assert diversify(values, keys, 4, weight=0.0, cap=None) == [0, 1, 2, 3]
    assert diversify(values, keys, 4, weight=0.05, cap=None) == [0, 1, 2, 3]  # y is far below
    assert diversify(values, keys, 4, weight=0.6, cap=None) == [0, 2, 1, 3]
    assert diversify(values, keys, 4, weight=0.0, cap=1) == [0, 2, 3]
    assert diversify(values, keys, 2, weight=0.6, cap=None, counts={"x": 1}) == [2, 0]


def test_the_re_ranking_weight_moves_other_categories_up_in_serving() -> None:
    base = {"recipe": {"algorithm": "most-viewed"}}
    assert run(base) == ["b", "a", "c", "e"]  # a and b: both boots
    heavy = {**base, "diversity": {"field": "category", "max_per_value": 12, "weight": 1.0}}
    assert run(heavy) == ["b", "c", "e", "a"]
    light = {**base, "diversity": {"field": "category", "max_per_value": 12, "weight": 0.0}}
    assert run(light) == ["b", "a", "c", "e"]


def test_a_weight_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValidationError):
        RecommenderConfig.model_validate(
            {"name": "x", "recipe": {"algorithm": "objective"}, "diversity": {"weight": 1.5}}
        )


def _config(cap: int, weight: float = 0.0, exploration: float = 0.05) -> RecommenderConfig:
    return RecommenderConfig.model_validate(
        {
            "name": "for-you",
            "recipe": {"algorithm": "objective", "exploration": exploration},
            "switches": {"exclude_viewed_days": 1, "exclude_in_cart": True},
            "diversity": {"field": "category", "max_per_value": cap, "weight": weight},
        }
    )


def test_each_rule_is_measured_against_the_bare_model_on_the_same_split() -> None:
    data = chains()
    sp = validation_split(data, kind="both")
    model = train_model(sp.train, ModelParams(), now=60 * DAY)
    # neighbours on the ring alternate categories: at most one per category leaves 2 slots
    cats = {f"i{k:02d}": "even" if k % 2 == 0 else "odd" for k in range(60)}
    costs = {c.rule: c for c in rule_costs(model, sp, _config(cap=1), cats)}
    assert costs["bare model"].ndcg_cost == 0.0
    assert costs["diversity: at most 1 per category"].ndcg_cost > 0.05
    assert costs["as shipped"].ndcg_cost >= costs["diversity: at most 1 per category"].ndcg_cost
    assert "exploration 0.05 from slot 6" in costs
    assert {f"diversity: re-ranking weight {w:g}" for w in (0.01, 0.02, 0.05, 0.1)} <= set(costs)
    assert 0.0 <= suggested_weight(list(costs.values())) <= 0.1
    loose = {c.rule: c for c in rule_costs(model, sp, _config(cap=10, exploration=0.0), cats)}
    assert loose["as shipped"].ndcg_cost == 0.0 and "exploration" not in " ".join(loose)


def test_a_run_reports_the_rule_costs_of_the_recommender_it_was_given(tmp_path: Path) -> None:
    cats = {f"i{k:02d}": "even" if k % 2 == 0 else "odd" for k in range(60)}
    run_, model = run_training(
        chains(),
        now=60 * DAY,
        base=ModelParams(),
        options=TrainOptions(max_trials=1),
        serving=None,
        store=RunStore(tmp_path),
        rules=_config(cap=1),
        categories=cats,
    )
    assert model is not None and run_.rules_of == "for-you"
    rows = {c["rule"]: c for c in run_.rule_costs}
    assert rows["diversity: at most 1 per category"]["ndcg_cost"] > 0
    assert any(SWITCH_NOTE in n for n in run_.notes)
    assert RunStore(tmp_path).list()[0].rule_costs == run_.rule_costs
