"""One `p13n train` run: tune, compare with the baselines and the serving model, promote or keep;
and the history of runs, one JSON file per run in the models folder.

Why JSON files beside the model and not a table: a run describes the model file next to it
(`objective.npz`), both live and die with the models folder (a copied or restored folder keeps
its history), a run is written once and never updated, and `p13n train` can record an
interrupted run without a store transaction. Each file is written atomically (temp + rename).

Promotion, in order:
1. too little data to tune (fewer than `MIN_ENGAGEMENTS` engagements or `MIN_VISITORS` visitors):
   the defaults are fitted on all data and promoted, and the run says why;
2. otherwise the best of ours is the winner when its validation score (the worst ratio to the
   tuned EASE over the split's hold-outs and NDCG@10 / Recall@10, `TuneResult.score`) is at
   least the best baseline's, else the better baseline is (served through the same model interface: a baseline
   is a `ModelParams` setting of `train_model`, see `tuning.py`);
3. a winner validating below the serving model's parameters (refitted on the same split) is not
   promoted (status `kept`) unless `force`;
4. the winner is fitted on all data and only then handed back; an exception or a signal before
   that promotes nothing (status `interrupted` or `failed`) and the serving model stays.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.recommend import (
    SWITCH_NOTE,
    CandidateName,
    Interactions,
    ModelParams,
    RecommenderConfig,
    SplitKind,
    TrainedModel,
    Trial,
    TuneResult,
    rule_costs,
    suggested_weight,
    train_model,
    tune,
)

__all__ = [
    "RunStatus",
    "TrainOptions",
    "CandidateReport",
    "ModelRun",
    "RunStore",
    "run_training",
    "MIN_ENGAGEMENTS",
    "MIN_VISITORS",
    "DEFAULT_BUDGET_SECONDS",
]

MIN_ENGAGEMENTS = 1_000
MIN_VISITORS = 50
DEFAULT_BUDGET_SECONDS = 240.0
"""Sized so that a MovieLens-1M-sized tenant (1M events) tunes and fits in under 5 minutes on
two cores: the budget covers the search; the final fit and reading the log come on top."""


class RunStatus(StrEnum):
    PROMOTED = "promoted"
    """The run's winner was fitted on all data and serves now."""
    KEPT = "kept"
    """The winner validated below the serving model on the same split: nothing promoted."""
    INTERRUPTED = "interrupted"
    """Stopped by a signal (Ctrl-C, SIGTERM) before promotion: nothing promoted."""
    FAILED = "failed"
    """An error before promotion (`error` says which): nothing promoted."""


class TrainOptions(BaseModel):
    """What `p13n train` was asked for."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tune: bool = True
    budget_seconds: float = Field(DEFAULT_BUDGET_SECONDS, gt=0)
    split: SplitKind = "both"
    seed: int = 0
    force: bool = False
    max_trials: int | None = Field(None, ge=1)


class CandidateReport(BaseModel):
    """One fitted candidate's validation figures (NDCG@10, Recall@10, coverage of the catalog)."""

    model_config = ConfigDict(frozen=True)
    name: str = Field(description="ours, ease, popularity or serving (the model serving before)")
    params: dict[str, Any]
    ndcg_at_10: float
    recall_at_10: float
    coverage: float
    fit_seconds: float
    holdouts: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="per hold-out of the split (temporal, random): ndcg_at_10, recall_at_10, coverage",
    )
    vs_ease: float | None = Field(
        None,
        description="the worst ratio to the tuned EASE over the hold-outs and NDCG@10 / Recall@10: what the run chose by",
    )


class ModelRun(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime
    seconds: float
    tuned: bool = Field(description="false: the fixed defaults (--no-tune or too little data)")
    forced: bool = False
    split: str | None = Field(None, description="both, temporal or random; None: no validation")
    seed: int
    budget_seconds: float | None
    engagements: int
    visitors: int
    items: int | None = Field(None, description="items in the promoted model")
    served: str | None = Field(
        None, description="which candidate serves after this run: ours, ease or popularity"
    )
    params: dict[str, Any] | None = Field(None, description="the parameters of `served`")
    validation: CandidateReport | None = Field(None, description="the promoted candidate")
    candidates: list[CandidateReport] = Field(
        default_factory=list, description="the best of each kind, then every trial of ours"
    )
    trials: int = 0
    validation_users: int = 0
    notes: list[str] = Field(default_factory=list)
    error: str | None = None
    rules_of: str | None = Field(
        None, description="the recommender whose business rules `rule_costs` measured"
    )
    rule_costs: list[dict[str, Any]] = Field(
        default_factory=list,
        description="per rule of `rules_of` (and all together, 'as shipped'), validation "
        "NDCG@10, Recall@10, coverage and ndcg_cost = 1 - NDCG@10 / the bare model's, on the "
        "best of ours",
    )


class RunStore:
    """`<models>/runs/<started>-<id>.json`, newest last."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "runs"

    def save(self, run: ModelRun) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{run.started_at:%Y%m%dT%H%M%S%f}-{run.id}.json"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_text(run.model_dump_json(indent=1))
        os.replace(tmp, self.folder / name)
        return self.folder / name

    def list(self) -> list[ModelRun]:
        if not self.folder.exists():
            return []
        return [
            ModelRun.model_validate_json(p.read_text()) for p in sorted(self.folder.glob("*.json"))
        ]


def _report(trial: Trial, result: TuneResult) -> CandidateReport:
    return CandidateReport(
        name=trial.name,
        params=asdict(trial.params),
        ndcg_at_10=trial.metrics.ndcg_at_10,
        recall_at_10=trial.metrics.recall_at_10,
        coverage=trial.metrics.coverage,
        fit_seconds=trial.fit_seconds,
        holdouts={
            h: {"ndcg_at_10": m.ndcg_at_10, "recall_at_10": m.recall_at_10, "coverage": m.coverage}
            for h, m in trial.holdouts.items()
        },
        vs_ease=round(result.score(trial), 4),
    )


def _choose(result: TuneResult, notes: list[str]) -> Trial:
    """Ours, unless a baseline scores higher (the worst ratio to the tuned EASE over the
    split's hold-outs and NDCG@10 / Recall@10, `TuneResult.score`)."""
    ours = result.best("ours")
    baselines = [b for b in (result.best("ease"), result.best("popularity")) if b is not None]
    assert ours is not None and baselines
    base = max(baselines, key=result.key)
    if result.key(ours) >= result.key(base):
        return ours
    notes.append(
        f"serving the {base.name} baseline: it validated better than ours "
        f"(NDCG@10 {base.metrics.ndcg_at_10:.4f} vs {ours.metrics.ndcg_at_10:.4f}; worst "
        f"ratio to the tuned EASE {result.score(base):.3f} vs {result.score(ours):.3f})"
    )
    return base


def run_training(
    data: Interactions,
    *,
    now: float,
    base: ModelParams,
    options: TrainOptions,
    serving: TrainedModel | None,
    store: RunStore | None,
    on_trial: Callable[[Trial], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    rules: RecommenderConfig | None = None,
    categories: Mapping[str, str] | None = None,
) -> tuple[ModelRun, TrainedModel | None]:
    """The run of the module docstring; the model is None unless the run promoted one. The
    run is stored in every case; an exception or signal is re-raised after storing it."""
    started = datetime.now(UTC)
    t0 = clock()
    visitors = len(set(data.users))
    head: dict[str, Any] = {
        "id": uuid.uuid4().hex[:8],
        "started_at": started,
        "seed": options.seed,
        "engagements": len(data),
        "visitors": visitors,
        "forced": options.force,
    }
    notes: list[str] = []
    candidates: list[CandidateReport] = []
    tuned = False
    split: str | None = None
    budget: float | None = None

    def finish(status: RunStatus, **extra: Any) -> ModelRun:
        run = ModelRun(
            **head,
            status=status,
            finished_at=datetime.now(UTC),
            seconds=round(clock() - t0, 3),
            tuned=tuned,
            split=split,
            budget_seconds=budget,
            candidates=candidates,
            notes=notes,
            **extra,
        )
        if store is not None:
            store.save(run)
        return run

    try:
        if len(data) < MIN_ENGAGEMENTS or visitors < MIN_VISITORS:
            notes.append(
                f"too little data to tune: {len(data):,} engagements and {visitors:,} visitors "
                f"(tuning needs at least {MIN_ENGAGEMENTS:,} and {MIN_VISITORS:,}); "
                "trained with the defaults"
            )
            model = train_model(data, base, now=now)
            run = finish(
                RunStatus.PROMOTED,
                items=len(model.item_ids),
                served="ours",
                params=asdict(base),
            )
            return run, model
        tuned, split = options.tune, options.split
        budget = options.budget_seconds if options.tune else None
        if not options.tune:
            notes.append("--no-tune: the fixed defaults, compared with the baselines")
        result = tune(
            data,
            base=base,
            now=now,
            budget_seconds=options.budget_seconds if options.tune else float("inf"),
            split=options.split,
            seed=options.seed,
            search=options.tune,
            serving=serving.params if serving is not None else None,
            max_trials=options.max_trials,
            on_trial=on_trial,
            clock=clock,
        )
        kinds: tuple[CandidateName, ...] = ("ours", "ease", "popularity", "serving")
        best = [result.best(n) for n in kinds]
        candidates.extend(_report(t, result) for t in best if t is not None)
        candidates.extend(_report(t, result) for t in result.trials if t.name == "ours")
        winner = _choose(result, notes)
        extra: dict[str, Any] = {
            "trials": sum(t.name == "ours" for t in result.trials),
            "validation_users": len(result.split.truth),
            "validation": _report(winner, result),
        }
        if result.stopped != "no search":
            notes.append(f"search ended: {result.stopped}")
        fitted = result.models.get("ours")
        if rules is not None and categories is not None and fitted is not None:
            costs = rule_costs(
                fitted[0], result.split, rules, categories, popularity_exponent=fitted[1]
            )
            extra["rules_of"] = rules.name
            extra["rule_costs"] = [c.as_dict() for c in costs]
            if rules.switches.exclude_viewed_days or rules.switches.exclude_in_cart:
                notes.append(f"{rules.name}'s switches (viewed, cart, purchased): {SWITCH_NOTE}")
            w = suggested_weight(costs)
            notes.append(
                f"diversity: the largest re-ranking weight costing at most 0.5% of NDCG@10 "
                f"on this data is {w:g}"
            )
        held = result.best("serving")
        if held is not None and result.key(winner) < result.key(held):
            if not options.force:
                notes.append(
                    f"not promoted: validated below the serving model (NDCG@10 "
                    f"{winner.metrics.ndcg_at_10:.4f} vs {held.metrics.ndcg_at_10:.4f}; worst "
                    f"ratio to the tuned EASE {result.score(winner):.3f} vs "
                    f"{result.score(held):.3f}); --force promotes it anyway"
                )
                return finish(RunStatus.KEPT, **extra), None
            notes.append("promoted with --force although it validated below the serving model")
        model = train_model(data, winner.params, now=now)
        run = finish(
            RunStatus.PROMOTED,
            items=len(model.item_ids),
            served=winner.name,
            params=asdict(winner.params),
            **extra,
        )
        return run, model
    except (KeyboardInterrupt, SystemExit):
        notes.append("interrupted before promotion: the serving model stays")
        finish(RunStatus.INTERRUPTED)
        raise
    except Exception as exc:
        finish(RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
