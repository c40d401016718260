"""The MCP server of `p13n/tools` through the SDK's in-process client: every tool, prompt and
resource, with schemas, annotations, structured output, error results and masking by scope.
One file because every test shares one module-scoped tenant (building it costs seconds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import orjson
import pytest
from _database import Database
from _tools_tenant import AVA_EMAIL, AVA_PHONE, build
from mcp import Client
from mcp.shared.exceptions import MCPError

from p13n.domain.decisions import Decision, PersonalizationPoint
from p13n.domain.ingest import Item
from p13n.domain.services import (
    DecisionService,
    Engine,
    PersonalizationLog,
    RecommendService,
    sql_store,
)
from p13n.server.bootstrap import shared_embedder
from p13n.tools import ACTIONS, LocalCaller, ToolContext
from p13n.tools.mcp import build_mcp_server

Tenant = tuple[Engine, RecommendService]


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Tenant]:
    home = tmp_path_factory.mktemp("mcp")
    engine, service = build(e2e_module_db.url_for(home), home, shared_embedder())
    yield engine, service
    engine.close()


def _context(tenant: Tenant, *, pii: bool = False) -> ToolContext:
    engine, service = tenant
    return ToolContext(engine=engine, recommend=service, caller=LocalCaller(pii=pii))


def run(tenant: Tenant, body: Callable[[Client], Awaitable[Any]], *, pii: bool = False) -> Any:
    ctx = _context(tenant, pii=pii)
    server = build_mcp_server(lambda _: ctx)

    async def main() -> Any:
        async with Client(server) as client:
            return await body(client)

    try:
        return anyio.run(main)
    except BaseExceptionGroup as group:  # the in-process client's task group wraps errors
        raise _leaf(group) from None


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def call(tenant: Tenant, name: str, arguments: dict[str, Any], *, pii: bool = False) -> Any:
    async def body(client: Client) -> Any:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool(name, arguments)
        return tools.get(name), result

    return run(tenant, body, pii=pii)


def structured(tenant: Tenant, name: str, arguments: dict[str, Any], **kw: Any) -> dict[str, Any]:
    tool, result = call(tenant, name, arguments, **kw)
    assert not result.is_error, result.content
    jsonschema.validate(result.structured_content, tool.output_schema)
    assert orjson.loads(result.content[0].text) == result.structured_content
    data: dict[str, Any] = result.structured_content
    return data


def error_text(tenant: Tenant, name: str, arguments: dict[str, Any]) -> str:
    _, result = call(tenant, name, arguments)
    assert result.is_error
    assert result.structured_content is None
    text: str = result.content[0].text
    assert "Traceback" not in text
    return text


# -- listing -----------------------------------------------------------------------------------
def test_every_action_is_a_tool_with_input_and_output_schemas_and_annotations(
    tenant: Tenant,
) -> None:
    tools = run(tenant, lambda c: c.list_tools()).tools
    assert [t.name for t in tools] == [a.name for a in ACTIONS]
    for tool in tools:
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert len(tool.description or "") > 150
        ann = tool.annotations
        assert ann is not None
        for hint in ("read_only_hint", "idempotent_hint", "destructive_hint", "open_world_hint"):
            assert isinstance(getattr(ann, hint), bool), (tool.name, hint)
    by_name = {t.name: t.annotations for t in tools}
    assert by_name["get_context"].read_only_hint and by_name["get_context"].idempotent_hint
    assert not by_name["record_interaction"].read_only_hint
    assert not by_name["record_interaction"].destructive_hint


def test_every_tool_parameter_is_described(tenant: Tenant) -> None:
    for tool in run(tenant, lambda c: c.list_tools()).tools:
        schema = tool.input_schema
        objects = [schema, *schema.get("$defs", {}).values()]
        for obj in objects:
            for field, spec in obj.get("properties", {}).items():
                assert spec.get("description"), f"{tool.name}.{field} has no description"


# -- get_recommendations -----------------------------------------------------------------------
def test_recommendations_come_as_structured_content_with_attribution_ids(tenant: Tenant) -> None:
    data = structured(tenant, "get_recommendations", {"individual": AVA_EMAIL, "limit": 3})
    assert data["individual"].startswith("u-")
    assert 1 <= len(data["items"]) <= 3
    pid = data["personalizationId"]
    for k, item in enumerate(data["items"]):
        assert item["personalizationContentId"] == f"{pid}:{k}"
        assert item["url"].endswith(item["id"]) and item["image_url"] and item["reason"]
        assert item["id"] != "boot-1"  # purchased items are not recommended again


def test_a_query_with_a_price_filter_finds_the_boots_under_the_limit(tenant: Tenant) -> None:
    data = structured(
        tenant,
        "get_recommendations",
        {"query": "hiking boots", "filters": {"max_price": 150}, "limit": 6},
    )
    ids = [i["id"] for i in data["items"]]
    assert ids and ids[0] == "boot-1"
    assert "boot-2" not in ids  # 180 is over the limit
    assert all(i["price"] <= 150 for i in data["items"])


def test_category_and_brand_filters_narrow_the_recommendations(tenant: Tenant) -> None:
    data = structured(
        tenant,
        "get_recommendations",
        {"filters": {"categories": ["outdoors"], "brands": ["Summit"]}, "recommender": "newest"},
    )
    assert {i["id"] for i in data["items"]} == {"boot-2", "lamp-1"}


def test_an_unknown_person_gets_recommendations_for_nobody_in_particular(tenant: Tenant) -> None:
    data = structured(tenant, "get_recommendations", {"individual": "nobody@example.com"})
    assert data["individual"] is None and data["items"]
    assert data["note"].startswith("unknown: no person known as 'nobody@example.com'")


def test_an_unknown_anchor_item_is_an_error_result(tenant: Tenant) -> None:
    text = error_text(tenant, "get_recommendations", {"anchor_item_id": "nope"})
    assert "no item 'nope'" in text and "search_catalog" in text


def test_filters_that_match_nothing_are_an_error_result_with_a_way_out(tenant: Tenant) -> None:
    text = error_text(
        tenant, "get_recommendations", {"filters": {"brands": ["Glow"], "min_price": 500}}
    )
    assert "no item matches the filters" in text and "Widen" in text


def test_invalid_arguments_are_an_error_result_naming_the_field(tenant: Tenant) -> None:
    clamped = structured(tenant, "get_recommendations", {"limit": 99})  # clamped, not refused
    assert clamped["interpreted"]["clamped"] == ["limit 99 is over the maximum of 24; 24 used"]
    text = error_text(
        tenant, "get_recommendations", {"recommender": "top-sellers", "objective": "clicks"}
    )
    assert "either recommender or objective" in text


def test_an_unknown_recommender_lists_the_known_ones(tenant: Tenant) -> None:
    text = error_text(tenant, "get_recommendations", {"recommender": "best-ever"})
    assert "top-sellers" in text


# -- get_context -------------------------------------------------------------------------------
def test_context_masks_personal_data_without_the_pii_scope(tenant: Tenant) -> None:
    data = structured(tenant, "get_context", {"individual": "tools-device-1"})
    assert data["known"] is True and data["first_name"] == "Ava"
    assert data["contact"]["masked"] is True
    assert data["contact"]["emails"] == ["a***@e***.com"]
    assert data["contact"]["phones"][0].endswith("01") and "555" not in data["contact"]["phones"][0]
    assert AVA_EMAIL not in orjson.dumps(data).decode()
    assert "lastName" not in data["attributes"]
    assert data["insights"]["orders"] == 1 and data["insights"]["lifetime_revenue"] == 120.0
    assert [c["item_id"] for c in data["cart"]] == ["tent-1"]
    assert data["top_brands"][0]["value"] == "TrailCo"
    assert "1 item(s) in the cart" in data["engagement"]["summary"]


def test_context_shows_personal_data_to_a_caller_with_pii(tenant: Tenant) -> None:
    data = structured(tenant, "get_context", {"individual": AVA_EMAIL}, pii=True)
    assert data["contact"]["masked"] is False
    assert data["contact"]["emails"] == [AVA_EMAIL]
    assert data["contact"]["phones"] == [AVA_PHONE]
    assert data["attributes"]["lastName"] == "Martin"


def test_an_anonymous_visitor_has_context_without_a_name(tenant: Tenant) -> None:
    data = structured(tenant, "get_context", {"individual": "tools-device-2"})
    assert data["known"] is False and data["first_name"] is None
    assert [r["item_id"] for r in data["engagement"]["recently_viewed"]] == ["mug-2", "mug-1"]


def test_context_stays_under_its_size_bound_and_says_what_was_left_out(tenant: Tenant) -> None:
    full = structured(tenant, "get_context", {"individual": AVA_EMAIL})
    assert len(orjson.dumps(full)) <= 4096 and full["omitted"] == []
    small = structured(tenant, "get_context", {"individual": AVA_EMAIL, "max_bytes": 1024})
    assert len(orjson.dumps({k: v for k, v in small.items()})) <= 1024
    assert small["omitted"], "something had to be cut"
    assert any("kept" in o or "left out" in o for o in small["omitted"])


# -- search_catalog (the UCP catalog search: `{meta, catalog}`, tests/e2e/test_ucp_catalog.py
# checks its shapes with the UCP SDK's models) ----------------------------------------------------
def search(tenant: Tenant, **catalog: Any) -> dict[str, Any]:
    return structured(tenant, "search_catalog", {"catalog": catalog})


def _ids(data: dict[str, Any]) -> list[str]:
    return [p["id"] for p in data["products"]]


def _one_error(data: dict[str, Any]) -> dict[str, Any]:
    assert data["ucp"]["status"] == "error" and "products" not in data
    (message,) = data["messages"]
    assert message["type"] == "error"
    return dict(message)


def test_search_pages_through_results_with_next_cursor(tenant: Tenant) -> None:
    args: dict[str, Any] = {"filters": {"brands": ["trailco"]}, "pagination": {"limit": 2}}
    first = search(tenant, **args)
    page = first["pagination"]
    assert page["total_count"] == 3 and len(first["products"]) == 2 and page["has_next_page"]
    second = search(tenant, **{**args, "pagination": {"limit": 2, "cursor": page["cursor"]}})
    assert len(second["products"]) == 1 and second["pagination"]["has_next_page"] is False
    assert "cursor" not in second["pagination"]
    assert set(_ids(first) + _ids(second)) == {"boot-1", "sock-1", "tent-1"}


def test_semantic_search_orders_by_meaning_with_scores(tenant: Tenant) -> None:
    data = search(tenant, query="something to drink tea from")
    assert data["products"][0]["id"] in {"mug-1", "mug-2"}
    scores = [p["metadata"]["score"] for p in data["products"]]
    assert scores == sorted(scores, reverse=True)


def test_searching_for_an_item_id_finds_that_item_first(tenant: Tenant) -> None:
    for item_id in ("boot-2", "mug-2", "sock-1"):
        data = search(tenant, query=item_id, pagination={"limit": 3})
        assert _ids(data)[0] == item_id and _ids(data).count(item_id) == 1


def test_a_cursor_from_another_search_or_not_ours_is_the_ucp_error_invalid_cursor(
    tenant: Tenant,
) -> None:
    first = search(tenant, filters={"brands": ["TrailCo"]}, pagination={"limit": 1})
    cursor = first["pagination"]["cursor"]
    other = _one_error(search(tenant, query="mug", pagination={"limit": 1, "cursor": cursor}))
    assert other["code"] == "invalid_cursor" and "different search" in other["content"]
    forged = _one_error(search(tenant, query="mug", pagination={"cursor": "%%"}))
    assert forged["code"] == "invalid_cursor" and "not one this catalog issued" in forged["content"]
    assert forged["path"] == "$.pagination.cursor"


# -- record_interaction ------------------------------------------------------------------------
def test_a_stated_preference_updates_the_profile_at_once(tenant: Tenant) -> None:
    data = structured(
        tenant,
        "record_interaction",
        {
            "individual": AVA_EMAIL,
            "kind": "stated_preference",
            "preference": "prefers vegan products",
        },
    )
    assert data["recorded"][0]["status"] == "accepted" and data["tracked"] is True
    assert "prefers vegan products" in data["stated_preferences"]
    context = structured(tenant, "get_context", {"individual": "ava-1"})
    assert "prefers vegan products" in context["stated_preferences"]
    assert "statedPreferences" not in context["attributes"]  # shown once


def test_an_item_added_to_cart_shows_in_the_cart_and_repeats_are_duplicates(
    tenant: Tenant,
) -> None:
    args = {
        "individual": "tools-device-2",
        "kind": "item_added_to_cart",
        "item_id": "mug-2",
        "interaction_id": "chat-7-cart",
    }
    assert structured(tenant, "record_interaction", args)["recorded"][0]["status"] == "accepted"
    assert structured(tenant, "record_interaction", args)["recorded"][0]["status"] == "duplicate"
    cart = structured(tenant, "get_context", {"individual": "tools-device-2"})["cart"]
    assert [c["item_id"] for c in cart] == ["mug-2"] and cart[0]["quantity"] == 1


def test_recording_an_unknown_item_or_a_missing_field_is_an_error_result(tenant: Tenant) -> None:
    args = {"individual": AVA_EMAIL, "kind": "item_clicked", "item_id": "ghost"}
    assert "no item 'ghost'" in error_text(tenant, "record_interaction", args)
    args = {"individual": AVA_EMAIL, "kind": "item_clicked"}
    assert "needs `item_id`" in error_text(tenant, "record_interaction", args)


# -- get_personalization_decisions -------------------------------------------------------------
def _decisions(tenant: Tenant) -> DecisionService:
    """A decision service with the demo's `home_recommendations` point (newest items)."""
    engine, service = tenant
    decisions = DecisionService(engine, service, log=PersonalizationLog(sql_store(engine)))
    if "home_recommendations" not in decisions.configs.points:
        point = {
            "name": "home_recommendations",
            "label": "Recommended for you",
            "contentSchema": {"type": "Recommendations", "itemFields": ["id", "name", "imageUrl"]},
        }
        decision = {
            "name": "for_you",
            "point": "home_recommendations",
            "state": "Live",
            "recommender": "newest",
        }
        decisions.change(lambda c: c.put_point(PersonalizationPoint.model_validate(point)))
        decisions.change(lambda c: c.put_decision(Decision.model_validate(decision)))
    return decisions


def with_decisions(tenant: Tenant, body: Callable[[Client], Awaitable[Any]]) -> Any:
    engine, service = tenant
    decisions = _decisions(tenant)
    ctx = ToolContext(engine=engine, recommend=service, decisions=decisions)

    async def main() -> Any:
        async with Client(build_mcp_server(lambda _: ctx)) as client:
            return await body(client)

    try:
        return anyio.run(main)
    finally:
        decisions.close()


def test_an_unknown_point_is_an_error_result_naming_the_closest_points(tenant: Tenant) -> None:
    result = with_decisions(
        tenant,
        lambda c: c.call_tool(
            "get_personalization_decisions",
            {"points": ["home_recomendations"], "individual": "ava-1"},
        ),
    )
    assert result.is_error and result.structured_content is None
    text = result.content[0].text
    assert "unknown personalization point 'home_recomendations'" in text
    assert "closest: 'home_recommendations'" in text


def test_decision_items_are_item_cards_and_the_points_are_discoverable(tenant: Tenant) -> None:
    async def body(client: Client) -> Any:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        decided = await client.call_tool(
            "get_personalization_decisions", {"points": ["home_recommendations"]}
        )
        facets = await client.call_tool("list_catalog_facets", {})
        points = await client.read_resource("p13n://personalization/points")
        return tools, decided, facets, points

    tools, decided, facets, points = with_decisions(tenant, body)
    assert not decided.is_error, decided.content
    jsonschema.validate(
        decided.structured_content, tools["get_personalization_decisions"].output_schema
    )
    [point] = decided.structured_content["decisions"]
    assert point["items"], point["diagnostics"]
    for k, item in enumerate(point["items"]):
        assert set(item) >= CARD and "imageUrl" not in item
        assert (
            item["currency"] == "USD" and item["price"] is not None
        )  # not only the point's fields
        assert item["personalizationContentId"] == f"{point['personalizationId']}:{k}"
    schema = tools["get_personalization_decisions"].input_schema
    assert schema["properties"]["points"]["items"]["enum"] == ["home_recommendations"]
    listed = [p["name"] for p in facets.structured_content["personalization_points"]]
    assert listed == ["home_recommendations"]
    assert orjson.loads(points.contents[0].text)["points"][0]["label"] == "Recommended for you"


def test_decisions_without_a_decision_service_are_an_error_result(tenant: Tenant) -> None:
    text = error_text(tenant, "get_personalization_decisions", {"points": ["x"]})
    assert "not configured" in text


# -- failures ----------------------------------------------------------------------------------
def test_an_unexpected_failure_is_an_error_result_without_a_traceback(tenant: Tenant) -> None:
    def broken(_: Any) -> ToolContext:
        raise RuntimeError("secret internals")

    async def main() -> Any:
        async with Client(build_mcp_server(broken)) as client:
            return await client.call_tool("get_context", {"individual": "ava-1"})

    result = anyio.run(main)
    assert result.is_error
    text = result.content[0].text
    assert text.startswith("unexpected error") and "secret" not in text


def test_an_unknown_tool_is_an_error_result_listing_the_tools(tenant: Tenant) -> None:
    text = error_text(tenant, "get_everything", {})
    assert "get_recommendations" in text


# -- prompts -----------------------------------------------------------------------------------
def test_the_three_prompts_are_listed_with_their_arguments(tenant: Tenant) -> None:
    prompts = run(tenant, lambda c: c.list_prompts()).prompts
    by_name = {p.name: p for p in prompts}
    assert set(by_name) == {"personal_shopper", "understand_user_intent", "service_agent_context"}
    assert [a.name for a in by_name["understand_user_intent"].arguments] == ["message"]
    assert by_name["understand_user_intent"].arguments[0].required is True


def test_prompts_render_with_their_arguments(tenant: Tenant) -> None:
    shopper = run(tenant, lambda c: c.get_prompt("personal_shopper", {"individual": "ava-1"}))
    text = shopper.messages[0].content.text
    assert "ava-1" in text and "get_context" in text and "record_interaction" in text
    intent = run(
        tenant,
        lambda c: c.get_prompt("understand_user_intent", {"message": "red Nike shoes under 80"}),
    )
    text = intent.messages[0].content.text
    assert "red Nike shoes under 80" in text and '"max_price"' in text and "{{" not in text
    brief = run(tenant, lambda c: c.get_prompt("service_agent_context", {"individual": "x"}))
    assert "get_context" in brief.messages[0].content.text


def test_a_prompt_missing_a_required_argument_is_a_protocol_error(tenant: Tenant) -> None:
    with pytest.raises(MCPError, match="needs the argument 'message'"):
        run(tenant, lambda c: c.get_prompt("understand_user_intent", {}))


# -- resources ---------------------------------------------------------------------------------
def test_resources_and_templates_are_listed(tenant: Tenant) -> None:
    resources = run(tenant, lambda c: c.list_resources()).resources
    assert [str(r.uri) for r in resources] == [
        "p13n://catalog/categories",
        "p13n://catalog/facets",
        "p13n://personalization/points",
        "ui://p13n/recommendations",  # the MCP Apps views (tests/e2e/test_mcp_apps.py)
        "ui://p13n/profile-card",
    ]
    templates = run(tenant, lambda c: c.list_resource_templates()).resource_templates
    assert {t.uri_template for t in templates} == {"p13n://profiles/{id}", "p13n://items/{id}"}


def _read(tenant: Tenant, uri: str, *, pii: bool = False) -> Any:
    result = run(tenant, lambda c: c.read_resource(uri), pii=pii)
    [content] = result.contents
    assert content.mime_type == "application/json"
    return orjson.loads(content.text)


def test_the_categories_resource_counts_items_per_category(tenant: Tenant) -> None:
    data = _read(tenant, "p13n://catalog/categories")
    top = {c["name"]: c for c in data["categories"]}
    assert top["Outdoors"]["items"] == 5 and top["Home"]["items"] == 2
    assert {"name": "Outdoors/Footwear", "items": 3} in top["Outdoors"]["subcategories"]


def test_the_profile_resource_is_masked_by_scope(tenant: Tenant) -> None:
    masked = _read(tenant, "p13n://profiles/ava-1")
    assert masked["contact"]["emails"] == ["a***@e***.com"]
    clear = _read(tenant, "p13n://profiles/ava.martin%40example.com", pii=True)
    assert clear["contact"]["emails"] == [AVA_EMAIL]


def test_the_item_resource_has_fields_and_insights(tenant: Tenant) -> None:
    data = _read(tenant, "p13n://items/boot-1")
    assert data["name"] == "Waterproof hiking boots" and data["insights"]["units_sold_total"] == 1
    assert set(data) >= CARD and data["currency"] == "USD"


def test_the_facets_resource_is_the_catalog_vocabulary(tenant: Tenant) -> None:
    data = _read(tenant, "p13n://catalog/facets")
    assert data["currency"] == "USD" and data["brands"][0] == {"name": "TrailCo", "items": 3}


def test_an_unknown_resource_is_a_not_found_protocol_error(tenant: Tenant) -> None:
    with pytest.raises(MCPError, match="no item 'ghost'") as exc:
        run(tenant, lambda c: c.read_resource("p13n://items/ghost"))
    assert exc.value.code == -32002
    with pytest.raises(MCPError, match="no person known"):
        run(tenant, lambda c: c.read_resource("p13n://profiles/nobody"))


# -- vocabulary, schemas and bad input as models send it ----------------------------------------
CARD = {
    "id",
    "name",
    "brand",
    "price",
    "currency",
    "url",
    "image_url",
    "category",
    "in_stock",
    "description",
    "reason",
    "personalizationContentId",
}


def test_input_schemas_are_flat_take_null_and_list_the_stores_recommenders(tenant: Tenant) -> None:
    _, service = tenant
    tools = {t.name: t for t in run(tenant, lambda c: c.list_tools()).tools}
    for tool in tools.values():
        assert "$ref" not in str(tool.input_schema) and "$defs" not in tool.input_schema
    recs = tools["get_recommendations"].input_schema
    assert recs["properties"]["recommender"]["anyOf"][0]["enum"] == sorted(service.configs)
    jsonschema.validate({"filters": None, "query": None, "limit": None}, recs)


def test_null_for_optional_objects_and_blank_strings_mean_absent(tenant: Tenant) -> None:
    data = structured(
        tenant,
        "get_recommendations",
        {"individual": AVA_EMAIL, "filters": None, "query": "", "anchor_item_id": None, "limit": 3},
    )
    assert 1 <= len(data["items"]) <= 3
    blanks = {"query": "  ", "pagination": None, "buyer": None, "context": {"intent": ""}}
    page = search(tenant, **blanks, filters={"brands": ["TrailCo"], "categories": None})
    assert page["pagination"]["total_count"] == 3
    nothing = _one_error(structured(tenant, "search_catalog", {"meta": None, "catalog": blanks}))
    assert nothing["code"] == "invalid_input" and "at least one input" in nothing["content"]


def test_prices_as_text_are_numbers_and_another_currency_is_refused(tenant: Tenant) -> None:
    data = structured(
        tenant, "get_recommendations", {"filters": {"max_price": "$20", "min_price": "12.5"}}
    )
    assert {i["id"] for i in data["items"]} == {"sock-1", "mug-2", "lip-1"}
    text = error_text(tenant, "get_recommendations", {"filters": {"max_price": "€30"}})
    assert "EUR" in text and "prices are in USD" in text


def test_the_ucp_search_takes_prices_in_minor_units_and_ignores_another_currency(
    tenant: Tenant,
) -> None:
    data = search(tenant, filters={"price": {"max": 2000, "min": 1250}})
    assert set(_ids(data)) == {"sock-1", "mug-2", "lip-1"}
    euros = search(
        tenant, filters={"categories": ["Home"], "price": {"max": 1}}, context={"currency": "EUR"}
    )
    assert set(_ids(euros)) == {"mug-1", "mug-2"}  # the price filter could not be applied
    (note,) = euros["messages"]
    assert note["type"] == "warning" and note["code"] == "currency_unsupported"
    assert "EUR" in note["content"] and "in USD" in note["content"]


def test_an_unknown_category_or_brand_names_the_closest_real_ones(tenant: Tenant) -> None:
    text = error_text(tenant, "get_recommendations", {"filters": {"categories": ["Camping gear"]}})
    assert "unknown category 'Camping gear'; closest: 'Camping'" in text
    assert "list_catalog_facets" in text
    data = search(tenant, filters={"brands": ["Trail Co"]})
    assert data["products"] == [] and data["messages"][0]["code"] == "no_match"
    text = data["messages"][0]["content"]
    assert "no brand 'Trail Co'" in text and "closest: 'TrailCo'" in text


def test_misspelled_choices_and_unknown_fields_say_what_is_allowed(tenant: Tenant) -> None:
    text = error_text(tenant, "get_recommendations", {"objective": "revnue"})
    assert "did you mean 'revenue'" in text
    text = error_text(tenant, "get_recommendations", {"recommender": "top-seller"})
    assert "unknown recommender 'top-seller'; closest: 'top-sellers'" in text
    text = error_text(tenant, "search_catalog", {"catalog": {"query": "mug"}, "catalogue": {}})
    assert "catalogue: unknown field (did you mean 'catalog'?); allowed: meta, catalog" in text
    # p13n's search of old took its arguments flat: such a call is told the UCP shape.
    text = error_text(tenant, "search_catalog", {"query": "boots", "limit": 2})
    assert "catalog: Field required" in text and "query: unknown field; allowed: meta" in text


def test_list_catalog_facets_gives_the_stores_words_level_by_level(tenant: Tenant) -> None:
    data = structured(tenant, "list_catalog_facets", {})
    assert data["currency"] == "USD"
    assert data["price"]["min"] == 12.0 and data["price"]["max"] == 250.0
    top = {c["path"]: c for c in data["categories"]}
    assert top["Outdoors"]["items"] == 5
    assert set(top["Outdoors"]["subcategories"]) == {"Footwear", "Camping"}
    assert data["brands"][0] == {"name": "TrailCo", "items": 3}
    assert "top-sellers" in data["recommenders"] and data["personalization_points"] == []
    sub = structured(tenant, "list_catalog_facets", {"category": "outdoors/footwear"})
    assert sub["category"] == "Outdoors/Footwear" and sub["price"]["max"] == 180.0
    assert {c["path"] for c in sub["categories"]} == {
        "Outdoors/Footwear/Boots",
        "Outdoors/Footwear/Socks",
    }
    assert {b["name"] for b in sub["brands"]} == {"TrailCo", "Summit"}
    text = error_text(tenant, "list_catalog_facets", {"category": "Outdoor/Footwear"})
    assert "no category path 'Outdoor/Footwear'; closest: 'Outdoors/Footwear'" in text


def test_every_tool_shows_items_in_one_card_shape(tenant: Tenant) -> None:
    recs = structured(tenant, "get_recommendations", {"limit": 2})["items"]
    item = structured(tenant, "get_item", {"item_id": "boot-1"})
    for card in [*recs, item]:
        assert set(card) >= CARD, set(card)
        assert card["currency"] == "USD" and card["image_url"].endswith(".jpg")
        assert card["category"] and card["brand"]
    assert all(r["reason"] and r["personalizationContentId"] for r in recs)
    # The UCP tools show the same items as UCP products, the card's facts in UCP's places.
    found = search(tenant, query="boots")["products"]
    assert found
    for product in found:
        (variant,) = product["variants"]
        assert variant["price"]["currency"] == "USD" and variant["price"]["amount"] > 0
        assert product["media"][0]["url"].endswith(".jpg") and product["categories"]
        assert product["metadata"]["brand"] and product["metadata"]["personalizationContentId"]
        assert variant["availability"]["available"] is True


def test_get_item_answers_by_id_and_an_unknown_id_says_how_to_find_ids(tenant: Tenant) -> None:
    item = structured(tenant, "get_item", {"item_id": "boot-1"})
    assert item["name"] == "Waterproof hiking boots" and item["price"] == 120.0
    assert item["category"] == "Outdoors/Footwear/Boots" and item["in_stock"] is True
    assert {"description", "condition", "size", "attributes"} <= set(item)
    text = error_text(tenant, "get_item", {"item_id": "m-42344"})
    assert "no item 'm-42344'" in text and "search_catalog" in text


def test_get_item_shows_description_condition_and_size(tmp_path: Path, e2e_db: Database) -> None:
    engine, service = build(e2e_db.url_for(tmp_path), tmp_path, None)
    try:
        engine.upsert_items(
            [
                Item(
                    id="tee-1",
                    name="Organic cotton tee",
                    brand="Homey",
                    category="Women/Tops/T-Shirts",
                    price=25.0,
                    currency="USD",
                    description="Soft organic cotton. " * 40,
                    attributes={"condition": "New with tags", "size": "M", "color": "black"},
                )
            ]
        )
        item = structured((engine, service), "get_item", {"item_id": "tee-1"})
        found = search((engine, service), filters={"brands": ["homey"]})
    finally:
        engine.close()
    assert item["condition"] == "New with tags" and item["size"] == "M"
    assert item["attributes"] == {"color": "black"}
    assert 200 < len(item["description"]) <= 1500
    [product] = [p for p in found["products"] if p["id"] == "tee-1"]
    text = product["description"]["plain"]
    assert text.startswith("Soft organic cotton.") and len(text) <= 200
    assert {o["name"]: o["values"][0]["label"] for o in product["options"]} == {
        "Size": "M",
        "Condition": "New with tags",
    }


def test_a_lone_text_for_a_list_is_read_and_a_wrong_shape_names_the_fields(tenant: Tenant) -> None:
    data = search(tenant, filters={"categories": "Home", "brands": None})
    assert set(_ids(data)) == {"mug-1", "mug-2"}
    text = error_text(tenant, "search_catalog", {"catalog": {"filters": "cheap"}})
    assert "catalog.filters: should be an object with the fields categories, price" in text
