"""`p13n analytics pipeline` and `p13n analytics attribution`: the reports of
`GET /analytics/pipeline` and `GET /analytics/attribution` as rich tables (or `--json`). Registered with `app.add_typer(analytics_app, name="analytics")` in cli.py."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from p13n.domain.analytics import AttributionReport, KpiFigures, PipelineReport, PipelineRow
from p13n.server.cli_common import command_services, one_line_errors, out, print_json

__all__ = ["analytics_app"]

analytics_app = typer.Typer(
    help="Analytics: the decision pipeline and attribution.", no_args_is_help=True
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
