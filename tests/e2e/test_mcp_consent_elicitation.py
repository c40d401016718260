"""URL-mode elicitation (MCP 2025-11-25 and later) to the store's consent page: on a tenant that
records a person only with their tracking consent, `record_interaction` for someone whose
consent is not known answers a client that declared URL elicitation with the
URL_ELICITATION_REQUIRED error (-32042) naming `P13N_CONSENT_URL` for that person; a client
without it, or a store without a consent page, gets the plain result (`consent_needed`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import mcp_types as types
import pytest
from _database import Database
from _tools_tenant import NOW, items
from mcp import Client
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError

from p13n.domain.services import Engine, EngineOptions, RecommendService
from p13n.tools import ToolContext
from p13n.tools.mcp import build_mcp_server

CONSENT_PAGE = "https://shop.test/privacy/consent?who={individual}"
VISITOR = "chat visitor/1"
ARGS = {"individual": VISITOR, "kind": "item_clicked", "item_id": "mug-1"}


@pytest.fixture
def engine(tmp_path: Path, e2e_db: Database) -> Iterator[Engine]:
    opened = Engine.open(
        e2e_db.url_for(tmp_path), EngineOptions(require_consent_flat=True), clock=lambda: NOW
    )
    opened.upsert_items(items())
    yield opened
    opened.close()


async def _never(context: Any, params: Any) -> types.ElicitResult:
    raise AssertionError("URL elicitation is answered with an error, not a request")


def _call(ctx: ToolContext, *, elicits: bool, arguments: dict[str, Any] = ARGS) -> Any:
    server = build_mcp_server(lambda _: ctx)

    async def go() -> Any:
        async with Client(server, elicitation_callback=_never if elicits else None) as client:
            return await client.call_tool("record_interaction", arguments)

    try:
        return anyio.run(go)
    except BaseExceptionGroup as group:
        while isinstance(group, BaseExceptionGroup) and len(group.exceptions) == 1:
            inner = group.exceptions[0]
            if not isinstance(inner, BaseExceptionGroup):
                raise inner from None
            group = inner
        raise


def test_a_client_that_takes_url_elicitation_is_sent_to_the_consent_page(engine: Engine) -> None:
    ctx = ToolContext(engine=engine, recommend=RecommendService(engine), consent_url=CONSENT_PAGE)
    with pytest.raises(MCPError) as raised:
        _call(ctx, elicits=True)
    assert raised.value.error.code == -32042
    [asked] = UrlElicitationRequiredError.from_error(raised.value.error).elicitations
    assert asked.mode == "url" and asked.elicitation_id
    assert asked.url == "https://shop.test/privacy/consent?who=" + quote(VISITOR, safe="")
    assert "opt in" in asked.message
    assert engine.resolve(VISITOR) is None  # nothing tracked
    kept = _call(ctx, elicits=True, arguments={**ARGS, "consent": "Opt In"})
    assert not kept.is_error and kept.structured_content["tracked"] is True


def test_without_url_elicitation_or_a_consent_page_the_answer_says_consent_is_needed(
    engine: Engine,
) -> None:
    for consent_url, elicits in ((CONSENT_PAGE, False), (None, True)):
        ctx = ToolContext(
            engine=engine, recommend=RecommendService(engine), consent_url=consent_url
        )
        result = _call(ctx, elicits=elicits)
        assert not result.is_error
        out = result.structured_content
        assert out["tracked"] is False and out["consent_needed"] is True
        assert "consent 'Opt In'" in out["note"]


def test_an_opt_out_is_not_asked_again(engine: Engine) -> None:
    ctx = ToolContext(engine=engine, recommend=RecommendService(engine), consent_url=CONSENT_PAGE)
    result = _call(ctx, elicits=True, arguments={**ARGS, "consent": "Opt Out"})
    assert not result.is_error
    assert result.structured_content["consent_needed"] is False
    assert "opted out" in result.structured_content["note"]
