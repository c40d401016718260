"""The UCP catalog on the demo tenant, as a UCP platform sees it over MCP (the real MCP SDK
client, requests and answers as the UCP SDK's models): search personalized for a named shopper
and not for an anonymous one, lookup and product detail, the bad-input answers of the spec, and
the agent's sale credited in Measure. Rules are over item fields, never a fixed answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from _ucp_client import McpCatalog, arguments
from mcp import Client
from mcp.shared.exceptions import MCPError
from ucp_sdk.models.schemas.common.types.context import Context
from ucp_sdk.models.schemas.common.types.error_response import ErrorResponse
from ucp_sdk.models.schemas.common.types.pagination import Request as Page
from ucp_sdk.models.schemas.shopping.catalog_lookup import GetProductResponse, LookupResponse
from ucp_sdk.models.schemas.shopping.catalog_search import SearchRequest, SearchResponse

from p13n.seed import NAMED_SHOPPERS
from p13n.server.bootstrap import AppServices, build_services
from p13n.server.settings import Settings
from p13n.tools import ToolContext, get_action
from p13n.tools.mcp import build_mcp_server

AVA = NAMED_SHOPPERS[0]["email"]


@pytest.fixture(scope="module")
def services(demo_home: Path) -> Iterator[AppServices]:
    built = build_services(Settings(home=demo_home, warm_profiles=0))
    built.recommend.refresh()
    yield built
    built.close()


def run(services: AppServices, body: Callable[[McpCatalog], Awaitable[Any]]) -> Any:
    ctx = services.tool_context()
    server = build_mcp_server(lambda _: ctx)

    async def main() -> Any:
        async with Client(server) as client:
            return await body(McpCatalog(client))

    return anyio.run(main)


def search(services: AppServices, **fields: Any) -> tuple[Any, dict[str, Any]]:
    return run(services, lambda c: c.search(**fields))


def _brands(data: dict[str, Any]) -> list[str | None]:
    return [p.get("metadata", {}).get("brand") for p in data["products"]]


def test_a_named_shopper_gets_her_own_ranking_and_an_anonymous_one_does_not(
    services: AppServices,
) -> None:
    ava, ava_data = search(services, query="leggings", buyer={"email": AVA})
    anon, anon_data = search(services, query="leggings")
    assert isinstance(ava, SearchResponse) and isinstance(anon, SearchResponse)
    assert ava_data["personalization"]["personalized"] is True
    assert ava_data["personalization"]["buyer"] is not None
    assert anon_data["personalization"]["personalized"] is False
    assert [p.id for p in ava.products] != [p.id for p in anon.products]
    # Ava loves Lululemon: her first page has more of it than everyone's, each with a reason.
    assert _brands(ava_data).count("Lululemon") > _brands(anon_data).count("Lululemon")
    assert all(p["metadata"].get("reason") for p in ava_data["products"][:3])
    assert all(p.variants and p.variants[0].price.currency == "USD" for p in ava.products)


def test_the_intent_is_read_for_meaning_and_its_price_bound(services: AppServices) -> None:
    answer, data = search(
        services, context=Context(intent="a yoga mat for a gift under $40", currency="USD")
    )
    assert isinstance(answer, SearchResponse) and answer.products
    assert all(p.price_range.max.amount <= 4000 for p in answer.products)
    assert any("yoga" in p.title.lower() or "mat" in p.title.lower() for p in answer.products)
    price = [
        c for c in data["personalization"]["interpreted"]["constraints"] if c["field"] == "price"
    ]
    assert price and price[0]["applied"] == "hard"


def test_filters_and_pages_are_honoured_and_pages_do_not_overlap(services: AppServices) -> None:
    filters = {"categories": ["Women"], "price": {"max": 3000}}

    async def body(c: McpCatalog) -> list[Any]:
        first, _ = await c.search(query="top", filters=filters, pagination=Page(limit=5))
        second, _ = await c.search(
            query="top",
            filters=filters,
            pagination=Page(limit=5, cursor=first.pagination.cursor),
        )
        return [first, second]

    first, second = run(services, body)
    assert first.pagination.has_next_page and len(first.products) == 5
    both = first.products + second.products
    assert len({p.id for p in both}) == len(both)
    for p in both:
        assert p.price_range.max.amount <= 3000
        assert p.categories and p.categories[0].value.startswith("Women/")


def test_a_buyers_pages_continue_her_order_without_repeats(services: AppServices) -> None:
    """Her first products are the recommender's, the search's follow; pages past the
    recommended head neither repeat nor skip."""

    async def body(c: McpCatalog) -> list[Any]:
        pages: list[Any] = []
        cursor = None
        for _ in range(4):
            page, data = await c.search(
                query="leggings", buyer={"email": AVA}, pagination=Page(limit=10, cursor=cursor)
            )
            pages.append(data)
            cursor = page.pagination.cursor
        return pages

    pages = run(services, body)
    ids = [p["id"] for data in pages for p in data["products"]]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert all(data["personalization"]["personalized"] for data in pages)
    reasons = [bool(p["metadata"].get("reason")) for data in pages for p in data["products"]]
    assert reasons[0] and not reasons[-1]  # the head is recommended, the tail is search
    assert pages[-1]["pagination"]["total_count"] >= 40


def test_a_forged_or_foreign_cursor_is_the_ucp_error_invalid_cursor(
    services: AppServices,
) -> None:
    async def body(c: McpCatalog) -> list[Any]:
        first, _ = await c.search(query="shoes", pagination=Page(limit=2))
        cursor = first.pagination.cursor
        forged = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
        other, _ = await c.search(query="boots", pagination=Page(cursor=cursor))
        fake, _ = await c.search(query="shoes", pagination=Page(cursor=forged))
        return [other, fake]

    for answer in run(services, body):
        assert isinstance(answer, ErrorResponse)
        assert answer.ucp.status == "error"
        (message,) = answer.messages
        assert message.code == "invalid_cursor" and message.severity == "recoverable"


def test_filters_that_match_nothing_answer_no_products_with_a_note(
    services: AppServices,
) -> None:
    answer, data = search(services, filters={"categories": ["Women"], "price": {"max": 1}})
    assert isinstance(answer, SearchResponse) and answer.products == []
    assert [m["code"] for m in data["messages"]] == ["no_match"]
    unknown, data = search(services, filters={"categories": ["Wmen"]})
    assert unknown.products == [] and "'Women'" in data["messages"][0]["content"]


def test_an_empty_intent_alone_is_refused_and_beside_a_query_is_not_given(
    services: AppServices,
) -> None:
    refused, _ = search(services, context=Context(intent="   "))
    assert isinstance(refused, ErrorResponse)
    assert {m.code for m in refused.messages} == {"invalid_input"}
    # A blank optional argument means "not given" for every tool: the query alone is searched.
    found, _ = search(services, query="mug", context=Context(intent=""))
    alone, _ = search(services, query="mug")
    assert isinstance(found, SearchResponse) and found.products
    assert [p.id for p in found.products] == [p.id for p in alone.products]


def test_lookup_and_product_detail_come_from_the_item_graph(services: AppServices) -> None:
    async def body(c: McpCatalog) -> list[Any]:
        found, _ = await c.search(query="nintendo switch", pagination=Page(limit=2))
        ids = [p.id for p in found.products]
        lookup, ldata = await c.lookup([ids[0], ids[1] + ":default", "no-such-item"])
        detail, ddata = await c.product(ids[0])
        missing, _ = await c.product("no-such-item")
        return [ids, lookup, ldata, detail, ddata, missing]

    ids, lookup, ldata, detail, ddata, missing = run(services, body)
    assert isinstance(lookup, LookupResponse)
    assert [p.id for p in lookup.products] == ids
    matches = [p.variants[0].inputs[0].match for p in lookup.products]
    assert matches == ["featured", "exact"]
    assert [m["code"] for m in ldata["messages"]] == ["not_found"]
    assert isinstance(detail, GetProductResponse) and detail.product.id == ids[0]
    variant = detail.product.variants[0]
    item = services.engine.state.items[ids[0]]
    assert variant.availability.available is item.in_stock
    assert variant.price.amount == round(item.price * 100)
    assert {"views_30d", "units_sold_30d"} <= set(ddata["product"]["metadata"])
    assert isinstance(missing, ErrorResponse)
    assert missing.messages[0].code == "not_found"
    assert missing.messages[0].severity == "unrecoverable"


def test_an_unsupported_version_is_the_json_rpc_error_the_spec_defines(
    services: AppServices,
) -> None:
    async def body(c: McpCatalog) -> Any:
        request = SearchRequest(query="mug")
        return await c.client.call_tool("search_catalog", arguments(request, version="2026-01-11"))

    with pytest.raises(BaseException) as caught:
        run(services, body)
    error = caught.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, MCPError)
    assert error.error.code == -32001
    assert error.error.data["code"] == "version_unsupported"
    assert "2026-08-25" in error.error.data["content"]


def test_the_agents_sale_is_logged_with_its_attribution_and_credited_in_measure(
    services: AppServices,
) -> None:
    ctx: ToolContext = services.tool_context()
    before = _agent_row(ctx)
    attribution = {"utm_source": "assistant", "click_id": "ucp-click-1"}
    _, data = search(services, query="leggings", buyer={"email": AVA}, attribution=attribution)
    pid = data["personalization"]["personalizationId"]
    first = data["products"][0]
    get_action("record_interaction").invoke(
        ctx,
        {
            "individual": AVA,
            "interactions": [
                {
                    "kind": kind,
                    "item_id": first["id"],
                    "personalizationId": pid,
                    "personalizationContentId": first["metadata"]["personalizationContentId"],
                }
                for kind in ("item_clicked", "item_added_to_cart")
            ],
        },
    )
    price = first["price_range"]["min"]["amount"] / 100
    order = {
        "eventId": f"ucp-order-{pid}",
        "deviceId": "demo-device-1",  # Ava's phone: the platform's checkout reports the sale
        "interaction": "Purchase",
        "itemId": first["id"],
        "price": price,
        "orderId": f"ucp-o-{pid}",
        "dateTime": services.engine.now(),
    }
    assert services.engine.ingest([order]).rejected == 0
    services.decisions.log.flush()
    logged = services.decisions.log.rows.get(pid)
    assert logged is not None and logged["attribution"] == attribution
    assert logged["channel"] == "agent" and logged["unified_id"] == data["personalization"]["buyer"]
    after = _agent_row(ctx)
    assert after["clicks"] == before["clicks"] + 1
    assert after["add_to_carts"] > before["add_to_carts"]
    assert after["orders"] > before["orders"]
    assert after["revenue"] > before["revenue"]


def _agent_row(ctx: ToolContext) -> dict[str, Any]:
    out = get_action("get_performance").invoke(ctx, {"by": "channel", "days": 30})
    rows = {r.name: r.model_dump() for r in out.rows}
    return rows.get("agent", {"clicks": 0, "add_to_carts": 0.0, "orders": 0.0, "revenue": 0.0})
