"""What `get_context` tells an agent and what `record_interaction` keeps, through the MCP SDK's
in-process client on the small tools tenant (SQLite, then PostgreSQL): bought items with names,
the 4 KB bound with `omitted`, a new visitor's clicks kept, several interactions in one call,
and attribution ids checked against the personalization log (its writer lingers an hour here,
so an answer just given is still in its queue)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import jsonschema
import orjson
import pytest
from _database import Database
from _tools_tenant import AVA_EMAIL, DAY, NOW, build
from mcp import Client

from p13n.domain.services import (
    DecisionService,
    Engine,
    PersonalizationLog,
    sql_store,
)
from p13n.server.bootstrap import shared_embedder
from p13n.tools import ToolContext
from p13n.tools.mcp import build_mcp_server


@dataclass
class Tenant:
    engine: Engine
    log: PersonalizationLog
    ctx: ToolContext


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Tenant]:
    home = tmp_path_factory.mktemp("context")
    engine, service = build(e2e_module_db.url_for(home), home, shared_embedder())
    log = PersonalizationLog(sql_store(engine), linger=3600.0)
    decisions = DecisionService(engine, service, log=log)
    yield Tenant(engine, log, ToolContext(engine=engine, recommend=service, decisions=decisions))
    decisions.close()
    engine.close()


def _call(tenant: Tenant, name: str, arguments: dict[str, Any]) -> tuple[Any, Any]:
    async def main() -> Any:
        async with Client(build_mcp_server(lambda _: tenant.ctx)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            return tools[name], await client.call_tool(name, arguments)

    return anyio.run(main)


def structured(tenant: Tenant, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    tool, result = _call(tenant, name, arguments)
    assert not result.is_error, result.content
    jsonschema.validate(result.structured_content, tool.output_schema)
    data: dict[str, Any] = result.structured_content
    return data


def error_text(tenant: Tenant, name: str, arguments: dict[str, Any]) -> str:
    _, result = _call(tenant, name, arguments)
    assert result.is_error, result.structured_content
    text: str = result.content[0].text
    assert "Traceback" not in text
    return text


# -- get_context -------------------------------------------------------------------------------
def test_context_lists_what_the_person_bought_with_ids_names_dates_and_amounts(
    tenant: Tenant,
) -> None:
    data = structured(tenant, "get_context", {"individual": AVA_EMAIL})
    [order] = data["recent_orders"]
    assert order["order_id"] == "o-1" and order["amount"] == 120.0 and order["currency"] == "USD"
    assert order["purchased_at"].startswith("2026-") and order["item_count"] == 1
    assert order["items"] == [
        {
            "item_id": "boot-1",
            "name": "Waterproof hiking boots",
            "category": "Outdoors/Footwear/Boots",
            "quantity": 1.0,
            "price": 120.0,
        }
    ]
    # the catalog's own paths, most specific first of each branch, and brands
    categories = [c["value"] for c in data["top_categories"]]
    assert categories[0] == "Outdoors/Footwear/Boots" and "Outdoors" not in categories
    assert [b["value"] for b in data["top_brands"]] == ["TrailCo"]
    assert [c["name"] for c in data["cart"]] == ["Two person camping tent"]
    assert data["found"] is True and data["note"] is None


def test_a_bought_item_from_the_context_anchors_recommendations(tenant: Tenant) -> None:
    bought = structured(tenant, "get_context", {"individual": "ava-1"})["recent_orders"][0]
    anchor = bought["items"][0]["item_id"]
    recs = structured(
        tenant, "get_recommendations", {"individual": "ava-1", "anchor_item_id": anchor}
    )
    ids = [i["id"] for i in recs["items"]]
    assert anchor not in ids and "boot-2" in ids[:2]  # the other hiking boots


def test_a_heavy_profile_stays_under_4_kb_and_says_what_was_cut(tenant: Tenant) -> None:
    items = ["boot-2", "sock-1", "lamp-1", "mug-1", "mug-2", "lip-1"]
    events: list[dict[str, Any]] = [
        {
            "eventId": f"heavy-{k}-{item}",
            "deviceId": "heavy-device",
            "interaction": "Purchase",
            "itemId": item,
            "price": 10.0,
            "orderId": f"heavy-order-{k}",
            "dateTime": NOW - DAY * (9 - k),
        }
        for k in range(8)
        for item in items
    ]
    assert tenant.engine.ingest(events).rejected == 0
    preferences = [
        {"kind": "stated_preference", "preference": f"preference {k}: " + "likes wool " * 15}
        for k in range(20)
    ]
    recorded = structured(
        tenant, "record_interaction", {"individual": "heavy-device", "interactions": preferences}
    )
    assert len(recorded["stated_preferences"]) == 20
    data = structured(tenant, "get_context", {"individual": "heavy-device"})
    assert 3 * 1024 < len(orjson.dumps(data)) <= 4096  # cut to fit, not much more
    assert data["omitted"], "a profile this size cannot fit whole"
    assert data["recent_orders"][0]["order_id"] == "heavy-order-7"  # the newest is kept
    assert len(data["recent_orders"]) < 5 and any(
        o.startswith("recent_orders: kept") for o in data["omitted"]
    )
    kept = data["stated_preferences"]
    assert kept and kept[-1].startswith("preference 19:")  # the most recent are kept
    if len(kept) < 20:
        assert any(o.startswith("stated_preferences: kept") for o in data["omitted"])


def test_an_unknown_person_gets_an_anonymous_context_that_says_so(tenant: Tenant) -> None:
    data = structured(tenant, "get_context", {"individual": "never-seen-device"})
    assert data["found"] is False and data["individual"] is None and data["known"] is False
    assert "unknown" in data["note"] and "never-seen-device" in data["note"]
    recs = structured(tenant, "get_recommendations", {"individual": "never-seen-device"})
    assert recs["individual"] is None and recs["items"]


# -- record_interaction ------------------------------------------------------------------------
def test_a_new_visitors_shown_and_clicked_items_are_kept(tenant: Tenant) -> None:
    recs = structured(
        tenant,
        "get_recommendations",
        {"individual": "chat-visitor-1", "recommender": "newest", "limit": 3},
    )
    assert tenant.log.pending() >= 1, "the answer is still queued, not yet written"
    shown = [
        {
            "kind": "item_shown",
            "item_id": i["id"],
            "personalizationId": recs["personalizationId"],
            "personalizationContentId": i["personalizationContentId"],
        }
        for i in recs["items"]
    ]
    clicked = {**shown[1], "kind": "item_clicked"}
    data = structured(
        tenant,
        "record_interaction",
        {"individual": "chat-visitor-1", "interactions": [*shown, clicked]},
    )
    assert data["new_profile"] is True and data["tracked"] is True
    assert [r["status"] for r in data["recorded"]] == ["accepted"] * 4
    assert [r["item_id"] for r in data["recorded"]] == [
        *(i["id"] for i in recs["items"]),
        recs["items"][1]["id"],
    ]
    context = structured(tenant, "get_context", {"individual": "chat-visitor-1"})
    assert context["found"] is True and context["individual"] == data["individual"]
    assert context["engagement"]["counts_30d"] == {
        "recommendations shown": 3,
        "recommendation clicks": 1,
    }
    tenant.log.flush()
    logged = tenant.log.entry(recs["personalizationId"])
    assert logged is not None
    assert {e["personalizationContentId"] for e in logged["engagements"]} == {
        i["personalizationContentId"] for i in recs["items"]
    }


def test_several_interactions_in_one_call_change_the_profile_together(tenant: Tenant) -> None:
    data = structured(
        tenant,
        "record_interaction",
        {
            "individual": "tools-device-2",
            "interactions": [
                {"kind": "item_clicked", "item_id": "lamp-1"},
                {"kind": "item_added_to_cart", "item_id": "lamp-1", "quantity": 2},
                {"kind": "stated_preference", "preference": "camps in winter"},
                {"kind": "stated_preference", "preference": "likes rechargeable gear"},
            ],
        },
    )
    assert data["new_profile"] is False and len(data["recorded"]) == 4
    assert data["stated_preferences"][-2:] == ["camps in winter", "likes rechargeable gear"]
    context = structured(tenant, "get_context", {"individual": "tools-device-2"})
    assert {"item_id": "lamp-1", "quantity": 2.0} in [
        {"item_id": c["item_id"], "quantity": c["quantity"]} for c in context["cart"]
    ]
    assert context["stated_preferences"][-2:] == ["camps in winter", "likes rechargeable gear"]


def test_one_wrong_interaction_refuses_the_call_and_records_nothing(tenant: Tenant) -> None:
    before = tenant.engine.store.count_events()
    text = error_text(
        tenant,
        "record_interaction",
        {
            "individual": "chat-visitor-2",
            "interactions": [
                {"kind": "item_shown", "item_id": "mug-1"},
                {"kind": "item_shown", "item_id": "ghost"},
            ],
        },
    )
    assert text.startswith("interactions[1]: no item 'ghost'") and "Nothing was recorded" in text
    assert tenant.engine.store.count_events() == before
    assert structured(tenant, "get_context", {"individual": "chat-visitor-2"})["found"] is False


def test_a_made_up_content_id_is_refused(tenant: Tenant) -> None:
    args = {"individual": "ava-1", "kind": "item_clicked", "item_id": "mug-1"}
    made_up = "0b7c1a52-9a43-4d4e-9d1e-0c0ffee00000:0"
    text = error_text(tenant, "record_interaction", {**args, "personalizationContentId": made_up})
    assert "no answer with personalizationId '0b7c1a52" in text
    text = error_text(tenant, "record_interaction", {**args, "personalizationContentId": "abc"})
    assert "not a personalizationContentId" in text
    recs = structured(tenant, "get_recommendations", {"recommender": "newest", "limit": 2})
    first = recs["items"][0]
    text = error_text(
        tenant,
        "record_interaction",
        {**args, "item_id": "lip-1", "personalizationContentId": first["personalizationContentId"]},
    )
    assert f"is item '{first['id']}', not 'lip-1'" in text


def test_the_single_interaction_form_still_works(tenant: Tenant) -> None:
    data = structured(
        tenant,
        "record_interaction",
        {"individual": "ava-1", "kind": "stated_preference", "preference": "size M"},
    )
    assert data["recorded"][0]["interaction"] == "Stated Preference"
    assert "size M" in data["stated_preferences"]
    text = error_text(
        tenant,
        "record_interaction",
        {"individual": "ava-1", "kind": "item_clicked", "interactions": [{"kind": "x"}]},
    )
    assert "invalid arguments" in text
