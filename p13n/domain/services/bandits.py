"""Experiments in `bandit` mode: sticky cohorts under moving weights, and their re-weighting.

An A/B experiment's cohort is a pure function of (experiment, unit) (`decisions.assign`). A
bandit's weights move, so that function would move units between cohorts; instead a unit's
first cohort is stored (`BanditStore`, written once per unit: the only write on the decision
path, and only for a unit the bandit has not seen) and kept in memory. A new unit draws its
cohort with the weights in force (`decisions.assign` with the state's shares: its hash bucket
against their cumulative ranges), so the draw is deterministic and its chance is the weight (its propensity, which
`BanditState.propensity` gives back from the history for the results' stratification).

`rebalance_due` re-weights each Started bandit whose interval has passed, from the primary
metric's per-cohort statistics that the caller computes (the Measure service), and stores the
new state; a server calls it on a schedule.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from p13n.domain.analytics import BanditState, Summary, rebalance, start_bandit
from p13n.domain.decisions import Cohort, Experiment, assign
from p13n.domain.store import BanditStore, SqlStore

__all__ = ["Bandits", "ArmsOf"]

log = logging.getLogger(__name__)

# The primary metric's statistics per cohort id of one experiment (the Measure service's).
ArmsOf = Callable[[Experiment], Mapping[str, Summary]]


class Bandits:
    def __init__(self, store: SqlStore, *, clock: Callable[[], float]) -> None:
        self.rows = BanditStore(store)
        self.clock = clock
        self._states: dict[str, BanditState] = {}
        self._sticky: dict[str, dict[str, tuple[str, float]]] = {}  # experiment id -> unit ->
        self._lock = threading.Lock()

    def assign(self, experiment: Experiment, key: str) -> Cohort:
        """A bandit's cohort for the unit: as stored, else drawn now with the weights in force
        (and stored). `DecisionService.assign_cohort` sends A/B experiments to `assign`."""
        by_id = {c.id: c for c in experiment.cohorts}
        sticky = self._sticky_of(experiment)
        known = sticky.get(key)
        if known is not None and known[0] in by_id:
            return by_id[known[0]]
        with self._lock:
            known = sticky.get(key)
            if known is not None and known[0] in by_id:
                return by_id[known[0]]
            now = self.clock()
            cohort = assign(experiment, key, self.state(experiment).weights)
            sticky[key] = (cohort.id, now)
            self.rows.add_assignments([(experiment.id, key, cohort.id, now)])
        return cohort

    def forget_units(self, units: set[str]) -> int:
        """Drop the in-memory sticky assignments of `units` (an erased person; the store's rows
        are deleted by the erasure). Returns how many were dropped."""
        dropped = 0
        with self._lock:
            for sticky in self._sticky.values():
                for unit in units & sticky.keys():
                    del sticky[unit]
                    dropped += 1
        return dropped

    def state(self, experiment: Experiment) -> BanditState:
        """The stored state, else one starting from the configured weights when it started."""
        found = self._states.get(experiment.name)
        if found is None:
            text = self.rows.state(experiment.name)
            if text is not None:
                found = BanditState.model_validate_json(text)
            else:
                found = start_bandit(
                    experiment.name,
                    {c.id: float(c.weight) for c in experiment.cohorts},
                    now=experiment.started_at or self.clock(),
                    interval=float(experiment.bandit.interval_seconds),
                    min_share=experiment.bandit.min_share,
                )
            self._states[experiment.name] = found
        return found

    def rebalance_due(
        self, experiments: Iterable[Experiment], arms_of: ArmsOf, *, seed: int = 0
    ) -> list[str]:
        """Re-weight every Started bandit whose interval has passed; the names re-weighted. A
        failure is logged and that bandit keeps its weights until the next call."""
        now = self.clock()
        done: list[str] = []
        for experiment in experiments:
            if experiment.mode != "bandit" or experiment.status != "Started":
                continue
            state = self.state(experiment)
            if not state.due(now):
                continue
            try:
                rng = np.random.default_rng([seed, len(state.history)])
                new = rebalance(state, arms_of(experiment), now=now, rng=rng)
            except Exception:
                log.exception("re-weighting the bandit %s failed", experiment.name)
                continue
            self.rows.put_state(experiment.name, new.model_dump_json(), now)
            self._states[experiment.name] = new
            done.append(experiment.name)
        return done

    def _sticky_of(self, experiment: Experiment) -> dict[str, tuple[str, float]]:
        found = self._sticky.get(experiment.id)
        if found is None:
            with self._lock:
                found = self._sticky.get(experiment.id)
                if found is None:
                    found = self.rows.assignments(experiment.id)
                    self._sticky[experiment.id] = found
        return found
