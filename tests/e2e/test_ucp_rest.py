"""The UCP catalog over REST on the demo tenant, as a UCP platform calls it: the business
profile at /.well-known/ucp, POST /ucp/catalog/search, /lookup and /product with the UCP-Agent
header, every request built and every answer read with the UCP SDK's models; the transport
errors (400, 401, 403, 413, 422) and that each status a route answers is in its OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _client import api_client, mint_key
from _ucp_client import PROFILE, ucp_json, validated
from fastapi.testclient import TestClient
from ucp_sdk.models.schemas.common.types.context import Context
from ucp_sdk.models.schemas.common.types.error_response import ErrorResponse
from ucp_sdk.models.schemas.common.types.pagination import Request as Page
from ucp_sdk.models.schemas.profile import BusinessSchema as ProfileDocument
from ucp_sdk.models.schemas.shopping.catalog_lookup import (
    GetProductRequest,
    GetProductResponse,
    LookupRequest,
    LookupResponse,
)
from ucp_sdk.models.schemas.shopping.catalog_search import SearchRequest, SearchResponse

from p13n.seed import NAMED_SHOPPERS
from p13n.server.app import create_app
from p13n.server.settings import Settings
from p13n.tools import UCP_VERSION

AVA = NAMED_SHOPPERS[0]["email"]
AGENT = f'profile="{PROFILE}"'
ROUTES = {
    "search_catalog": "/ucp/catalog/search",
    "lookup_catalog": "/ucp/catalog/lookup",
    "get_product": "/ucp/catalog/product",
}
SEEN: dict[str, set[int]] = {}  # path -> statuses the tests got, checked against the OpenAPI


@pytest.fixture(scope="module")
def client(demo_home: Path) -> Iterator[TestClient]:
    app = create_app(Settings(home=demo_home, warm_profiles=0))
    with api_client(app) as c:
        yield c


def post(client: TestClient, tool: str, body: Any, *, agent: str | None = AGENT, **kw: Any) -> Any:
    headers = {"UCP-Agent": agent} if agent is not None else {}
    response = client.post(ROUTES[tool], json=body, headers={**headers, **kw.pop("headers", {})})
    SEEN.setdefault(ROUTES[tool], set()).add(response.status_code)
    return response


def ucp(client: TestClient, tool: str, request: Any, **kw: Any) -> tuple[Any, dict[str, Any]]:
    """A UCP call that must succeed at the transport: (the SDK's model, the JSON)."""
    response = post(client, tool, ucp_json(request), **kw)
    assert response.status_code == 200, response.text
    data = response.json()
    return validated(tool, data), data


def test_the_business_profile_is_open_and_names_both_services(client: TestClient) -> None:
    response = TestClient(client.app).get("/.well-known/ucp")  # no credential
    SEEN.setdefault("/.well-known/ucp", set()).add(response.status_code)
    assert response.status_code == 200
    profile = ProfileDocument.model_validate(response.json())
    assert profile.ucp.version == UCP_VERSION
    (rest, mcp) = profile.ucp.services["dev.ucp.shopping"]
    assert rest.transport == "rest" and str(rest.endpoint).endswith("/ucp")
    assert mcp.transport == "mcp" and str(mcp.endpoint).endswith("/mcp")
    assert set(profile.ucp.capabilities) == {
        "dev.ucp.shopping.catalog.search",
        "dev.ucp.shopping.catalog.lookup",
    }


def test_search_over_rest_is_ranked_for_the_named_buyer_and_not_for_anyone(
    client: TestClient,
) -> None:
    ava, ava_data = ucp(
        client, "search_catalog", SearchRequest(query="leggings", buyer={"email": AVA})
    )
    anon, anon_data = ucp(client, "search_catalog", SearchRequest(query="leggings"))
    assert isinstance(ava, SearchResponse) and isinstance(anon, SearchResponse)
    assert ava.ucp.version == UCP_VERSION
    assert ava_data["personalization"]["personalized"] is True
    assert anon_data["personalization"]["personalized"] is False
    assert [p.id for p in ava.products] != [p.id for p in anon.products]
    lulu = [p for p in ava_data["products"] if p["metadata"].get("brand") == "Lululemon"]
    assert len(lulu) > sum(p["metadata"].get("brand") == "Lululemon" for p in anon_data["products"])


def test_the_intent_filters_and_pages_are_read_over_rest_too(client: TestClient) -> None:
    request = SearchRequest(
        context=Context(intent="a yoga mat under $40", currency="USD"),
        pagination=Page(limit=3),
    )
    first, _ = ucp(client, "search_catalog", request)
    assert isinstance(first, SearchResponse) and len(first.products) == 3
    assert all(p.price_range.max.amount <= 4000 for p in first.products)
    assert first.pagination.has_next_page and first.pagination.cursor
    request.pagination = Page(limit=3, cursor=first.pagination.cursor)
    second, _ = ucp(client, "search_catalog", request)
    assert not {p.id for p in first.products} & {p.id for p in second.products}
    forged = Page(cursor=first.pagination.cursor[:-3] + "xyz")
    bad, _ = ucp(client, "search_catalog", SearchRequest(query="mat", pagination=forged))
    assert isinstance(bad, ErrorResponse) and bad.messages[0].code == "invalid_cursor"


def test_lookup_and_product_over_rest_and_an_unknown_product_is_a_business_error(
    client: TestClient,
) -> None:
    found, _ = ucp(client, "search_catalog", SearchRequest(query="nintendo switch"))
    ids = [p.id for p in found.products[:2]]
    lookup, data = ucp(client, "lookup_catalog", LookupRequest(ids=[*ids, "no-such-item"]))
    assert isinstance(lookup, LookupResponse) and [p.id for p in lookup.products] == ids
    assert [m["code"] for m in data["messages"]] == ["not_found"]
    detail, _ = ucp(client, "get_product", GetProductRequest(id=ids[0]))
    assert isinstance(detail, GetProductResponse) and detail.product.id == ids[0]
    assert detail.product.variants[0].availability is not None
    missing, _ = ucp(client, "get_product", GetProductRequest(id="no-such-item"))
    assert isinstance(missing, ErrorResponse)
    assert missing.messages[0].code == "not_found"
    assert missing.messages[0].severity == "unrecoverable"


def test_a_request_without_the_ucp_agent_header_is_still_served(client: TestClient) -> None:
    response = post(client, "search_catalog", {"query": "mug"}, agent=None)
    assert response.status_code == 200
    assert isinstance(validated("search_catalog", response.json()), SearchResponse)


def test_an_unsupported_version_is_422_with_the_specs_error_shape(client: TestClient) -> None:
    for tool, body in (
        ("search_catalog", {"query": "mug"}),
        ("lookup_catalog", {"ids": ["x"]}),
        ("get_product", {"id": "x"}),
    ):
        response = post(client, tool, body, agent=f'profile="{PROFILE}", version="2026-01-11"')
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["code"] == "version_unsupported"
        assert "2026-01-11" in error["content"] and UCP_VERSION in error["content"]
    ok = post(client, "search_catalog", {"query": "mug"}, agent=f'{AGENT}, version="{UCP_VERSION}"')
    assert ok.status_code == 200


def test_bodies_that_are_not_ucp_requests_are_400_naming_what_is_wrong(
    client: TestClient,
) -> None:
    not_json = client.post(
        ROUTES["search_catalog"], content=b"{query", headers={"Content-Type": "application/json"}
    )
    SEEN[ROUTES["search_catalog"]].add(not_json.status_code)
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]
    listed = post(client, "search_catalog", ["mug"])
    assert listed.status_code == 400 and "JSON object" in listed.json()["error"]
    wrong = post(client, "search_catalog", {"query": "mug", "pagination": {"limit": "lots"}})
    assert wrong.status_code == 400 and "catalog.pagination.limit" in wrong.json()["error"]
    no_ids = post(client, "lookup_catalog", {"ids": []})
    assert no_ids.status_code == 400 and "catalog.ids" in no_ids.json()["error"]
    no_id = post(client, "get_product", {})
    assert no_id.status_code == 400 and "catalog.id" in no_id.json()["error"]
    header = post(client, "search_catalog", {"query": "mug"}, agent="profile=nope")
    assert header.status_code == 400 and "UCP-Agent" in header.json()["error"]


def test_a_body_over_256_kb_is_413(client: TestClient) -> None:
    response = post(client, "lookup_catalog", {"ids": ["x"], "pad": "x" * 300_000})
    assert response.status_code == 413


def test_credentials_are_needed_and_the_agent_scope(client: TestClient) -> None:
    bare = TestClient(client.app)
    response = bare.post(ROUTES["search_catalog"], json={"query": "mug"})
    SEEN[ROUTES["search_catalog"]].add(response.status_code)
    assert response.status_code == 401
    decide = mint_key(client.app, "decide")  # type: ignore[arg-type]
    refused = post(
        client,
        "search_catalog",
        {"query": "mug"},
        headers={"Authorization": f"Bearer {decide}"},
    )
    assert refused.status_code == 403 and "agent" in refused.json()["error"]
    agent = mint_key(client.app, "agent")  # type: ignore[arg-type]
    served = post(
        client, "search_catalog", {"query": "mug"}, headers={"Authorization": f"Bearer {agent}"}
    )
    assert served.status_code == 200


def test_every_status_the_routes_answered_is_in_their_openapi(client: TestClient) -> None:
    """Runs last in this module (pytest keeps file order): the statuses the tests above got."""
    paths = client.get("/openapi.json").json()["paths"]
    assert SEEN, "the tests above record what they got"
    for path, statuses in SEEN.items():
        method = "get" if path.startswith("/.well-known") else "post"
        documented = {int(code) for code in paths[path][method]["responses"]}
        assert statuses <= documented, (path, statuses - documented)
    for path in ROUTES.values():
        operation = paths[path]["post"]
        assert {200, 400, 401, 403, 413, 422} <= {int(c) for c in operation["responses"]}
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert "$ref" not in str(body) and body["properties"]
