"""`p13n train` and `p13n recommend`: register with `app.command()(train)` etc. in cli.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import typer

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import RecommendRequest
from p13n.domain.services import RecommendService
from p13n.server.cli_common import command_services, err

__all__ = ["train", "recommend"]


@contextmanager
def _service() -> Iterator[RecommendService]:
    with command_services() as services:
        yield services.recommend


def train() -> None:
    """Embed new or changed items, then fit the objective-based model on the event log.

    A failed training leaves the previous model serving."""
    with _service() as service:
        stats = service.sync_vectors()
        model = service.train()
        sys.stdout.write(
            orjson.dumps(
                {
                    "embedded": stats.get("embedded", 0),
                    "items": len(model.item_ids),
                    "individuals": len(model.user_history),
                    "seconds": model.seconds,
                }
            ).decode()
            + "\n"
        )


def recommend(
    recommender: Annotated[str, typer.Option(help="Recommender name.")],
    individual: Annotated[
        str | None, typer.Option(help="Device, individual or unified id.")
    ] = None,
    individuals_file: Annotated[
        Path | None, typer.Option(help="A file with one individual id per line.")
    ] = None,
    anchor: Annotated[str | None, typer.Option(help="The item being viewed.")] = None,
    query: Annotated[str | None, typer.Option(help="Natural-language query.")] = None,
    limit: Annotated[int | None, typer.Option(help="Items (1-24).")] = None,
    exclude_seen: Annotated[
        bool, typer.Option("--exclude-seen", help="Drop items seen before.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    output: Annotated[Path | None, typer.Option(help="Write JSON lines here.")] = None,
    request_id: Annotated[
        str | None,
        typer.Option(help="Replay: the exploration draw depends only on this id (and the config)."),
    ] = None,
) -> None:
    """Recommendations for one individual (--json) or a file of them (--output FILE.jsonl)."""
    if (individual is None) == (individuals_file is None):
        raise InvalidInput("give exactly one of --individual or --individuals-file.")
    if (output is None) == (not as_json):
        raise InvalidInput("give exactly one of --json or --output FILE.jsonl.")
    ids = (
        [individual]
        if individual is not None
        else [ln.strip() for ln in individuals_file.read_text().splitlines() if ln.strip()]  # type: ignore[union-attr]
    )
    with _service() as service:
        if as_json and individual is not None:
            rec = service.recommend(
                RecommendRequest(
                    recommender,
                    individual,
                    anchor,
                    query,
                    limit,
                    exclude_seen=exclude_seen,
                    request_id=request_id,
                )
            )
            sys.stdout.write(
                orjson.dumps(rec.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"
            )
            return
        sink = output.open("wb") if output is not None else None
        try:
            for ident in ids:
                rec = service.recommend(
                    RecommendRequest(
                        recommender,
                        ident,
                        anchor,
                        query,
                        limit,
                        exclude_seen=exclude_seen,
                        request_id=f"{request_id}:{ident}" if request_id else None,
                    )
                )
                line = orjson.dumps({"individual": ident, "items": rec.ids()}) + b"\n"
                if sink is not None:
                    sink.write(line)
                else:
                    sys.stdout.write(line.decode())
        finally:
            if sink is not None:
                sink.close()
        err.print(f"{len(ids)} individuals served")
