"""`p13n export feed`: the catalog as a product feed for agent platforms.

`--format acp` writes the Agentic Commerce Protocol product feed (CSV), `--format merchant` a
Google Merchant Center supplemental feed (tab-separated); both carry the performance signals
`p13n.domain.services.feeds` computes (popularity, return rate). The feed goes to `--output`
or stdout; a one-line summary goes to stderr. Only the engine is opened (no model, no vectors).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from p13n.domain.errors import InvalidInput
from p13n.domain.services import feed_text
from p13n.server.bootstrap import build_engine
from p13n.server.cli_common import err, one_line_errors
from p13n.server.settings import Settings

__all__ = ["export_app"]

export_app = typer.Typer(help="Export data for other systems.", no_args_is_help=True)


@export_app.command("feed")
@one_line_errors
def export_feed(
    format_: Annotated[
        Literal["acp", "merchant"],
        typer.Option(
            "--format",
            help="acp: Agentic Commerce Protocol product feed (CSV); merchant: Google Merchant "
            "Center supplemental feed (TSV).",
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    seller_name: Annotated[
        str | None, typer.Option(help="acp: seller_name (default: the store's host).")
    ] = None,
    seller_url: Annotated[
        str | None,
        typer.Option(help="acp: seller_url (default: the origin most item links share)."),
    ] = None,
) -> None:
    """Write the catalog as a product feed with popularity_score, return_rate and popularity_rank."""
    engine = build_engine(Settings())
    try:
        text, rows, skipped = feed_text(
            engine, format_, seller_name=seller_name, seller_url=seller_url
        )
    finally:
        engine.close()
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"cannot write {output}: {exc.strerror or exc}.",
                hint="Name a file in a directory that exists and that you may write to.",
            ) from None
    where = f" to {output}" if output else ""
    left = f"; {skipped} items without a name or URL left out" if skipped else ""
    err.print(f"{rows} rows ({format_}){where}{left}", highlight=False, markup=False)
