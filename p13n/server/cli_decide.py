"""`p13n decide` and `p13n config apply|export`: register in cli.py with
`app.command("decide")(decide)` and `app.add_typer(config_app, name="config")`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
import yaml

from p13n.domain.decisions import DecisionRequest
from p13n.domain.errors import DecisionRejected, InvalidInput
from p13n.domain.services import DecisionService, apply_bundle, export_bundle, parse_bundle
from p13n.server.cli_common import command_services, out, print_json

__all__ = ["decide", "config_app", "decision_service"]

config_app = typer.Typer(
    help="Decisioning configuration as one YAML file (points, decisions, experiments, "
    "recommenders, segments, insights).",
    no_args_is_help=True,
)


@contextmanager
def decision_service() -> Iterator[DecisionService]:
    """The decision service of this command's services; closing them writes out the log."""
    with command_services() as services:
        yield services.decisions


def _value(text: str) -> Any:
    """`k=v` values: JSON numbers, booleans and lists as such, anything else as text."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if isinstance(value, int | float | bool | list) else text


def _context(pairs: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                f"--context {pair!r} is not key=value.", hint="E.g. --context pageType=home"
            )
        context[key.strip()] = _value(value)
    return context


def decide(
    point: Annotated[list[str], typer.Option("--point", help="Point name; repeatable.")],
    individual: Annotated[
        str | None, typer.Option(help="Device id, individual id, unified id, email or phone.")
    ] = None,
    anchor: Annotated[str | None, typer.Option(help="The item being viewed (anchorId).")] = None,
    context: Annotated[
        list[str] | None,
        typer.Option("--context", help="Context k=v (pageType, channel, custom); repeatable."),
    ] = None,
    test_mode: Annotated[bool, typer.Option("--test-mode", help="Log nothing (TestMode).")] = False,
) -> None:
    """Ask for a decision as the authenticated Decisioning API would; prints its JSON answer."""
    ctx = _context(context or [])
    if individual:
        ctx["individualId"] = individual
    if anchor:
        ctx["anchorId"] = anchor
    flags = ["EnableDiagnostics"] + (["TestMode"] if test_mode else [])
    try:
        request = DecisionRequest.model_validate(
            {
                "context": ctx,
                "personalizationPoints": [{"name": p} for p in point],
                "executionFlags": flags,
            }
        )
    except ValueError as exc:
        raise InvalidInput(f"bad decision request: {exc}".replace("\n", " ")) from None
    with decision_service() as service:
        try:
            response = service.decide(request, authenticated=True, source="cli")
        except DecisionRejected as exc:
            raise InvalidInput(exc.message, hint=exc.hint) from None
    print_json(response.public())


@config_app.command("apply")
def config_apply(
    file: Annotated[Path, typer.Argument(help="A YAML (or JSON) configuration file.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report, write nothing.")
    ] = False,
) -> None:
    """Validate the whole file, then create or update what differs (never deletes)."""
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {str(file)!r}: {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(
            f"{file} is not valid YAML: {str(exc).splitlines()[0]}", hint="Fix the syntax."
        ) from None
    bundle = parse_bundle(doc)
    with decision_service() as service:
        report = apply_bundle(service, bundle, dry_run=dry_run)
    for name in report.created:
        out.print(f"created {name}", highlight=False)
    for name in report.updated:
        out.print(f"updated {name}", highlight=False)
    prefix = "dry run, nothing written: " if dry_run else ""
    out.print(prefix + report.summary(), highlight=False)


@config_app.command("export")
def config_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print every configuration object as YAML that `p13n config apply` accepts back."""
    with decision_service() as service:
        text = yaml.safe_dump(export_bundle(service), sort_keys=False, allow_unicode=True)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"written to {output}")
