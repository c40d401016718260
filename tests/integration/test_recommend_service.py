"""Recommendations through the engine with the real MiniLM model and a real Chroma store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.ingest.items import Item
from p13n.domain.recommend import ItemVectors, ModelParams, RecommenderConfig, RecommendRequest
from p13n.domain.services import Engine, RecommendService
from p13n.domain.vectors import ChromaVectorIndex, MiniLMEmbedder
from p13n.server.bootstrap import shared_embedder

NOW = 1_780_000_000.0

CATALOG = [
    ("boot-1", "Waterproof hiking boots", "TrailCo", "Outdoors/Footwear/Boots", 120.0),
    ("boot-2", "Leather hiking boots, waterproof", "Summit", "Outdoors/Footwear/Boots", 180.0),
    ("tent-1", "Two person camping tent", "TrailCo", "Outdoors/Camping/Tents", 250.0),
    ("mug-1", "Ceramic coffee mug", "Homey", "Home/Kitchen/Mugs", 12.0),
    ("mug-2", "Stoneware tea mug with lid", "Homey", "Home/Kitchen/Mugs", 15.0),
    ("lip-1", "Matte liquid lipstick", "Glow", "Beauty/Makeup/Lips", 20.0),
]


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The real model, loaded once per test session (shared with the e2e tests' app)."""
    return shared_embedder()


class CountingEmbedder:
    loading = False

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, 0

    def embed(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.fixture
def setup(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> Iterator[tuple[Engine, RecommendService, CountingEmbedder]]:
    engine = Engine.open(f"sqlite:///{tmp_path / 'p13n.db'}", clock=lambda: NOW)
    counting = CountingEmbedder(embedder)
    vectors = ItemVectors(ChromaVectorIndex(tmp_path / "vectors"), counting)
    service = RecommendService(
        engine, vectors=vectors, model_dir=tmp_path / "models", params=ModelParams(l2=1.0)
    )
    engine.upsert_items(
        [Item(id=i, name=n, brand=b, category=c, price=p) for i, n, b, c, p in CATALOG]
    )
    yield engine, service, counting
    engine.close()


def _view(device: str, item: str, n: int, ts: float) -> dict[str, object]:
    return {
        "eventId": f"{device}-{item}-{n}",
        "deviceId": device,
        "interaction": "view",
        "itemId": item,
        "dateTime": ts,
    }


def test_items_are_embedded_at_import_and_only_changed_ones_again(setup) -> None:  # type: ignore[no-untyped-def]
    engine, service, counting = setup
    assert counting.texts == len(CATALOG)
    engine.upsert_items(
        [Item(id=i, name=n, brand=b, category=c, price=p) for i, n, b, c, p in CATALOG]
    )
    assert counting.texts == len(CATALOG)
    engine.upsert_items(
        [
            Item(
                id="mug-1",
                name="Ceramic espresso cup",
                brand="Homey",
                category="Home/Kitchen/Mugs",
                price=12.0,
            )
        ]
    )
    assert counting.texts == len(CATALOG) + 1
    assert service.sync_vectors()["embedded"] == 0


def test_a_semantic_query_maps_price_to_a_filter_and_explains_the_match(setup) -> None:  # type: ignore[no-untyped-def]
    _, service, _ = setup
    got = service.recommend(
        RecommendRequest("top-sellers", query="waterproof hiking boots under 150")
    )
    assert got.ids()[0] == "boot-1"
    assert "boot-2" not in got.ids()  # 180 is over the price bound
    assert got.items[0].reason == "matches 'waterproof hiking boots', under $150"
    brand = service.recommend(RecommendRequest("newest", query="Homey mug"))
    assert set(brand.ids()[:2]) == {"mug-1", "mug-2"}  # the brand and category rank, not filter
    assert brand.interpreted is not None
    assert {(c.field, c.applied) for c in brand.interpreted.constraints} >= {
        ("brand", "soft"),
        ("category", "soft"),
    }


def test_similar_items_uses_the_embeddings_of_the_anchor(setup) -> None:  # type: ignore[no-untyped-def]
    _, service, _ = setup
    got = service.recommend(RecommendRequest("similar-items", anchor="boot-1", limit=2))
    assert got.ids()[0] == "boot-2"
    assert got.items[0].reason == "similar to 'Waterproof hiking boots'"


def test_cold_start_falls_back_to_content_and_training_learns_from_events(setup) -> None:  # type: ignore[no-untyped-def]
    engine, service, _ = setup
    engine.ingest([_view("d1", "boot-1", 0, NOW - 100)])
    # A fixed request id fixes the exploration draw (a random one explores 5% of the slots).
    cold = service.recommend(
        RecommendRequest("recommended-for-you", individual="d1", limit=3, request_id="r1")
    )
    assert cold.ids()[0] == "boot-2"  # no model yet: content similarity to what d1 viewed
    events = []
    for k in range(6):
        events += [_view(f"p{k}", "boot-1", 1, NOW - 500), _view(f"p{k}", "tent-1", 2, NOW - 400)]
    engine.ingest(events)
    model = service.train()
    assert "tent-1" in model.item_ids
    service.refresh()
    got = service.recommend(
        RecommendRequest("recommended-for-you", individual="d1", limit=3, request_id="r1")
    )
    assert got.ids()[0] == "tent-1"
    assert got.items[0].reason == "because you viewed 'Waterproof hiking boots'"
    assert got.items[0].propensity is not None


def test_a_failed_training_keeps_the_last_good_model(setup) -> None:  # type: ignore[no-untyped-def]
    engine, service, _ = setup
    engine.ingest([_view(f"q{k}", i, k, NOW - 50) for k in range(3) for i in ("mug-1", "mug-2")])
    good = service.train()
    with pytest.raises(InvalidInput):
        service.train(params=ModelParams(max_items=1))
    assert service.model is good
    again = RecommendService(engine, model_dir=service.model_dir)
    assert again.model is not None and again.model.item_ids == good.item_ids


def test_bad_input_gives_clear_errors_or_documented_fallbacks(setup) -> None:  # type: ignore[no-untyped-def]
    _, service, _ = setup
    with pytest.raises(NotFound, match="no recommender"):
        service.recommend(RecommendRequest("nope"))
    with pytest.raises(NotFound, match="anchor"):
        service.recommend(RecommendRequest("similar-items", anchor="ghost"))
    with pytest.raises(InvalidInput):
        service.recommend(RecommendRequest("newest", limit=0))
    many = service.recommend(RecommendRequest("newest", limit=99))
    assert [d["code"] for d in many.diagnostics] == [533]
    stranger = service.recommend(RecommendRequest("recommended-for-you", individual="who?"))
    assert 512 in [d["code"] for d in stranger.diagnostics]
    assert stranger.items  # a fallback fills the slots


def test_the_fallback_fills_empty_slots_without_duplicates(setup) -> None:  # type: ignore[no-untyped-def]
    engine, service, _ = setup
    engine.ingest([_view("z", "lip-1", 0, NOW - 10)])
    service.refresh()
    got = service.recommend(RecommendRequest("most-viewed", limit=4))
    assert got.ids()[0] == "lip-1"
    assert len(got.ids()) == len(set(got.ids())) == 4
    assert {i.recommender for i in got.items[1:]} == {"newest"}


def test_each_recommender_in_the_fallback_chain_applies_its_own_switches(tmp_path: Path) -> None:
    """The primary lists out-of-stock items and drops what the visitor viewed today; its
    fallback lists in-stock items only. So the fallback must skip the out-of-stock tent (its
    own switch) and the boots viewed today (the primary's switch): both sets apply."""
    engine = Engine.open(f"sqlite:///{tmp_path / 'p13n.db'}", clock=lambda: NOW)
    try:
        service = RecommendService(engine)
        out = {"mug-1", "tent-1"}
        engine.upsert_items(
            [
                Item(id=i, name=n, brand=b, category=c, price=p, in_stock=i not in out)
                for i, n, b, c, p in CATALOG
            ]
        )
        engine.ingest([_view("w", "mug-1", 0, NOW - 2 * 86_400), _view("v", "boot-2", 0, NOW)])
        primary = {
            "name": "viewed-any-stock",
            "recipe": {"algorithm": "most-viewed"},
            "switches": {"in_stock_only": False, "exclude_viewed_days": 1},
            "fallback": "newest",
        }
        service.put_config(RecommenderConfig.model_validate(primary))
        got = service.recommend(RecommendRequest("viewed-any-stock", individual="v", limit=6))
    finally:
        engine.close()
    by = {i.id: i.recommender for i in got.items}
    assert by == {
        "mug-1": "viewed-any-stock",  # out of stock, which the primary allows
        "boot-1": "newest",
        "mug-2": "newest",
        "lip-1": "newest",  # not tent-1 (out of stock), not boot-2 (viewed today)
    }
