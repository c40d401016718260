"""Validation split, metrics, the budgeted search and the promotion rules of `p13n train`."""

from __future__ import annotations

import math
import signal
from pathlib import Path

import numpy as np
import pytest

from p13n.domain.recommend import (
    BudgetTooSmall,
    Interactions,
    ModelParams,
    ranking_metrics,
    train_model,
    tune,
    validation_split,
)
from p13n.domain.services import RunStatus, RunStore, TrainOptions, run_training

DAY = 86_400.0


def chains(users: int = 220, items: int = 60, seed: int = 1) -> Interactions:
    """Each visitor walks a ring of items one step at a time (item k, then k+1, ...): the next
    item follows from the last one, which a temporal hold-out rewards."""
    rng = np.random.default_rng(seed)
    us, its, acts, ts = [], [], [], []
    for u in range(users):
        start = int(rng.integers(items))
        t = float(rng.uniform(0, 30)) * DAY
        for step in range(int(rng.integers(8, 13))):
            us.append(f"u{u}")
            its.append(f"i{(start + step) % items:02d}")
            acts.append("View Catalog Object" if step % 3 else "Add To Cart")
            ts.append(t)
            t += float(rng.uniform(0.1, 2.0)) * DAY
    return Interactions(us, its, acts, ts)


def test_ndcg_recall_and_coverage_match_a_hand_computation() -> None:
    top = {"a": ["x", "y", "z"], "b": ["q"]}
    truth = {"a": {"x", "z"}, "b": {"w"}, "c": set()}
    got = ranking_metrics(top, truth, catalog_size=8, k=10)
    ndcg_a = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert got.users == 2
    assert got.ndcg_at_10 == round(ndcg_a / 2, 4)
    assert got.recall_at_10 == round((2 / 2 + 0) / 2, 4)
    assert got.coverage == round(4 / 8, 4)
    assert got.mrr_at_10 == round((1.0 + 0) / 2, 4)


def test_a_temporal_split_holds_out_each_visitors_latest_items_and_all_their_events() -> None:
    data = chains(users=60)
    sp = validation_split(data, kind="temporal", fraction=0.2)
    train_pairs = set(zip(sp.train.users, sp.train.items, strict=True))
    for user, held in sp.truth.items():
        mine = sorted(
            (t, i) for u, i, t in zip(data.users, data.items, data.ts, strict=True) if u == user
        )
        distinct = list(dict.fromkeys(i for _, i in mine))
        n_out = max(1, round(0.2 * len(distinct)))
        assert held == frozenset(distinct[-n_out:])
        assert not any((user, i) in train_pairs for i in held)
    assert len(sp.train) + sum(
        1 for u, i in zip(data.users, data.items, strict=True) if i in sp.truth.get(u, ())
    ) == len(data)


def test_a_random_split_is_seeded() -> None:
    data = chains(users=60)
    a = validation_split(data, kind="random", seed=3).truth
    assert a == validation_split(data, kind="random", seed=3).truth
    assert a != validation_split(data, kind="random", seed=4).truth
    assert a != validation_split(data, kind="temporal", seed=3).truth


def test_the_search_fits_both_baselines_and_finds_transitions_on_sequential_data() -> None:
    result = tune(
        chains(),
        base=ModelParams(),
        now=60 * DAY,
        budget_seconds=60.0,
        max_trials=3,
        seed=0,
        split="temporal",
    )
    names = {t.name for t in result.trials}
    assert {"ours", "ease", "popularity"} <= names
    ours, ease = result.best("ours"), result.best("ease")
    assert ours is not None and ease is not None
    assert ours.params.transition_weight > 0  # the second candidate tried
    assert ours.metrics.ndcg_at_10 > ease.metrics.ndcg_at_10
    assert result.stopped == "max_trials"


def shuffled_in_time(data: Interactions, seed: int = 2) -> Interactions:
    """The same engagements at random times: the order no longer predicts anything."""
    rng = np.random.default_rng(seed)
    ts = [float(t) for t in rng.uniform(0, 60 * DAY, len(data))]
    return Interactions(data.users, data.items, data.interactions, ts)


def test_a_both_split_holds_out_the_latest_items_and_random_ones_of_the_rest() -> None:
    data = chains(users=60)
    sp = validation_split(data, kind="both", fraction=0.2, seed=5)
    assert sp.kind == "both" and set(sp.holdouts) == {"temporal", "random"}
    latest = validation_split(data, kind="temporal", fraction=0.1).truth
    assert sp.holdouts["temporal"] == latest
    for user, held in sp.holdouts["random"].items():
        assert held and not held & latest[user]
        assert sp.truth[user] == held | latest[user]
    train_pairs = set(zip(sp.train.users, sp.train.items, strict=True))
    assert not any((u, i) in train_pairs for u, items in sp.truth.items() for i in items)
    assert sp.holdouts["random"] != validation_split(data, kind="both", seed=6).holdouts["random"]


def test_each_trial_is_scored_by_its_worse_ratio_to_the_tuned_ease_of_each_holdout() -> None:
    result = tune(
        chains(), base=ModelParams(), now=60 * DAY, budget_seconds=60.0, max_trials=3, seed=0
    )
    eases = [t for t in result.trials if t.name == "ease"]
    for trial in result.trials:
        ratios = [
            getattr(m, f)
            / max(
                getattr(e.holdouts[h], f)
                for e in eases
                if e.holdouts[h].ndcg_at_10 == max(x.holdouts[h].ndcg_at_10 for x in eases)
            )
            for h, m in trial.holdouts.items()
            for f in ("ndcg_at_10", "recall_at_10")
        ]
        assert set(trial.holdouts) == {"temporal", "random"}
        assert result.score(trial) == pytest.approx(min(ratios))
    ours = result.best("ours")
    assert ours is not None
    assert all(result.key(ours) >= result.key(t) for t in result.trials if t.name == "ours")


def test_transitions_win_only_when_order_predicts_under_both_holdouts() -> None:
    """Ring walks: the temporal hold-out alone chooses transitions; on the same engagements at
    random times (order predicts nothing), the both-holdout score does not."""
    kw = {"base": ModelParams(), "now": 60 * DAY, "budget_seconds": 60.0, "max_trials": 3}
    ordered = tune(chains(), split="temporal", **kw)  # type: ignore[arg-type]
    shuffled = tune(shuffled_in_time(chains()), **kw)  # type: ignore[arg-type]
    best_ordered, best_shuffled = ordered.best("ours"), shuffled.best("ours")
    assert best_ordered is not None and best_shuffled is not None
    assert best_ordered.params.transition_weight > 0
    assert best_shuffled.params.transition_weight == 0


def test_a_budget_too_small_for_one_fit_names_the_smallest_that_works() -> None:
    ticks = iter(range(0, 10_000, 5))  # every clock reading is 5 s later

    with pytest.raises(BudgetTooSmall) as caught:
        tune(
            chains(),
            base=ModelParams(),
            now=60 * DAY,
            budget_seconds=3.0,
            clock=lambda: float(next(ticks)),
        )
    assert caught.value.needed_seconds > 3
    assert f"--budget-seconds {caught.value.needed_seconds}" in str(caught.value)


def test_too_little_data_trains_the_defaults_and_says_why(tmp_path: Path) -> None:
    data = chains(users=30)
    store = RunStore(tmp_path)
    run, model = run_training(
        data, now=60 * DAY, base=ModelParams(), options=TrainOptions(), serving=None, store=store
    )
    assert model is not None and model.params == ModelParams()
    assert run.status is RunStatus.PROMOTED and not run.tuned
    assert "too little data to tune" in run.notes[0]
    assert store.list() == [run]


def test_a_run_promotes_ours_only_when_it_validates_at_least_as_well_as_the_baselines(
    tmp_path: Path,
) -> None:
    bad = ModelParams(recency_half_life_days=0.01)  # forgets nearly everything
    run, model = run_training(
        chains(),
        now=60 * DAY,
        base=bad,
        options=TrainOptions(tune=False),
        serving=None,
        store=RunStore(tmp_path),
    )
    assert model is not None and run.status is RunStatus.PROMOTED
    best = {c.name: c for c in run.candidates[:3]}
    assert best["ease"].ndcg_at_10 > best["ours"].ndcg_at_10
    assert run.served == "ease" and model.params.binary
    assert any("serving the ease baseline" in n for n in run.notes)


def test_a_model_validating_below_the_serving_one_is_kept_out_unless_forced(
    tmp_path: Path,
) -> None:
    data = chains()
    good = train_model(data, ModelParams(transition_weight=3.0), now=60 * DAY)
    kw = {"now": 60 * DAY, "base": ModelParams(), "serving": good, "store": RunStore(tmp_path)}
    fixed = TrainOptions(tune=False, split="temporal")
    run, model = run_training(data, options=fixed, **kw)  # type: ignore[arg-type]
    assert run.status is RunStatus.KEPT and model is None
    forced = fixed.model_copy(update={"force": True})
    forced, model = run_training(data, options=forced, **kw)  # type: ignore[arg-type]
    assert forced.status is RunStatus.PROMOTED and model is not None
    assert [r.status for r in RunStore(tmp_path).list()] == [RunStatus.KEPT, RunStatus.PROMOTED]


@pytest.mark.parametrize("how", ["signal", "error"])
def test_an_interrupted_run_promotes_nothing_and_is_recorded(tmp_path: Path, how: str) -> None:
    def stop(trial: object) -> None:
        if how == "signal":
            signal.raise_signal(signal.SIGINT)
        raise RuntimeError("disk full")

    store = RunStore(tmp_path)
    with pytest.raises(KeyboardInterrupt if how == "signal" else RuntimeError):
        run_training(
            chains(),
            now=60 * DAY,
            base=ModelParams(),
            options=TrainOptions(),
            serving=None,
            store=store,
            on_trial=stop,
        )
    (run,) = store.list()
    expected = RunStatus.INTERRUPTED if how == "signal" else RunStatus.FAILED
    assert run.status is expected and run.served is None and run.params is None
    assert not (tmp_path / "objective.npz").exists()
