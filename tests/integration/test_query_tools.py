"""Queries through the agent tools on the small tools tenant, on SQLite and PostgreSQL: every
answer says what was read, prices in another currency are refused, limits are clamped,
brand and category words rank instead of filtering, a price nothing meets is loosened."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _agent_calls import ask, search
from _database import Database
from _tools_tenant import AVA_EMAIL, build

from p13n.domain.errors import InvalidInput
from p13n.domain.vectors import MiniLMEmbedder
from p13n.server.bootstrap import shared_embedder
from p13n.tools import ToolContext, get_action


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[ToolContext]:
    home: Path = tmp_path_factory.mktemp("query-tools")
    engine, service = build(e2e_module_db.url_for(home), home, shared_embedder())
    yield ToolContext(engine=engine, recommend=service)
    engine.close()


def test_every_answer_says_what_the_query_was_read_as(ctx: ToolContext) -> None:
    out = ask(ctx, individual=AVA_EMAIL, query="summit boots under $200")
    read = {c.field: c for c in out.interpreted.constraints}
    assert (read["brand"].value, read["brand"].applied) == ("Summit", "soft")
    assert (read["price"].value, read["price"].applied) == (200.0, "hard")
    assert out.interpreted.search_text == "summit boots" and out.interpreted.currency == "USD"
    plain = ask(ctx, individual=AVA_EMAIL)
    assert plain.interpreted.query is None and plain.interpreted.constraints == []


def test_brand_words_rank_and_no_longer_hide_the_rest(ctx: ToolContext) -> None:
    """'Homey mug' was a hidden brand filter: two items. Now the mugs come first, then more."""
    found = search(ctx, query="Homey mug")
    assert {i.id for i in found.items[:2]} == {"mug-1", "mug-2"}
    assert found.matched > 2
    scores = [i.score for i in found.items]
    assert scores == sorted(scores, reverse=True)


def test_a_price_in_another_currency_is_an_error_naming_the_catalogs(ctx: ToolContext) -> None:
    with pytest.raises(InvalidInput, match=r"in USD.*EUR"):
        get_action("get_recommendations").invoke(ctx, {"query": "a mug under €30"})
    answer = get_action("search_catalog").invoke(ctx, {"catalog": {"query": "a mug under €30"}})
    (message,) = answer.model_dump(mode="json")["messages"]
    assert message["code"] == "invalid_input" and message["path"] == "$.query"
    assert re.search(r"in USD.*EUR", message["content"])
    assert ask(ctx, query="a mug under 30 dollars").items


def test_a_limit_over_the_maximum_is_clamped_and_said(ctx: ToolContext) -> None:
    out = ask(ctx, query="mug", limit=60)
    assert out.interpreted.clamped == ["limit 60 is over the maximum of 24; 24 used"]
    assert len(out.items) == 8  # the whole catalog, nothing refused
    page = search(ctx, query="mug", limit=99)
    assert page.interpreted.clamped and len(page.items) == 8


def test_a_price_nothing_meets_is_loosened_and_said(ctx: ToolContext) -> None:
    out = ask(ctx, query="hiking boots under 10")
    assert out.items and out.items[0].id in {"boot-1", "boot-2"}
    assert "under $10" in out.interpreted.relaxed[0]
    assert sum("under $10" in note for note in out.interpreted.relaxed) == 1
    price = next(c for c in out.interpreted.constraints if c.field == "price")
    assert price.relaxed and price.applied == "soft"
    page = search(ctx, query="hiking boots under 10")
    assert page.items and page.interpreted.relaxed


def test_reasons_are_sentences_for_the_shopper(ctx: ToolContext) -> None:
    for args in ({"individual": AVA_EMAIL}, {"individual": AVA_EMAIL, "query": "camping gear"}):
        for item in ask(ctx, **args, limit=8).items:
            assert "exploring" not in item.reason and "engaged" not in item.reason
    out = ask(ctx, query="camping lantern under 50")
    assert out.items[0].id == "lamp-1"
    assert out.items[0].reason == "matches 'camping lantern', under $50"


class _Warming:
    """The shared model, reporting `loading` as a server's warm start would."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner, self.name, self.dim, self.loading = inner, inner.name, inner.dim, False

    def embed(self, texts: list[str]) -> Any:
        assert not (self.loading and len(texts) == 1), "a query waited for the model"
        return self.inner.embed(texts)


def test_a_query_while_the_model_loads_is_answered_by_its_words(
    tmp_path: Path, e2e_module_db: Database
) -> None:
    """The first query after a server starts no longer waits seconds for MiniLM: words match
    (BM25 and the catalog's names) and the answer says so; once loaded, meaning matches too."""
    warming = _Warming(shared_embedder())
    engine, service = build(e2e_module_db.url_for(tmp_path), tmp_path, warming)  # type: ignore[arg-type]
    try:
        early = ToolContext(engine=engine, recommend=service)
        warming.loading = True
        out = ask(early, query="waterproof boots")
        assert out.interpreted.semantic is False
        assert {i.id for i in out.items[:2]} == {"boot-1", "boot-2"}
        found = search(early, query="stoneware mug")
        assert found.interpreted.semantic is False and found.items[0].id == "mug-2"
        warming.loading = False
        assert ask(early, query="waterproof boots").interpreted.semantic is True
        assert ask(early).interpreted.semantic is None
    finally:
        engine.close()
