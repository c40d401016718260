"""The same conversations through the LangChain tools, in this process, over the services a
script opens (`p13n.server.open_services`), as examples/langchain_tools.py does."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from _conversations import CONVERSATIONS, Outcome, run_conversations
from _transports import LangChainTools

from p13n.server import open_services
from p13n.server.settings import Settings
from p13n.tools.langchain import get_tools

pytestmark = pytest.mark.conversations


@pytest.fixture(scope="module")
def outcomes(demo_home: Path) -> dict[str, Outcome]:
    with open_services(Settings(home=demo_home, database_url=None)) as services:
        tools = LangChainTools(get_tools(services.tool_context()))
        return anyio.run(run_conversations, tools)


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_conversation_over_langchain(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    assert outcome.passed, outcome.report()
