"""Sticky, deterministic cohort assignment.

The cohort is a pure function of (experiment id, key): SHA-256 of `"<id>:<key>"` gives a bucket
in [0, 10000), and cohorts own consecutive ranges of buckets in proportion to their weights.
The key is the unified individual id when the request gives one (the same person on every
channel), else the individual id. The same person lands in the same cohort on every request and
in every process, with nothing stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from p13n.domain.decisions.experiments import Cohort, Experiment

__all__ = ["bucket", "assign", "BUCKETS"]

BUCKETS = 10_000


def bucket(experiment_id: str, key: str) -> int:
    digest = hashlib.sha256(f"{experiment_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(experiment: Experiment, key: str, shares: Mapping[str, float] | None = None) -> Cohort:
    """The cohort of `key` in `experiment`: the one whose consecutive range of buckets holds
    the key's bucket. The ranges follow the cohorts' weights (percentages summing to 100), or
    `shares` (cohort id -> fraction summing to 1: a bandit's weights in force; a cohort it
    does not name gets none)."""
    b = bucket(experiment.id, key)
    upper = 0.0
    for cohort in experiment.cohorts:
        if shares is None:
            upper += cohort.weight * (BUCKETS // 100)  # whole buckets: exact
        else:
            upper += shares.get(cohort.id, 0.0) * BUCKETS
        if b < upper:
            return cohort
    return experiment.cohorts[-1]
