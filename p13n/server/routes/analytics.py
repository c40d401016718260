"""`GET /analytics/pipeline`: the decision pipeline and ingest by hour or day, from the hourly
aggregates (`PipelineStats`); `GET /analytics/attribution`: KPIs with conversions credited to
personalizations (`MeasureService`); `GET /analytics/experiments[/{name}]`: the experiments and
one experiment's results (`tools.experiment_reading`). Read-only, for the `analyst` scope (and
`admin`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from p13n.domain.analytics import (
    ATTRIBUTION_BASES,
    ATTRIBUTION_MODELS,
    GRANULARITIES,
    GROUPINGS,
    KPI_GROUPINGS,
    AttributionReport,
    ExperimentResults,
    PipelineReport,
)
from p13n.domain.services import DecisionService, MeasureService, PipelineStats
from p13n.server.routes.deps import get_services
from p13n.tools import ExperimentList, list_experiments, read_experiment

router = APIRouter(tags=["analytics"])

# What the published schema says a parameter takes (the routes still answer anything else with
# the 400 that names the fix): the choices, and the three spellings of a time (empty: the
# default).
_TIME: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": 0},
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "pattern": "^[0-9]{1,10}(\\.[0-9]+)?$"},
    ]
}
_SPAN: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{1,6}(\\.[0-9]+)?[smhd]?$"}
_OPTIONAL_SPAN: dict[str, Any] = {"anyOf": [{"type": "string", "maxLength": 0}, _SPAN]}


def _one_of(values: Iterable[str]) -> dict[str, Any]:
    return {"enum": list(values)}


def _any_of(values: Iterable[str]) -> dict[str, Any]:
    return {"items": {"type": "string", "enum": list(values)}}


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
            json_schema_extra=_TIME,
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(
            alias="to",
            description="End, exclusive (a date: through that day); default: now.",
            json_schema_extra=_TIME,
        ),
    ] = None,
    granularity: Annotated[
        str, Query(description="`hour` or `day`.", json_schema_extra=_one_of(GRANULARITIES))
    ] = "day",
    group_by: Annotated[
        list[str] | None,
        Query(
            alias="groupBy",
            description="`channel` and/or `point` (repeat or comma-separate).",
            json_schema_extra=_any_of(GROUPINGS),
        ),
    ] = None,
) -> PipelineReport:
    """Decision requests, points, decisions served, unique individuals, diagnostics by code
    and stage timings (p50/p95/p99) per period and group; ingest counts per period."""
    query = stats.query(start=start, end=end, granularity=granularity, group_by=group_by or [])
    return await run_in_threadpool(stats.report, query)


def get_measure(request: Request) -> MeasureService:
    return get_services(request).measure


MeasureDep = Annotated[MeasureService, Depends(get_measure)]


@router.get(
    "/analytics/attribution",
    response_model=AttributionReport,
    responses={
        400: {
            "description": "an unknown model, basis or grouping, a window or half-life that is "
            "not positive, a date that is not one or in the future, or `from` not before `to` "
            "(the message says which and what to send)"
        },
        401: {"description": "no credential, or an unknown one"},
        403: {"description": "the credential lacks the `analyst` scope"},
    },
)
async def attribution(
    measure: MeasureDep,
    model: Annotated[
        str,
        Query(
            description="first_touch, last_touch (default), linear, time_decay or position_based.",
            json_schema_extra=_one_of(ATTRIBUTION_MODELS),
        ),
    ] = "last_touch",
    basis: Annotated[
        str,
        Query(
            description="view (an exposure is enough; default) or click.",
            json_schema_extra=_one_of(ATTRIBUTION_BASES),
        ),
    ] = "view",
    window: Annotated[
        str,
        Query(
            description="24h, 7d (default), 30d, or any positive `<n>s|m|h|d`.",
            json_schema_extra=_SPAN,
        ),
    ] = "7d",
    half_life: Annotated[
        str | None,
        Query(
            alias="halfLife",
            description="time_decay's half-life (default 7d; empty: the default).",
            json_schema_extra=_OPTIONAL_SPAN,
        ),
    ] = None,
    group_by: Annotated[
        list[str] | None,
        Query(
            alias="groupBy",
            description="Any of point, decision, recommender, experiment, cohort, channel, day "
            "(repeat or comma-separate); none: totals only.",
            json_schema_extra=_any_of(KPI_GROUPINGS),
        ),
    ] = None,
    start: Annotated[
        str | None,
        Query(
            alias="from",
            description="Start, inclusive: ISO date or datetime (UTC), or epoch seconds; "
            "default: 30 days before `to`.",
            json_schema_extra=_TIME,
        ),
    ] = None,
    end: Annotated[
        str | None,
        Query(
            alias="to",
            description="End, exclusive (a date: through that day); default: now.",
            json_schema_extra=_TIME,
        ),
    ] = None,
) -> AttributionReport:
    """Requests, impressions, clicks, CTR, add-to-carts, orders, revenue, units and unique
    individuals per group, with conversions credited to personalizations by the model; the
    attributed revenue sums to the attributed orders' revenue exactly."""
    query = measure.query(
        model=model,
        basis=basis,
        window=window,
        half_life=half_life,
        group_by=group_by or [],
        start=start,
        end=end,
    )
    return await run_in_threadpool(measure.attribution, query)


def get_decisions(request: Request) -> DecisionService:
    return get_services(request).decisions


DecisionsDep = Annotated[DecisionService, Depends(get_decisions)]
_AUTH_ANSWERS: dict[int | str, dict[str, str]] = {
    401: {"description": "no credential, or an unknown one"},
    403: {"description": "the credential lacks the `analyst` scope"},
}


@router.get("/analytics/experiments", response_model=ExperimentList, responses=_AUTH_ANSWERS)
async def experiments(measure: MeasureDep, decisions: DecisionsDep) -> ExperimentList:
    """Every experiment with its status, mode, units per cohort so far and the primary
    metric's verdict in words."""
    return await run_in_threadpool(list_experiments, decisions, measure)


@router.get(
    "/analytics/experiments/{name}",
    response_model=ExperimentResults,
    responses={
        400: {
            "description": "an unknown engine or metric, a window that is not a positive "
            "duration, a pre-window that is neither 0 nor one, or min units below 1 (the "
            "message says which and what to send)"
        },
        404: {"description": "no experiment by that name (the message lists the known ones)"},
        **_AUTH_ANSWERS,
    },
)
async def experiment(
    measure: MeasureDep,
    decisions: DecisionsDep,
    name: str,
    engine: Annotated[
        str,
        Query(
            description="Which figures decide the verdict: bayesian (default; chance to beat "
            "the control), frequentist (fixed-sample confidence interval) or sequential "
            "(always-valid interval, safe to peek). Every engine's figures are reported."
        ),
    ] = "bayesian",
    metric: Annotated[
        list[str] | None,
        Query(
            description="Built-in metric names (repeat or comma-separate), e.g. `Conversion "
            "Rate`; default: the experiment's primary and secondary metrics."
        ),
    ] = None,
    window: Annotated[
        str,
        Query(description="What counts after a unit's first exposure: `<n>s|m|h|d`, default 7d."),
    ] = "7d",
    pre_window: Annotated[
        str,
        Query(
            alias="preWindow",
            description="CUPED's look-back before the first exposure (default 14d; 0: off).",
        ),
    ] = "14d",
    min_units: Annotated[
        int | None,
        Query(
            alias="minUnits",
            description="Units every cohort needs before a verdict (default 1000).",
        ),
    ] = None,
) -> ExperimentResults:
    """Per cohort: units, conversions, mean and variance of each metric; against the control:
    relative lift with the Bayesian credible interval and chance to beat (and to be best), the
    frequentist and always-valid sequential intervals and p-value, CUPED beside the unadjusted
    figures, the sample-ratio check, and a verdict per metric. An experiment that has not
    exposed anyone yet answers 200 with `empty` true and a message that says so."""
    return await run_in_threadpool(
        read_experiment,
        decisions,
        measure,
        name,
        engine=engine,
        metrics=metric or [],
        window=window,
        pre_window=pre_window,
        min_units=min_units,
    )
