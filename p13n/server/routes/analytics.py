"""`GET /analytics/pipeline`: the decision pipeline and ingest by hour or day, from the hourly
aggregates (`PipelineStats`); read-only, for the `analyst` scope (and `admin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from p13n.domain.analytics import PipelineReport
from p13n.domain.services import PipelineStats
from p13n.server.routes.deps import get_services

router = APIRouter(tags=["analytics"])


def get_pipeline(request: Request) -> PipelineStats:
    return get_services(request).pipeline


PipelineDep = Annotated[PipelineStats, Depends(get_pipeline)]


@router.get(
    "/analytics/pipeline",
    response_model=PipelineReport,
    responses={
        400: {
            "description": "a date that is not one, in the future, `from` not before `to`, a "
            "range too long, or an unknown granularity or grouping (the message says which)"
        },
        401: {"description": "no credential, or an unknown one"},
        403: {"description": "the credential lacks the `analyst` scope"},
    },
)
async def pipeline(
    stats: PipelineDep,
    start: Annotated[
        str | None,
        Query(
            alias="from",
            description="Start, inclusive: ISO date or datetime (UTC), or epoch seconds; default: 7 days (day) or 24 hours (hour) before `to`.",
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(
            alias="to",
            description="End, exclusive (a date: through that day); default: now.",
        ),
    ] = None,
    granularity: Annotated[str, Query(description="`hour` or `day`.")] = "day",
    group_by: Annotated[
        list[str] | None,
        Query(alias="groupBy", description="`channel` and/or `point` (repeat or comma-separate)."),
    ] = None,
) -> PipelineReport:
    """Decision requests, points, decisions served, unique individuals, diagnostics by code
    and stage timings (p50/p95/p99) per period and group; ingest counts per period."""
    query = stats.query(start=start, end=end, granularity=granularity, group_by=group_by or [])
    return await run_in_threadpool(stats.report, query)
