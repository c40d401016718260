"""Experiments: cohorts with weights, the lifecycle and sticky assignment."""

from p13n.domain.experiments.assign import BUCKETS, assign, bucket
from p13n.domain.experiments.model import (
    ACTIONS,
    TRANSITIONS,
    Cohort,
    Experiment,
    ExperimentStatus,
    Metric,
    transition,
)

__all__ = [
    "ACTIONS",
    "BUCKETS",
    "TRANSITIONS",
    "Cohort",
    "Experiment",
    "ExperimentStatus",
    "Metric",
    "assign",
    "bucket",
    "transition",
]
