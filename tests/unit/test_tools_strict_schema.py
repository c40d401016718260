"""Input schemas every client accepts: the strict form inside both vendors' strict subsets (each
tool and all of them in one request), LangChain's strict conversion leaving it as it is, the
lenient form flat with defaults and bounds and `null` for "absent", and arguments read the way
models send them (empties, prices as text, misspellings, unknown fields, the store's names)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from _strict_subsets import (
    anthropic_problems,
    anthropic_request_problems,
    openai_problems,
    union_parameters,
)
from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import Item
from p13n.domain.recommend import build_snapshot
from p13n.tools import ACTIONS, get_action
from p13n.tools.catalog_words import facets_of
from p13n.tools.recommendations import GetRecommendationsInput
from p13n.tools.schema import input_schema, strict_schema

NAMES = {
    "recommenders": ["recommended-for-you", "similar-items", "top-sellers", "trending"],
    "points": ["home_banner", "home_recommendations"],
}


def _strict_schemas() -> dict[str, dict[str, Any]]:
    return {a.name: strict_schema(input_schema(a.input_model, NAMES)) for a in ACTIONS}


@pytest.mark.parametrize("name", [a.name for a in ACTIONS])
def test_each_strict_schema_is_inside_openais_and_anthropics_strict_subsets(name: str) -> None:
    schema = _strict_schemas()[name]
    assert openai_problems(schema) == []
    assert anthropic_problems(schema) == []
    jsonschema.Draft202012Validator.check_schema(schema)
    for prop in schema["properties"].values():
        assert prop["description"], name


def test_all_strict_tools_fit_in_one_anthropic_request() -> None:
    """Anthropic counts optional and union-typed parameters over every strict tool of a request
    (24 and 16): the strict form has no optional field and almost no unions."""
    schemas = list(_strict_schemas().values())
    assert anthropic_request_problems(schemas) == []
    assert sum(union_parameters(s) for s in schemas) <= 2


def test_the_checks_catch_what_pydantic_writes() -> None:
    """Not vacuous: pydantic's own schema has defaults, bounds, $defs and optional fields."""
    raw = GetRecommendationsInput.model_json_schema()
    assert any("default" in p for p in openai_problems(raw))
    assert any("every property must be required" in p for p in openai_problems(raw))
    assert any("minimum" in p for p in anthropic_problems(raw))
    assert any("$defs" in p or "$ref" in p for p in openai_problems(raw) + anthropic_problems(raw))


@pytest.mark.parametrize("name", [a.name for a in ACTIONS])
def test_langchains_strict_conversion_keeps_the_strict_schema_as_it_is(name: str) -> None:
    schema = _strict_schemas()[name]
    tool = StructuredTool.from_function(
        func=lambda **kw: kw, name=name, description="d", args_schema=schema, infer_schema=False
    )
    converted = convert_to_openai_tool(tool, strict=True)["function"]
    assert converted["strict"] is True
    assert converted["parameters"] == schema
    assert openai_problems(converted["parameters"]) == []


def _empty(schema: dict[str, Any]) -> Any:
    """The answer a strict-mode model gives when it has nothing to say: empties everywhere."""
    kind = schema.get("type")
    if kind == "object":
        return {k: _empty(v) for k, v in schema["properties"].items()}
    if kind == "boolean":
        return True
    return {"string": "", "integer": 0, "number": 0, "array": []}[kind]


@pytest.mark.parametrize("name", ["get_recommendations", "search_catalog", "list_catalog_facets"])
def test_an_empty_strict_answer_means_no_arguments(name: str) -> None:
    action = get_action(name)
    doc = _empty(_strict_schemas()[name])
    jsonschema.validate(doc, _strict_schemas()[name])
    assert action.parse(doc) == action.parse(_required(name))


@pytest.mark.parametrize("name", [a.name for a in ACTIONS])
def test_lenient_schemas_are_flat_keep_defaults_and_take_null_for_optional_fields(
    name: str,
) -> None:
    action = get_action(name)
    schema = action.input_schema()
    assert "$ref" not in str(schema) and "$defs" not in schema
    jsonschema.Draft202012Validator.check_schema(schema)
    required = set(schema.get("required", []))
    for field in set(schema["properties"]) - required:
        assert jsonschema.Draft202012Validator(schema).is_valid({field: None} | _required(name))


def _required(name: str) -> dict[str, Any]:
    return {
        "get_context": {"individual": "ava-1"},
        "get_item": {"item_id": "boot-1"},
        "get_personalization_decisions": {"points": ["home_banner"]},
        "record_interaction": {"individual": "ava-1", "kind": "item_shown", "item_id": "x"},
        "search_catalog": {"catalog": {}},
        "lookup_catalog": {"catalog": {"ids": ["boot-1"]}},
        "get_product": {"catalog": {"id": "boot-1"}},
    }.get(name, {})


def test_a_map_is_name_value_pairs_in_the_strict_form_and_read_back_as_the_map() -> None:
    """OpenAI's strict mode takes no object of free keys: UCP's `attribution` goes as pairs."""
    catalog = _strict_schemas()["search_catalog"]["properties"]["catalog"]
    attribution = catalog["properties"]["attribution"]
    assert attribution["type"] == "array"
    assert attribution["items"]["required"] == ["name", "value"]
    action = get_action("search_catalog")
    pairs = [{"name": "utm_source", "value": "assistant"}, {"name": "click_id", "value": "c-1"}]
    parsed = action.parse({"catalog": {"query": "mug", "attribution": pairs}})
    assert parsed.catalog.attribution == {"utm_source": "assistant", "click_id": "c-1"}
    as_map = action.parse({"catalog": {"query": "mug", "attribution": parsed.catalog.attribution}})
    assert as_map == parsed
    assert (
        action.parse({"catalog": {"query": "mug", "attribution": []}}).catalog.attribution is None
    )


def test_the_lenient_form_keeps_defaults_and_bounds_and_nulls_parse_as_absent() -> None:
    action = get_action("get_recommendations")
    props = action.input_schema()["properties"]
    assert props["limit"]["default"] == 6 and props["limit"]["minimum"] == 1
    assert props["filters"]["properties"]["in_stock_only"]["default"] is True
    nulls = {"filters": None, "query": None, "limit": None, "objective": None}
    assert action.parse(nulls) == action.parse({})
    nested = {"filters": {"min_price": None, "categories": None, "in_stock_only": None}}
    assert action.parse(nested) == action.parse({})


def test_the_stores_names_become_an_enum_in_both_forms() -> None:
    lenient = input_schema(GetRecommendationsInput, NAMES)
    assert lenient["properties"]["recommender"]["anyOf"][0]["enum"] == NAMES["recommenders"]
    strict = strict_schema(lenient)["properties"]["recommender"]
    assert strict["enum"] == [*NAMES["recommenders"], ""] and strict["type"] == "string"
    decisions = strict_schema(
        input_schema(get_action("get_personalization_decisions").input_model, NAMES)
    )
    assert decisions["properties"]["points"]["items"]["enum"] == NAMES["points"]


def test_decision_variables_are_pairs_not_an_object_that_can_only_be_empty() -> None:
    action = get_action("get_personalization_decisions")
    variables = convert_to_openai_tool(
        StructuredTool.from_function(
            func=lambda **kw: kw,
            name="d",
            description="d",
            args_schema=action.input_schema(strict=True),
            infer_schema=False,
        ),
        strict=True,
    )["function"]["parameters"]["properties"]["variables"]
    assert variables["type"] == "array"
    assert set(variables["items"]["properties"]) == {"name", "value"}
    old_style = action.parse({"points": ["p"], "variables": {"tier": "gold", "visits": 3}})
    pairs = action.parse(
        {
            "points": ["p"],
            "variables": [{"name": "tier", "value": "gold"}, {"name": "visits", "value": 3}],
        }
    )
    assert old_style == pairs and pairs.variables[1].value == 3


@pytest.mark.parametrize(
    ("text", "number"),
    [("$30", 30.0), ("30.5", 30.5), ("30 USD", 30.0), ("1,299.99", 1299.99), ("30,5", 30.5)],
)
def test_prices_sent_as_text_are_read_as_numbers(text: str, number: float) -> None:
    # search_catalog takes UCP's prices (integers in minor units); p13n's own filters take text
    parsed = get_action("get_recommendations").parse({"filters": {"max_price": text}})
    assert parsed.filters.max_price == number


def test_a_misspelled_choice_names_the_closest_and_an_unknown_field_the_allowed_ones() -> None:
    action = get_action("get_recommendations")
    with pytest.raises(InvalidInput, match="did you mean 'revenue'"):
        action.parse({"objective": "revnue"})
    with pytest.raises(InvalidInput) as exc:
        action.parse({"filters": {"brand": ["Nike"]}})
    message = str(exc.value)
    assert "filters.brand: unknown field (did you mean 'brands'?)" in message
    assert "allowed: min_price, max_price, categories, brands, in_stock_only" in message
    with pytest.raises(InvalidInput, match=r"colour: unknown field; allowed: .*\bfilters\b"):
        action.parse({"colour": "red"})


def test_an_unknown_category_level_suggests_the_catalogs_name_for_it() -> None:
    rows = [
        ("a", "Electronics/Video Games & Consoles/Games"),
        ("b", "Electronics/Cell Phones & Accessories/Cases, Covers & Skins"),
        ("c", "Vintage & Collectibles/Toy/Action Figure"),
        ("d", "Kids/Toys/Games"),
        ("e", "Women/Athletic Apparel/Pants, Tights, Leggings"),
        ("f", "Vintage & Collectibles/Toy/Video Game"),
    ]
    brands = {"a": "Lululemon", "b": "Lulu's", "c": "lululemon athletica", "d": "TrailCo"}
    items = {
        i: Item(id=i, name=i, category=c, brand=brands.get(i), price=10.0, currency="USD")
        for i, c in rows
    }
    vocab = facets_of(build_snapshot(items, {}, 0.0))
    assert vocab.brand_suggestions("lulu lemon")[0] == "Lululemon"
    assert vocab.brand_suggestions("Trail Co")[0] == "TrailCo"
    assert not vocab.has_category("Video Games")
    assert vocab.category_suggestions("Video Games")[0] == "Video Games & Consoles"
    assert vocab.category_suggestions("leggins")[0] == "Pants, Tights, Leggings"
    assert vocab.has_category("electronics/video games & consoles")
    assert vocab.has_category("Games") and vocab.currency == "USD"


def test_the_point_the_decisions_tool_names_as_an_example_exists_in_the_demo() -> None:
    demo = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "p13n/seed/data/decisioning.yaml").read_text()
    )
    points = {p["name"] for p in demo["points"]}
    action = get_action("get_personalization_decisions")
    texts = [action.description, action.input_model.model_fields["points"].description or ""]
    named = {n for t in texts for n in re.findall(r"e\.g\. '([a-z_]+)'", t)}
    assert named and named <= points


def test_a_lone_text_for_a_list_and_a_number_for_a_text_are_read_as_meant() -> None:
    parsed = get_action("get_recommendations").parse(
        {"individual": 4155550101, "filters": {"categories": "Women", "brands": "Nike"}}
    )
    assert parsed.individual == "4155550101"
    assert parsed.filters.categories == ["Women"] and parsed.filters.brands == ["Nike"]
    assert get_action("get_personalization_decisions").parse({"points": "p"}).points == ["p"]
    with pytest.raises(
        InvalidInput, match="filters: should be an object with the fields min_price"
    ):
        get_action("get_recommendations").parse({"filters": "cheap"})


@pytest.mark.parametrize(
    ("catalog", "named"),
    [
        ({"query": "mugs", "buyer": {"id": {}}}, "catalog.buyer.id"),
        ({"query": "mugs", "signals": {"dev.ucp.user_agent": []}}, "catalog.signals"),
        ({"query": "mugs", "context": {"intent": {}}}, "catalog.context.intent"),
    ],
)
def test_an_empty_object_or_list_where_a_text_is_asked_is_a_wrong_type_not_absent(
    catalog: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(named)):
        get_action("search_catalog").parse({"catalog": catalog})


def test_an_empty_object_or_list_where_one_is_asked_still_means_not_given() -> None:
    action = get_action("search_catalog")
    bare = action.parse({"catalog": {"query": "mugs"}})
    empties = {"query": "mugs", "buyer": {}, "filters": {}, "attribution": {}, "signals": {}}
    assert action.parse({"catalog": empties}) == bare
