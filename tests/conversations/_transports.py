"""The transports the conversations run over: an MCP client session (stdio or HTTP) and the
LangChain tools, each answering what the model would read (`_conversations.Answer`).

The suite's tenant (`p13n seed demo` into a home, or a copy of an already seeded home) and the
environment of a `p13n` subprocess on it come from tests/_demo_home.py, re-exported here.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import orjson
from _conversations import Answer
from _demo_home import DEMO_HOME_ENV, copy_home, p13n_env, p13n_script, seed_demo
from mcp import Client

__all__ = [
    "DEMO_HOME_ENV",
    "LangChainTools",
    "McpTools",
    "copy_home",
    "p13n_env",
    "p13n_script",
    "seed_demo",
]


class McpTools:
    """Tools over an MCP client session (call `load` once, after the session is open)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._properties: dict[str, set[str]] = {}

    async def load(self, *, ready_timeout_s: float = 120.0) -> McpTools:
        """List the tools, then wait until queries are matched by meaning too: a fresh server
        answers by words alone while MiniLM loads (tested in tests/integration), and these
        scripts judge the steady state."""
        for tool in (await self.client.list_tools()).tools:
            self._properties[tool.name] = set((tool.input_schema or {}).get("properties") or {})
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            warm = {"catalog": {"query": "warm up", "pagination": {"limit": 1}}}
            got = await self.client.call_tool("search_catalog", warm)
            answer = got.structured_content or {}
            read = (answer.get("personalization") or {}).get("interpreted") or {}
            if got.is_error or read.get("semantic") is not False:
                break
            await anyio.sleep(0.25)
        return self

    def input_properties(self, tool: str) -> set[str]:
        return self._properties.get(tool, set())

    async def call(self, tool: str, args: dict[str, Any]) -> Answer:
        try:
            result = await self.client.call_tool(tool, args)
        except Exception as exc:  # a protocol error is a wrong answer too: say which
            return Answer(tool, args, True, None, f"protocol error: {type(exc).__name__}: {exc}")
        text = "".join(getattr(c, "text", "") for c in result.content)
        data = None
        if not result.is_error:
            data = result.structured_content
            if data is None:
                data = orjson.loads(text)
        return Answer(tool, args, bool(result.is_error), data, text)


class LangChainTools:
    """The registry as LangChain tools (`p13n.tools.langchain.get_tools`), invoked directly."""

    def __init__(self, tools: list[Any]) -> None:
        self.tools = {t.name: t for t in tools}

    def input_properties(self, tool: str) -> set[str]:
        found = self.tools.get(tool)
        if found is None:
            return set()
        schema = found.args_schema  # a pydantic model, or already a JSON schema
        schema = schema if isinstance(schema, dict) else schema.model_json_schema()
        return set(schema.get("properties") or {})

    async def call(self, tool: str, args: dict[str, Any]) -> Answer:
        out = self.tools[tool].invoke(args)
        if isinstance(out, str):  # handle_tool_error: the error line the model reads
            return Answer(tool, args, True, None, out)
        return Answer(tool, args, False, out, orjson.dumps(out).decode())
