"""`p13n train` and `p13n recommend`: register with `app.command()(train)` etc. in cli.py."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import typer

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import RecommendRequest, Trial
from p13n.domain.services import (
    DEFAULT_BUDGET_SECONDS,
    ModelRun,
    RecommendService,
    RunStore,
    TrainOptions,
)
from p13n.server.cli_common import command_services, err, out

__all__ = ["train", "recommend"]


@contextmanager
def _service() -> Iterator[RecommendService]:
    with command_services() as services:
        yield services.recommend


def _candidate_lines(run: ModelRun) -> list[str]:
    """One line per best candidate: mean figures over the hold-outs, NDCG@10 on each, and
    the worst ratio to the tuned EASE (what the run chose by)."""
    holdouts = list(run.candidates[0].holdouts) if run.candidates else []
    head = "".join(f" {'NDCG ' + h[:4]:>9}" for h in holdouts) if len(holdouts) > 1 else ""
    lines = [
        f"{'candidate':<11} {'NDCG@10':>8} {'Recall@10':>9}{head} {'coverage':>8} "
        f"{'vs EASE':>7} {'fit s':>6}"
    ]
    for c in run.candidates[:4]:
        mark = " <- serves" if run.validation is not None and c == run.validation else ""
        per = (
            "".join(f" {c.holdouts[h]['ndcg_at_10']:>9.4f}" for h in holdouts if h in c.holdouts)
            if head
            else ""
        )
        ratio = f"{c.vs_ease:>7.3f}" if c.vs_ease is not None else f"{'-':>7}"
        lines.append(
            f"{c.name:<11} {c.ndcg_at_10:>8.4f} {c.recall_at_10:>9.4f}{per} {c.coverage:>8.4f} "
            f"{ratio} {c.fit_seconds:>6.1f}{mark}"
        )
    return lines


def _print_run(run: ModelRun) -> None:
    out.print(
        f"run {run.id} {run.started_at:%Y-%m-%d %H:%M} UTC: {run.status.value}, "
        f"{'tuned' if run.tuned else 'defaults'}"
        + (
            f" on a {'temporal + random' if run.split == 'both' else run.split} split "
            f"({run.validation_users:,} visitors held out)"
            if run.split
            else ""
        )
        + f", {run.trials} fits of ours, {run.seconds:.0f} s",
        highlight=False,
    )
    for line in _candidate_lines(run):
        out.print("  " + line, highlight=False)
    if run.params is not None:
        shown = {k: v for k, v in run.params.items() if k in _SHOWN}
        out.print(f"  {run.served} serves with {shown}", highlight=False)
    if run.rule_costs:
        out.print(
            f"  what {run.rules_of}'s rules cost on validation (NDCG@10, coverage, cost):",
            highlight=False,
        )
        for c in run.rule_costs:
            out.print(
                f"    {c['rule']:<42} {c['ndcg_at_10']:.4f} {c['coverage']:.4f} "
                f"{100 * c['ndcg_cost']:+.1f}%",
                highlight=False,
            )
    for note in run.notes:
        out.print(f"  note: {note}", highlight=False)
    if run.error:
        out.print(f"  error: {run.error}", highlight=False)


_SHOWN = (
    "l2",
    "dropout",
    "popularity_exponent",
    "session_weight",
    "transition_weight",
    "recency_half_life_days",
    "signal_weights",
    "max_items",
    "binary",
    "popularity_only",
)


def _on_trial(trial: Trial) -> None:
    err.print(
        f"{trial.name:<10} NDCG@10 {trial.metrics.ndcg_at_10:.4f} fit {trial.fit_seconds:.1f} s",
        highlight=False,
    )


def _stop_on_sigterm() -> None:
    """SIGTERM ends a run like Ctrl-C: recorded as interrupted, nothing promoted."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def train(
    budget_seconds: Annotated[
        float,
        typer.Option(help="Time for tuning (the final fit comes on top)."),
    ] = DEFAULT_BUDGET_SECONDS,
    no_tune: Annotated[
        bool, typer.Option("--no-tune", help="Fixed defaults (still compared with baselines).")
    ] = False,
    split: Annotated[
        str,
        typer.Option(
            help="Validation hold-out: both (each visitor's latest and random items, the "
            "default), temporal or random."
        ),
    ] = "both",
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if it validates below the serving model.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the split and the search.")] = 0,
    report: Annotated[
        bool, typer.Option("--report", help="Show the history of runs; train nothing.")
    ] = False,
) -> None:
    """Embed new or changed items, then tune, compare with the baselines (EASE, popularity) and
    the serving model on a validation split of the event log, and promote what validates best.

    The last line is one JSON object. A failed or interrupted run leaves the previous model
    serving; `--report` lists the runs."""
    if split not in ("both", "temporal", "random"):
        raise InvalidInput(
            f"unknown split '{split}'.", hint="Use --split both, temporal or random."
        )
    with _service() as service:
        if report:
            runs = RunStore(service.model_dir).list() if service.model_dir else []
            if not runs:
                out.print("no training runs yet: run `p13n train`")
            for run in runs:
                _print_run(run)
            return
        options = TrainOptions(
            tune=not no_tune,
            budget_seconds=budget_seconds,
            split="random" if split == "random" else "temporal" if split == "temporal" else "both",
            seed=seed,
            force=force,
        )
        _stop_on_sigterm()
        stats = service.sync_vectors()
        model = service.train(options=options, on_trial=_on_trial)
        run = service.last_run
        assert run is not None
        _print_run(run)
        sys.stdout.write(
            orjson.dumps(
                {
                    "embedded": stats.get("embedded", 0),
                    "status": run.status.value,
                    "served": run.served,
                    "items": len(model.item_ids),
                    "individuals": len(model.user_history),
                    "seconds": run.seconds,
                    "run": run.id,
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
