"""The Universal Commerce Protocol's catalog shapes, as the UCP Python SDK defines them.

p13n serves the catalog capability of UCP `UCP_VERSION` (`dev.ucp.shopping.catalog.search`
and `.lookup`), whose models `ucp-sdk` 0.5.x is generated from. Requests and responses here
*are* the SDK's models, subclassed only to name p13n's optional extensions (UCP objects are
open: an extension adds fields, and a platform that does not know them ignores them):

- `catalog.buyer` (search): who is shopping, `{id | email | phone_number}`; an identity-linked
  buyer token (a JWT whose `sub` is the buyer) names them too. Known buyers get results ranked
  by p13n's recommenders for their profile; anyone else gets the same ranking as everybody.
- `catalog.filters.brands` and `catalog.filters.in_stock_only` (search), as p13n's own search
  had them.
- In answers, `personalization` (search: the personalization id to report shown, clicked and
  carted items with, who it was for, how the words were read) and each product's `metadata`
  (`brand`, `score`, `reason`, `personalizationContentId`, the item graph's counts).

Over MCP the arguments are the UCP MCP binding's `{meta, catalog}`; `meta["ucp-agent"]` names
the platform's profile. p13n does not fetch platform profiles (no outbound calls on the request
path), so the platform's protocol version is read from `meta["ucp-agent"].version` (REST: the
`version` parameter of the `UCP-Agent` header) when sent; any version but `UCP_VERSION` is
refused with the spec's `version_unsupported` error (`UcpProtocolError`: JSON-RPC -32001 over
MCP, HTTP 422 over REST). Business outcomes (an unknown product, a forged or stale cursor, an
empty request) are answers with `ucp.status: "error"` and `messages`, as the spec says.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, SerializationInfo, model_serializer
from ucp_sdk.models.schemas.capability import BusinessSchema as CapabilityEntry
from ucp_sdk.models.schemas.capability import ResponseSchema
from ucp_sdk.models.schemas.common.types.error_response import ErrorResponse
from ucp_sdk.models.schemas.common.types.message import Message
from ucp_sdk.models.schemas.common.types.message_error import MessageError
from ucp_sdk.models.schemas.common.types.message_info import MessageInfo
from ucp_sdk.models.schemas.common.types.message_warning import MessageWarning
from ucp_sdk.models.schemas.profile import BusinessSchema as ProfileDocument
from ucp_sdk.models.schemas.service import BusinessSchema as RestService
from ucp_sdk.models.schemas.service import BusinessSchema5 as McpService
from ucp_sdk.models.schemas.shopping.catalog_lookup import (
    GetProductRequest,
    GetProductResponse,
    LookupRequest,
    LookupResponse,
)
from ucp_sdk.models.schemas.shopping.catalog_search import SearchRequest, SearchResponse
from ucp_sdk.models.schemas.shopping.types.attribution import Attribution
from ucp_sdk.models.schemas.shopping.types.buyer import Buyer
from ucp_sdk.models.schemas.shopping.types.search_filters import SearchFilters
from ucp_sdk.models.schemas.transports.mcp_tool_call import Meta
from ucp_sdk.models.schemas.ucp import BusinessSchema as BusinessMeta
from ucp_sdk.models.schemas.ucp import ResponseCatalogSchema

from p13n.domain.errors import P13nError
from p13n.domain.recommend import Interpreted

__all__ = [
    "UCP_VERSION",
    "SUPPORTED_VERSIONS",
    "SEARCH_CAPABILITY",
    "LOOKUP_CAPABILITY",
    "UcpProtocolError",
    "CatalogBuyer",
    "CatalogSearchFilters",
    "CatalogSearchRequest",
    "CatalogLookupRequest",
    "CatalogProductRequest",
    "SearchCatalogInput",
    "LookupCatalogInput",
    "GetProductInput",
    "Personalization",
    "CatalogSearchResponse",
    "CatalogErrorResponse",
    "SearchCatalogOutput",
    "LookupCatalogOutput",
    "GetProductOutput",
    "envelope",
    "error_answer",
    "info",
    "warning",
    "check_version",
    "platform_version",
    "business_profile",
]

UCP_VERSION = "2026-08-25"
"""The UCP release p13n implements (the one `ucp-sdk` 0.5.x is generated from)."""
SUPPORTED_VERSIONS = (UCP_VERSION,)
SEARCH_CAPABILITY = "dev.ucp.shopping.catalog.search"
LOOKUP_CAPABILITY = "dev.ucp.shopping.catalog.lookup"
VERSION_UNSUPPORTED_JSONRPC = -32001


class UcpProtocolError(P13nError):
    """A UCP transport-level refusal (the spec's negotiation errors): MCP answers it as the
    JSON-RPC error `jsonrpc_code` with `data`, REST with `http_status` and `data` as the body."""

    def __init__(
        self,
        code: str,
        content: str,
        *,
        title: str,
        http_status: int = 422,
        jsonrpc_code: int = VERSION_UNSUPPORTED_JSONRPC,
    ) -> None:
        super().__init__(content)
        self.code, self.content, self.title = code, content, title
        self.http_status, self.jsonrpc_code = http_status, jsonrpc_code

    @property
    def data(self) -> dict[str, Any]:
        return {"code": self.code, "content": self.content}


def check_version(version: str | None) -> None:
    """Nothing for our version or none given; `version_unsupported` for any other."""
    if version is None or version.strip() in SUPPORTED_VERSIONS:
        return
    raise UcpProtocolError(
        "version_unsupported",
        f"Protocol version {version.strip()} is not supported. This business supports "
        f"version {', '.join(SUPPORTED_VERSIONS)}.",
        title="Protocol version not supported",
    )


def platform_version(meta: Meta | None) -> str | None:
    """The platform's UCP version as `meta["ucp-agent"].version` gives it, if it does."""
    agent = meta.ucp_agent if meta is not None else None
    extra = agent.model_extra if agent is not None else None
    value = (extra or {}).get("version")
    return str(value) if value is not None else None


# -- requests -----------------------------------------------------------------------------


class CatalogBuyer(Buyer):
    """p13n extension: the shopper the answer is for (the first identifier given is used)."""

    id: str | None = Field(
        default=None,
        description="The buyer's id in this store: a device id, individual id or unified id.",
    )


class CatalogSearchFilters(SearchFilters):
    """UCP search filters plus p13n's `brands` and `in_stock_only`."""

    brands: list[str] | None = Field(
        default=None,
        max_length=20,
        description="p13n extension: brand names, any of which matches (exact name, "
        "case-insensitive).",
    )
    in_stock_only: bool = Field(
        default=True,
        description="p13n extension: only items that can be bought now (the default); false "
        "includes sold-out items.",
    )


_BUYER_DOC = (
    "p13n extension: who is shopping ({id} a device, individual or unified id, or {email}, "
    "or {phone_number}). A known buyer gets results ranked for their profile; omit for the "
    "same ranking as everyone."
)


class CatalogSearchRequest(SearchRequest):
    """A UCP catalog search request (`query`, `context` with `intent`, `filters`,
    `pagination`, `attribution`, `signals`) plus p13n's `buyer`."""

    filters: CatalogSearchFilters | None = Field(
        default=None,
        description="Filter criteria, combined with AND: `categories` (the `value` of product "
        "categories, any of which matches), `price` {min, max} in minor units of "
        "`context.currency`, and p13n's `brands` and `in_stock_only`.",
    )
    buyer: CatalogBuyer | None = Field(default=None, description=_BUYER_DOC)
    attribution: Attribution | None = Field(
        default=None,
        description="Referral and conversion context from the platform (campaign ids, click "
        "ids, source/medium markers: `{utm_source: ..., click_id: ...}`), kept with the "
        "answer's personalization so that what the buyer does next is credited to it.",
    )


class CatalogLookupRequest(LookupRequest):
    """A UCP catalog lookup request: product or variant ids (at most 50)."""

    ids: list[str] = Field(
        min_length=1,
        max_length=50,
        description="Product ids or variant ids to look up (1-50).",
    )


class CatalogProductRequest(GetProductRequest):
    """A UCP get-product request."""


_META_DOC = (
    "UCP request metadata: `ucp-agent.profile` is the platform's profile URI; p13n also reads "
    f"`ucp-agent.version`, the platform's UCP version ({UCP_VERSION} is served). Optional here."
)


class SearchCatalogInput(BaseModel):
    # The `search_catalog` arguments of the UCP MCP binding (no docstring: it would be the schema's
    # description, which LangChain's strict conversion drops; the tool's description says it).

    model_config = ConfigDict(extra="forbid")

    meta: Meta | None = Field(default=None, description=_META_DOC)
    catalog: CatalogSearchRequest = Field(
        description="The search: `query` (free text) and/or `context.intent` (the buyer's need "
        "in their words, e.g. 'a gift under $50'), `filters`, `pagination` {cursor, limit "
        "(default 10, at most 50)}, `attribution` (campaign and click ids, kept with the "
        "answer), `context.eligibility` claims, and p13n's `buyer`. At least one of query, "
        "intent, filters or buyer."
    )


class LookupCatalogInput(BaseModel):
    # The `lookup_catalog` arguments of the UCP MCP binding (no docstring: it would be the schema's
    # description, which LangChain's strict conversion drops; the tool's description says it).

    model_config = ConfigDict(extra="forbid")

    meta: Meta | None = Field(default=None, description=_META_DOC)
    catalog: CatalogLookupRequest = Field(
        description="`ids`: product or variant ids (1-50); optional `filters` and `context`."
    )


class GetProductInput(BaseModel):
    # The `get_product` arguments of the UCP MCP binding (no docstring: it would be the schema's
    # description, which LangChain's strict conversion drops; the tool's description says it).

    model_config = ConfigDict(extra="forbid")

    meta: Meta | None = Field(default=None, description=_META_DOC)
    catalog: CatalogProductRequest = Field(
        description="`id`: a product or variant id; optional `selected` options and "
        "`preferences` (option names in relaxation order)."
    )


# -- responses ----------------------------------------------------------------------------


class Personalization(BaseModel):
    """p13n extension of a search answer: how it was personalized and how to attribute it."""

    personalizationId: str = Field(  # noqa: N815 - the contract's field name
        description="Id of this answer; with each product's `metadata.personalizationContentId`"
        ", pass it to record_interaction when products are shown, clicked or carted."
    )
    buyer: str | None = Field(
        description="The buyer's unified id when the answer was ranked for them, else null."
    )
    personalized: bool = Field(description="Whether the ranking used the buyer's profile.")
    recommender: str | None = Field(
        description="The recommender that ranked the first products (null: search order)."
    )
    interpreted: Interpreted = Field(
        description="What the query and intent were read as (meaning, extracted price, brand, "
        "category, colour and size constraints, soft or hard), what was loosened or clamped."
    )


class CatalogSearchResponse(SearchResponse):
    """A UCP search response with p13n's `personalization`."""

    personalization: Personalization | None = Field(
        default=None, description="p13n extension: see `Personalization`."
    )


class CatalogErrorResponse(ErrorResponse):
    """The UCP error response of a catalog operation (`ucp.status` is 'error')."""

    ucp: ResponseCatalogSchema


class _Envelope(RootModel[Any]):
    """Answers serialize as UCP JSON: field aliases, no nulls for absent members (p13n's own
    extension objects keep theirs: their schemas say which fields are null)."""

    # No return annotation: pydantic then keeps the root's schema for serialization.
    @model_serializer(mode="wrap")
    def _ucp_json(self, handler: Any, info: SerializationInfo):  # type: ignore[no-untyped-def]
        root = self.root
        if not isinstance(root, BaseModel):
            return handler(self)
        data = root.model_dump(mode=info.mode, by_alias=True, exclude_none=True)
        for name, field in type(root).model_fields.items():  # p13n's own parts keep their nulls
            value = getattr(root, name)
            if isinstance(value, BaseModel) and not type(value).__module__.startswith("ucp_sdk"):
                data[field.alias or name] = value.model_dump(mode=info.mode)
        return data


class SearchCatalogOutput(_Envelope):
    root: CatalogSearchResponse | CatalogErrorResponse = Field(
        description="A UCP search response, or the UCP error response (`ucp.status: error`)."
    )


class LookupCatalogOutput(_Envelope):
    root: LookupResponse | CatalogErrorResponse = Field(
        description="A UCP lookup response, or the UCP error response (`ucp.status: error`)."
    )


class GetProductOutput(_Envelope):
    root: GetProductResponse | CatalogErrorResponse = Field(
        description="A UCP get-product response, or the UCP error response (`ucp.status: "
        "error`, e.g. `not_found`)."
    )


def envelope(capability: str, *, status: Literal["success", "error"] = "success") -> Any:
    """The `ucp` member of an answer of `capability`."""
    return ResponseCatalogSchema(
        version=UCP_VERSION,
        status=status,
        capabilities={capability: [ResponseSchema(version=UCP_VERSION)]},
    )


def error_answer(
    capability: str,
    code: str,
    content: str,
    *,
    severity: Literal[
        "recoverable", "requires_buyer_input", "requires_buyer_review", "unrecoverable"
    ] = "recoverable",
    path: str | None = None,
) -> CatalogErrorResponse:
    """A UCP error response with one error message."""
    message = MessageError(type="error", code=code, content=content, severity=severity, path=path)
    return CatalogErrorResponse(ucp=envelope(capability, status="error"), messages=[message])


def info(code: str, content: str, *, path: str | None = None) -> Message:
    return MessageInfo(type="info", code=code, content=content, path=path)


def warning(code: str, content: str, *, path: str | None = None) -> Message:
    return MessageWarning(type="warning", code=code, content=content, path=path)


# -- the business profile -----------------------------------------------------------------


def business_profile(base_url: str, *, name: str) -> ProfileDocument:
    """The profile at `/.well-known/ucp`: the shopping service over REST (`<base>/ucp`) and
    MCP (`<base>/mcp`), and the catalog search and lookup capabilities at `UCP_VERSION`."""
    base = base_url.rstrip("/")
    spec = f"https://ucp.dev/{UCP_VERSION}"
    services: list[Any] = [
        RestService(
            version=UCP_VERSION,
            spec=f"{spec}/specification/overview",
            transport="rest",
            schema=f"{spec}/services/shopping/rest.openapi.json",
            endpoint=f"{base}/ucp",
        ),
        McpService(
            version=UCP_VERSION,
            spec=f"{spec}/specification/overview",
            transport="mcp",
            schema=f"{spec}/services/shopping/mcp.openrpc.json",
            endpoint=f"{base}/mcp",
        ),
    ]
    capabilities: dict[str, list[CapabilityEntry]] = {
        cap: [
            CapabilityEntry(
                version=UCP_VERSION,
                spec=f"{spec}/specification/shopping/catalog/{page}",
                schema=f"{spec}/schemas/shopping/{schema}.json",
            )
        ]
        for cap, page, schema in (
            (SEARCH_CAPABILITY, "search", "catalog_search"),
            (LOOKUP_CAPABILITY, "lookup", "catalog_lookup"),
        )
    }
    return ProfileDocument(
        ucp=BusinessMeta(
            version=UCP_VERSION,
            services={"dev.ucp.shopping": services},
            capabilities=capabilities,
            payment_handlers={},
        ),
        business={"name": name},
    )
