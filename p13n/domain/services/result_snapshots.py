"""The latest results of each experiment reading, answered at once while a newer one is made
behind it (stale-while-revalidate), as GrowthBook's results pages read their last snapshot.

Over ten million logged decisions an experiment's results take a second or more to compute
from its kept cells; a console page must answer in a fraction of that. So a page asks for a
snapshot no older than `max_age_s`: a missing one is made in the request, an older one is
answered as it stands while one thread makes the next, and `fresh` makes it in the request.
Each answer says when it was made (`as_of`), so the page can say how old it is.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from p13n.domain.analytics import BanditState, ExperimentResults, ResultSettings
from p13n.domain.decisions import Experiment

__all__ = ["ResultSnapshots", "Snapshot", "SNAPSHOT_MAX_AGE_S"]

log = logging.getLogger(__name__)

SNAPSHOT_MAX_AGE_S = 60.0
"""How old a results page's figures may be before a newer snapshot is made behind it."""
_KEPT = 64  # readings kept (experiments × engines × bandit states); the oldest go first

Compute = Callable[[Experiment, ResultSettings, BanditState | None], ExperimentResults]


@dataclass(frozen=True, slots=True)
class Snapshot:
    results: ExperimentResults
    as_of: float
    refreshing: bool


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
        self._making: set[str] = set()
        self._lock = threading.Lock()

    def get(
        self,
        experiment: Experiment,
        settings: ResultSettings,
        bandit: BanditState | None = None,
        *,
        fresh: bool = False,
    ) -> Snapshot:
        """The reading's latest snapshot (made now when there is none, or `fresh`)."""
        key = _key(experiment, settings, bandit)
        with self._lock:
            kept = None if fresh else self._kept.get(key)
        if kept is None:
            return Snapshot(*self._make(key, experiment, settings, bandit), refreshing=False)
        results, as_of = kept
        if self.now() - as_of <= self.max_age_s:
            return Snapshot(results, as_of, False)
        with self._lock:
            start = key not in self._making
            self._making.add(key)
        if start:
            threading.Thread(
                target=self._refresh,
                args=(key, experiment, settings, bandit),
                name="p13n-result-snapshot",
                daemon=True,
            ).start()
        return Snapshot(results, as_of, True)

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
    ) -> None:
        try:
            self._make(key, experiment, settings, bandit)
        except Exception:  # the page keeps its last snapshot; the next read tries again
            log.exception("making the results of %s failed", experiment.name)
        finally:
            with self._lock:
                self._making.discard(key)


def _key(experiment: Experiment, settings: ResultSettings, bandit: BanditState | None) -> str:
    """What a snapshot answers: an edited experiment, another engine or new bandit weights
    are another reading."""
    parts = [experiment.model_dump_json(), settings.model_dump_json()]
    parts.append(bandit.model_dump_json() if bandit is not None else "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
