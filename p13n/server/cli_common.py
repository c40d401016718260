"""Pieces every `p13n` command module shares: the engine for one command, progress, JSON out."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from p13n.domain.engine import Engine
from p13n.server.bootstrap import build_engine
from p13n.server.settings import Settings

__all__ = ["command_engine", "progress", "print_json", "out", "err"]

out = Console()
err = Console(stderr=True)


@contextmanager
def command_engine() -> Iterator[Engine]:
    """The engine for one command, built from the environment and closed afterwards."""
    engine = build_engine(Settings())
    try:
        yield engine
    finally:
        engine.close()


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
