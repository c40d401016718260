"""`p13n analytics pipeline`, `p13n analytics attribution` and `p13n analytics experiment`: the
reports of `GET /analytics/pipeline`, `GET /analytics/attribution` and `GET
/analytics/experiments/{name}` as rich tables (or `--json`). Registered with
`app.add_typer(analytics_app, name="analytics")` in cli.py."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from p13n.domain.analytics import (
    AttributionReport,
    Comparison,
    ExperimentResults,
    KpiFigures,
    MetricResults,
    PipelineReport,
    PipelineRow,
)
from p13n.server.cli_common import command_services, one_line_errors, out, print_json
from p13n.tools import list_experiments, read_experiment, verdict_lines

__all__ = ["analytics_app"]

analytics_app = typer.Typer(
    help="Analytics: the decision pipeline, attribution and experiment results.",
    no_args_is_help=True,
)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.3f}"


def _table(report: PipelineReport) -> Table:
    table = Table(title=f"pipeline by {report.granularity}, {report.start} to {report.end} (UTC)")
    columns = ["period", *report.groupBy, "requests", "points", "served", "decisions"]
    columns += ["individuals", "total p50 ms", "p95", "p99", "diagnostics"]
    for name in columns:
        table.add_column(
            name, justify="left" if name in ("period", "channel", "point") else "right"
        )

    def add(row: PipelineRow, period: str) -> None:
        total = row.timingsMs["total"]
        groups = [str(getattr(row, g) or "-") for g in report.groupBy]
        codes = " ".join(f"{c}:{n}" for c, n in row.diagnostics.items())
        table.add_row(
            period,
            *groups,
            f"{row.requests:,}",
            f"{row.points:,}",
            f"{row.served:,}",
            f"{row.decisions:,}",
            f"{row.individuals:,}",
            _ms(total.p50),
            _ms(total.p95),
            _ms(total.p99),
            codes,
        )

    for row in report.rows:
        add(row, row.period)
    if report.groupBy or len(report.rows) > 1:
        report.total.channel = report.total.point = None
        add(report.total, "total")
    return table


def _ingest(report: PipelineReport) -> Table:
    table = Table(title="ingest")
    for name in ("period", "accepted", "duplicate", "rejected", "rejected by reason"):
        table.add_column(name, justify="left" if name == "period" else "right")
    for counts in [*report.ingest, report.ingestTotal.model_copy(update={"period": "total"})]:
        reasons = " ".join(f"{r}:{n}" for r, n in sorted(counts.rejectedByReason.items()))
        table.add_row(
            counts.period,
            f"{counts.accepted:,}",
            f"{counts.duplicate:,}",
            f"{counts.rejected:,}",
            reasons,
        )
    return table


@analytics_app.command("pipeline")
@one_line_errors
def pipeline(
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start: ISO date/datetime (UTC) or epoch seconds."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End, exclusive (a date: through that day).")
    ] = None,
    granularity: Annotated[str, typer.Option(help="hour or day.")] = "day",
    group_by: Annotated[
        list[str] | None,
        typer.Option("--group-by", help="channel and/or point (repeat or comma-separate)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Decision requests, points, decisions, unique individuals, diagnostics, stage timings and
    ingest counts per hour or day, from the hourly aggregates."""
    with command_services() as services:
        stats = services.pipeline
        query = stats.query(start=start, end=end, granularity=granularity, group_by=group_by or [])
        report = stats.report(query)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    if not report.rows:
        out.print(f"no decisions logged from {report.start} to {report.end}.")
    else:
        out.print(_table(report))
    out.print(_ingest(report))


_KPI_COLUMNS = ("requests", "impressions", "clicks", "CTR", "carts", "orders", "revenue")
_KPI_COLUMNS += ("units", "individuals")


def _kpi_cells(f: KpiFigures) -> list[str]:
    ctr = "-" if f.ctr is None else f"{f.ctr:.2%}"
    return [
        f"{f.requests:,}",
        f"{f.impressions:,}",
        f"{f.clicks:,}",
        ctr,
        f"{f.addToCarts:,.2f}",
        f"{f.orders:,.2f}",
        f"{f.revenue:,.2f}",
        f"{f.units:,.2f}",
        f"{f.uniqueIndividuals:,}",
    ]


def _attribution_table(report: AttributionReport) -> Table:
    window = f"{report.windowSeconds / 3600:g} h window"
    title = f"{report.model}, {report.basis}-based, {window}, {report.start} to {report.end}"
    title += f" (from the {report.source})"
    table = Table(title=title)
    for name in (*report.groupBy, *_KPI_COLUMNS):
        table.add_column(name, justify="left" if name in report.groupBy else "right")
    for row in report.rows if report.groupBy else []:
        table.add_row(*[str(row.group[g] or "-") for g in report.groupBy], *_kpi_cells(row))
    labels = ["total", *([""] * (len(report.groupBy) - 1))] if report.groupBy else []
    table.add_row(*labels, *_kpi_cells(report.total), style="bold")
    return table


@analytics_app.command("attribution")
@one_line_errors
def attribution(
    model: Annotated[
        str,
        typer.Option(help="first_touch, last_touch, linear, time_decay or position_based."),
    ] = "last_touch",
    basis: Annotated[str, typer.Option(help="view (an exposure is enough) or click.")] = "view",
    window: Annotated[str, typer.Option(help="24h, 7d, 30d or any positive <n>s|m|h|d.")] = "7d",
    half_life: Annotated[
        str | None, typer.Option("--half-life", help="time_decay's half-life (default 7d).")
    ] = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            help="point, decision, recommender, experiment, cohort, channel and/or day.",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start: ISO date/datetime (UTC) or epoch seconds."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End, exclusive (a date: through that day).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Requests, impressions, clicks, CTR, carts, orders, revenue, units and unique individuals
    per group, conversions credited to personalizations by the attribution model (default:
    the last 30 days)."""
    with command_services() as services:
        measure = services.measure
        query = measure.query(
            model=model,
            basis=basis,
            window=window,
            half_life=half_life,
            group_by=group_by or [],
            start=start,
            end=end,
        )
        report = measure.attribution(query)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    if report.empty:
        out.print(f"no personalizations or conversions from {report.start} to {report.end}.")
        return
    out.print(_attribution_table(report))
    i = report.ignored
    out.print(
        f"attributed {report.counted.attributedConversions:,} of "
        f"{report.counted.conversions:,} conversions ({report.counted.attributedRevenue:,.2f} "
        f"of {report.counted.orderRevenue:,.2f} order revenue); unattributed: "
        f"{i.unattributedCarts:,} carts, {i.unattributedOrders:,} orders; "
        f"{i.unlinkedEngagements:,} engagements named no personalization."
    )


def _figure(value: float | None, *, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1%}" if pct else f"{value:,.4g}"


def _evidence(c: Comparison, engine: str) -> str:
    """The figure the chosen engine judges by: chance to beat, or the interval's p-value."""
    if engine == "bayesian":
        chance = c.bayesian.chance_to_beat_control
        return "-" if chance is None else f"{chance:.1%} to beat"
    shown = c.frequentist if engine == "frequentist" else c.sequential
    return "-" if shown.p_value is None else f"p = {shown.p_value:.3g}"


def _interval(c: Comparison, engine: str) -> str:
    low, high = (
        (c.bayesian.ci_low, c.bayesian.ci_high)
        if engine == "bayesian"
        else (c.frequentist.ci_low, c.frequentist.ci_high)
        if engine == "frequentist"
        else (c.sequential.ci_low, c.sequential.ci_high)
    )
    return f"{_figure(c.lift, pct=True)} ({_figure(low, pct=True)}, {_figure(high, pct=True)})"


def _metric_table(metric: MetricResults, engine: str) -> Table:
    kind = "primary" if metric.primary else "secondary"
    better = "higher" if metric.higher_is_better else "lower"
    table = Table(title=f"{metric.metric} ({kind}, {metric.kind}, {better} is better)")
    for name in ("cohort", "units", "conversions", "mean", "lift (interval)", engine, "verdict"):
        table.add_column(name, justify="left" if name in ("cohort", "verdict") else "right")
    by_cohort = {c.cohort: c for c in metric.comparisons}
    for cohort in metric.cohorts:
        c = by_cohort.get(cohort.cohort)
        table.add_row(
            cohort.cohort,
            f"{cohort.units:,}",
            f"{cohort.conversions:,}",
            _figure(cohort.mean),
            "control" if c is None else _interval(c, engine),
            "" if c is None else _evidence(c, engine),
            "" if c is None else c.verdict.outcome,
        )
    return table


@analytics_app.command("experiment")
@one_line_errors
def experiment(
    name: Annotated[str, typer.Argument(help="The experiment's name.")],
    engine: Annotated[
        str, typer.Option(help="bayesian (default), frequentist or sequential.")
    ] = "bayesian",
    metric: Annotated[
        list[str] | None,
        typer.Option(help="A built-in metric (repeat); default: the experiment's."),
    ] = None,
    window: Annotated[
        str, typer.Option(help="What counts after the first exposure, <n>s|m|h|d.")
    ] = "7d",
    pre_window: Annotated[
        str, typer.Option("--pre-window", help="CUPED's look-back (0: off).")
    ] = "14d",
    min_units: Annotated[
        int | None, typer.Option("--min-units", help="Units per cohort before a verdict.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """An experiment's results: per metric, each cohort's units, conversions and mean, its lift
    against the control with the engine's interval and chance to beat (or p-value), the
    sample-ratio check and the verdicts in words."""
    with command_services() as services:
        results = read_experiment(
            services.decisions,
            services.measure,
            name,
            engine=engine,
            metrics=metric or [],
            window=window,
            pre_window=pre_window,
            min_units=min_units,
        )
    if as_json:
        print_json(results.model_dump(mode="json"))
        return
    _print_results(results)


def _print_results(results: ExperimentResults) -> None:
    if not results.empty:
        for metric in sorted(results.metrics, key=lambda m: not m.primary):
            out.print(_metric_table(metric, results.engine))
    for line in verdict_lines(results):
        out.print(line, highlight=False, markup=False)


@analytics_app.command("experiments")
@one_line_errors
def experiments(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every experiment with its status, units per cohort and headline."""
    with command_services() as services:
        found = list_experiments(services.decisions, services.measure)
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    if not found.experiments:
        out.print("no experiments configured.")
        return
    table = Table(title="experiments")
    for column in ("name", "point", "status", "mode", "units", "per cohort", "headline"):
        table.add_column(column, justify="right" if column == "units" else "left")
    for e in found.experiments:
        cohorts = " ".join(f"{c}:{n:,}" for c, n in e.cohorts.items())
        table.add_row(e.name, e.point, e.status, e.mode, f"{e.units:,}", cohorts, e.headline)
    out.print(table)
