"""Attribution: the KPI table (requests, impressions, clicks, CTR, attributed add-to-carts,
orders, revenue, units, unique individuals) and a chart, grouped by point, decision,
recommender, experiment, cohort, channel (the agent's included) or day, with model, basis,
window and date pickers. The pickers are an htmx form that swaps the report in place (and a
plain GET form without script); the report is `MeasureService.attribution`, the function
behind `GET /analytics/attribution`. A bad picker value comes back as the message the API
gives (what to do), never a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.domain.analytics import (
    ATTRIBUTION_BASES,
    ATTRIBUTION_MODELS,
    KPI_GROUPINGS,
    WINDOWS,
    AttributionReport,
)
from p13n.domain.errors import InvalidInput
from p13n.domain.timeutil import DAY, to_iso
from p13n.server.console.measure_charts import attribution_day_chart, value_bars
from p13n.server.console.web import ConsoleUser, UserDep, need, render

__all__ = ["router", "picks"]

router = APIRouter(include_in_schema=False)
_TOP_BARS = 12


def picks(
    model: str = "last_touch",
    basis: str = "view",
    window: str = "7d",
    group: str = "point",
    start: str = "",
    end: str = "",
) -> dict[str, str]:
    """The pickers' values as given (echoed back into the form, bad ones too)."""
    return {
        "model": model,
        "basis": basis,
        "window": window,
        "group": group,
        "start": start,
        "end": end,
    }


def _whole_days(user: ConsoleUser, chosen: dict[str, str]) -> dict[str, str]:
    """With neither date picked, the last 30 closed UTC days (dates, `to` inclusive): a
    range of whole settled days is read from the day aggregates, not recomputed."""
    if chosen["start"] or chosen["end"]:
        return chosen
    measure = user.services.measure
    closed = (measure.now() - measure.settle_s) // DAY * DAY
    return {**chosen, "start": to_iso(closed - 30 * DAY)[:10], "end": to_iso(closed - DAY)[:10]}


def _report(user: ConsoleUser, chosen: dict[str, str]) -> tuple[AttributionReport | None, str]:
    measure = user.services.measure
    try:
        query = measure.query(
            model=chosen["model"],
            basis=chosen["basis"],
            window=chosen["window"],
            group_by=[chosen["group"]] if chosen["group"] else [],
            start=chosen["start"] or None,
            end=chosen["end"] or None,
        )
    except InvalidInput as exc:
        return None, str(exc)
    return measure.attribution(query), ""


def _context(report: AttributionReport | None, problem: str, chosen: dict[str, str]) -> Any:
    bars: dict[str, Any] = {}
    chart = None
    if report is not None:
        chart = attribution_day_chart(report)
        if chart is None and report.groupBy:
            name = report.groupBy[0]
            top = sorted(report.rows, key=lambda r: (-float(r.revenue), -r.clicks))[:_TOP_BARS]
            label = [str(r.group.get(name) or "(none)") for r in top]
            bars = {
                "revenue": value_bars(
                    list(zip(label, [float(r.revenue) for r in top], strict=True))
                ),
                "clicks": value_bars(list(zip(label, [float(r.clicks) for r in top], strict=True))),
            }
    return {
        "report": report,
        "problem": problem,
        "chosen": chosen,
        "chart": chart,
        "bars": bars,
        "models": ATTRIBUTION_MODELS,
        "bases": ATTRIBUTION_BASES,
        "windows": tuple(WINDOWS),
        "groupings": KPI_GROUPINGS,
    }


@router.get("/console/attribution")
async def attribution(
    request: Request,
    user: UserDep,
    model: str = "last_touch",
    basis: str = "view",
    window: str = "7d",
    group: str = "point",
    start: str = "",
    end: str = "",
) -> Response:
    need(user, Scope.ANALYST)
    chosen = _whole_days(user, picks(model, basis, window, group, start, end))
    report, problem = await run_in_threadpool(_report, user, chosen)
    return render(
        request,
        "attribution.html",
        _context(report, problem, chosen),
        status_code=422 if problem else 200,
        user=user,
    )


@router.get("/console/attribution/report")
async def attribution_report_part(
    request: Request,
    user: UserDep,
    model: str = "last_touch",
    basis: str = "view",
    window: str = "7d",
    group: str = "point",
    start: str = "",
    end: str = "",
) -> Response:
    """The report alone, for the htmx pickers (a problem is answered 200 for htmx, which swaps
    only successful answers, and 422 otherwise)."""
    need(user, Scope.ANALYST)
    chosen = _whole_days(user, picks(model, basis, window, group, start, end))
    report, problem = await run_in_threadpool(_report, user, chosen)
    status = 422 if problem and not request.headers.get("hx-request") else 200
    return render(
        request,
        "attribution_report.html",
        _context(report, problem, chosen),
        status_code=status,
        user=user,
    )
