"""The MCP face of the registry: tools, prompts and resources on the SDK's low-level `Server`.

The low-level server is used (not `MCPServer`) because the registry already owns the schemas:
each tool's input and output schema is its pydantic model's JSON schema, flattened (no `$ref`),
with the store's recommender and point names as enums: `tools/list` builds them from the
caller's `ToolContext` (cached while those names stay the same). A call
validates arguments with the input model, runs the action in a worker thread (the domain is
synchronous) and answers with structured content plus the same JSON as a text block. Errors the
caller can fix (`P13nError`) and anything unexpected come back as `isError` results with one
readable line, never a traceback; the UCP catalog tools' negotiation failures
(`UcpProtocolError`, e.g. `version_unsupported`) are the JSON-RPC errors UCP's MCP binding
defines, and their business outcomes are ordinary results with `ucp.status: "error"`.

Every tool, prompt, resource and the server itself carry the p13n icon; `get_recommendations`,
`search_catalog` and `get_context` name their MCP Apps view in `_meta.ui.resourceUri`, and the
`ui://` views are listed and read like the other resources (`p13n.tools.apps` says what they
are). The SDK serves every protocol revision from the same handlers: 2026-07-28's stateless
requests (`server/discover`, no session) and the 2025 initialize handshake, on stdio and HTTP.
A `record_interaction` that tracked nothing for want of consent answers a client that takes
URL-mode elicitation with URL_ELICITATION_REQUIRED, pointing at the store's consent page
(`ToolContext.consent_url`), when there is one.

`build_mcp_server(context_factory)` serves stdio (`p13n mcp`) and streamable HTTP alike: the
factory gets the SDK's per-request context (`ctx.request` is the HTTP request when there is
one) and returns the `ToolContext` for that call, so the caller's principal (and with it PII
masking) can differ per request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote
from uuid import uuid4

import anyio.to_thread
import mcp_types as types
import orjson
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError
from mcp_types.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS

from p13n import __version__
from p13n.domain.errors import NotFound, P13nError
from p13n.prompts import PROMPTS, get_prompt, render
from p13n.tools.actions import ACTIONS, get_action
from p13n.tools.apps import (
    APP_MIME_TYPE,
    APPS_EXTENSION,
    TOOL_VIEWS,
    VIEWS,
    icons,
    image_origins,
    view_csp,
    view_html,
)
from p13n.tools.context import ToolContext
from p13n.tools.registry import Action, vocabularies
from p13n.tools.resources import (
    categories_resource,
    facets_resource,
    item_resource,
    points_resource,
    profile_resource,
)
from p13n.tools.schema import output_schema
from p13n.tools.ucp_shapes import UcpProtocolError
from p13n.tools.untrusted import clean_answer, clean_error

__all__ = ["ContextFactory", "build_mcp_server", "run_stdio", "RESOURCE_NOT_FOUND"]

log = logging.getLogger("p13n.mcp")

ContextFactory = Callable[[ServerRequestContext[Any, Any]], ToolContext]
RESOURCE_NOT_FOUND = -32002
UNEXPECTED = "unexpected error in the p13n server; nothing was changed by this call. Retry once, and report it if it repeats."
INSTRUCTIONS = (
    "p13n personalization tools. Start with get_context for the person you talk to, use "
    "get_recommendations (with their words as `query` and filters) to pick items, "
    "search_catalog, lookup_catalog and get_product (the Universal Commerce Protocol's "
    "catalog tools) and get_item to look items up, list_catalog_facets for the store's "
    "categories, brands, prices and currency, and record_interaction to report what you showed "
    "and what they said they prefer. Errors say what to change."
)
_CATEGORIES_URI = "p13n://catalog/categories"
_STATIC = (
    (
        _CATEGORIES_URI,
        "catalog-categories",
        "Catalog categories",
        "The category tree with item counts (in-stock items).",
    ),
    (
        "p13n://catalog/facets",
        "catalog-facets",
        "Catalog vocabulary",
        "What list_catalog_facets answers without a category: top categories, main brands, "
        "price range, currency, personalization points and recommenders.",
    ),
    (
        "p13n://personalization/points",
        "personalization-points",
        "Personalization points",
        "The points get_personalization_decisions can decide, with labels and descriptions.",
    ),
)
_VIEW_URIS = frozenset(v.uri for v in VIEWS)
_TEMPLATES = (
    ("p13n://profiles/", "profile", "A person's context (masked unless the caller has `pii`)."),
    ("p13n://items/", "item", "An item as get_item gives it, with insights (views, sales)."),
)


def _icons() -> list[types.Icon]:
    return [types.Icon.model_validate(i) for i in icons()]


def _tool(action: Action[Any, Any], ctx: ToolContext | None) -> types.Tool:
    hints = action.hints
    return types.Tool(
        name=action.name,
        title=action.title,
        description=action.description,
        input_schema=action.input_schema(ctx),
        output_schema=output_schema(action.output_model),
        icons=_icons(),
        meta={"ui": {"resourceUri": TOOL_VIEWS[action.name]}}
        if action.name in TOOL_VIEWS
        else None,
        annotations=types.ToolAnnotations(
            title=action.title,
            read_only_hint=hints.read_only,
            idempotent_hint=hints.idempotent,
            destructive_hint=hints.destructive,
            open_world_hint=hints.open_world,
        ),
    )


def _json(data: Any) -> str:
    return orjson.dumps(data).decode()


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=clean_error(message))], is_error=True
    )


def _takes_url_elicitation(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether the client declared URL-mode elicitation (2025-11-25 and later)."""
    caps = getattr(getattr(ctx, "session", None), "client_capabilities", None)
    elicitation = getattr(caps, "elicitation", None)
    return getattr(elicitation, "url", None) is not None


def _consent_elicitation(tool_ctx: ToolContext, individual: Any) -> UrlElicitationRequiredError:
    """Send the person to the store's consent page: the call cannot count until they opt in."""
    url = str(tool_ctx.consent_url).replace("{individual}", quote(str(individual), safe=""))
    message = (
        "This store records what a person does only with their tracking consent, and theirs "
        "is not known. Open the store's consent page for them; once they opt in there, call "
        "record_interaction again."
    )
    return UrlElicitationRequiredError(
        [types.ElicitRequestURLParams(message=message, url=url, elicitation_id=str(uuid4()))],
        message="tracking consent needed: " + message,
    )


def build_mcp_server(context_factory: ContextFactory, *, name: str = "p13n") -> Server[Any]:
    """The MCP server over the registry; `context_factory` builds each call's `ToolContext`."""
    static = [_tool(a, None) for a in ACTIONS]  # Mcp-Param header checks: no enums needed
    schemas = {t.name: t.input_schema for t in static}
    listed: dict[str, list[types.Tool]] = {}

    def tools_for(tool_ctx: ToolContext) -> list[types.Tool]:
        key = orjson.dumps(vocabularies(tool_ctx), option=orjson.OPT_SORT_KEYS).decode()
        tools = listed.get(key)
        if tools is None:
            if len(listed) > 16:
                listed.clear()
            tools = listed[key] = [_tool(a, tool_ctx) for a in ACTIONS]
        return tools

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        try:
            tool_ctx = context_factory(ctx)
        except Exception:  # the schemas without enums still describe every argument
            log.exception("building the tool context for tools/list failed")
            return types.ListToolsResult(tools=static)
        caller = tool_ctx.caller  # a key limited to some tools lists only those
        return types.ListToolsResult(
            tools=[t for t in tools_for(tool_ctx) if caller.may_call(t.name)]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            action = get_action(params.name)
            tool_ctx = context_factory(ctx)
            data: dict[str, Any] = await anyio.to_thread.run_sync(
                action.answer, tool_ctx, params.arguments
            )
        except UcpProtocolError as exc:  # UCP's transport errors are JSON-RPC errors
            raise MCPError(code=exc.jsonrpc_code, message=exc.title, data=exc.data) from None
        except P13nError as exc:
            return _error(str(exc))
        except Exception:
            log.exception("tool %r failed unexpectedly", params.name)
            return _error(UNEXPECTED)
        if data.get("consent_needed") and tool_ctx.consent_url and _takes_url_elicitation(ctx):
            raise _consent_elicitation(tool_ctx, (params.arguments or {}).get("individual"))
        return types.CallToolResult(
            content=[types.TextContent(text=_json(data))], structured_content=data
        )

    async def list_prompts(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=p.name,
                    title=p.title,
                    description=p.description,
                    icons=_icons(),
                    arguments=[
                        types.PromptArgument(
                            name=a.name, description=a.description, required=a.required
                        )
                        for a in p.arguments
                    ],
                )
                for p in PROMPTS
            ]
        )

    async def get_prompt_(
        ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        try:
            spec = get_prompt(params.name)
            text = render(params.name, params.arguments)
        except P13nError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None
        return types.GetPromptResult(
            description=spec.description,
            messages=[types.PromptMessage(role="user", content=types.TextContent(text=text))],
        )

    async def list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=uri,
                    name=key,
                    title=title,
                    description=text,
                    mime_type="application/json",
                    icons=_icons(),
                )
                for uri, key, title, text in _STATIC
            ]
            + [
                types.Resource(
                    uri=view.uri,
                    name=view.name,
                    title=view.title,
                    description=view.description,
                    mime_type=APP_MIME_TYPE,
                    icons=_icons(),
                )
                for view in VIEWS
            ]
        )

    async def list_templates(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=prefix + "{id}",
                    name=kind,
                    title=f"{kind.title()} by id",
                    description=description,
                    mime_type="application/json",
                    icons=_icons(),
                )
                for prefix, kind, description in _TEMPLATES
            ]
        )

    def _read(tool_ctx: ToolContext, uri: str) -> Any:
        if uri == _CATEGORIES_URI:
            return categories_resource(tool_ctx)
        if uri == "p13n://catalog/facets":
            return facets_resource(tool_ctx)
        if uri == "p13n://personalization/points":
            return points_resource(tool_ctx)
        for prefix, kind, _ in _TEMPLATES:
            if uri.startswith(prefix) and len(uri) > len(prefix):
                key = unquote(uri[len(prefix) :])
                if kind == "profile":
                    return profile_resource(tool_ctx, key)
                return item_resource(tool_ctx, key)
        raise NotFound(
            f"no resource '{uri}'.",
            hint="Use p13n://profiles/{id}, p13n://items/{id}, p13n://catalog/categories, "
            "p13n://catalog/facets or p13n://personalization/points.",
        )

    def _read_view(tool_ctx: ToolContext, uri: str) -> types.ReadResourceResult:
        origins = image_origins(tool_ctx)
        ui = {"csp": view_csp(origins), "prefersBorder": False}
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=uri,
                    mime_type=APP_MIME_TYPE,
                    text=view_html(uri, origins),
                    meta={"ui": ui},
                )
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        if uri in _VIEW_URIS:
            return await anyio.to_thread.run_sync(_read_view, context_factory(ctx), uri)
        try:
            data = clean_answer(await anyio.to_thread.run_sync(_read, context_factory(ctx), uri))
        except NotFound as exc:
            raise MCPError(code=RESOURCE_NOT_FOUND, message=str(exc), data={"uri": uri}) from None
        except P13nError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc), data={"uri": uri}) from None
        except Exception:
            log.exception("resource %r failed unexpectedly", uri)
            raise MCPError(code=INTERNAL_ERROR, message=UNEXPECTED, data={"uri": uri}) from None
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(uri=uri, mime_type="application/json", text=_json(data))
            ]
        )

    server: Server[Any] = Server(
        name,
        version=__version__,
        title="p13n personalization",
        instructions=INSTRUCTIONS,
        icons=_icons(),
        get_tool_input_schema=schemas.get,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt_,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )
    server.extensions[APPS_EXTENSION] = {}  # MCP Apps: tools name their view in _meta.ui
    return server


async def run_stdio(server: Server[Any]) -> None:
    """Serve one client over this process's stdin/stdout until it disconnects."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
