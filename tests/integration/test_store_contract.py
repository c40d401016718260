"""The store port's contract (`p13n/domain/store/port.py`), one test class run against every
implementation: SqlStore on SQLite and PostgreSQL, and MemoryStore."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from p13n.domain.store import Store

T = 1_800_000_000.0


def event(event_id: str, uid: str, ts: float = T, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": event_id,
        "unified_id": uid,
        "device_id": "d",
        "individual_id": None,
        "session_id": None,
        "ts": ts,
        "interaction": "View Catalog Object",
        "kind": "engagement",
        "item_id": "a",
        "category": None,
        "brand": None,
        "quantity": None,
        "price": None,
        "value": None,
        "order_id": None,
        "channel": None,
        "personalization_id": None,
        "payload": orjson.dumps({"eventId": event_id}).decode(),
    }
    row.update(kw)
    return row


def profile(uid: str, updated_at: float = T) -> dict[str, Any]:
    return {"unified_id": uid, "doc": f'{{"id": "{uid}"}}', "updated_at": updated_at}


def flat(batches: Any) -> list[Any]:
    return [x for batch in batches for x in batch]


class TestStoreContract:
    def test_missing_keys_read_as_none_or_empty(self, any_store: Store) -> None:
        s = any_store
        assert s.get_meta("nope") is None
        assert s.get_profile_doc("nope") is None
        assert s.get_profile_docs(["nope"]) == []
        assert s.list_config("nope") == []
        assert s.delete_config("insight", "nope") is False
        assert s.load_consent_state() == {}
        assert s.load_identity() == ({}, {}, {})
        assert (s.count_events(), s.count_profiles()) == (0, 0)
        with s.transaction() as tx:
            assert s.max_event_seq(tx) == 0
            assert s.events_of(tx, "nope") == []
            s.delete_meta(tx, "nope")  # no error

    def test_events_come_back_in_arrival_order_with_times_unchanged(self, any_store: Store) -> None:
        s = any_store
        with s.transaction() as tx:
            s.append_events(tx, [event("e2", "u1", T + 0.25), event("e1", "u1", T - 5)])
            s.append_events(tx, [event("e3", "u2", T)])
        with s.transaction() as tx:
            mine = s.events_of(tx, "u1")
            assert [r["event_id"] for r in mine] == ["e2", "e1"]  # arrival, not time, order
            assert [r["ts"] for r in mine] == [T + 0.25, T - 5]
            assert s.existing_event_ids(tx, ["e1", "e9"]) == {"e1"}
            head = s.max_event_seq(tx)
        after = flat(s.iter_events_after(mine[0]["seq"], batch=1))
        assert [r["event_id"] for r in after] == ["e1", "e3"]
        assert after[-1]["seq"] == head and after[-1]["unified_id"] == "u2"
        assert s.count_events() == 3

    def test_a_transaction_that_raises_leaves_nothing_behind(self, any_store: Store) -> None:
        s = any_store
        with pytest.raises(RuntimeError), s.transaction() as tx:
            s.append_events(tx, [event("e1", "u1")])
            s.upsert_profiles(tx, [profile("u1")])
            s.set_meta(tx, "k", "v")
            raise RuntimeError("boom")
        assert (s.count_events(), s.count_profiles(), s.get_meta("k")) == (0, 0, None)

    def test_consent_records_count_as_existing_event_ids(self, any_store: Store) -> None:
        s = any_store
        with s.transaction() as tx:
            s.append_consent_records(
                tx,
                [
                    {
                        "event_id": "c1",
                        "subject": "d",
                        "ts": T,
                        "interaction": "View Catalog Object",
                        "status": "Opt Out",
                        "provider": None,
                    }
                ],
            )
            s.upsert_consent_state(
                tx, [{"subject": "d", "status": "Opt Out", "provider": None, "updated_at": T}]
            )
            s.upsert_consent_state(
                tx, [{"subject": "d", "status": "Opt In", "provider": None, "updated_at": T}]
            )
            assert s.existing_event_ids(tx, ["c1"]) == {"c1"}
        assert s.count_events() == 0
        assert s.load_consent_state() == {"d": "Opt In"}

    def test_meta_is_replaced_and_deleted(self, any_store: Store) -> None:
        s = any_store
        with s.transaction() as tx:
            s.set_meta(tx, "k", "1")
            s.set_meta(tx, "k", "2")
        assert s.get_meta("k") == "2"
        with s.transaction() as tx:
            s.delete_meta(tx, "k")
        assert s.get_meta("k") is None

    def test_profiles_are_replaced_listed_by_id_and_by_recency(self, any_store: Store) -> None:
        s = any_store
        with s.transaction() as tx:
            s.upsert_profiles(tx, [profile("b", T), profile("a", T + 2), profile("c", T + 1)])
            s.upsert_profiles(tx, [{**profile("b", T + 3), "doc": '{"id": "b2"}'}])
        assert s.get_profile_doc("b") == '{"id": "b2"}'
        assert sorted(s.get_profile_docs(["a", "c", "x"])) == ['{"id": "a"}', '{"id": "c"}']
        assert flat(s.iter_profile_docs(batch=2)) == ['{"id": "a"}', '{"id": "b2"}', '{"id": "c"}']
        assert flat(s.iter_recent_profile_docs(2, batch=1)) == ['{"id": "b2"}', '{"id": "a"}']
        assert s.count_profiles() == 3

    def test_a_merge_relinks_the_losers_and_keeps_them_as_aliases(self, any_store: Store) -> None:
        s = any_store
        with s.transaction() as tx:
            s.insert_individuals(
                tx,
                [
                    {"unified_id": u, "created_at": T + n, "merged_into": None}
                    for n, u in enumerate(["s", "l", "old"])
                ],
            )
            s.insert_individuals(tx, [{"unified_id": "old", "created_at": T, "merged_into": "l"}])
            s.insert_links(
                tx, [{"kind": "device", "value": "d2", "unified_id": "l", "linked_at": T}]
            )
            s.append_events(tx, [event("e1", "s"), event("e2", "l")])
            s.upsert_profiles(tx, [profile("s"), profile("l")])
            s.merge_individuals(tx, ["l"], "s")
            assert [r["event_id"] for r in s.events_of(tx, "s")] == ["e1", "e2"]
            assert s.events_of(tx, "l") == []
        links, aliases, created = s.load_identity()
        assert links == {("device", "d2"): "s"}
        assert aliases == {"l": "s", "old": "s"}  # an alias of the loser follows it
        assert created == {"s": T, "l": T + 1, "old": T}
        assert s.get_profile_doc("l") is None and s.get_profile_doc("s") is not None

    def test_resolution_records_leave_out_event_identifier_rows(self, any_store: Store) -> None:
        s = any_store
        rows = [
            ("crm:2", "crm", "u1"),
            ("device:d1", "events", "u1"),
            ("events:email:x", "events", "u2"),
            ("crm:1", "crm", "u2"),
        ]
        with s.transaction() as tx:
            s.upsert_source_records(
                tx,
                [
                    {
                        "id": key,
                        "source": source,
                        "source_record_id": key.split(":", 1)[1],
                        "unified_id": uid,
                        "data": "{}",
                        "updated_at": T,
                    }
                    for key, source, uid in rows
                ],
            )
        found = flat(s.iter_resolution_records(batch=2))
        assert found == [
            ("crm:1", "u2", "{}"),
            ("crm:2", "u1", "{}"),
            ("events:email:x", "u2", "{}"),
        ]
        assert s.load_splits() == []

    def test_placeholders_never_overwrite_an_item(self, any_store: Store) -> None:
        s = any_store
        item = {"id": "a", "type": "Product", "doc": '{"id":"a"}', "placeholder": False}
        with s.transaction() as tx:
            s.upsert_items(tx, [{**item, "updated_at": T}])
            s.insert_items_if_missing(
                tx, [{**item, "doc": '{"p":1}', "placeholder": True, "updated_at": T}]
            )
            s.insert_items_if_missing(
                tx, [{**item, "id": "b", "doc": '{"id":"b"}', "placeholder": True, "updated_at": T}]
            )
            s.upsert_item_graphs(tx, [{"item_id": "a", "doc": "{}", "updated_at": T}])
            s.upsert_item_graphs(tx, [{"item_id": "a", "doc": '{"v":1}', "updated_at": T}])
        assert sorted(s.load_items()) == ['{"id":"a"}', '{"id":"b"}']
        assert s.load_item_graphs() == ['{"v":1}']

    def test_configs_are_versioned_listed_by_name_and_kept_when_present(
        self, any_store: Store
    ) -> None:
        s = any_store
        assert s.put_config("segment", "b", "B1", T) == 1
        assert s.put_config("segment", "b", "B2", T) == 2
        s.put_configs_if_missing("segment", [("a", "A1"), ("b", "ignored")], T)
        assert s.list_config("segment") == ["A1", "B2"]
        assert s.list_config("insight") == []
        assert s.delete_config("segment", "a") is True
        assert s.list_config("segment") == ["B2"]

    def test_item_interactions_carry_the_payload_only_for_orders_without_an_item(
        self, any_store: Store
    ) -> None:
        s = any_store
        with s.transaction() as tx:
            s.append_events(
                tx,
                [
                    event("v", "u", item_id="a"),
                    event("o", "u", item_id=None, kind="order", interaction="Purchase"),
                    event("s", "u", item_id=None, kind="engagement", interaction="Search"),
                ],
            )
        rows = flat(s.iter_item_interactions(batch=1))
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
            ("u", "a", "View Catalog Object", T),
            ("u", None, "Purchase", T),
        ]
        assert rows[0][4] is None and rows[1][4] == orjson.dumps({"eventId": "o"}).decode()

    def test_insight_aggregates_filter_by_interaction_time_and_nulls(
        self, any_store: Store
    ) -> None:
        s = any_store
        with s.transaction() as tx:
            s.append_events(
                tx,
                [
                    event("1", "u", T - 100, value=5.0, category="x"),
                    event("2", "u", T, value=2.0, category="y"),
                    event("3", "u", T + 1, value=None, category="y"),
                    event("4", "v", T, value=7.0, interaction="Purchase", category=None),
                ],
            )

        def agg(**kw: Any) -> dict[Any, Any]:
            return {(uid, key): _num(v) for uid, key, v in s.insight_aggregates(**kw)}

        views = ["View Catalog Object"]
        assert agg(measure="count", field=None, interactions=views) == {("u", None): 3}
        assert agg(measure="sum", field="value") == {("u", None): 7.0, ("v", None): 7.0}
        assert agg(measure="sum", field="value", since=T) == {("u", None): 2.0, ("v", None): 7.0}
        assert agg(measure="last", field="category", interactions=views) == {("u", None): "y"}
        assert agg(measure="count", field=None, dimension="category") == {
            ("u", "x"): 1,
            ("u", "y"): 2,
        }
        assert agg(measure="avg", field="value", interactions=views) == {("u", None): 3.5}
        assert agg(measure="distinct_count", field="category") == {("u", None): 2}
        assert s.event_unified_ids() == ["u", "v"]


def _num(value: Any) -> Any:
    return float(value) if value is not None and not isinstance(value, str) else value
