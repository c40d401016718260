"""`p13n analytics pipeline`: the pipeline report of `GET /analytics/pipeline` as rich tables
(or `--json`). Registered with `app.add_typer(analytics_app, name="analytics")` in cli.py."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from p13n.domain.analytics import PipelineReport, PipelineRow
from p13n.server.cli_common import command_services, one_line_errors, out, print_json

__all__ = ["analytics_app"]

analytics_app = typer.Typer(help="Analytics: the decision pipeline.", no_args_is_help=True)


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
