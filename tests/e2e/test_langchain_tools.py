"""The registry as LangChain StructuredTools, invoked for real (no LLM)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _database import Database
from _strict_subsets import anthropic_problems, anthropic_request_problems, openai_problems
from _tools_tenant import AVA_EMAIL, build
from langchain_core.utils.function_calling import convert_to_openai_tool

from p13n.domain.services import Engine
from p13n.tools import ToolContext, action_names
from p13n.tools.langchain import get_tools


@pytest.fixture
def context(tmp_path: Path, e2e_db: Database) -> Iterator[ToolContext]:
    engine, service = build(e2e_db.url_for(tmp_path), tmp_path, None)
    yield ToolContext(engine=engine, recommend=service)
    engine.close()


def test_every_action_is_a_structured_tool_with_its_input_model(context: ToolContext) -> None:
    tools = get_tools(context)
    assert [t.name for t in tools] == action_names()
    schema = {t.name: t for t in tools}["get_recommendations"].tool_call_schema
    assert isinstance(schema, dict)
    assert {"individual", "query", "filters", "limit"} <= set(schema["properties"])


def test_the_tools_pass_strict_mode_for_openai_and_anthropic(context: ToolContext) -> None:
    """`convert_to_openai_tool(tool, strict=True)` (what `bind_tools(..., strict=True)` sends)
    gives schemas inside both vendors' strict subsets, with the store's recommenders as an enum,
    and all the tools fit Anthropic's per-request limits."""
    converted = [convert_to_openai_tool(t, strict=True)["function"] for t in get_tools(context)]
    for function in converted:
        assert function["strict"] is True
        assert openai_problems(function["parameters"]) == [], function["name"]
        assert anthropic_problems(function["parameters"]) == [], function["name"]
    assert anthropic_request_problems([f["parameters"] for f in converted]) == []
    recs = {f["name"]: f for f in converted}["get_recommendations"]["parameters"]
    assert set(recs["properties"]["recommender"]["enum"]) == {*context.recommend.configs, ""}


def test_a_strict_mode_call_with_empties_everywhere_answers(context: ToolContext) -> None:
    tools = {t.name: t for t in get_tools(context)}
    filters = {
        "min_price": 0,
        "max_price": 0,
        "categories": [],
        "brands": [],
        "in_stock_only": True,
    }
    args = {
        "individual": AVA_EMAIL,
        "query": "",
        "anchor_item_id": "",
        "recommender": "",
        "objective": "",
        "filters": filters,
        "limit": 0,
    }
    recs = tools["get_recommendations"].invoke(args)
    assert isinstance(recs, dict) and 1 <= len(recs["items"]) <= 6


def test_tools_return_the_output_as_a_dict(context: ToolContext) -> None:
    tools = {t.name: t for t in get_tools(context)}
    recs = tools["get_recommendations"].invoke({"individual": AVA_EMAIL, "limit": 2})
    assert recs["personalizationId"] and 1 <= len(recs["items"]) <= 2
    ctx = tools["get_context"].invoke({"individual": "ava-1"})
    assert ctx["first_name"] == "Ava" and ctx["contact"]["masked"] is True
    done = tools["record_interaction"].invoke(
        {"individual": "ava-1", "kind": "stated_preference", "preference": "size M"}
    )
    engine: Engine = context.engine
    assert done["stated_preferences"] == ["size M"]
    assert engine.get_profile("ava-1").attributes["statedPreferences"] == ["size M"]


def test_fixable_errors_come_back_as_the_tools_answer(context: ToolContext) -> None:
    tools = {t.name: t for t in get_tools(context)}
    answer = tools["record_interaction"].invoke(
        {"individual": "nobody@example.com", "kind": "item_clicked", "item_id": "mug-1"}
    )
    assert isinstance(answer, str) and "no person known as 'nobody@example.com'" in answer
    answer = tools["get_recommendations"].invoke({"limit": "lots"})
    assert isinstance(answer, str) and "limit" in answer
