"""`p13n privacy forget ID` and `p13n privacy export ID`: privacy requests from the shell.

Self-contained (the main CLI registers `privacy_app`); both print JSON on stdout, and errors
(nobody known by the id, a file that cannot be written) print one line on stderr and exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from p13n.domain.errors import InvalidInput
from p13n.server.cli_common import command_services, one_line_errors, print_json

__all__ = ["privacy_app"]

privacy_app = typer.Typer(
    help="Privacy requests: erase a person, export what is held about them.",
    no_args_is_help=True,
)

_ID = Annotated[
    str,
    typer.Argument(help="Any of the person's ids: unified, device or individual id, email, phone."),
]


@privacy_app.command("forget")
@one_line_errors
def forget(any_id: _ID) -> None:
    """Erase the person (their whole unified cluster) everywhere p13n keeps it; prints the
    receipt, which p13n does not keep."""
    with command_services() as services:
        receipt = services.privacy.forget(any_id)
    print_json(receipt.model_dump(mode="json"))


@privacy_app.command("export")
@one_line_errors
def export(
    any_id: _ID,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON to this file, not stdout.")
    ] = None,
) -> None:
    """Everything held about the person, as JSON."""
    with command_services() as services:
        data = services.privacy.export(any_id)
    if out is None:
        print_json(data.model_dump(mode="json"))
        return
    try:
        out.write_text(data.model_dump_json(indent=2), encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {str(out)!r} ({exc.strerror}).") from exc
