"""The profile cache on a real store (SQLite and PostgreSQL), compact and as objects: every read
sees the latest write, whether it comes from the pending writes, the cache or the store; the
paths that change profiles (ingest with write-behind or write-through, merges, the population
batch paths, warm-up) leave the cache equal to the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from p13n.domain.graphs import ProfileGraph
from p13n.domain.ingest.items import Item
from p13n.domain.segments import SegmentDefinition
from p13n.domain.services import Engine, EngineOptions

NOW = 1_800_000_000.0


def clock() -> float:
    return NOW


def sdk(event_id: str, device: str, item: str = "a", **extra: Any) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2027-01-15T08:00:00Z",
        "interaction": {"name": "View Catalog Object", "catalogObject": {"id": item}},
        "consents": [{"provider": "t", "purpose": "Tracking", "status": "Opt In"}],
        **extra,
    }


def login(event_id: str, device: str, email: str) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2027-01-15T09:00:00Z",
        "user": {"attributes": {"eventType": "contactPointEmail", "email": email}},
        "consents": [{"purpose": "Tracking", "status": "Opt In"}],
    }


@pytest.fixture(
    params=[(True, 1.0), (True, 0.0), (False, 1.0)],
    ids=["compact-write-behind", "compact-write-through", "objects-write-behind"],
)
def options(request: pytest.FixtureRequest) -> EngineOptions:
    compact, behind = request.param
    return EngineOptions(compact_profiles=compact, write_behind_s=behind)


@pytest.fixture
def engine(database_url: str, options: EngineOptions) -> Iterator[Engine]:
    eng = Engine.open(database_url, options, clock=clock)
    eng.upsert_items(
        [
            Item(id="a", name="Top", category="Women/Tops", brand="Nike", price=20.0),
            Item(id="b", name="Jeans", category="Women/Jeans", brand="Levi's", price=40.0),
        ]
    )
    yield eng
    eng.close()


def _stored(engine: Engine, uid: str) -> ProfileGraph:
    doc = engine.store.get_profile_doc(uid)
    assert doc is not None
    return ProfileGraph.model_validate_json(doc)


def _assert_cache_equals_store(engine: Engine) -> None:
    """After a checkpoint, each cached profile is the stored one."""
    engine.checkpoint()
    state = engine.state
    assert not state.pending_profiles
    for uid in list(state.identity.created):
        if uid in state.profiles:
            assert state.profiles.get(uid) == _stored(engine, uid), uid


def test_a_cached_profile_read_after_its_write_reflects_every_event(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1")])
    uid = engine.resolve("d1")
    assert uid is not None and engine.get_profile("d1").event_count == 1
    engine.checkpoint()  # the graph writer's work: the pending profile is written and let go
    assert uid not in engine.state.pending_profiles and uid in engine.state.profiles
    assert engine.get_profile("d1").event_count == 1
    engine.ingest([sdk("e2", "d1", item="b")])
    assert [e.item_id for e in engine.get_profile("d1").engagement] == ["a", "b"]
    engine.checkpoint()
    assert [e.item_id for e in engine.get_profile("d1").engagement] == ["a", "b"]
    assert engine.state.profiles.get(uid) == _stored(engine, uid)


def test_a_change_a_reader_makes_to_its_profile_reaches_neither_cache_nor_store(
    engine: Engine,
) -> None:
    engine.ingest([sdk("e1", "d1")])
    engine.checkpoint()
    uid = engine.resolve("d1")
    assert uid is not None
    mine = engine.load_profile(uid)
    assert mine is not None
    if engine.options.compact_profiles:
        mine.attributes["scribbled"] = True
        mine.engagement.clear()
        again = engine.load_profile(uid)
        assert again is not None and again is not mine
        assert "scribbled" not in again.attributes and len(again.engagement) == 1
    assert "scribbled" not in _stored(engine, uid).attributes


def test_an_evicted_profile_is_read_from_the_store_and_cached_again(
    database_url: str, options: EngineOptions
) -> None:
    small = EngineOptions(
        compact_profiles=options.compact_profiles,
        write_behind_s=options.write_behind_s,
        profile_cache_size=2,
    )
    engine = Engine.open(database_url, small, clock=clock)
    try:
        engine.ingest([sdk(f"e{i}", f"d{i}") for i in range(4)])
        engine.ingest([sdk("e9", "d0", item="b")])
        engine.checkpoint()
        uid = engine.resolve("d0")
        assert uid is not None
        assert len(engine.state.profiles) == 2
        engine.state.profiles.discard(uid)
        assert engine.get_profile("d0").event_count == 2  # from the store
        assert uid in engine.state.profiles
        assert engine.state.profiles.get(uid) == _stored(engine, uid)
    finally:
        engine.close()


def test_a_merge_drops_the_merged_individual_and_caches_the_survivor(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1"), login("l1", "d1", "shopper@example.com")])
    engine.ingest([sdk("e2", "d2", item="b")])
    engine.checkpoint()
    before = {engine.resolve("d1"), engine.resolve("d2")}
    assert None not in before and len(before) == 2
    engine.ingest([login("l2", "d2", "shopper@example.com")])
    survivor = engine.resolve("d2")
    assert survivor is not None and engine.resolve("d1") == survivor
    (loser,) = before - {survivor}
    assert loser not in engine.state.profiles and loser not in engine.state.pending_profiles
    person = engine.get_profile("shopper@example.com")
    assert {e.item_id for e in person.engagement if e.item_id} == {"a", "b"}
    _assert_cache_equals_store(engine)
    assert {e.item_id for e in engine.get_profile("d1").engagement if e.item_id} == {"a", "b"}


def test_a_population_change_replaces_the_cached_profiles(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1"), sdk("e2", "d2")])
    engine.checkpoint()
    everyone = SegmentDefinition.model_validate(
        {
            "name": "viewers",
            "rule": {
                "type": "All",
                "rules": [
                    {
                        "source": "engagement",
                        "field": "View Catalog Object",
                        "operator": "Is Greater Than Or Equal To",
                        "value": 1,
                    }
                ],
            },
        }
    )
    engine.put_segment(everyone)
    for device in ("d1", "d2"):
        uid = engine.resolve(device)
        assert uid is not None and uid in engine.state.profiles
        cached = engine.state.profiles.get(uid)
        assert cached is not None and "viewers" in cached.segments
    _assert_cache_equals_store(engine)


def test_warming_caches_forms_equal_to_the_stored_documents(
    database_url: str, engine: Engine, options: EngineOptions
) -> None:
    engine.ingest([sdk(f"e{i}", f"d{i}") for i in range(3)])
    engine.close()
    fresh = Engine.open(database_url, options, clock=clock)
    try:
        assert fresh.warm_profiles() == 3
        for i in range(3):
            uid = fresh.resolve(f"d{i}")
            assert uid is not None and uid in fresh.state.profiles
            assert fresh.state.profiles.get(uid) == _stored(fresh, uid)
        if options.compact_profiles:
            assert 0 < fresh.state.profiles.nbytes() < 3 * 2000
    finally:
        fresh.close()


def test_events_after_an_opt_out_leave_the_cached_profile_as_it_was(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1")])
    engine.checkpoint()
    uid = engine.resolve("d1")
    assert uid is not None
    before = engine.state.profiles.get(uid)
    assert before is not None and before.event_count == 1
    opt_out = [{"provider": "t", "purpose": "Tracking", "status": "Opt Out"}]
    report = engine.ingest([sdk("e2", "d1", item="b", consents=opt_out)])
    assert report.results[0].tracked is False
    report = engine.ingest([{**sdk("e3", "d1", item="b"), "consents": []}])
    assert report.results[0].tracked is False
    assert engine.resolve("d1") is None  # withdrawn: nothing reads the profile for them
    assert engine.load_profile(uid).event_count == 1  # type: ignore[union-attr]
    assert engine.state.profiles.get(uid) == before
    _assert_cache_equals_store(engine)
