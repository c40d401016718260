"""Flattened output schemas accept and reject exactly what pydantic's schemas do."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, Field

from p13n.tools.actions import ACTIONS
from p13n.tools.schema import flatten_schema, inline_refs, output_schema


class Leaf(BaseModel):
    name: str | None = Field(description="a name")
    score: float | int | None = None


class Tree(BaseModel):
    label: str
    leaves: list[Leaf]
    children: list[Tree] = []
    extra: dict[str, Leaf] = {}


def _valid(schema: dict[str, Any], doc: Any) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(doc)


# The UCP catalog's answers are the UCP SDK's models: a recursive type (`ConstraintExpression`)
# stays a reference, and where inlining would make the schema half as big again (prices and
# variants used in many places) pydantic's shared definitions are kept (`output_schema`).
UCP_TOOLS = {"search_catalog", "lookup_catalog", "get_product"}


def test_every_tool_output_schema_is_flat_and_keeps_its_descriptions() -> None:
    for action in ACTIONS:
        schema = output_schema(action.output_model)
        text = str(schema)
        if action.name in UCP_TOOLS:
            refs = set(re.findall(r"'\$ref': '#/\$defs/([^']+)'", text))
            assert refs and refs <= set(schema["$defs"]), action.name  # self-contained
        else:
            assert "$ref" not in text and "$defs" not in text, action.name
        assert schema["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(schema)
        original = action.output_model.model_json_schema(mode="serialization")
        assert text.count("'description'") >= str(original).count("'description'") - 1


@pytest.mark.parametrize(
    "doc",
    [
        {"label": "a", "leaves": [{"name": None}]},
        {
            "label": "a",
            "leaves": [{"name": "x", "score": 2}],
            "children": [{"label": "b", "leaves": []}],
        },
        {"label": "a", "leaves": [{"name": 3}]},
        {"label": "a", "leaves": [{"name": "x", "score": "high"}]},
        {"label": "a", "leaves": [], "children": [{"label": 1, "leaves": []}]},
        {"label": "a", "leaves": [], "extra": {"k": {"name": None, "score": 1.5}}},
        {"label": "a", "leaves": [], "extra": {"k": {"score": 1.5}}},
        {"leaves": []},
    ],
)
def test_a_flattened_schema_accepts_and_rejects_the_same_documents(doc: dict[str, Any]) -> None:
    original = Tree.model_json_schema(mode="serialization")
    flat = flatten_schema(copy.deepcopy(original))
    assert _valid(flat, doc) == _valid(original, doc)
    assert flat["$defs"].keys() == {"Tree"}  # the recursive model stays a reference
    assert "#/$defs/Leaf" not in str(flat)  # the others are inlined


def test_nullable_fields_become_a_list_of_types() -> None:
    flat = flatten_schema(Leaf.model_json_schema())
    assert flat["properties"]["name"]["type"] == ["string", "null"]
    assert flat["properties"]["name"]["description"] == "a name"
    assert flat["properties"]["score"]["type"] == ["number", "integer", "null"]


def test_inline_refs_only_inlines_and_leaves_its_input_alone() -> None:
    """The one `$ref` inliner (the OpenAPI request schema uses it): no `$ref` or `$defs` left for
    a non-recursive model, `anyOf`s kept as pydantic wrote them, the original untouched."""

    class Holder(BaseModel):
        leaf: Leaf
        leaves: list[Leaf] = []

    schema = Holder.model_json_schema()
    before = copy.deepcopy(schema)
    inlined = inline_refs(schema)
    assert schema == before
    assert "$ref" not in str(inlined) and "$defs" not in inlined
    assert inlined["properties"]["leaf"]["properties"]["name"]["anyOf"] == [
        {"type": "string"},
        {"type": "null"},
    ]
    assert flatten_schema(schema)["properties"]["leaf"]["properties"]["name"]["type"] == [
        "string",
        "null",
    ]
