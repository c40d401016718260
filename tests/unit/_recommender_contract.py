"""The one contract every recommender algorithm passes (`Algorithm` in recommend/base.py).

A test class inherits `RecommenderContract`, sets `recipe` (the `recipe` part of a recommender
config) and says what kind of algorithm it is: `needs_training` (untrained until `train`),
`personal` (no history and no anchor: no candidates) or neither (catalog recipes: the same
scores for every visitor). The catalog is the hand-built one of `_recommend_fixtures` plus
`z`, a new item nothing is known about (no views, no vector, unseen by any model)."""

from __future__ import annotations

from typing import Any

import numpy as np
from _recommend_fixtures import NOW, graphs, interactions, items

from p13n.domain.ingest.items import Item
from p13n.domain.recommend import (
    Algorithm,
    CatalogSnapshot,
    ExactVectors,
    History,
    ModelParams,
    ObjectiveBased,
    ObjectiveRecommender,
    RecommenderConfig,
    RuleRecipe,
    Scored,
    ScoreRequest,
    TrainedModel,
    allowed_rows,
    build_snapshot,
    rank,
    train_model,
)

_RAW = {
    "a": [1.0, 0.0, 0.0],
    "b": [0.9, 0.1, 0.0],
    "c": [0.6, 0.6, 0.0],
    "d": [0.0, 0.0, 1.0],
    "e": [0.0, 0.2, 0.9],
}
PARAMS = ModelParams(l2=1.0, dropout=0.0, embedding_weight=0.1, session_weight=0.0)


def catalog() -> tuple[CatalogSnapshot, ExactVectors]:
    catalog_items = {i.id: i for i in items()}
    catalog_items["z"] = Item(id="z", name="Item z", category="Garden/Tools", price=30.0)
    snap = build_snapshot(catalog_items, graphs(), NOW)
    m = np.array([_RAW.get(i, [0.0, 0.0, 0.0]) for i in snap.ids], dtype=np.float32)
    present = np.array([i in _RAW for i in snap.ids], dtype=np.bool_)
    m[present] /= np.linalg.norm(m[present], axis=1, keepdims=True)
    return snap, ExactVectors(m, present)


def trained() -> TrainedModel:
    return train_model(interactions(), PARAMS, now=NOW)


class RecommenderContract:
    recipe: dict[str, Any]
    needs_training = False
    personal = False

    # -- how a test class builds its algorithm -------------------------------------------
    def config(self) -> RecommenderConfig:
        return RecommenderConfig.model_validate({"name": "t", "recipe": self.recipe})

    def make(self) -> Algorithm:
        recipe = self.config().recipe
        if isinstance(recipe, ObjectiveBased):
            return ObjectiveRecommender(recipe)
        return RuleRecipe(recipe)

    def training_data(self) -> object:
        return None

    def ready(self) -> Algorithm:
        algo = self.make()
        algo.train(catalog()[0], self.training_data())
        return algo

    def request(
        self, snap: CatalogSnapshot, vectors: ExactVectors, *, empty: bool = False
    ) -> ScoreRequest:
        """A visitor who viewed a and c (c most recently), or one with no history."""
        a, c = snap.row["a"], snap.row["c"]
        history = (
            History()
            if empty
            else History(
                viewed=[(c, NOW - 60), (a, NOW - 3_600)],
                engaged=[
                    (c, NOW - 60, "View Catalog Object"),
                    (a, NOW - 3_600, "View Catalog Object"),
                ],
            )
        )
        return ScoreRequest(snap, NOW, history, vectors=vectors, individual="u0")

    def valid(self, scored: Scored, snap: CatalogSnapshot) -> np.ndarray:
        """The contract of one `Scored`; returns its candidate rows (finite scores)."""
        s = scored.scores
        assert s.shape == (len(snap),) and np.issubdtype(s.dtype, np.floating)
        assert not np.isnan(s).any() and not np.isposinf(s).any()
        finite = np.flatnonzero(np.isfinite(s))
        for r in finite.tolist():
            reason = scored.reason(r)
            assert isinstance(reason, str) and reason.strip(), (r, reason)
        if scored.candidates is not None:
            assert set(scored.candidates.tolist()) == set(finite.tolist())
        if scored.order is not None:
            want = sorted(finite.tolist(), key=lambda r: (-s[r], r))
            assert scored.order.tolist() == want
        if scored.uncertainty is not None:
            u = scored.uncertainty
            assert u.shape == (len(snap),) and np.isfinite(u).all() and (u >= 0).all()
        return finite

    # -- the contract ----------------------------------------------------------------------
    def test_it_implements_the_algorithm_interface(self) -> None:
        assert isinstance(self.make(), Algorithm)

    def test_it_is_trained_after_training_and_only_then_if_it_needs_it(self) -> None:
        algo = self.make()
        assert algo.is_trained() is not self.needs_training
        algo.train(catalog()[0], self.training_data())
        assert algo.is_trained()

    def test_it_scores_every_row_and_explains_every_candidate(self) -> None:
        snap, vectors = catalog()
        finite = self.valid(self.ready().score(self.request(snap, vectors)), snap)
        assert len(finite) > 0  # a typical request has candidates: the checks above bite

    def test_scores_are_deterministic_across_calls_and_instances(self) -> None:
        snap, vectors = catalog()
        one, two = self.ready(), self.ready()
        first = one.score(self.request(snap, vectors))
        for again in (
            one.score(self.request(snap, vectors)),
            two.score(self.request(snap, vectors)),
        ):
            assert np.array_equal(first.scores, again.scores)
            rows = np.flatnonzero(np.isfinite(first.scores)).tolist()
            assert [first.reason(r) for r in rows] == [again.reason(r) for r in rows]

    def test_ranking_keeps_to_the_candidate_mask_in_score_order(self) -> None:
        snap, vectors = catalog()
        algo, req = self.ready(), self.request(snap, vectors)
        scores = algo.score(req).scores
        allowed = np.ones(len(snap), dtype=np.bool_)
        allowed[int(np.argmax(scores))] = False  # the best candidate is masked out
        allowed[snap.row["b"]] = False
        slots, _, _, _ = rank(self.config(), algo, req, [], allowed, len(snap))
        got = [s.row for s in slots]
        want = sorted(
            (r for r in np.flatnonzero(np.isfinite(scores) & allowed).tolist()),
            key=lambda r: (-scores[r], r),
        )
        assert got == want

    def test_an_empty_history_is_served(self) -> None:
        snap, vectors = catalog()
        algo = self.ready()
        empty = algo.score(self.request(snap, vectors, empty=True))
        finite = self.valid(empty, snap)
        if self.personal:
            assert len(finite) == 0  # nothing to go on: the fallback's turn
        elif not self.needs_training:
            typical = algo.score(self.request(snap, vectors)).scores
            assert np.array_equal(empty.scores, typical)  # catalog recipes ignore the visitor

    def test_an_anchor_nothing_is_known_about_is_served_and_never_recommended(self) -> None:
        snap, vectors = catalog()
        algo, z = self.ready(), snap.row["z"]
        req = self.request(snap, vectors)
        req.anchor_row = z
        self.valid(algo.score(req), snap)
        allowed = allowed_rows(snap, self.config().switches, req.history, NOW, anchor_row=z)
        slots, _, _, _ = rank(self.config(), algo, req, [], allowed, len(snap))
        assert z not in [s.row for s in slots]

    def test_scoring_leaves_the_snapshot_and_history_as_they_were(self) -> None:
        snap, vectors = catalog()
        req = self.request(snap, vectors)
        price, stock, viewed = snap.price.copy(), snap.in_stock.copy(), list(req.history.viewed)
        self.ready().score(req)
        assert np.array_equal(snap.price, price, equal_nan=True)
        assert np.array_equal(snap.in_stock, stock) and list(req.history.viewed) == viewed
