"""Every recommender implementation passes the one recommender contract."""

from __future__ import annotations

import pytest
from _recommend_fixtures import NOW
from _recommender_contract import RecommenderContract, catalog, trained

from p13n.domain.recommend import Algorithm, ObjectiveRecommender


class TestTopSellers(RecommenderContract):
    recipe = {"algorithm": "top-sellers"}


class TestMostViewed(RecommenderContract):
    recipe = {"algorithm": "most-viewed"}


class TestTrending(RecommenderContract):
    recipe = {"algorithm": "trending"}


class TestNewest(RecommenderContract):
    recipe = {"algorithm": "newest"}


class TestSortBy(RecommenderContract):
    recipe = {"algorithm": "sort-by", "field": "price", "descending": False}


class TestRecentlyViewed(RecommenderContract):
    recipe = {"algorithm": "recently-viewed"}
    personal = True


class TestCoBought(RecommenderContract):
    recipe = {"algorithm": "co-bought"}
    personal = True


class TestCoViewed(RecommenderContract):
    recipe = {"algorithm": "co-viewed"}
    personal = True


class TestSimilarItems(RecommenderContract):
    recipe = {"algorithm": "similar-items"}
    personal = True


class TestObjectiveUntrained(RecommenderContract):
    """No model yet (a new site): content similarity to what the visitor engaged with."""

    recipe = {"algorithm": "objective", "objective": "Maximize Clicks"}
    personal = True

    def ready(self) -> Algorithm:
        return self.make()  # served untrained, by design

    def test_it_is_trained_after_training_and_only_then_if_it_needs_it(self) -> None:
        assert not self.make().is_trained()
        with pytest.raises(TypeError):  # training means handing it a model
            self.make().train(catalog()[0], None)


class _Trained(RecommenderContract):
    needs_training = True

    def training_data(self) -> object:
        return trained()

    def test_training_on_anything_but_a_trained_model_raises(self) -> None:
        with pytest.raises(TypeError):
            self.make().train(catalog()[0], {"not": "a model"})

    def test_a_known_individual_without_recent_events_gets_candidates(self) -> None:
        snap, vectors = catalog()
        req = self.request(snap, vectors, empty=True)
        req.individual, req.now = "u3", NOW
        algo = self.ready()
        assert isinstance(algo, ObjectiveRecommender) and algo.model is not None
        known = algo.model.user_history["u3"]
        req.history = type(req.history)(
            known=[snap.row[algo.model.item_ids[j]] for j in known.tolist()]
        )
        assert len(self.valid(algo.score(req), snap)) > 0


class TestObjectiveClicks(_Trained):
    recipe = {"algorithm": "objective", "objective": "Maximize Clicks"}


class TestObjectiveRevenue(_Trained):
    recipe = {"algorithm": "objective", "objective": "Maximize Revenue"}


class TestObjectiveRevenueWithPromotions(_Trained):
    recipe = {"algorithm": "objective", "objective": "Maximize Revenue with Promotions"}


class TestObjectiveCustom(_Trained):
    recipe = {"algorithm": "objective", "objective": "Custom", "signal": "Add To Cart"}
