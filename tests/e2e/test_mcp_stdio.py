"""`p13n mcp` as a subprocess, driven over stdio by the MCP SDK's own client."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import orjson
from _database import Database
from _tools_tenant import AVA_EMAIL, build
from mcp import Client, StdioServerParameters

P13N = str(Path(sys.executable).with_name("p13n"))


def test_p13n_mcp_serves_tools_prompts_and_resources_over_stdio(
    tmp_path: Path, e2e_db: Database
) -> None:
    engine, _ = build(e2e_db.url_for(tmp_path), tmp_path, None)
    engine.close()
    env = e2e_db.env(tmp_path, P13N_WARM_PROFILES="100")
    params = StdioServerParameters(command=P13N, args=["mcp"], env=env, cwd=str(tmp_path))

    async def main() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            context = await client.call_tool("get_context", {"individual": AVA_EMAIL})
            recs = await client.call_tool(
                "get_recommendations", {"individual": "ava-1", "limit": 2}
            )
            missing = await client.call_tool(
                "record_interaction",
                {"individual": "nobody", "kind": "item_clicked", "item_id": "ghost"},
            )
            prompts = [p.name for p in (await client.list_prompts()).prompts]
            categories = await client.read_resource("p13n://catalog/categories")
            return {
                "tools": tools,
                "context": context,
                "recs": recs,
                "missing": missing,
                "prompts": prompts,
                "categories": categories,
            }

    got = anyio.run(main)
    assert "get_recommendations" in got["tools"] and "get_context" in got["tools"]
    context = got["context"]
    assert not context.is_error and context.structured_content["first_name"] == "Ava"
    assert context.structured_content["contact"]["emails"] == ["a***@e***.com"]  # no --pii
    assert orjson.loads(context.content[0].text) == context.structured_content
    recs = got["recs"].structured_content
    assert not got["recs"].is_error and 1 <= len(recs["items"]) <= 2
    assert got["missing"].is_error and "no item 'ghost'" in got["missing"].content[0].text
    assert "personal_shopper" in got["prompts"]
    text = got["categories"].contents[0].text
    assert orjson.loads(text)["categories"][0]["name"] == "Outdoors"
