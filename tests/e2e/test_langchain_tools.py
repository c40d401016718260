"""The registry as LangChain StructuredTools, invoked for real (no LLM)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _database import Database
from _tools_tenant import AVA_EMAIL, build

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
    schema = {t.name: t for t in tools}["get_recommendations"].tool_call_schema.model_json_schema()
    assert {"individual", "query", "filters", "limit"} <= set(schema["properties"])


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
    answer = tools["get_context"].invoke({"individual": "nobody"})
    assert isinstance(answer, str) and "no person known as 'nobody'" in answer
    answer = tools["get_recommendations"].invoke({"limit": 0})
    assert isinstance(answer, str) and "limit" in answer
