"""A UCP platform's side of the catalog, built from the UCP SDK's models only: requests are SDK
models dumped as UCP JSON, every answer is validated with the SDK's response models (the error
response when `ucp.status` is 'error'), over the MCP SDK's client or an HTTP client."""

from __future__ import annotations

from typing import Any

from mcp import Client
from pydantic import BaseModel
from ucp_sdk.models.schemas.common.types.error_response import ErrorResponse
from ucp_sdk.models.schemas.shopping.catalog_lookup import (
    GetProductRequest,
    GetProductResponse,
    LookupRequest,
    LookupResponse,
)
from ucp_sdk.models.schemas.shopping.catalog_search import SearchRequest, SearchResponse
from ucp_sdk.models.schemas.transports.mcp_tool_call import Arguments, Meta, Params, UcpAgent
from ucp_sdk.models.schemas.transports.mcp_tool_call import Request as ToolCall

PROFILE = "https://platform.example/profiles/shopping-agent.json"
RESPONSES: dict[str, type[BaseModel]] = {
    "search_catalog": SearchResponse,
    "lookup_catalog": LookupResponse,
    "get_product": GetProductResponse,
}


def ucp_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def meta(version: str | None = None) -> Meta:
    agent = UcpAgent(profile=PROFILE, **({"version": version} if version else {}))
    return Meta(**{"ucp-agent": agent})


def arguments(request: BaseModel, *, version: str | None = None) -> dict[str, Any]:
    """The MCP `arguments` of a UCP call, checked with the SDK's tools/call envelope."""
    args = {"meta": ucp_json(meta(version)), "catalog": ucp_json(request)}
    ToolCall(
        jsonrpc="2.0",
        id=1,
        method="tools/call",
        params=Params(name="search_catalog", arguments=Arguments(**args)),
    )
    return args


def validated(tool: str, data: dict[str, Any]) -> BaseModel:
    """The answer as the SDK's model: the tool's response, or the error response."""
    if data.get("ucp", {}).get("status") == "error":
        return ErrorResponse.model_validate(data)
    return RESPONSES[tool].model_validate(data)


class McpCatalog:
    """search / lookup / product over an open MCP client session."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(
        self, tool: str, request: BaseModel, *, version: str | None = None
    ) -> tuple[BaseModel, dict[str, Any]]:
        result = await self.client.call_tool(tool, arguments(request, version=version))
        assert not result.is_error, result.content
        data = result.structured_content
        assert data is not None
        return validated(tool, data), data

    async def search(self, **fields: Any) -> tuple[BaseModel, dict[str, Any]]:
        return await self.call("search_catalog", SearchRequest(**fields))

    async def lookup(self, ids: list[str]) -> tuple[BaseModel, dict[str, Any]]:
        return await self.call("lookup_catalog", LookupRequest(ids=ids))

    async def product(self, id: str, **fields: Any) -> tuple[BaseModel, dict[str, Any]]:
        return await self.call("get_product", GetProductRequest(id=id, **fields))
