"""The latest results of each experiment reading, answered at once while a newer one is made
behind it (stale-while-revalidate), as GrowthBook's results pages read their last snapshot.

Over ten million logged decisions an experiment's results take seconds to compute from its
kept cells, and a minute or more the first time after a restart (the cells are folded and
saved); a console page must answer in a fraction of that. So a page asks for a snapshot no
older than `max_age_s`, waiting at most `wait_s` for one being made: an older one is answered
as it stands while one thread makes the next, and a reading that has none yet (or is asked
`fresh`) is made behind the page, which answers "being made" (`Snapshot.results` None, or the
older snapshot) when the wait runs out. Without `wait_s` the make runs in the caller. Each
answer says when its figures were made (`as_of`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from p13n.domain.analytics import BanditState, ExperimentResults, ResultSettings
from p13n.domain.decisions import Experiment

__all__ = ["ResultSnapshots", "Snapshot", "SNAPSHOT_MAX_AGE_S", "SNAPSHOT_WAIT_S"]

log = logging.getLogger(__name__)

SNAPSHOT_MAX_AGE_S = 60.0
"""How old a results page's figures may be before a newer snapshot is made behind it."""
SNAPSHOT_WAIT_S = 5.0
"""How long a page waits for a snapshot being made before it answers "being made"."""
_KEPT = 64  # readings kept (experiments × engines × bandit states); the oldest go first

Compute = Callable[[Experiment, ResultSettings, BanditState | None], ExperimentResults]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """`results` None: none made yet (one is being made; `error` says why the last try
    failed, if it did). `refreshing`: a newer one is being made."""

    results: ExperimentResults | None
    as_of: float | None
    refreshing: bool
    error: str | None = None


class ResultSnapshots:
    def __init__(
        self,
        compute: Compute,
        *,
        clock: Callable[[], float],
        max_age_s: float = SNAPSHOT_MAX_AGE_S,
    ) -> None:
        self.compute = compute
        self.now = clock
        self.max_age_s = max_age_s
        self._kept: dict[str, tuple[ExperimentResults, float]] = {}
        self._making: dict[str, threading.Event] = {}
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(
        self,
        experiment: Experiment,
        settings: ResultSettings,
        bandit: BanditState | None = None,
        *,
        fresh: bool = False,
        wait_s: float | None = None,
    ) -> Snapshot:
        """The reading's latest snapshot; see the module docstring for when one is made."""
        key = _key(experiment, settings, bandit)
        with self._lock:
            kept = self._kept.get(key)
        # An empty result (nobody exposed yet) is never reused: it is cheap to make again, and
        # the first units should show at once, not a minute later.
        reusable = kept is not None and not kept[0].empty and not fresh
        if reusable and kept is not None and self.now() - kept[1] <= self.max_age_s:
            return Snapshot(kept[0], kept[1], refreshing=False)
        if wait_s is None and not reusable:
            results, as_of = self._make(key, experiment, settings, bandit)
            return Snapshot(results, as_of, refreshing=False)
        done = self._start(key, experiment, settings, bandit)
        if not reusable and done.wait(wait_s or 0.0):
            with self._lock:
                newer, failed = self._kept.get(key), self._failed.get(key)
            if newer is not None and (kept is None or newer[1] > kept[1]):
                return Snapshot(newer[0], newer[1], refreshing=False)
            if kept is None:
                return Snapshot(None, None, refreshing=False, error=failed)
        if kept is None:
            return Snapshot(None, None, refreshing=True)
        return Snapshot(kept[0], kept[1], refreshing=True)

    def _start(
        self,
        key: str,
        experiment: Experiment,
        settings: ResultSettings,
        bandit: BanditState | None,
    ) -> threading.Event:
        """The event of the make running for `key`, started here if none is."""
        with self._lock:
            done = self._making.get(key)
            if done is not None:
                return done
            done = self._making[key] = threading.Event()
        threading.Thread(
            target=self._refresh,
            args=(key, experiment, settings, bandit, done),
            name="p13n-result-snapshot",
            daemon=True,
        ).start()
        return done

    def _make(
        self,
        key: str,
        experiment: Experiment,
        settings: ResultSettings,
        bandit: BanditState | None,
    ) -> tuple[ExperimentResults, float]:
        """The reading's results as of now, kept unless a newer one was kept meanwhile."""
        made_at = self.now()
        results = self.compute(experiment, settings, bandit)
        with self._lock:
            self._failed.pop(key, None)
            if key not in self._kept and len(self._kept) >= _KEPT:
                oldest = min(self._kept, key=lambda k: self._kept[k][1])
                del self._kept[oldest]
            kept = self._kept.get(key)
            if kept is None or kept[1] <= made_at:
                self._kept[key] = (results, made_at)
        return results, made_at

    def _refresh(
        self,
        key: str,
        experiment: Experiment,
        settings: ResultSettings,
        bandit: BanditState | None,
        done: threading.Event,
    ) -> None:
        try:
            self._make(key, experiment, settings, bandit)
        except Exception as exc:  # the page keeps its last snapshot; the next read tries again
            log.exception("making the results of %s failed", experiment.name)
            with self._lock:
                self._failed[key] = f"{type(exc).__name__}: {exc}"
        finally:
            with self._lock:
                self._making.pop(key, None)
            done.set()


def _key(experiment: Experiment, settings: ResultSettings, bandit: BanditState | None) -> str:
    """What a snapshot answers: an edited experiment, another engine or new bandit weights
    are another reading."""
    parts = [experiment.model_dump_json(), settings.model_dump_json()]
    parts.append(bandit.model_dump_json() if bandit is not None else "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
