"""The decisioning configuration in memory: points, decisions and experiments, checked as a set.

The request path reads only these dictionaries (no SQL). Every change is validated against the
whole set (the point exists, content fits its schema, recommenders and segments exist, limits),
written through the configuration repositories, then swapped in. A `DecisionConfigs` without a
store is a scratch copy: `config apply` validates a whole file on one before writing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from pydantic import BaseModel

from p13n.domain.decisions import (
    MAX_DECISIONS_PER_POINT,
    Decision,
    Experiment,
    ManualContentSchema,
    PersonalizationPoint,
    TargetingGroup,
    referenced_segments_of,
    transition,
)
from p13n.domain.errors import Conflict, InvalidInput, NotFound
from p13n.domain.services.config_repository import ConfigRepository, ConfigStore

__all__ = ["DecisionConfigs", "POINT_KIND", "DECISION_KIND", "EXPERIMENT_KIND"]

POINT_KIND = "point"
DECISION_KIND = "decision"
EXPERIMENT_KIND = "experiment"
M = TypeVar("M", bound=BaseModel)


class DecisionConfigs:
    def __init__(
        self,
        *,
        store: ConfigStore | None,
        recommenders: Callable[[], Collection[str]],
        segments: Callable[[], Collection[str]],
        clock: Callable[[], float],
    ) -> None:
        self.store, self.recommenders, self.segments, self.clock = (
            store,
            recommenders,
            segments,
            clock,
        )
        self.point_repo = _repo(store, POINT_KIND, PersonalizationPoint, clock)
        self.decision_repo = _repo(store, DECISION_KIND, Decision, clock)
        self.experiment_repo = _repo(store, EXPERIMENT_KIND, Experiment, clock)
        self.points: dict[str, PersonalizationPoint] = {}
        self.decisions: dict[str, Decision] = {}
        self.experiments: dict[str, Experiment] = {}
        self._index()

    # -- loading and views -------------------------------------------------------------------
    def load(self) -> None:
        """(Re)read every object from the store."""
        if self.point_repo is not None:
            self.points = {p.name: p for p in self.point_repo.list()}
        if self.decision_repo is not None:
            self.decisions = {d.name: d for d in self.decision_repo.list()}
        if self.experiment_repo is not None:
            self.experiments = {e.name: e for e in self.experiment_repo.list()}
        self._index()

    def scratch(self) -> DecisionConfigs:
        """A copy that validates changes without writing them anywhere."""
        copy = DecisionConfigs(
            store=None, recommenders=self.recommenders, segments=self.segments, clock=self.clock
        )
        copy.points, copy.decisions = dict(self.points), dict(self.decisions)
        copy.experiments = dict(self.experiments)
        copy._index()
        return copy

    def _index(self) -> None:
        """Derived lookups the request path uses, rebuilt after every change."""
        self.points_by_id = {p.id: p for p in self.points.values()}
        by_point: dict[str, list[Decision]] = {}
        for d in self.decisions.values():
            by_point.setdefault(d.point, []).append(d)
        self.decisions_by_point = {
            point: sorted(ds, key=lambda d: (d.priority or 0, d.name))
            for point, ds in by_point.items()
        }
        self.live_by_point = {
            point: [d for d in ds if d.state == "Live"]
            for point, ds in self.decisions_by_point.items()
        }
        self.decisions_by_id = {d.id: d for d in self.decisions.values()}
        self.started_by_point = {
            e.point: e for e in self.experiments.values() if e.status == "Started"
        }
        self.experiments_by_id = {e.id: e for e in self.experiments.values()}

    def get_point(self, name: str) -> PersonalizationPoint:
        point = self.points.get(name)
        if point is None:
            raise NotFound(f"no personalization point '{name}'.", hint=_known(self.points))
        return point

    def get_decision(self, name: str) -> Decision:
        decision = self.decisions.get(name)
        if decision is None:
            raise NotFound(f"no decision '{name}'.", hint=_known(self.decisions))
        return decision

    def get_experiment(self, name: str) -> Experiment:
        experiment = self.experiments.get(name) or self.experiments_by_id.get(name)
        if experiment is None:
            raise NotFound(f"no experiment '{name}'.", hint=_known(self.experiments))
        return experiment

    # -- writes ------------------------------------------------------------------------------
    @staticmethod
    def write(repo: ConfigRepository[M] | None, obj: M) -> int:
        """Store `obj` through `repo`; 0 on a scratch copy (no repository, nothing written)."""
        return 0 if repo is None else repo.put(obj)

    @staticmethod
    def _delete(repo: ConfigRepository[M] | None, name: str) -> None:
        if repo is not None:
            repo.delete(name)

    def put_point(self, point: PersonalizationPoint) -> int:
        other = self.points_by_id.get(point.id)
        if other is not None and other.name != point.name:
            raise Conflict(f"point '{other.name}' already has id '{point.id}'.")
        for decision in self.decisions_by_point.get(point.name, []):
            self._check_content(decision, point)
        version = self.write(self.point_repo, point)
        self.points[point.name] = point
        self._index()
        return version

    def delete_point(self, name: str) -> None:
        self.get_point(name)
        users = [d.name for d in self.decisions_by_point.get(name, [])]
        users += [e.name for e in self.experiments.values() if e.point == name]
        if users:
            raise Conflict(
                f"point '{name}' is used by {', '.join(sorted(users))}.",
                hint="Delete those decisions and experiments first.",
            )
        self._delete(self.point_repo, name)
        del self.points[name]
        self._index()

    def with_priority(self, decision: Decision) -> Decision:
        """The decision with its priority filled in: kept from the stored one on update, else
        after every other decision of its point."""
        if decision.priority is not None:
            return decision
        stored = self.decisions.get(decision.name)
        if stored is not None and stored.point == decision.point:
            return decision.model_copy(update={"priority": stored.priority})
        others = [d.priority or 0 for d in self.decisions_by_point.get(decision.point, [])]
        return decision.model_copy(update={"priority": max(others, default=0) + 1})

    def put_decision(self, decision: Decision) -> int:
        point = self.points.get(decision.point)
        if point is None:
            raise InvalidInput(
                f"decision '{decision.name}' names point '{decision.point}', which does not exist.",
                hint="Create the point first (PUT /admin/points/{name}).",
            )
        other = self.decisions_by_id.get(decision.id)
        if other is not None and other.name != decision.name:
            raise Conflict(f"decision '{other.name}' already has id '{decision.id}'.")
        siblings = [
            d for d in self.decisions_by_point.get(point.name, []) if d.name != decision.name
        ]
        if len(siblings) >= MAX_DECISIONS_PER_POINT:
            raise InvalidInput(
                f"point '{point.name}' already has {MAX_DECISIONS_PER_POINT} decisions, the most "
                "a point may have.",
                hint="Delete or merge some decisions first.",
            )
        stored = self.decisions.get(decision.name)
        if stored is not None and stored.point != decision.point:
            self._check_not_in_experiment(stored, "move it to another point")
        self._check_content(decision, point)
        self._check_targeting(decision.targeting, f"decision '{decision.name}'")
        decision = self.with_priority(decision)
        version = self.write(self.decision_repo, decision)
        self.decisions[decision.name] = decision
        self._index()
        return version

    def delete_decision(self, name: str) -> None:
        decision = self.get_decision(name)
        self._check_not_in_experiment(decision, "delete it")
        self._delete(self.decision_repo, name)
        del self.decisions[name]
        self._index()

    def _check_not_in_experiment(self, decision: Decision, action: str) -> None:
        users = sorted(
            e.name
            for e in self.experiments.values()
            if e.status != "Archived" and any(c.decision == decision.name for c in e.cohorts)
        )
        if users:
            raise Conflict(
                f"decision '{decision.name}' is a cohort of experiment {', '.join(users)}.",
                hint=f"Archive the experiment before you {action}.",
            )

    def _check_content(self, decision: Decision, point: PersonalizationPoint) -> None:
        schema = point.content_schema
        unknown = sorted(set(decision.attributes) - set(schema.attributes))
        if unknown:
            raise InvalidInput(
                f"decision '{decision.name}' sets {', '.join(unknown)}, which point "
                f"'{point.name}' ({schema.type}) does not have.",
                hint=f"The point's attributes are: {', '.join(schema.attributes) or 'none'}.",
            )
        if isinstance(schema, ManualContentSchema):
            if decision.recommender is not None:
                raise InvalidInput(
                    f"decision '{decision.name}' names a recommender, but point '{point.name}' "
                    "shows manual content.",
                    hint="Remove 'recommender', or use a point with a Recommendations schema.",
                )
            return
        if decision.recommender is None:
            raise InvalidInput(
                f"decision '{decision.name}' needs a recommender: point '{point.name}' shows "
                "recommendations.",
                hint="Set 'recommender' to one of GET /admin/recommenders.",
            )
        self._check_recommender(decision.recommender, f"decision '{decision.name}'")

    def _check_recommender(self, name: str, owner: str) -> None:
        known = self.recommenders()
        if name not in known:
            raise InvalidInput(
                f"{owner} names recommender '{name}', which does not exist.",
                hint=f"Known: {', '.join(sorted(known))}.",
            )

    def _check_targeting(self, targeting: TargetingGroup, owner: str) -> None:
        missing = sorted(referenced_segments_of(targeting) - set(self.segments()))
        if missing:
            raise InvalidInput(
                f"{owner} targets segment {', '.join(missing)}, which does not exist.",
                hint="Create the segment first, or fix the name (GET /admin/segments).",
            )

    def put_experiment(self, experiment: Experiment) -> int:
        """Create or change an experiment; a different status must be one allowed move away."""
        stored = self.experiments.get(experiment.name)
        current = stored.status if stored is not None else "Created"
        if experiment.status != current:
            base = stored or experiment.model_copy(update={"status": "Created"})
            experiment = transition(base, experiment.status, self.clock()).model_copy(
                update={
                    k: v for k, v in experiment if k not in ("status", "started_at", "stopped_at")
                }
            )
        elif stored is not None:
            experiment = experiment.model_copy(
                update={"started_at": stored.started_at, "stopped_at": stored.stopped_at}
            )
        if stored is not None and stored.status != "Created" and not stored.same_design(experiment):
            raise Conflict(
                f"experiment '{experiment.name}' has run; its point, cohorts and targeting "
                "cannot change.",
                hint="Create a new experiment instead.",
            )
        self._check_experiment(experiment)
        version = self.write(self.experiment_repo, experiment)
        self.experiments[experiment.name] = experiment
        self._index()
        return version

    def move_experiment(self, name: str, status: str) -> Experiment:
        experiment = transition(self.get_experiment(name), status, self.clock())
        self._check_experiment(experiment)
        self.write(self.experiment_repo, experiment)
        self.experiments[experiment.name] = experiment
        self._index()
        return experiment

    def delete_experiment(self, name: str) -> None:
        experiment = self.get_experiment(name)
        if experiment.status == "Started":
            raise Conflict(f"experiment '{experiment.name}' is running.", hint="Stop it first.")
        self._delete(self.experiment_repo, experiment.name)
        del self.experiments[experiment.name]
        self._index()

    def _check_experiment(self, experiment: Experiment) -> None:
        owner = f"experiment '{experiment.name}'"
        point = self.points.get(experiment.point)
        if point is None:
            raise InvalidInput(
                f"{owner} names point '{experiment.point}', which does not exist.",
                hint="Create the point first.",
            )
        other = self.experiments_by_id.get(experiment.id)
        if other is not None and other.name != experiment.name:
            raise Conflict(f"experiment '{other.name}' already has id '{experiment.id}'.")
        for cohort in experiment.cohorts:
            if cohort.decision is not None:
                decision = self.decisions.get(cohort.decision)
                if decision is None or decision.point != point.name:
                    raise InvalidInput(
                        f"{owner}: cohort '{cohort.id}' names decision '{cohort.decision}', "
                        f"which is not a decision of point '{point.name}'.",
                        hint="Use one of GET /admin/decisions?point=" + point.name + ".",
                    )
            if cohort.recommender is not None:
                if isinstance(point.content_schema, ManualContentSchema):
                    raise InvalidInput(
                        f"{owner}: cohort '{cohort.id}' names a recommender, but point "
                        f"'{point.name}' shows manual content.",
                        hint="Point the cohort at a decision instead.",
                    )
                self._check_recommender(cohort.recommender, f"{owner}, cohort '{cohort.id}'")
        self._check_targeting(experiment.targeting, owner)
        running = self.started_by_point.get(experiment.point)
        if (
            experiment.status == "Started"
            and running is not None
            and running.name != experiment.name
        ):
            raise Conflict(
                f"point '{experiment.point}' already runs experiment '{running.name}'.",
                hint="Stop it first: one experiment per point at a time.",
            )

    def export(self) -> dict[str, list[dict[str, Any]]]:
        def dump(objects: Collection[Any]) -> list[dict[str, Any]]:
            return [o.model_dump(mode="json", by_alias=True) for o in objects]

        return {
            "points": dump(sorted(self.points.values(), key=lambda p: p.name)),
            "decisions": dump(
                sorted(self.decisions.values(), key=lambda d: (d.point, d.priority or 0, d.name))
            ),
            "experiments": dump(sorted(self.experiments.values(), key=lambda e: e.name)),
        }


def _repo(
    store: ConfigStore | None, kind: str, model: type[M], clock: Callable[[], float]
) -> ConfigRepository[M] | None:
    """The repository of one kind (stored by alias, as the admin API spells it); None without
    a store."""
    if store is None:
        return None
    return ConfigRepository(store, kind, model, clock=clock, by_alias=True)


def _known(objects: Collection[str]) -> str:
    names = sorted(objects)
    return f"Known: {', '.join(names[:20])}." if names else "None is configured yet."
