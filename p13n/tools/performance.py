"""get_performance: how personalization did over a period, for an agent (scope `analyst`).

It answers "how is the summer banner doing?" and "which recommender sells more?": the KPIs of
`GET /analytics/attribution` (impressions, clicks, CTR, carts, orders, attributed revenue)
grouped by point, recommender, decision, experiment cohort, channel or day over the last
`days` days, optionally for one point, with a sentence that says it in plain words. The
answer stays small (at most `MAX_ROWS` rows, the biggest earners first; `omitted` counts the
rest), well under 4 KB.

With `experiment` it answers "how is experiment X doing?" instead: units per cohort, the
split check and each metric's verdict against the control in the words of `p13n analytics
experiment` (`experiment_reading.verdict_lines`), at most `MAX_ROWS` lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.analytics import AttributionReport, KpiFigures
from p13n.domain.errors import InvalidInput
from p13n.tools.catalog_words import closest
from p13n.tools.context import ToolContext
from p13n.tools.experiment_reading import read_experiment, verdict_lines

__all__ = [
    "GetPerformanceInput",
    "GetPerformanceOutput",
    "PerformanceRow",
    "ExperimentPerformance",
    "get_performance",
    "MAX_ROWS",
]

MAX_ROWS = 8
_DAY = 86_400
Grouping = Literal["point", "recommender", "decision", "cohort", "experiment", "channel", "day"]
Model = Literal["last_touch", "first_touch", "linear", "time_decay", "position_based"]


class GetPerformanceInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Grouping = Field(
        default="point",
        description="What to compare: point (default), recommender, decision, cohort (of "
        "experiments), experiment, channel or day.",
    )
    days: int = Field(
        default=7, ge=1, le=90, description="The period: the last N days up to now (1-90)."
    )
    point: str | None = Field(
        default=None,
        max_length=200,
        description="Only this personalization point (its API name, e.g. 'summer_banner'; a "
        "near spelling such as 'summer banner' is matched).",
    )
    model: Model = Field(
        default="last_touch",
        description="How a conversion is credited to what the person was shown: last_touch "
        "(default), first_touch, linear, time_decay or position_based.",
    )
    basis: Literal["view", "click"] = Field(
        default="view",
        description="view: being shown is enough (default); click: only clicked content earns.",
    )
    experiment: str | None = Field(
        default=None,
        max_length=200,
        description="An experiment's name: answers how it is doing (units per cohort, lift "
        "against the control and the verdict per metric) instead of the KPIs; the other "
        "fields are then ignored.",
    )


class PerformanceRow(BaseModel):
    name: str = Field(description="The group's value ('(none)' where there is none).")
    impressions: int = Field(description="Times the content was shown.")
    clicks: int = Field(description="Clicks on it.")
    ctr_percent: float | None = Field(description="Clicks per 100 impressions.")
    add_to_carts: float = Field(description="Attributed add-to-carts (shares of one).")
    orders: float = Field(description="Attributed orders (shares of one).")
    revenue: float = Field(description="Attributed order revenue.")
    revenue_share_percent: float | None = Field(description="Share of the attributed revenue.")
    unique_individuals: int = Field(description="Distinct people shown it.")


class ExperimentPerformance(BaseModel):
    name: str = Field(description="The experiment.")
    status: str = Field(description="Created, Started, Stopped or Archived.")
    units: dict[str, int] = Field(description="Units exposed per cohort, the control first.")
    outcomes: dict[str, str] = Field(
        description="The primary metric's verdict per cohort against the control: winner, "
        "loser, inconclusive or insufficient data."
    )
    findings: list[str] = Field(description="The results in sentences, the headline first.")


class GetPerformanceOutput(BaseModel):
    period: str = Field(description="From and to (UTC).")
    by: str = Field(description="What the rows compare.")
    point: str | None = Field(description="The point the figures are limited to, if any.")
    attribution: str = Field(description="Model, basis and window used.")
    rows: list[PerformanceRow] = Field(description="Best earners first.")
    total: PerformanceRow = Field(description="The figures of everything asked about.")
    omitted: int = Field(description="Rows left out (smaller earners).")
    summary: str = Field(description="The answer in plain words.")
    experiment: ExperimentPerformance | None = Field(
        default=None, description="The experiment asked about, if any (rows are then empty)."
    )


def get_performance(ctx: ToolContext, data: GetPerformanceInput) -> GetPerformanceOutput:
    if ctx.measure is None:
        raise InvalidInput(
            "analytics are not configured in this server.",
            hint="Ask an operator for the attribution report (GET /analytics/attribution).",
        )
    if data.experiment is not None:
        return _experiment_answer(ctx, data.experiment)
    now = ctx.measure.now()
    groups = ["point"] if data.by == "point" or data.point else []
    if data.by != "point":
        groups.append(data.by)
    query = ctx.measure.query(
        model=data.model, basis=data.basis, group_by=groups, start=now - data.days * _DAY, end=now
    )
    report = ctx.measure.attribution(query)
    point = _point(report, data.point) if data.point else None
    kept = [r for r in report.rows if point is None or r.group.get("point") == point]
    if point is not None and data.by == "point":
        total = kept[0] if kept else report.total.model_copy(update=_nothing())
    elif point is not None:
        total = _summed(kept)
    else:
        total = report.total
    earned = total.revenue
    ranked = sorted(kept, key=lambda r: (-r.revenue, -r.impressions, str(r.group.get(data.by))))
    rows = [_row(str(r.group.get(data.by) or "(none)"), r, earned) for r in ranked[:MAX_ROWS]]
    return GetPerformanceOutput(
        period=f"{report.start} to {report.end}",
        by=data.by,
        point=point,
        attribution=f"{report.model}, {report.basis}-based, {report.windowSeconds / _DAY:g}-day "
        "window",
        rows=rows,
        total=_row("total", total, earned),
        omitted=max(0, len(ranked) - MAX_ROWS),
        summary=_summary(data, point, rows, _row("total", total, earned), data.days),
    )


def _point(report: AttributionReport, asked: str) -> str:
    names = sorted({str(r.group["point"]) for r in report.rows if r.group.get("point")})
    if asked in names:
        return asked
    near = closest(asked.replace(" ", "_"), names, limit=1) or closest(asked, names, limit=1)
    if near:
        return near[0]
    known = ", ".join(names) or "none in this period"
    raise InvalidInput(
        f"no personalization point like {asked!r} served anything in the period.",
        hint=f"Points with traffic: {known}. Leave `point` out to compare every point.",
    )


def _nothing() -> dict[str, object]:
    zero: dict[str, object] = {name: 0 for name in KpiFigures.model_fields}
    zero.update(ctr=None, revenue=Decimal("0.00"))
    return zero


def _summed(rows: Sequence[KpiFigures]) -> KpiFigures:
    """The rows added up (requests and individuals are then upper bounds: a person may be in
    several rows)."""
    total = KpiFigures.model_validate(_nothing())
    for r in rows:
        for name in ("requests", "impressions", "clicks", "addToCarts", "orders", "revenue"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.units += r.units
        total.uniqueIndividuals += r.uniqueIndividuals
    total.ctr = total.clicks / total.impressions if total.impressions else None
    return total


def _row(name: str, f: KpiFigures, earned: Decimal) -> PerformanceRow:
    return PerformanceRow(
        name=name[:80],
        impressions=f.impressions,
        clicks=f.clicks,
        ctr_percent=None if f.ctr is None else round(f.ctr * 100, 2),
        add_to_carts=round(f.addToCarts, 2),
        orders=round(f.orders, 2),
        revenue=float(f.revenue),
        revenue_share_percent=round(float(f.revenue / earned) * 100, 1) if earned else None,
        unique_individuals=f.uniqueIndividuals,
    )


def _summary(
    data: GetPerformanceInput,
    point: str | None,
    rows: list[PerformanceRow],
    total: PerformanceRow,
    days: int,
) -> str:
    where = f"{point}" if point else "personalization"
    period = "the last day" if days == 1 else f"the last {days} days"
    if not total.impressions and not total.orders:
        return f"{where} showed nothing and earned nothing in {period}."
    ctr = "no clicks" if not total.clicks else f"a {total.ctr_percent:g} % click rate"
    said = (
        f"Over {period}, {where} made {total.impressions:,} impressions with {ctr}, "
        f"{total.add_to_carts:,.2f} add-to-carts and {total.orders:,.2f} orders worth "
        f"{total.revenue:,.2f} in attributed revenue ({data.model}, {data.basis}-based)."
    )
    if len(rows) >= 2 and not (point and data.by == "point"):
        first, second = rows[0], rows[1]
        if first.revenue > second.revenue:
            said += (
                f" By {data.by}, {first.name} earns most ({first.revenue:,.2f}, "
                f"{first.revenue_share_percent:g} % of it), ahead of {second.name} "
                f"({second.revenue:,.2f})."
            )
        else:
            said += f" By {data.by}, {first.name} and {second.name} earn the same."
    return said


def _experiment_answer(ctx: ToolContext, name: str) -> GetPerformanceOutput:
    """How experiment `name` is doing, since it started, with the default settings."""
    assert ctx.measure is not None
    if ctx.decisions is None:
        raise InvalidInput(
            "experiments are not configured in this server.",
            hint="Ask an operator for GET /analytics/experiments/{name}.",
        )
    results = read_experiment(ctx.decisions, ctx.measure, name)
    found = ctx.decisions.configs.experiments.get(results.experiment)
    lines = [line[:400] for line in verdict_lines(results)[:MAX_ROWS]]
    outcomes = {v.cohort: v.outcome for v in results.verdicts}
    started = found.started_at if found is not None else None
    since = "not started" if started is None else f"since {_day(started)}"
    return GetPerformanceOutput(
        period=f"{since} to {_day(ctx.measure.now())}",
        by="experiment cohort",
        point=found.point if found is not None else None,
        attribution="experiment results: the first 7 days after each unit's first exposure",
        rows=[],
        total=_row("total", KpiFigures.model_validate(_nothing()), Decimal(0)),
        omitted=0,
        summary=lines[0],
        experiment=ExperimentPerformance(
            name=results.experiment,
            status=found.status if found is not None else "unknown",
            units={c.cohort: c.units for c in results.cohorts},
            outcomes=outcomes,
            findings=lines,
        ),
    )


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
