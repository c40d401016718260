"""`p13n identity ...` and `p13n import individuals`: identity resolution from the shell.

Self-contained (the main CLI registers `identity_app` and `individuals_import`); errors print
one line on stderr and exit 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from p13n.domain.identity import parse_ruleset
from p13n.domain.ingest import count_rows, parse_mapping, read_rows
from p13n.server.cli_common import command_services, err, one_line_errors, out

__all__ = ["identity_app", "individuals_import"]

identity_app = typer.Typer(
    help="Identity resolution: resolve, export, lineage, split, rules.", no_args_is_help=True
)
rules_app = typer.Typer(
    help="Identity rulesets (match rules, matcher, reconciliation).", no_args_is_help=True
)
identity_app.add_typer(rules_app, name="rules")


def _json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


@one_line_errors
def individuals_import(
    file: Annotated[Path, typer.Argument(help="A .csv, .jsonl or .parquet file of individuals.")],
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="Column mapping source_col=field, repeatable.")
    ] = None,
    source: Annotated[
        str, typer.Option(help="Source name for rows without a `source` column.")
    ] = "import",
) -> None:
    """Import source records about individuals and link them in real time (exact rules)."""
    mapping = parse_mapping(map_ or [])
    total = count_rows(file)
    with command_services() as services:
        service = services.identity
        columns = [
            TextColumn("individuals"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("individuals", total=total)
            summary = service.import_records(
                read_rows(file, mapping),
                default_source=source,
                on_progress=lambda n: progress.advance(task, n),
            )
    out.print(
        f"{summary.rows} rows in {summary.seconds:.1f}s: {summary.accepted} accepted "
        f"({summary.flagged} flagged, {summary.superseded} older versions kept in history), "
        f"{summary.rejected} rejected, {summary.merges} merges"
    )
    for line, reason in summary.rejections[:20]:
        out.print(f"  row {line}: {reason}", highlight=False)
    if summary.accepted == 0 and summary.rejected:
        raise typer.Exit(code=1)


@identity_app.command("resolve")
@one_line_errors
def resolve(
    incremental: Annotated[
        bool, typer.Option(help="Only re-examine records changed since the last run.")
    ] = False,
) -> None:
    """Re-resolve all source records with every rule, fuzzy and probabilistic ones included."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with command_services() as services, Progress(*columns, console=err) as progress:
        task = progress.add_task("resolving", total=None)
        summary = services.identity.resolve(
            incremental=incremental,
            on_step=lambda name: progress.update(task, description=f"resolving ({name} done)"),
            on_records=lambda done, total: progress.update(task, completed=done, total=total),
        )
    out.print(
        f"{summary.records} records -> {summary.clusters} individuals in {summary.seconds:.2f}s "
        f"({summary.links} links, {summary.merges} merges, {summary.moved} records moved, "
        f"{summary.candidate_pairs} candidate pairs{', incremental' if summary.incremental else ''})"
    )


@identity_app.command("export")
@one_line_errors
def export(file: Annotated[Path, typer.Argument(help="CSV to write.")]) -> None:
    """Write source_record_id,unified_individual_id (and source) for every source record."""
    with command_services() as services:
        n = services.identity.export(file)
    out.print(f"{n} source records written to {file}")


@identity_app.command("show")
@one_line_errors
def show(
    any_id: Annotated[str, typer.Argument(help="Unified id, source:record id, device, email...")],
) -> None:
    """The unified individual, its source records and the rule and score of each link."""
    with command_services() as services:
        _json(services.identity_control.lineage(any_id).model_dump())


@identity_app.command("split")
@one_line_errors
def split(
    record_id: Annotated[str, typer.Argument(help="source:source_record_id")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the split log).")] = None,
) -> None:
    """Separate a source record from its individual and keep it apart in later runs."""
    with command_services() as services:
        _json(services.identity_control.split(record_id, reason=reason).model_dump())


@rules_app.command("list")
@one_line_errors
def rules_list() -> None:
    """Every ruleset, the active one first."""
    with command_services() as services:
        control = services.identity_control
        active = control.active().name
        _json({"active": active, "rulesets": [r.model_dump() for r in control.rulesets()]})


@rules_app.command("put")
@one_line_errors
def rules_put(
    file: Annotated[Path, typer.Argument(help="A ruleset as YAML or JSON.")],
    activate: Annotated[bool, typer.Option(help="Make it the active ruleset.")] = False,
) -> None:
    """Validate and store a ruleset (nothing changes when it does not validate)."""
    if not file.exists():
        raise typer.BadParameter(f"no file '{file}'")
    ruleset = _parse(file)
    with command_services() as services:
        control = services.identity_control
        version = control.put_ruleset(ruleset)
        if activate:
            control.activate(ruleset.name)
    out.print(
        f"ruleset '{ruleset.name}' stored (version {version}){' and active' if activate else ''}"
    )


@one_line_errors
def _parse(file: Path) -> Any:
    return parse_ruleset(file.read_text(encoding="utf-8"))


@rules_app.command("activate")
@one_line_errors
def rules_activate(name: Annotated[str, typer.Argument()]) -> None:
    """Make a stored ruleset the active one (real-time linking uses it at once)."""
    with command_services() as services:
        services.identity_control.activate(name)
    out.print(f"ruleset '{name}' is active")
