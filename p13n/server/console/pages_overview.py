"""Overview: pipeline intelligence as charts (from `PipelineStats`, the same aggregates as
`GET /analytics/pipeline`), diagnostics, ingest rejections and the store's size."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.server.console.charts import pipeline_charts
from p13n.server.console.web import UserDep, need, render

__all__ = ["RANGES", "router"]

router = APIRouter(include_in_schema=False)

# name -> (label, granularity, seconds back from now)
RANGES: dict[str, tuple[str, str, int]] = {
    "24h": ("Last 24 hours, by hour", "hour", 86_400),
    "7d": ("Last 7 days, by hour", "hour", 7 * 86_400),
    "30d": ("Last 30 days, by day", "day", 30 * 86_400),
    "90d": ("Last 90 days, by day", "day", 90 * 86_400),
}


def _store_size(user_services: Any) -> dict[str, Any]:
    stats: dict[str, Any] = user_services.engine.stats()
    settings = user_services.settings
    size = None
    if not settings.database_url:
        db = settings.home / "p13n.db"
        parts = [db, db.with_name(db.name + "-wal")]
        size = sum(p.stat().st_size for p in parts if p.exists())
    return {
        "events": stats["events"],
        "profiles": stats["profiles"],
        "catalog_items": stats["items"],
        "insights": len(stats["insights"]),
        "segments": len(stats["segments"]),
        "bytes": size,
        "database": "SQLite" if not settings.database_url else "PostgreSQL",
    }


@router.get("/console")
async def overview(request: Request, user: UserDep, range: str = "30d") -> Response:
    need(user, Scope.ANALYST)
    if range not in RANGES:
        range = "30d"
    label, granularity, span = RANGES[range]
    stats = user.services.pipeline
    now = stats.now()
    query = stats.query(start=now - span, end=now, granularity=granularity)
    report = await run_in_threadpool(stats.report, query)
    store = await run_in_threadpool(_store_size, user.services)
    return render(
        request,
        "overview.html",
        {
            "ranges": RANGES,
            "range": range,
            "range_label": label,
            "report": report,
            "charts": pipeline_charts(report, query),
            "store": store,
        },
        user=user,
    )
