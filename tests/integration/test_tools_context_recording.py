"""get_context and record_interaction over a real store, on SQLite and PostgreSQL: what a new
visitor does is in the store after a reopen, consent is applied as the tenant configures it,
attribution ids are checked against the personalization log (queued or written), and bought
items come back with their names."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _tools_tenant import DAY, NOW, build, items

from p13n.domain.errors import InvalidInput
from p13n.domain.services import (
    DecisionService,
    Engine,
    EngineOptions,
    PersonalizationLog,
    RecommendService,
    sql_store,
)
from p13n.tools import ToolContext, get_action


@pytest.fixture
def tenant(database_url: str, tmp_path: Path) -> Iterator[tuple[ToolContext, PersonalizationLog]]:
    engine, service = build(database_url, tmp_path, None)
    log = PersonalizationLog(sql_store(engine), linger=3600.0)  # written only when flushed
    decisions = DecisionService(engine, service, log=log)
    yield ToolContext(engine=engine, recommend=service, decisions=decisions), log
    decisions.close()
    engine.close()


def _record(ctx: ToolContext, **args: Any) -> Any:
    return get_action("record_interaction").invoke(ctx, args)


def _stored_event_ids(database_url: str, identifier: str) -> list[str]:
    """The event ids a freshly opened engine has for the person (what survives a restart)."""
    reopened = Engine.open(database_url)
    try:
        uid = reopened.resolve(identifier)
        assert uid is not None, f"no profile for {identifier} after a reopen"
        reopened.get_profile(uid)
        with reopened.store.transaction() as conn:
            return [str(r["event_id"]) for r in reopened.store.events_of(conn, uid)]
    finally:
        reopened.close()


def test_a_new_devices_clicks_and_cart_are_in_the_store_after_a_reopen(
    tenant: tuple[ToolContext, PersonalizationLog], database_url: str
) -> None:
    ctx, _ = tenant
    out = _record(
        ctx,
        individual="chat-1f3a",
        interactions=[
            {"kind": "item_clicked", "item_id": "lamp-1"},
            {"kind": "item_added_to_cart", "item_id": "lamp-1"},
        ],
    )
    assert out.new_profile and out.tracked and out.individual is not None
    assert _stored_event_ids(database_url, "chat-1f3a") == [r.event_id for r in out.recorded]
    again = _record(ctx, individual="chat-1f3a", kind="item_clicked", item_id="mug-1")
    assert not again.new_profile and again.individual == out.individual


def test_a_batch_with_one_bad_interaction_records_none_of_them(
    tenant: tuple[ToolContext, PersonalizationLog],
) -> None:
    ctx, _ = tenant
    before = ctx.engine.store.count_events()
    with pytest.raises(InvalidInput, match=r"interactions\[2\]: .*not a personalizationContentId"):
        _record(
            ctx,
            individual="chat-2b",
            interactions=[
                {"kind": "item_shown", "item_id": "mug-1"},
                {"kind": "stated_preference", "preference": "likes tea"},
                {"kind": "item_shown", "item_id": "mug-2", "personalizationContentId": "x"},
            ],
        )
    assert ctx.engine.store.count_events() == before
    assert ctx.engine.resolve("chat-2b") is None


def test_a_tenant_that_requires_consent_keeps_a_visitor_only_after_they_opt_in(
    database_url: str, tmp_path: Path
) -> None:
    engine = Engine.open(database_url, EngineOptions(require_consent_flat=True), clock=lambda: NOW)
    try:
        engine.upsert_items(items())
        ctx = ToolContext(engine=engine, recommend=RecommendService(engine))
        args: dict[str, Any] = {"individual": "chat-c1", "kind": "item_clicked", "item_id": "mug-1"}
        untracked = _record(ctx, **args)
        assert not untracked.tracked and untracked.individual is None
        assert not untracked.new_profile and "consent 'Opt In'" in str(untracked.note)
        assert engine.resolve("chat-c1") is None
        kept = _record(ctx, **args, consent="Opt In")
        assert kept.tracked and kept.new_profile
        assert engine.get_profile("chat-c1").consent.status == "Opt In"
        refused = _record(ctx, **{**args, "individual": "chat-c2"}, consent="Opt Out")
        assert not refused.tracked and "opted out" in str(refused.note)
    finally:
        engine.close()
    assert len(_stored_event_ids(database_url, "chat-c1")) == 1


def test_content_ids_are_checked_against_the_log_queued_or_written(
    tenant: tuple[ToolContext, PersonalizationLog],
) -> None:
    ctx, log = tenant
    recs = get_action("get_recommendations").invoke(
        ctx, {"individual": "ava-1", "recommender": "newest", "limit": 3}
    )
    assert log.pending() == 1  # not written yet: the check must look in the queue
    first = recs.items[0]
    ok = _record(
        ctx,
        individual="ava-1",
        kind="item_clicked",
        item_id=first.id,
        personalizationId=recs.personalizationId,
        personalizationContentId=first.personalizationContentId,
    )
    assert ok.recorded[0].status == "accepted"
    with pytest.raises(InvalidInput, match="has no item"):
        _record(
            ctx,
            individual="ava-1",
            kind="item_shown",
            item_id=first.id,
            personalizationContentId=f"{recs.personalizationId}:7",
        )
    log.flush()
    assert log.pending() == 0
    # a process that did not give the answer reads it from the table
    other = PersonalizationLog(sql_store(ctx.engine))
    try:
        assert other.content_of(recs.personalizationId) == {
            i.personalizationContentId: i.id for i in recs.items
        }
        assert other.content_of("4d9a0f0e-0000-4000-8000-000000000000") is None
    finally:
        other.close()
    entry = log.entry(recs.personalizationId)
    assert entry is not None
    assert [e["personalizationContentId"] for e in entry["engagements"]] == [
        first.personalizationContentId
    ]


def test_context_names_the_bought_items_newest_order_first(
    tenant: tuple[ToolContext, PersonalizationLog],
) -> None:
    ctx, _ = tenant
    lines = [("lamp-1", 35.0, "o-2"), ("sock-1", 18.0, "o-2"), ("mug-1", 12.0, "o-3")]
    report = ctx.engine.ingest(
        [
            {
                "eventId": f"buy-{item}",
                "individualId": "ava-1",
                "interaction": "Purchase",
                "itemId": item,
                "price": price,
                "orderId": order,
                "dateTime": NOW - DAY * (1 if order == "o-3" else 1.5),
            }
            for item, price, order in lines
        ]
    )
    assert report.rejected == 0
    out = get_action("get_context").invoke(ctx, {"individual": "ava-1"})
    assert [o.order_id for o in out.recent_orders] == ["o-3", "o-2", "o-1"]
    assert [(i.item_id, i.name) for i in out.recent_orders[1].items] == [
        ("lamp-1", "Camping lantern, rechargeable"),
        ("sock-1", "Merino hiking socks"),
    ]
    assert out.recent_orders[1].amount == 53.0 and out.insights.orders == 3
    small = get_action("get_context").invoke(ctx, {"individual": "ava-1", "max_bytes": 1536})
    assert [o.order_id for o in small.recent_orders] == ["o-3"]  # the newest is kept
    assert "recent_orders: kept 1 of 3" in small.omitted


def test_a_strict_mode_call_with_every_field_given_empty_records_what_it_means(
    tenant: tuple[ToolContext, PersonalizationLog],
) -> None:
    ctx, _ = tenant
    empty = {
        "item_id": "",
        "quantity": 0,
        "preference": "",
        "personalizationId": "",
        "personalizationContentId": "",
        "interaction_id": "",
    }
    one = _record(
        ctx,
        individual="chat-strict",
        **{**empty, "kind": "item_clicked", "item_id": "mug-1"},
        interactions=[],
        consent="",
    )
    assert [(r.interaction, r.item_id) for r in one.recorded] == [
        ("personalization-click", "mug-1")
    ]
    several = _record(
        ctx,
        individual="chat-strict",
        **empty,
        kind="",
        interactions=[
            {**empty, "kind": "item_shown", "item_id": "mug-2"},
            {**empty, "kind": "stated_preference", "preference": "likes tea"},
        ],
        consent="",
    )
    assert [r.interaction for r in several.recorded] == [
        "personalization-view",
        "Stated Preference",
    ]
    assert several.stated_preferences == ["likes tea"]


def test_an_entry_being_written_is_found_without_waiting(
    tenant: tuple[ToolContext, PersonalizationLog],
) -> None:
    """Between leaving the queue and its commit an entry is in flight: the check finds it there
    (it used to wait up to 5 s for a flush on every miss, made-up ids included)."""
    ctx, log = tenant
    recs = get_action("get_recommendations").invoke(ctx, {"individual": "ava-1", "limit": 3})
    writing, release = threading.Event(), threading.Event()
    append = log.rows.append

    def held(rows: Any) -> None:
        writing.set()
        release.wait(10)
        append(rows)

    log.rows.append = held  # type: ignore[method-assign]
    try:
        log._wake.set()
        assert writing.wait(10) and log.pending() == 0
        assert log.content_of(recs.personalizationId) == {
            i.personalizationContentId: i.id for i in recs.items
        }
        started = time.perf_counter()
        assert log.content_of("4d9a0f0e-0000-4000-8000-000000000000") is None
        assert time.perf_counter() - started < 2.0  # no flush wait (5 s before)
    finally:
        release.set()
    log.flush()
    assert log.content_of(recs.personalizationId) is not None
