"""The `p13n` command line. Errors print one line on stderr and exit non-zero."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from p13n.domain.errors import InvalidInput, P13nError
from p13n.domain.ingest import (
    ImportSummary,
    count_rows,
    flat_event_from_csv_row,
    item_from_row,
    parse_mapping,
    read_rows,
)
from p13n.domain.store import store_fault
from p13n.server import cli_mcp, cli_recommend
from p13n.server.cli_analytics import analytics_app
from p13n.server.cli_common import command_services, err, out, progress
from p13n.server.cli_decide import config_app, decide
from p13n.server.cli_export import export_app
from p13n.server.cli_identity import identity_app, individuals_import
from p13n.server.cli_keys import keys_app
from p13n.server.cli_privacy import privacy_app
from p13n.server.settings import Settings

app = typer.Typer(
    help="p13n: a self-hosted personalization engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(
    help="Load catalog items and event history from files.", no_args_is_help=True
)
seed_app = typer.Typer(help="Load the demo tenant.", no_args_is_help=True)
insights_app = typer.Typer(help="Calculated insights.", no_args_is_help=True)
segments_app = typer.Typer(help="Segments.", no_args_is_help=True)
profiles_app = typer.Typer(help="Profile data graphs.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(seed_app, name="seed")
app.add_typer(insights_app, name="insights")
app.add_typer(segments_app, name="segments")
app.add_typer(profiles_app, name="profiles")
app.add_typer(identity_app, name="identity")
app.add_typer(keys_app, name="keys")
app.add_typer(analytics_app, name="analytics")
app.add_typer(privacy_app, name="privacy")
import_app.command("individuals")(individuals_import)
app.command("train")(cli_recommend.train)
app.command("recommend")(cli_recommend.recommend)
app.command("mcp")(cli_mcp.mcp)
app.command("decide")(decide)
app.add_typer(config_app, name="config")
app.add_typer(export_app, name="export")


def _print_summary(summary: ImportSummary) -> None:
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    out.print(
        f"{summary.rows} rows in {summary.seconds:.1f}s ({rate:,.0f}/s): {summary.accepted} accepted "
        f"({summary.untracked} kept only as consent records), {summary.duplicates} duplicates, {summary.rejected} rejected"
    )
    for line, reason in summary.rejections[:20]:
        out.print(f"  row {line}: {reason}", highlight=False)
    if summary.rejected > 20:
        out.print(f"  ... and {summary.rejected - 20} more rejected rows")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    access_log: Annotated[
        bool, typer.Option(help="Log one line per request (off for load tests: it costs CPU).")
    ] = True,
) -> None:
    """Serve the REST API (OpenAPI at /docs)."""
    import uvicorn

    from p13n.server.app import create_app
    from p13n.server.slow_clients import header_timeout_protocol

    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=access_log,
        timeout_graceful_shutdown=5,  # open MCP event streams (/mcp) never end by themselves
        # Slow clients (README "Limits"): headers within a deadline, idle connections closed,
        # and past `max_connections` new requests are answered 503 at once.
        http=header_timeout_protocol(settings.header_timeout_s),
        timeout_keep_alive=settings.keep_alive_s,
        limit_concurrency=settings.max_connections or None,
    )


@import_app.command("catalog")
def import_catalog(
    file: Annotated[Path, typer.Argument(help="A .csv, .jsonl or .parquet file of items.")],
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="Column mapping source=field, repeatable.")
    ] = None,
) -> None:
    """Import catalog items (id, name, category, brand, price, ...) and build their item graphs."""
    mapping = parse_mapping(map_ or [])
    total = count_rows(file)
    items, rejected = [], []
    for number, row in enumerate(read_rows(file, mapping), 1):
        try:
            items.append(item_from_row(row))
        except InvalidInput as exc:
            rejected.append((number, exc.message))
    with command_services() as services, progress("items", total) as advance:
        for start in range(0, len(items), 5000):
            advance(services.engine.upsert_items(items[start : start + 5000]))
    out.print(f"{len(items)} items imported, {len(rejected)} rejected")
    for number, reason in rejected[:20]:
        out.print(f"  row {number}: {reason}", highlight=False)
    if items == [] and rejected:
        raise typer.Exit(code=1)


@import_app.command("events")
def import_events(
    file: Annotated[Path, typer.Argument(help="JSONL (SDK or flat shape) or CSV (flat shape).")],
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="Column mapping source=field, repeatable.")
    ] = None,
) -> None:
    """Import event history through the same validation as POST /events, in batches."""
    mapping = parse_mapping(map_ or [])
    total = count_rows(file)
    rows: Any = read_rows(file, mapping)
    if file.suffix.lower() == ".csv":
        rows = (flat_event_from_csv_row(r) for r in rows)
    with command_services() as services, progress("events", total) as advance:
        summary = services.engine.import_events(rows, on_progress=advance)
    _print_summary(summary)


@seed_app.command("demo")
def seed_demo(
    shoppers: Annotated[int, typer.Option(help="Simulated shoppers.")] = 2000,
    items: Annotated[int, typer.Option(help="Catalog size (Mercari listings).")] = 3000,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the store already has events.")
    ] = False,
) -> None:
    """Load the demo tenant: Mercari catalog, default insights and segments, 30 days of shoppers,
    then a measured last week in which they react to what p13n decides for them."""
    from p13n.domain.timeutil import DAY
    from p13n.seed import MEASURED_DAYS, apply_demo_decisioning, load_demo, measure_demo

    with command_services() as services:
        engine = services.engine
        if if_empty and engine.store.count_events() > 0:
            out.print("the store already has events; demo not loaded again")
            return
        service = services.recommend  # embeds the catalog as it is imported
        end = engine.now()
        with progress("demo events", None) as advance:
            summary = load_demo(
                engine, shoppers=shoppers, n_items=items, end=end, on_progress=advance
            )
        model = service.train()
        week_start = end - MEASURED_DAYS * DAY
        decisioning = apply_demo_decisioning(services.decisions, at=week_start)
        with progress("measured week", None) as advance:
            week = measure_demo(
                services.decisions, end=end, shoppers=shoppers, n_items=items, on_progress=advance
            )
    _print_summary(summary)
    out.print(f"recommendation model trained on {len(model.item_ids)} items")
    out.print(f"decisioning: {decisioning.summary()}")
    out.print(f"measured week: {week.summary()}")


@insights_app.command("recompute")
def insights_recompute() -> None:
    """Recompute every insight as SQL over the event log, then re-evaluate segments."""
    with (
        command_services() as services,
        progress("profiles", services.engine.store.count_profiles()) as advance,
    ):
        n = services.engine.recompute_insights(on_progress=advance)
    out.print(f"{n} profiles updated")


@insights_app.command("list")
def insights_list() -> None:
    """Print the insight definitions as JSON."""
    with command_services() as services:
        out.print_json(
            orjson.dumps([d.model_dump() for d in services.engine.state.insights]).decode()
        )


@segments_app.command("recompute")
def segments_recompute() -> None:
    """Re-evaluate every segment for the whole population."""
    with (
        command_services() as services,
        progress("profiles", services.engine.store.count_profiles()) as advance,
    ):
        n = services.engine.recompute_segments(on_progress=advance)
    out.print(f"{n} profiles evaluated")


@segments_app.command("list")
def segments_list() -> None:
    """Print the segment definitions as JSON."""
    with command_services() as services:
        out.print_json(
            orjson.dumps([d.model_dump() for d in services.engine.state.segments]).decode()
        )


@profiles_app.command("show")
def profiles_show(
    identifier: Annotated[
        str, typer.Argument(help="Device id, individual id, unified id, email or phone.")
    ],
) -> None:
    """Print one profile data graph as JSON."""
    with command_services() as services:
        sys.stdout.write(
            orjson.dumps(
                services.engine.get_profile(identifier).public(), option=orjson.OPT_INDENT_2
            ).decode()
            + "\n"
        )


@app.command()
def stats() -> None:
    """Counts of events, profiles and items in the store."""
    with command_services() as services:
        out.print_json(orjson.dumps(services.engine.stats()).decode())


def main() -> None:
    try:
        app()
    except P13nError as exc:
        err.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(1)
    except Exception as exc:
        fault = store_fault(exc)  # a store refusing a write outside SqlStore.transaction
        if fault is None:
            raise
        err.print(f"error: {fault}", highlight=False, soft_wrap=True, markup=False)
        sys.exit(1)
