"""Reading an experiment's results for the faces: one parser of the parameters, one lister, and
one wording of the outcome, shared by `GET /analytics/experiments[/{name}]`, `p13n analytics
experiment` and `get_performance`'s experiment form.

`read_experiment` finds the experiment by name (NotFound naming the known ones), turns the
parameters into `ResultSettings` (InvalidInput saying what to send), picks the metrics (the
experiment's by default; a named list keeps the experiment's primary metric primary when it is
in it, else the first named is primary), hands a bandit its weight history, and calls
`MeasureService.experiment_results`. `verdict_lines` words the outcome in sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.analytics import (
    ENGINES,
    BanditState,
    ExperimentResults,
    MetricResults,
    parse_result_settings,
    parse_window,
    resolve_metrics,
)
from p13n.domain.decisions import Experiment
from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.services import DecisionService, MeasureService

__all__ = [
    "ExperimentListing",
    "ExperimentList",
    "find_experiment",
    "read_experiment",
    "list_experiments",
    "verdict_lines",
    "headline",
]


def find_experiment(decisions: DecisionService, name: str) -> Experiment:
    """The experiment called `name` (or with that id); NotFound naming the known ones."""
    experiments = decisions.configs.experiments
    found = experiments.get(name) or next(
        (e for e in experiments.values() if e.id and e.id == name), None
    )
    if found is None:
        known = ", ".join(sorted(experiments)) or "none yet"
        raise NotFound(
            f"no experiment called {name!r}.",
            hint=f"Known experiments: {known}. List them with GET /analytics/experiments.",
        )
    return found


def _seconds(value: str | float, what: str, *, zero_ok: bool = False) -> float:
    """A duration in seconds ('14d', '24h', 3600); InvalidInput names the parameter."""
    if zero_ok and str(value).strip() in ("0", "0s", "0m", "0h", "0d", "0.0"):
        return 0.0
    try:
        return parse_window(value)
    except InvalidInput:
        off = " or 0 to turn CUPED off" if zero_ok else ""
        raise InvalidInput(
            f"{what} {value!r} is not a positive duration.",
            hint=f"Use a positive <n>s|m|h|d such as 7d or 24h, or seconds{off}.",
        ) from None


def _metric_names(experiment: Experiment, metrics: Sequence[str]) -> list[str]:
    names = [m.strip() for chunk in metrics for m in chunk.split(",") if m.strip()]
    if not names:
        return [experiment.primary_metric, *experiment.secondary_metrics]
    resolve_metrics(names)  # InvalidInput naming the unknown ones and the known
    unique = list(dict.fromkeys(names))
    if experiment.primary_metric in unique:
        unique.remove(experiment.primary_metric)
        unique.insert(0, experiment.primary_metric)
    return unique


def read_experiment(
    decisions: DecisionService,
    measure: MeasureService,
    name: str,
    *,
    engine: str = "bayesian",
    metrics: Sequence[str] = (),
    window: str | float = "7d",
    pre_window: str | float = "14d",
    min_units: int | None = None,
) -> ExperimentResults:
    """The results of experiment `name`. metrics: built-in metric names (repeat or
    comma-separate; default: the experiment's); window: what counts after a unit's first
    exposure; pre_window: CUPED's look-back before it (0: off); min_units: per cohort before a
    verdict (default 1,000)."""
    experiment = find_experiment(decisions, name)
    if engine not in ENGINES:
        raise InvalidInput(f"unknown engine {engine!r}.", hint=f"Use one of: {', '.join(ENGINES)}.")
    if min_units is not None and min_units < 1:
        raise InvalidInput(
            f"min units {min_units} is not positive.",
            hint="Send the units every cohort needs before a verdict, e.g. 1000 (the default).",
        )
    given: dict[str, Any] = {
        "engine": engine,
        "window": _seconds(window, "window"),
        "pre_window": _seconds(pre_window, "pre-window", zero_ok=True),
    }
    if min_units is not None:
        given["min_units"] = min_units
    settings = parse_result_settings(given)
    names = _metric_names(experiment, metrics)
    return measure.experiment_results(
        experiment, settings, bandit=_bandit_of(decisions, experiment), metrics=names
    )


def _bandit_of(decisions: DecisionService, experiment: Experiment) -> BanditState | None:
    if experiment.mode != "bandit" or experiment.started_at is None:
        return None
    return decisions.bandits.state(experiment)


class ExperimentListing(BaseModel):
    """One experiment with its status and how many units it has exposed per cohort."""

    model_config = ConfigDict(frozen=True)

    name: str
    label: str
    point: str
    status: str
    mode: str
    primaryMetric: str
    startedAt: float | None = Field(description="Epoch seconds (UTC), None until started.")
    stoppedAt: float | None
    units: int = Field(description="Units exposed so far (0 until it serves traffic).")
    cohorts: dict[str, int] = Field(description="Units per cohort id, the control first.")
    headline: str = Field(description="The primary metric's verdict in words.")


class ExperimentList(BaseModel):
    experiments: list[ExperimentListing]


def list_experiments(decisions: DecisionService, measure: MeasureService) -> ExperimentList:
    """Every experiment by name with its units per cohort (read like its results, without
    CUPED's look-back)."""
    found = []
    for name in sorted(decisions.configs.experiments):
        experiment = decisions.configs.experiments[name]
        results = read_experiment(decisions, measure, name, pre_window=0)
        found.append(
            ExperimentListing(
                name=name,
                label=experiment.label,
                point=experiment.point,
                status=experiment.status,
                mode=experiment.mode,
                primaryMetric=experiment.primary_metric,
                startedAt=experiment.started_at,
                stoppedAt=experiment.stopped_at,
                units=results.units,
                cohorts={c.cohort: c.units for c in results.cohorts},
                headline=headline(results),
            )
        )
    return ExperimentList(experiments=found)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1%}"


def _metric_line(metric: MetricResults) -> list[str]:
    lines = []
    for c in metric.comparisons:
        b = c.bayesian
        interval = (
            f" ({_pct(b.ci_low)} to {_pct(b.ci_high)})"
            if b.ci_low is not None and b.ci_high is not None
            else ""
        )
        lines.append(
            f"{metric.metric}: {c.cohort} {_pct(c.lift)} against the control{interval}."
            f" {c.verdict.reason}"
        )
    return lines


def headline(results: ExperimentResults) -> str:
    """One sentence: the experiment's state and the primary metric's verdicts."""
    if results.empty:
        return results.message
    return f"{results.units:,} units so far. {results.message}"


def verdict_lines(results: ExperimentResults) -> list[str]:
    """The outcome in sentences: the headline, the split check, each metric's verdicts (the
    primary first), the warnings."""
    if results.empty:
        return [results.message]
    lines = [headline(results)]
    if results.srm is not None:
        lines.append(f"Split check: {results.srm.message}")
    for metric in sorted(results.metrics, key=lambda m: not m.primary):
        lines.extend(_metric_line(metric))
    lines.extend(f"Warning: {w}" for w in results.warnings)
    return lines
