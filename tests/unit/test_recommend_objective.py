"""The objective-based model and exploration on interactions where the answer is known."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from _recommend_fixtures import NOW, interactions, snapshot, vectors

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import (
    History,
    Interactions,
    ModelParams,
    ObjectiveRecommender,
    RecommenderConfig,
    ScoreRequest,
    train_model,
)
from p13n.domain.recommend.ranking import Slot, explore, request_rng
from p13n.domain.recommend.request import effective_limit

# The plain EASE of these hand-built cases: every extra term off unless a test turns it on.
PARAMS = ModelParams(
    l2=1.0, dropout=0.0, embedding_weight=0.0, popularity_exponent=0.0, session_weight=0.0
)


def _scores(
    objective: dict[str, object], history: History, individual: str | None = None
) -> dict[str, float]:
    snap = snapshot()
    cfg = RecommenderConfig.model_validate(
        {"name": "x", "recipe": {"algorithm": "objective", **objective}}
    )
    algo = ObjectiveRecommender(cfg.recipe, train_model(interactions(), PARAMS, now=NOW))  # type: ignore[arg-type]
    req = ScoreRequest(snap, NOW, history, vectors=vectors(snap), individual=individual)
    scored = algo.score(req)
    return {i: float(scored.scores[snap.row[i]]) for i in snap.ids}


def test_clicks_recommends_what_co_occurs_with_the_visitors_history() -> None:
    snap = snapshot()
    history = History(engaged=[(snap.row["a"], NOW, "View Catalog Object")])
    s = _scores({"objective": "Maximize Clicks"}, history)
    assert max((v, k) for k, v in s.items() if k != "a")[1] == "b"
    history = History(engaged=[(snap.row["e"], NOW, "View Catalog Object")])
    s = _scores({"objective": "Maximize Clicks"}, history)
    assert max((v, k) for k, v in s.items() if k != "e")[1] == "c"


def test_the_trained_history_of_a_known_individual_is_used_without_recent_events() -> None:
    s = _scores({"objective": "Maximize Clicks"}, History(), individual="u3")
    assert max((v, k) for k, v in s.items() if k not in ("a", "b"))[1] == "c"


def test_revenue_weighs_purchase_probability_by_price() -> None:
    snap = snapshot()
    history = History(engaged=[(snap.row["a"], NOW, "View Catalog Object")])
    clicks = _scores({"objective": "Maximize Clicks"}, history)
    revenue = _scores({"objective": "Maximize Revenue"}, history)
    assert clicks["b"] > clicks["c"]
    assert revenue["c"] > revenue["b"]  # c costs 300 and is bought; b costs 50


def test_promotions_multiply_the_revenue_of_promoted_items() -> None:
    snap = snapshot()
    history = History(engaged=[(snap.row["c"], NOW, "View Catalog Object")])
    plain = _scores({"objective": "Maximize Revenue"}, history)
    promo = _scores(
        {"objective": "Maximize Revenue with Promotions", "promotion_factor": 3.0}, history
    )
    assert promo["e"] == pytest.approx(3.0 * plain["e"])
    assert promo["a"] == pytest.approx(plain["a"])


def test_custom_objective_maximizes_or_minimizes_a_signal() -> None:
    snap = snapshot()
    history = History(engaged=[(snap.row["c"], NOW, "View Catalog Object")])
    up = _scores({"objective": "Custom", "signal": "Add To Cart"}, history)
    down = _scores(
        {"objective": "Custom", "signal": "Add To Cart", "direction": "minimize"}, history
    )
    assert up["e"] / up["a"] > down["e"] / down["a"]


def test_an_untrained_model_falls_back_to_content_similarity() -> None:
    snap = snapshot()
    cfg = RecommenderConfig.model_validate({"name": "x", "recipe": {"algorithm": "objective"}})
    algo = ObjectiveRecommender(cfg.recipe)  # type: ignore[arg-type]
    assert not algo.is_trained()
    history = History(engaged=[(snap.row["a"], NOW, "View Catalog Object")])
    scored = algo.score(ScoreRequest(snap, NOW, history, vectors=vectors(snap)))
    order = [snap.ids[r] for r in np.argsort(-scored.scores)]
    assert order[:3] == ["a", "b", "c"]
    assert scored.reason(snap.row["b"]) == "like items you looked at recently"


def test_training_without_interactions_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput):
        train_model(Interactions([], [], [], []), PARAMS, now=NOW)


def _slots(n: int = 3) -> list[Slot]:
    return [Slot(r, 1.0 - r / 10, "r", "x") for r in range(n)]


def _explore(epsilon: float, request_id: str, unc: np.ndarray | None) -> list[Slot]:
    """Three greedy slots (rows 0, 1, 2) and two more candidates (rows 3, 4)."""
    return explore(_slots(), [3, 4], unc, epsilon, request_rng(7, request_id))


def _policy_propensities(out: list[Slot], epsilon: float, weight: np.ndarray) -> list[float]:
    """What the policy implies, computed independently: slot j's row r is picked with
    (1 - epsilon) * [r is the best greedy row left] + epsilon * w[r] / sum(w of rows left)."""
    left, want = list(range(len(weight))), []
    for slot in out:
        greedy = (1 - epsilon) * (slot.row == left[0])
        want.append(round(greedy + epsilon * weight[slot.row] / weight[left].sum(), 6))
        left.remove(slot.row)
    return want


def test_without_exploration_every_slot_is_greedy_with_propensity_one() -> None:
    out = _explore(0.0, "q", np.array([0.1, 0.1, 0.1, 1.0, 1.0]))
    assert [(s.row, s.explore, s.propensity) for s in out] == [
        (0, False, 1.0),
        (1, False, 1.0),
        (2, False, 1.0),
    ]


def test_always_exploring_uniformly_gives_one_over_the_rows_left() -> None:
    for request_id in ("a", "b", "c"):
        out = _explore(1.0, request_id, None)
        assert all(s.explore for s in out)
        assert [s.propensity for s in out] == [0.2, 0.25, 0.333333]  # pools of 5, 4, 3


def test_greedy_slots_under_uniform_exploration_have_the_exact_mixed_propensity() -> None:
    seen = set()
    for k in range(40):
        out = _explore(0.5, f"r{k}", None)
        for j, slot in enumerate(out):
            if not slot.explore:  # the best greedy row left: 0.5 + 0.5 / rows left
                assert slot.propensity == round(0.5 + 0.5 / (5 - j), 6)
                seen.add(j)
        assert [s.propensity for s in out] == _policy_propensities(out, 0.5, np.ones(5))
    assert seen == {0, 1, 2}


def test_exploration_propensities_are_the_policys_and_replayable() -> None:
    unc = np.array([0.1, 0.1, 0.1, 1.0, 1.0])
    explored = 0
    for k in range(40):
        out = _explore(0.5, f"req-{k}", unc)
        explored += sum(s.explore for s in out)
        assert [s.propensity for s in out] == _policy_propensities(out, 0.5, unc)
        again = _explore(0.5, f"req-{k}", unc)
        assert [(s.row, s.explore, s.propensity) for s in again] == [
            (s.row, s.explore, s.propensity) for s in out
        ]
    assert explored > 0
    # the first slot: greedy row 0 with 0.5 + 0.5 * 0.1 / 2.3; an explored row 3 with 0.5 / 2.3
    first = {s[0].row: s[0].propensity for s in (_explore(0.5, f"f{k}", unc) for k in range(60))}
    assert first[0] == round(0.5 + 0.05 / 2.3, 6) and first[3] == round(0.5 / 2.3, 6)


def test_first_slot_propensities_match_how_often_each_row_is_shown_first() -> None:
    unc = np.array([0.1, 0.1, 0.1, 1.0, 1.0])
    counts, claimed = np.zeros(5), np.zeros(5)
    runs = 4000
    for k in range(runs):
        slot = _explore(0.3, f"s{k}", unc)[0]
        counts[slot.row] += 1
        claimed[slot.row] = slot.propensity
    # exact: row 0 = 0.7 + 0.3 * 0.1 / 2.3, rows 1-2 = 0.3 * 0.1 / 2.3, rows 3-4 = 0.3 / 2.3
    want = np.array([0.7 + 0.03 / 2.3, 0.03 / 2.3, 0.03 / 2.3, 0.3 / 2.3, 0.3 / 2.3])
    assert claimed.tolist() == [round(float(w), 6) for w in want]
    assert np.abs(counts / runs - want).max() < 0.03  # ~4 standard errors at 4000 runs


def test_limits_default_truncate_with_533_and_reject_below_one() -> None:
    assert effective_limit(None, 12) == (12, [])
    limit, diags = effective_limit(30, 12)
    assert limit == 24 and diags[0]["code"] == 533
    with pytest.raises(InvalidInput):
        effective_limit(0, 12)


def test_configs_are_frozen_reject_unknown_keys_and_have_the_default_names() -> None:
    from pydantic import ValidationError

    from p13n.domain.recommend import DEFAULT_RECOMMENDERS

    assert [c.name for c in DEFAULT_RECOMMENDERS] == [
        "top-sellers",
        "most-viewed",
        "trending",
        "newest",
        "recently-viewed",
        "bought-together",
        "viewed-together",
        "similar-items",
        "recommended-for-you",
        "revenue-for-you",
    ]
    with pytest.raises(ValidationError):
        RecommenderConfig.model_validate(
            {"name": "x", "recipe": {"algorithm": "newest"}, "nope": 1}
        )
    with pytest.raises(ValidationError):
        RecommenderConfig.model_validate({"name": "x", "recipe": {"algorithm": "magic"}})
    cfg = DEFAULT_RECOMMENDERS[0]
    with pytest.raises(ValidationError):
        cfg.limit = 3  # type: ignore[misc]


def _model_with_half_life(half_life: float | None, beta: float = 0.0):  # type: ignore[no-untyped-def]
    params = ModelParams(
        l2=1.0,
        dropout=0.0,
        embedding_weight=0.0,
        history_half_life_days=half_life,
        popularity_exponent=beta,
    )
    return train_model(interactions(), params, now=NOW)


def test_history_weights_halve_per_half_life_counted_from_the_latest_engagement() -> None:
    from p13n.domain.recommend.model import history_weights

    times = np.array([NOW, NOW - 86_400.0, NOW - 2 * 86_400.0])
    assert history_weights(times, 1.0).tolist() == pytest.approx([1.0, 0.5, 0.25])
    assert history_weights(times - 30 * 86_400.0, 1.0).tolist() == pytest.approx([1, 0.5, 0.25])
    assert history_weights(times, None).tolist() == [1.0, 1.0, 1.0]


def test_with_a_history_half_life_old_engagement_fades_relative_to_the_latest() -> None:
    snap = snapshot()
    now_e = (snap.row["e"], NOW, "View Catalog Object")
    old_a = (snap.row["a"], NOW - 30 * 86_400.0, "View Catalog Object")
    cfg = RecommenderConfig.model_validate(
        {"name": "x", "recipe": {"algorithm": "objective", "objective": "Maximize Clicks"}}
    )

    def scores(half_life: float | None, *engaged: tuple[int, float, str]) -> np.ndarray:
        algo = ObjectiveRecommender(cfg.recipe, _model_with_half_life(half_life))  # type: ignore[arg-type]
        req = ScoreRequest(snap, NOW, History(engaged=list(engaged)), vectors=vectors(snap))
        return algo.score(req).scores[[snap.row["b"], snap.row["c"]]]

    # Without a half-life the month-old view of a counts fully; with 1 day it is ~2^-30.
    assert not np.allclose(scores(None, now_e, old_a), scores(None, now_e))
    assert np.allclose(scores(1.0, now_e, old_a), scores(1.0, now_e), atol=1e-6)


def test_the_popularity_exponent_divides_each_items_column_by_its_reach() -> None:
    plain, debiased = _model_with_half_life(None), _model_with_half_life(None, beta=0.5)
    reach = np.maximum(plain.counts.astype(np.float64), 1.0)
    assert np.allclose(debiased.weights, plain.weights / np.sqrt(reach)[None, :], atol=1e-6)


def test_the_saved_model_keeps_each_individuals_history_times(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from p13n.domain.services.training import load_model, save_model

    model = _model_with_half_life(0.5)
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded is not None
    assert loaded.params.history_half_life_days == 0.5
    assert set(loaded.user_times) == set(model.user_times)
    for u, times in model.user_times.items():
        assert np.array_equal(loaded.user_times[u], times)
        assert len(times) == len(model.user_history[u])


DAY = 86_400.0


def test_the_session_gram_counts_only_items_engaged_with_in_one_sitting() -> None:
    from scipy import sparse

    from p13n.domain.recommend.model import session_gram

    # one visitor: a then b a minute later (one session), c ten days later (another session);
    # a second visitor: b and c, 2.0 each, two minutes apart (one session).
    x = sparse.csr_matrix(np.array([[1.0, 1.0, 1.0], [0.0, 2.0, 2.0]]))
    times = sparse.csr_matrix(np.array([[10.0, 70.0, 10.0 * DAY], [0.0, 500.0, 620.0]]))
    g = session_gram(x, times, gap_days=0.01)
    assert g.tolist() == [[1.0, 1.0, 0.0], [1.0, 5.0, 4.0], [0.0, 4.0, 5.0]]
    # the diagonal equals that of XᵀX, so λ and the dropout keep their meaning
    assert np.diag(g).tolist() == np.diag((x.T @ x).toarray()).tolist()
    # a gap longer than everything makes each visitor one session: SᵀS = XᵀX
    assert session_gram(x, times, gap_days=30.0).tolist() == (x.T @ x).toarray().tolist()


def test_session_weight_relates_items_of_one_sitting_more_than_items_months_apart() -> None:
    rows = []
    for u in range(6):  # a, then b a minute later, then c thirty days later
        rows += [(f"u{u}", "a", NOW), (f"u{u}", "b", NOW + 60.0), (f"u{u}", "c", NOW + 30 * DAY)]
    rows += [("v", "b", NOW), ("v", "c", NOW + 60.0), ("w", "d", NOW), ("w", "a", NOW + 60.0)]
    data = Interactions(
        [r[0] for r in rows],
        [r[1] for r in rows],
        ["View Catalog Object"] * len(rows),
        [r[2] for r in rows],
    )
    plain = train_model(data, PARAMS, now=NOW)
    a, b, c = (plain.index[i] for i in "abc")
    assert plain.weights[a, b] == pytest.approx(plain.weights[a, c], rel=1e-5)
    sess = train_model(data, replace(PARAMS, session_weight=1.0), now=NOW)
    assert sess.weights[a, b] > 1.5 * sess.weights[a, c]


def test_the_saved_model_keeps_the_session_and_transition_weights(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from p13n.domain.services.training import load_model, save_model

    params = replace(PARAMS, session_weight=0.5, session_gap_days=0.02, transition_weight=2.0)
    save_model(train_model(interactions(), params, now=NOW), tmp_path)
    loaded = load_model(tmp_path)
    assert loaded is not None
    assert loaded.params == params


def test_halves_cut_each_visitors_engagements_in_time_at_their_middle() -> None:
    from scipy import sparse

    from p13n.domain.recommend.model import halves

    x = sparse.csr_matrix(np.array([[1.0, 2.0, 1.0, 0.0], [0.0, 0.0, 0.0, 3.0]]))
    times = sparse.csr_matrix(np.array([[30.0, 10.0, 20.0, 0.0], [0.0, 0.0, 0.0, 5.0]]))
    early, late = halves(x, times)
    # first visitor in time: item 1, item 2 | item 0; the lone engagement stays in the earlier half
    assert early.toarray().tolist() == [[0.0, 2.0, 1.0, 0.0], [0.0, 0.0, 0.0, 3.0]]
    assert late.toarray().tolist() == [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]


def test_transition_weight_learns_which_item_people_engage_with_next() -> None:
    rows = []
    for u in range(8):  # eight people engage with a, then with b a week later
        rows += [(f"u{u}", "a", NOW), (f"u{u}", "b", NOW + 7 * DAY)]
    for u in range(8):  # eight others engage with c, then with a a week later
        rows += [(f"v{u}", "c", NOW), (f"v{u}", "a", NOW + 7 * DAY)]
    data = Interactions(
        [r[0] for r in rows],
        [r[1] for r in rows],
        ["View Catalog Object"] * len(rows),
        [r[2] for r in rows],
    )
    plain = train_model(data, PARAMS, now=NOW)
    a, b, c = (plain.index[i] for i in "abc")
    # without transitions, b and c are alike to someone who engaged with a
    assert plain.weights[a, b] == pytest.approx(plain.weights[a, c], rel=1e-5)
    seq = train_model(data, replace(PARAMS, transition_weight=1.0), now=NOW)
    # with them, b (what people did after a) beats c (what they did before it)
    assert seq.weights[a, b] > 1.5 * seq.weights[a, c]
    assert seq.weights[c, a] > seq.weights[b, a]
    assert np.all(np.diag(seq.weights) == 0.0)
