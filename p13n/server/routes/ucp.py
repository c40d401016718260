"""The UCP catalog over REST: `/.well-known/ucp` and the catalog operations under `/ucp`.

`GET /.well-known/ucp` is the business profile (open, as discovery documents are); its REST
service endpoint is `<base>/ucp`, so UCP's `POST /catalog/search`, `/catalog/lookup` and
`/catalog/product` are `POST /ucp/catalog/...` here (scope `agent`, like `/mcp` and
`/actions`). Each body is the UCP request, run by the same action as the MCP tool of the same
name (`p13n/tools`); the `UCP-Agent` header (`profile="..."`, and the `version` parameter p13n
reads the platform's UCP version from) becomes the action's `meta`. Business outcomes (an
unknown product, a stale cursor) are 200 with `ucp.status: "error"`, as the spec says; an
unsupported version is 422 with `{code: "version_unsupported", content}`; a body that is not
a valid UCP request is 400 naming the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Principal
from p13n.domain.errors import InvalidInput
from p13n.server.auth import current_principal
from p13n.server.openapi import request_body
from p13n.server.routes.body import read_json
from p13n.server.routes.deps import get_services, json_response
from p13n.tools import (
    CatalogLookupRequest,
    CatalogProductRequest,
    CatalogSearchRequest,
    UcpProtocolError,
    business_profile,
    describe_errors,
    get_action,
)

router = APIRouter(tags=["ucp"])

_MAX_BODY = 256 * 1024
_PARAM = re.compile(r'\s*([a-z][a-z0-9_.*-]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UCP_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The UCP response; a business outcome such as an unknown product or a "
        "stale cursor has `ucp.status: error` and `messages`."
    },
    400: {"description": "The body is not a valid UCP request (the message names the field)."},
    401: {"description": "No or an unknown credential."},
    403: {"description": "The credential lacks the `agent` scope."},
    413: {"description": "A body over 256 KB."},
    422: {
        "description": "UCP negotiation failed: `{code: version_unsupported, content}` for a "
        "platform version this business does not serve."
    },
}


def agent_meta(header: str | None) -> dict[str, Any] | None:
    """The `UCP-Agent` header (an RFC 8941 dictionary of strings) as MCP's `meta`."""
    if header is None or not header.strip():
        return None
    params: dict[str, str] = {}
    rest = header.strip()
    while rest:
        m = _PARAM.match(rest)
        if m is None:
            raise InvalidInput(
                f"the UCP-Agent header is not a structured dictionary: {header!r}.",
                hint='Send UCP-Agent: profile="https://platform.example/profile.json".',
            )
        params[m[1]] = m[2].replace('\\"', '"').replace("\\\\", "\\")
        rest = rest[m.end() :]
    return {"ucp-agent": params} if "profile" in params else None


@router.get(
    "/.well-known/ucp",
    responses={200: {"description": "The UCP business profile of this store."}},
)
def ucp_profile(request: Request) -> Response:
    """The UCP business profile: the catalog capabilities and where the REST and MCP services
    are (from `P13N_PUBLIC_URL`, else the request's own base URL)."""
    settings = get_services(request).settings
    base = settings.public_url or str(request.base_url)
    profile = business_profile(base, name=settings.merchant_name)
    return json_response(profile.model_dump(mode="json", by_alias=True, exclude_none=True))


async def _run(
    name: str, request: Request, principal: Principal | None, ucp_agent: str | None
) -> Response:
    body = await read_json(
        request,
        limit=_MAX_BODY,
        hint="Send a smaller request.",
        shape="Send the UCP request as a JSON object.",
    )
    if not isinstance(body, dict):
        raise InvalidInput(
            f"the body must be a JSON object (the UCP request), got {type(body).__name__}.",
            hint='Send e.g. {"query": "running shoes"}.',
        )
    arguments = {"meta": agent_meta(ucp_agent), "catalog": body}
    action = get_action(name)
    try:  # JSON's own types, as the schema says them, before the agents' leniency (a number
        # for a text, 0 for false): strict validation of the JSON, where no coercion happens
        action.input_model.model_validate_json(orjson.dumps(arguments), strict=True)
    except ValidationError as exc:
        raise InvalidInput(
            f"the body is not a valid UCP request: {describe_errors(exc, action.input_model)}",
            hint="Send each field with the type of the request schema (see /openapi.json).",
        ) from None
    ctx = get_services(request).tool_context(principal)
    try:
        out = await run_in_threadpool(action.invoke, ctx, arguments)
    except UcpProtocolError as exc:
        return JSONResponse(exc.data, status_code=exc.http_status)
    return json_response(out.model_dump(mode="json"))


_Principal = Annotated[Principal | None, Depends(current_principal)]
_Agent = Annotated[
    str | None,
    Header(
        alias="UCP-Agent",
        description='The platform\'s profile, `profile="<uri>"`; p13n also reads a `version` '
        "parameter (the platform's UCP version).",
    ),
]


@router.post(
    "/ucp/catalog/search",
    responses=_UCP_RESPONSES,
    openapi_extra=request_body(CatalogSearchRequest, inline=True),
)
async def ucp_catalog_search(
    request: Request, principal: _Principal, ucp_agent: _Agent = None
) -> Response:
    """UCP catalog search (`search_catalog`): ranked for `buyer` when p13n knows them."""
    return await _run("search_catalog", request, principal, ucp_agent)


@router.post(
    "/ucp/catalog/lookup",
    responses=_UCP_RESPONSES,
    openapi_extra=request_body(CatalogLookupRequest, inline=True),
)
async def ucp_catalog_lookup(
    request: Request, principal: _Principal, ucp_agent: _Agent = None
) -> Response:
    """UCP catalog lookup (`lookup_catalog`): products and variants by id."""
    return await _run("lookup_catalog", request, principal, ucp_agent)


@router.post(
    "/ucp/catalog/product",
    responses=_UCP_RESPONSES,
    openapi_extra=request_body(CatalogProductRequest, inline=True),
)
async def ucp_catalog_product(
    request: Request, principal: _Principal, ucp_agent: _Agent = None
) -> Response:
    """UCP get product (`get_product`): one product in full."""
    return await _run("get_product", request, principal, ucp_agent)
