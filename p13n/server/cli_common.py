"""Pieces every `p13n` command module shares: the engine for one command, progress, JSON out."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from p13n.domain.errors import P13nError
from p13n.server.bootstrap import AppServices, open_services
from p13n.server.settings import Settings

__all__ = ["command_services", "progress", "print_json", "out", "err", "one_line_errors"]

# soft_wrap: a summary line stays one line when piped (rich would break it at 80 columns,
# and where depends on how wide the numbers in it are).
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
R = TypeVar("R")


def one_line_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """A command that fails with a P13nError prints one line on stderr and exits 1."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except P13nError as exc:
            err.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
            raise typer.Exit(code=1) from None

    return wrapper


@contextmanager
def command_services() -> Iterator[AppServices]:
    """The services for one command, built once from the environment and closed afterwards
    (the personalization log is written out)."""
    with open_services(Settings()) as services:
        yield services


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; yields a function that advances it by n."""
    columns = [
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
