"""Experiments as data: metrics, targeting, cohorts with weights, and the lifecycle.

Lifecycle: Created -> Started -> Stopped -> Archived (a Created experiment may also be archived
without running). Only these transitions are allowed; a Started or Stopped experiment's cohorts,
weights, point and targeting cannot change (that would mix two experiments in one result).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from p13n.domain.decisions.config import API_NAME_PATTERN, stable_id
from p13n.domain.decisions.targeting import ALWAYS, TargetingGroup
from p13n.domain.errors import Conflict

__all__ = [
    "BanditSettings",
    "ExperimentMode",
    "Cohort",
    "Experiment",
    "ExperimentStatus",
    "Metric",
    "TRANSITIONS",
    "ACTIONS",
    "transition",
]

ExperimentStatus = Literal["Created", "Started", "Stopped", "Archived"]
ExperimentMode = Literal["ab", "bandit"]
Metric = Literal[
    "Click-Through Rate",
    "Conversion Rate",
    "Add To Cart Rate",
    "Revenue Per Visitor",
    "Average Order Value",
    "Orders",
    "Revenue",
]
TRANSITIONS: dict[str, frozenset[str]] = {
    "Created": frozenset({"Started", "Archived"}),
    "Started": frozenset({"Stopped"}),
    "Stopped": frozenset({"Archived"}),
    "Archived": frozenset(),
}
# The admin API's verbs (`POST /admin/experiments/{name}:start`) and the status each leads to.
ACTIONS = {"start": "Started", "stop": "Stopped", "archive": "Archived"}
ApiName = Annotated[str, Field(pattern=API_NAME_PATTERN)]


class Cohort(BaseModel):
    """One arm: `weight` percent of the experiment's traffic, served by a decision, a
    recommender, or (`deferToDecisions`, first cohort only) the point's live decisions."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: ApiName
    weight: int = Field(ge=1, le=100)
    decision: ApiName | None = None
    recommender: str | None = Field(default=None, min_length=1, max_length=40)
    defer_to_decisions: bool = Field(default=False, alias="deferToDecisions")

    @model_validator(mode="after")
    def _one_source(self) -> Cohort:
        given = sum([self.decision is not None, self.recommender is not None])
        given += int(self.defer_to_decisions)
        if given != 1:
            raise ValueError(
                f"cohort {self.id!r} needs exactly one of decision, recommender or deferToDecisions"
            )
        return self


class BanditSettings(BaseModel):
    """How a `bandit` experiment re-weights: every `intervalSeconds` (hourly by default)
    Thompson sampling on the primary metric moves new units' traffic, never below
    `minShare` per cohort; units already assigned keep their cohort."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    interval_seconds: int = Field(default=3600, ge=60, le=30 * 86400, alias="intervalSeconds")
    min_share: float = Field(default=0.05, ge=0.0, le=0.5, alias="minShare")


class Experiment(BaseModel):
    """A test at one point: the first cohort is the control."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: ApiName
    id: str = Field(default="", max_length=64)
    label: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=1000)
    point: ApiName
    primary_metric: Metric = Field(alias="primaryMetric")
    secondary_metrics: list[Metric] = Field(
        default_factory=list, alias="secondaryMetrics", max_length=10
    )
    targeting: TargetingGroup = ALWAYS
    cohorts: list[Cohort] = Field(min_length=2, max_length=10)
    mode: ExperimentMode = Field(
        default="ab",
        description="ab: fixed weights; bandit: weights follow the primary metric (`bandit`).",
    )
    bandit: BanditSettings = Field(default_factory=BanditSettings)
    status: ExperimentStatus = "Created"
    started_at: float | None = Field(default=None, alias="startedAt")
    stopped_at: float | None = Field(default=None, alias="stoppedAt")

    @model_validator(mode="after")
    def _check(self) -> Experiment:
        if not self.id:
            object.__setattr__(self, "id", stable_id("experiment", self.name))
        total = sum(c.weight for c in self.cohorts)
        if total != 100:
            raise ValueError(f"cohort weights must sum to 100, they sum to {total}")
        ids = [c.id for c in self.cohorts]
        if len(set(ids)) != len(ids):
            raise ValueError("two cohorts have the same id")
        if any(c.defer_to_decisions for c in self.cohorts[1:]):
            raise ValueError("only the first cohort (the control) may defer to decisions")
        if self.mode == "bandit" and self.bandit.min_share * len(self.cohorts) > 1:
            raise ValueError(
                f"bandit.minShare {self.bandit.min_share} x {len(self.cohorts)} cohorts is over "
                "100 %; lower it"
            )
        return self

    def same_design(self, other: Experiment) -> bool:
        """Whether the parts that define what is measured are the same."""
        return (self.point, self.cohorts, self.targeting, self.mode, self.bandit) == (
            other.point,
            other.cohorts,
            other.targeting,
            other.mode,
            other.bandit,
        )


def transition(experiment: Experiment, status: str, now: float) -> Experiment:
    """The experiment moved to `status`, or Conflict naming the allowed moves."""
    allowed = TRANSITIONS[experiment.status]
    if status not in allowed:
        moves = ", ".join(sorted(allowed)) or "none (archived is final)"
        raise Conflict(
            f"experiment '{experiment.name}' is {experiment.status} and cannot become {status}.",
            hint=f"Allowed from {experiment.status}: {moves}.",
        )
    update: dict[str, object] = {"status": status}
    if status == "Started":
        update["started_at"] = now
    if status == "Stopped":
        update["stopped_at"] = now
    return experiment.model_copy(update=update)
