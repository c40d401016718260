"""Sticky, deterministic cohort assignment.

The cohort is a pure function of (experiment id, key): SHA-256 of `"<id>:<key>"` gives a bucket
in [0, 10000), and cohorts own consecutive ranges of buckets in proportion to their weights.
The key is the unified individual id when the request gives one (the same person on every
channel), else the individual id. The same person lands in the same cohort on every request and
in every process, with nothing stored.
"""

from __future__ import annotations

import hashlib

from p13n.domain.decisions.experiments import Cohort, Experiment

__all__ = ["bucket", "assign", "BUCKETS"]

BUCKETS = 10_000


def bucket(experiment_id: str, key: str) -> int:
    digest = hashlib.sha256(f"{experiment_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(experiment: Experiment, key: str) -> Cohort:
    """The cohort of `key` in `experiment` (weights are percentages summing to 100)."""
    b = bucket(experiment.id, key)
    upper = 0
    for cohort in experiment.cohorts:
        upper += cohort.weight * (BUCKETS // 100)
        if b < upper:
            return cohort
    return experiment.cohorts[-1]
