"""The scripted shopper conversations through `p13n mcp` over stdio, with the MCP SDK's client.

One server process serves every conversation, in the order `CONVERSATIONS` lists them (the
ones that change profiles after the read-only ones); each conversation is one test.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from _conversations import CONVERSATIONS, Outcome, run_conversations
from _transports import McpTools, p13n_env, p13n_script
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.conversations


@pytest.fixture(scope="module")
def outcomes(demo_home: Path) -> dict[str, Outcome]:
    params = StdioServerParameters(
        command=p13n_script(), args=["mcp"], env=p13n_env(demo_home), cwd=str(demo_home)
    )

    async def main() -> dict[str, Outcome]:
        async with Client(params, read_timeout_seconds=120) as client:
            return await run_conversations(await McpTools(client).load())

    return anyio.run(main)


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_conversation_over_mcp_stdio(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    assert outcome.passed, outcome.report()
