"""The services without a database: the engine on the in-memory store port."""

from __future__ import annotations

from typing import Any

import pytest

from p13n.domain.ingest import Item
from p13n.domain.services import Engine
from p13n.domain.store import MemoryStore

NOW = 1_800_000_000.0


def sdk(event_id: str, device: str, item: str = "a", name: str = "View Catalog Object") -> Any:
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2027-01-15T08:00:00Z",
        "interaction": {"name": name, "catalogObject": {"id": item}},
        "consents": [{"provider": "t", "purpose": "Tracking", "status": "Opt In"}],
    }


def login(event_id: str, device: str, email: str) -> Any:
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2027-01-15T09:00:00Z",
        "user": {"attributes": {"eventType": "contactPointEmail", "email": email}},
        "consents": [{"purpose": "Tracking", "status": "Opt In"}],
    }


@pytest.fixture
def engine() -> Engine:
    eng = Engine(MemoryStore(), clock=lambda: NOW)
    eng.upsert_items([Item(id=i, name=i, category="Women/Tops", price=10.0) for i in "abc"])
    return eng


def test_an_ingested_view_is_in_the_profile_and_the_item_graph(engine: Engine) -> None:
    report = engine.ingest([sdk("e1", "d1", "a"), sdk("e2", "d1", "b")])
    assert report.accepted == 2
    profile = engine.get_profile("d1")
    assert [e.item_id for e in profile.engagement] == ["a", "b"]
    assert engine.get_item("a")[1].views_total == 1
    assert engine.state.item_graphs["b"].co_viewed == {"a": 1.0}


def test_a_duplicate_event_is_reported_and_not_applied_twice(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1")])
    report = engine.ingest([sdk("e1", "d1")])
    assert report.duplicates == 1 and report.accepted == 0
    assert engine.get_profile("d1").event_count == 1


def test_two_devices_that_log_in_as_one_person_merge_with_both_histories(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1", "a"), login("l1", "d1", "x@y.com")])
    engine.ingest([sdk("e2", "d2", "b")])
    ids = {engine.get_profile("d1").unified_id, engine.get_profile("d2").unified_id}
    assert len(ids) == 2
    engine.ingest([login("l2", "d2", "x@y.com")])
    person = engine.get_profile("x@y.com")
    assert person.unified_id == engine.get_profile("d2").unified_id
    assert person.unified_id == engine.get_profile("d1").unified_id
    (loser,) = ids - {person.unified_id}
    assert engine.get_profile(loser).unified_id == person.unified_id  # the alias resolves
    assert {e.item_id for e in person.engagement if e.item_id} == {"a", "b"}
    engine.checkpoint()  # write-behind: the documents are written at the next checkpoint
    assert engine.store.count_profiles() == 1  # the loser's document is gone


def test_a_reload_rebuilds_the_same_state_from_the_store(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1", "a"), login("l1", "d1", "x@y.com")])
    before = engine.get_profile("x@y.com").model_dump_json()
    engine.reload()
    assert engine.get_profile("x@y.com").model_dump_json() == before
    assert engine.get_item("a")[1].views_total == 1


def test_a_failed_batch_leaves_nothing_behind(engine: Engine, monkeypatch: Any) -> None:
    def broken(conn: Any, rows: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine.store, "append_events", broken)
    with pytest.raises(RuntimeError):
        engine.ingest([sdk("e1", "d1")])
    monkeypatch.undo()
    assert engine.store.count_events() == 0
    assert engine.resolve("d1") is None  # the hot state was reloaded from the store
    assert engine.ingest([sdk("e1", "d1")]).accepted == 1


def test_the_population_paths_run_on_the_memory_store(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1", "a"), sdk("e2", "d2", "b")])
    assert engine.recompute_segments() == 2
    assert engine.recompute_insights() == 2
    assert engine.rebuild_profiles() == 2
    assert engine.get_profile("d1").event_count == 1
