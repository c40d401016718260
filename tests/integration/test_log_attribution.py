"""What a UCP search keeps and passes on, on SQLite and PostgreSQL: the personalization log's
`attribution` column (issue 16) holds the request's `attribution` as given (JSON text that plain
SQL can read), null without one, and a store made before the column existed gains it when
opened, its old rows reading null; `context.eligibility` claims reach the buyer's recommender
as context variables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _tools_tenant import AVA_EMAIL, build, items
from sqlalchemy import text

from p13n.domain.recommend import RecommenderConfig
from p13n.domain.services import (
    DecisionService,
    Engine,
    LogEntry,
    PersonalizationLog,
    RecommendService,
    sql_store,
)
from p13n.tools import ToolContext, get_action

ATTRIBUTION = {"utm_source": "assistant", "utm_medium": "agent", "click_id": "ucp-click-7"}


@pytest.fixture
def tenant(database_url: str, tmp_path: Path) -> Iterator[tuple[Engine, RecommendService]]:
    engine, service = build(database_url, tmp_path, None)
    yield engine, service
    engine.close()


def _search(ctx: ToolContext, **catalog: Any) -> dict[str, Any]:
    out = get_action("search_catalog").invoke(ctx, {"catalog": catalog})
    data: dict[str, Any] = out.model_dump(mode="json")
    assert data["ucp"]["status"] == "success", data
    return data


def test_a_searchs_attribution_is_stored_with_its_personalization(
    tenant: tuple[Engine, RecommendService],
) -> None:
    engine, service = tenant
    log = PersonalizationLog(sql_store(engine), linger=0.01)
    ctx = ToolContext(
        engine=engine, recommend=service, decisions=DecisionService(engine, service, log=log)
    )
    try:
        given = _search(
            ctx,
            filters={"brands": ["TrailCo"]},
            buyer={"email": AVA_EMAIL},
            attribution=ATTRIBUTION,
        )
        plain = _search(ctx, filters={"brands": ["TrailCo"]})
        log.flush()
    finally:
        log.close()
    pid = given["personalization"]["personalizationId"]
    row = log.rows.get(pid)
    assert row is not None and row["attribution"] == ATTRIBUTION
    assert row["channel"] == "agent" and row["source"] == "agent"
    assert row["unified_id"] == given["personalization"]["buyer"] is not None
    shown = [c["id"] for c in row["content"]]
    assert shown == [p["id"] for p in given["products"]]
    other = log.rows.get(plain["personalization"]["personalizationId"])
    assert other is not None and other["attribution"] is None
    with sql_store(engine).db.connect() as conn:
        stored = conn.execute(
            text("SELECT attribution FROM personalization_log WHERE personalization_id = :p"),
            {"p": pid},
        ).scalar_one()
    assert orjson.loads(stored) == ATTRIBUTION


def test_a_log_made_before_the_attribution_column_gains_it_on_open(
    tenant: tuple[Engine, RecommendService],
) -> None:
    engine, _ = tenant
    db = sql_store(engine).db
    PersonalizationLog(sql_store(engine)).close()
    with db.begin() as conn:
        conn.execute(text("ALTER TABLE personalization_log DROP COLUMN attribution"))
        conn.execute(
            text(
                "INSERT INTO personalization_log (personalization_id, request_id, ts, source, "
                "status, content, augmenting_ms, qualifying_ms, personalizing_ms, total_ms, "
                "diagnostics) VALUES ('old-1', 'old-1', 1.0, 'api', 200, '[]', 0, 0, 0, 0, '')"
            )
        )
    log = PersonalizationLog(sql_store(engine), linger=0.01)
    try:
        log.record(
            LogEntry(
                personalization_id="new-1",
                request_id="new-1",
                ts=2.0,
                channel="agent",
                source="agent",
                attribution=ATTRIBUTION,
            )
        )
        log.flush()
        old, new = log.rows.get("old-1"), log.rows.get("new-1")
    finally:
        log.close()
    assert old is not None and old["attribution"] is None
    assert new is not None and new["attribution"] == ATTRIBUTION


def test_eligibility_claims_reach_the_buyers_recommender_as_context_variables(
    tenant: tuple[Engine, RecommendService],
) -> None:
    """A members-only item (`attributes.members_only`) is among a buyer's results only when the
    request claims the membership: the recommender's include group reads `{!<claim>}`."""
    engine, service = tenant
    claim = "com.example.loyalty_gold"
    engine.upsert_items(
        [
            item.model_copy(update={"attributes": {"members_only": item.id == "lip-1"}})
            for item in items()
        ]
    )
    service.put_config(
        RecommenderConfig.model_validate(
            {
                "name": "recommended-for-you",
                "recipe": {"algorithm": "newest"},
                "fallback": None,
                "include": {
                    "match": "Any",
                    "conditions": [
                        {
                            "field": "attributes.members_only",
                            "operator": "Is Equal To",
                            "value": False,
                        },
                        {
                            "field": "attributes.members_only",
                            "operator": "Is Equal To",
                            "value": "{!" + claim + "}",
                        },
                    ],
                },
            }
        )
    )
    service.refresh()
    ctx = ToolContext(engine=engine, recommend=service)
    asked = {"filters": {"brands": ["Glow"]}, "buyer": {"email": AVA_EMAIL}}
    member = _search(ctx, **asked, context={"eligibility": [claim]})
    plain = _search(ctx, **asked)
    assert member["personalization"]["personalized"] and plain["personalization"]["personalized"]
    recommended = [p["id"] for p in member["products"] if p["metadata"].get("reason")]
    assert recommended == ["lip-1"]
    assert not [p["id"] for p in plain["products"] if p["metadata"].get("reason")]
    # The claims are part of the search: a page of one is not a page of the other.
    first = _search(ctx, filters={"brands": ["TrailCo"]}, pagination={"limit": 1})
    cursor = first["pagination"]["cursor"]
    other = get_action("search_catalog").invoke(
        ctx,
        {
            "catalog": {
                "filters": {"brands": ["TrailCo"]},
                "pagination": {"limit": 1, "cursor": cursor},
                "context": {"eligibility": [claim]},
            }
        },
    )
    assert other.model_dump(mode="json")["messages"][0]["code"] == "invalid_cursor"
