"""The engine on a real store (SQLite and PostgreSQL): ingest, identify, graphs, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from p13n.domain.errors import NotFound, StoreVersionTooNew
from p13n.domain.ingest.items import Item
from p13n.domain.services import Engine, EngineOptions, replay_profile, sql_store
from p13n.domain.store import open_engine

NOW = 1_800_000_000.0


def clock() -> float:
    return NOW


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = Engine.open(database_url, clock=clock)
    eng.upsert_items(
        [
            Item(
                id="a",
                name="Knit top",
                category="Women/Tops & Blouses/Knit Top",
                brand="Nike",
                price=20.0,
            ),
            Item(id="b", name="Jeans", category="Women/Jeans", brand="Levi's", price=40.0),
            Item(
                id="c", name="Phone case", category="Electronics/Cases", brand="Otter", price=15.0
            ),
        ]
    )
    yield eng
    eng.close()


def sdk(
    event_id: str,
    device: str,
    name: str = "View Catalog Object",
    item: str | None = "a",
    ts: str = "2027-01-15T08:00:00Z",
    consent: str | None = "Opt In",
    **extra: Any,
) -> dict[str, Any]:
    raw: dict[str, Any] = {"eventId": event_id, "deviceId": device, "dateTime": ts}
    if name:
        raw["interaction"] = {"name": name, **({"catalogObject": {"id": item}} if item else {})}
    if consent:
        raw["consents"] = [{"provider": "t", "purpose": "Tracking", "status": consent}]
    raw.update(extra)
    return raw


def login(event_id: str, device: str, email: str) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2027-01-15T09:00:00Z",
        "user": {"attributes": {"eventType": "contactPointEmail", "email": email}},
        "consents": [{"purpose": "Tracking", "status": "Opt In"}],
    }


def test_a_profile_read_right_after_ingest_reflects_the_event(engine: Engine) -> None:
    report = engine.ingest([sdk("e1", "d1")])
    assert report.accepted == 1 and report.results[0].tracked is True
    profile = engine.get_profile("d1")
    assert [e.item_id for e in profile.engagement] == ["a"]
    assert profile.affinities["brand"] == {"Nike": 100.0}
    assert engine.get_item("a")[1].views_total == 1


def test_the_same_event_id_twice_is_a_duplicate_and_counts_once(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1")])
    again = engine.ingest([sdk("e1", "d1"), sdk("e1", "d1")])
    assert [r.status for r in again.results] == ["duplicate", "duplicate"]
    first_time = engine.ingest([sdk("e2", "d1"), sdk("e2", "d1")])
    assert [r.status for r in first_time.results] == ["accepted", "duplicate"]
    assert engine.get_profile("d1").event_count == 2
    assert engine.store.count_events() == 2


def test_without_a_tracking_opt_in_an_sdk_event_is_only_a_consent_record(engine: Engine) -> None:
    report = engine.ingest([sdk("e1", "d1", consent=None), sdk("e2", "d2", consent="Opt Out")])
    assert [(r.status, r.tracked) for r in report.results] == [
        ("accepted", False),
        ("accepted", False),
    ]
    with pytest.raises(NotFound):
        engine.get_profile("d1")
    with sql_store(engine).db.connect() as conn:
        assert conn.execute(text("select count(*) from consent_records")).scalar() == 2
        assert conn.execute(text("select count(*) from events")).scalar() == 0
    # Opting in once is remembered for later events of the device; opting out stops tracking.
    engine.ingest([sdk("e3", "d1", consent="Opt In")])
    engine.ingest([sdk("e4", "d1", item="b", consent=None)])
    assert [e.item_id for e in engine.get_profile("d1").engagement] == ["a", "b"]
    engine.ingest([sdk("e5", "d1", item="c", consent="Opt Out")])
    uid = engine.resolve("d1", honor_consent=False)
    assert uid is not None and engine.load_profile(uid).event_count == 2  # type: ignore[union-attr]
    with pytest.raises(NotFound):  # withdrawn: the profile is no longer read for anyone
        engine.get_profile("d1")
    assert engine.ingest([sdk("e1", "d1", consent=None)]).results[0].status == "duplicate"


def test_a_batch_with_bad_events_keeps_the_good_ones(engine: Engine) -> None:
    report = engine.ingest([sdk("e1", "d1"), {"deviceId": "d1"}, "junk", sdk("e2", "d1", item="b")])
    assert [r.status for r in report.results] == ["accepted", "rejected", "rejected", "accepted"]
    assert report.results[1].reason and report.results[2].reason
    assert engine.get_profile("d1").event_count == 2


def test_an_unknown_item_becomes_a_placeholder(engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1", item="zzz")])
    item, graph = engine.get_item("zzz")
    assert item.placeholder and graph.views_total == 1
    engine.upsert_items([Item(id="zzz", name="Now known")])
    assert engine.get_item("zzz")[0].placeholder is False


def test_a_second_device_that_logs_in_joins_the_known_person_with_its_history(
    engine: Engine,
) -> None:
    engine.ingest([sdk("e1", "d1"), login("l1", "d1", "Shopper1@Example.com")])
    engine.ingest(
        [
            sdk("e2", "d2", item="b"),
            sdk(
                "e3",
                "d2",
                name="Add To Cart",
                item=None,
                interaction={
                    "name": "Add To Cart",
                    "lineItem": {"catalogObjectId": "c", "quantity": 1, "price": 15},
                },
            ),
        ]
    )
    before = engine.get_profile("d2").unified_id
    engine.ingest([login("l2", "d2", "shopper1@example.com")])
    person = engine.get_profile("shopper1@example.com")
    assert (
        engine.get_profile("d2").unified_id
        == person.unified_id
        == engine.get_profile("d1").unified_id
    )
    assert (
        engine.get_profile(before).unified_id == person.unified_id
    )  # the merged id stays an alias
    assert {e.item_id for e in person.engagement if e.item_id} == {"a", "b", "c"}
    assert [c.item_id for c in person.cart] == ["c"]
    assert {i.value for i in person.identities} == {"d1", "d2"}


def test_everything_survives_a_restart(database_url: str, engine: Engine) -> None:
    engine.ingest([sdk("e1", "d1"), login("l1", "d1", "x@y.com")])
    engine.close()
    again = Engine.open(database_url, clock=clock)
    try:
        assert again.get_profile("x@y.com").event_count == 2
        assert again.get_item("a")[1].views_total == 1
        assert again.ingest([sdk("e1", "d1")]).results[0].status == "duplicate"
    finally:
        again.close()


def test_replaying_the_log_rebuilds_the_same_profile(engine: Engine) -> None:
    events = [
        sdk(f"v{i}", "d1", item="abc"[i % 3], ts=f"2027-01-1{i % 9}T08:00:00Z") for i in range(12)
    ]
    events.append(
        sdk(
            "p1",
            "d1",
            item=None,
            interaction={
                "name": "Purchase",
                "order": {
                    "id": "o1",
                    "lineItems": [{"catalogObjectId": "b", "quantity": 1, "price": 40}],
                },
            },
        )
    )
    engine.ingest(events)
    online = engine.get_profile("d1")
    with engine.store.transaction() as conn:
        rebuilt = replay_profile(engine.state, engine.store, conn, online.unified_id, engine.now())
    for field in (
        "engagement",
        "cart",
        "purchases",
        "recently_viewed",
        "affinities",
        "event_count",
    ):
        assert getattr(rebuilt, field) == getattr(online, field), field


def test_a_store_written_by_a_newer_schema_is_refused(database_url: str, engine: Engine) -> None:
    with engine.store.transaction() as conn:
        conn.execute(text("update p13n_meta set value = '999' where key = 'schema_version'"))
    engine.close()
    with pytest.raises(StoreVersionTooNew, match="newer|999"):
        open_engine(database_url)


def test_warming_loads_the_most_recent_profiles_into_the_cache(
    database_url: str, engine: Engine
) -> None:
    engine.ingest([sdk(f"e{i}", f"d{i}", ts=f"2027-01-1{i}T08:00:00Z") for i in range(5)])
    engine.close()
    fresh = Engine.open(database_url, clock=clock, options=EngineOptions(profile_cache_size=3))
    try:
        assert len(fresh.state.profiles) == 0
        assert fresh.warm_profiles() == 3
        assert len(fresh.state.profiles) == 3
        assert fresh.warm_profiles() == 0  # already cached
        assert fresh.get_profile("d0").event_count == 1  # not warmed, read from the store
    finally:
        fresh.close()
