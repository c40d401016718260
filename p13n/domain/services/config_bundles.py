"""Declarative configuration: one document with insights, segments, recommenders, points,
decisions and experiments, applied as a whole (`p13n config apply FILE.yaml`) or exported.

Apply is validate-everything-then-write: every object is parsed, then the whole set (the file
over what is stored) is checked on scratch copies - segment and insight sets, recommender
fallbacks, and a scratch copy of the decisioning configuration - before the first write. An invalid file
changes nothing. Objects equal to the stored ones are not written, so applying a file twice
writes nothing the second time. Objects that are stored but not in the file are kept (apply
never deletes). Experiments may be declared in any lifecycle state when new; a stored one may
only move one allowed step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from p13n.domain.decisions import Decision, Experiment, PersonalizationPoint
from p13n.domain.errors import InvalidInput, P13nError
from p13n.domain.insights import InsightDefinition, validate_insight_set
from p13n.domain.recommend import RecommenderConfig
from p13n.domain.segments import SegmentDefinition, validate_segment_set
from p13n.domain.services.decision_configs import DecisionConfigs
from p13n.domain.services.decision_service import DecisionService

__all__ = ["ConfigBundle", "ApplyReport", "parse_bundle", "apply_bundle", "export_bundle", "KINDS"]

KINDS = ("insights", "segments", "recommenders", "points", "decisions", "experiments")
M = TypeVar("M", bound=BaseModel)


@dataclass
class ConfigBundle:
    insights: list[InsightDefinition] = field(default_factory=list)
    segments: list[SegmentDefinition] = field(default_factory=list)
    recommenders: list[RecommenderConfig] = field(default_factory=list)
    points: list[PersonalizationPoint] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    experiments: list[Experiment] = field(default_factory=list)


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        if not self.changed:
            return f"nothing changed: all {self.unchanged} objects are already as in the file"
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, {self.unchanged} unchanged"
        )


def _parse_list(doc: dict[str, Any], kind: str, model: type[M], errors: list[str]) -> list[M]:
    raw = doc.get(kind) or []
    if not isinstance(raw, list):
        errors.append(f"{kind}: must be a list of objects, got {type(raw).__name__}")
        return []
    out: list[M] = []
    names: set[str] = set()
    for index, obj in enumerate(raw):
        label = obj.get("name") if isinstance(obj, dict) else None
        where = f"{kind}[{index}]" + (f" ({label})" if label else "")
        try:
            parsed = model.model_validate(obj)
        except ValidationError as exc:
            for e in exc.errors()[:3]:
                loc = ".".join(str(p) for p in e["loc"])
                errors.append(f"{where}{'.' + loc if loc else ''}: {e['msg']}")
            continue
        name = _name(parsed)
        if name in names:
            errors.append(f"{where}: a second {kind[:-1]} named '{name}'")
        names.add(name)
        out.append(parsed)
    return out


def parse_bundle(doc: Any) -> ConfigBundle:
    """Every object of the document, or InvalidInput listing what is wrong (up to 20 problems)."""
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise InvalidInput(
            "the configuration file must be a mapping with keys " + ", ".join(KINDS) + "."
        )
    unknown = sorted(set(doc) - set(KINDS))
    errors: list[str] = []
    if unknown:
        errors.append(f"unknown section {', '.join(unknown)}; use {', '.join(KINDS)}")
    bundle = ConfigBundle(
        insights=_parse_list(doc, "insights", InsightDefinition, errors),
        segments=_parse_list(doc, "segments", SegmentDefinition, errors),
        recommenders=_parse_list(doc, "recommenders", RecommenderConfig, errors),
        points=_parse_list(doc, "points", PersonalizationPoint, errors),
        decisions=_parse_list(doc, "decisions", Decision, errors),
        experiments=_parse_list(doc, "experiments", Experiment, errors),
    )
    if errors:
        listed = "; ".join(errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise InvalidInput(
            f"the configuration is invalid, nothing was changed: {listed}{more}.",
            hint="Fix these and apply again.",
        )
    return bundle


def _name(obj: Any) -> str:
    return str(obj.name)


def _merged(current: Iterable[M], given: list[M]) -> list[M]:
    names = {_name(g) for g in given}
    return [c for c in current if _name(c) not in names] + given


def _check_recommenders(
    current: dict[str, RecommenderConfig], given: list[RecommenderConfig]
) -> None:
    final = {c.name: c for c in _merged(current.values(), given)}
    for config in given:
        chain, seen = config.fallback, {config.name}
        while chain is not None:
            if chain not in final:
                raise InvalidInput(
                    f"recommender '{config.name}': fallback '{chain}' is not a recommender.",
                    hint="Define it in the file or choose an existing one.",
                )
            if chain in seen:
                raise InvalidInput(f"fallback chain of '{config.name}' loops through '{chain}'.")
            seen.add(chain)
            chain = final[chain].fallback


def _validated_configs(
    service: DecisionService, bundle: ConfigBundle, recommenders: set[str], segments: set[str]
) -> DecisionConfigs:
    """The decisioning objects of the bundle applied to a scratch copy of the configuration."""
    scratch = service.configs.scratch()
    scratch.recommenders = lambda: recommenders
    scratch.segments = lambda: segments
    # Points first without their decisions' checks (a schema change and the decisions that
    # follow it may arrive together), then decisions, then every point again against them.
    for point in bundle.points:
        scratch.points[point.name] = point
    scratch._index()
    for decision in bundle.decisions:
        scratch.put_decision(decision)
    for point in bundle.points:
        scratch.put_point(point)
    for experiment in bundle.experiments:
        stored = scratch.experiments.get(experiment.name)
        if stored is None:
            scratch.experiments[experiment.name] = _new_experiment(experiment, scratch.clock())
            scratch._index()
            scratch._check_experiment(scratch.experiments[experiment.name])
        else:
            scratch.put_experiment(experiment)
    return scratch


def _new_experiment(experiment: Experiment, now: float) -> Experiment:
    if experiment.status in ("Started", "Stopped", "Archived") and experiment.started_at is None:
        experiment = experiment.model_copy(update={"started_at": now})
    if experiment.status in ("Stopped",) and experiment.stopped_at is None:
        experiment = experiment.model_copy(update={"stopped_at": now})
    return experiment


def apply_bundle(
    service: DecisionService, bundle: ConfigBundle, *, dry_run: bool = False
) -> ApplyReport:
    """Validate the whole bundle, then write what differs from the store."""
    engine, recommend = service.engine, service.recommend
    report = ApplyReport()
    try:
        insights = _merged(engine.state.insights, bundle.insights)
        validate_insight_set(insights)
        segments = _merged(engine.state.segments, bundle.segments)
        validate_segment_set(segments)
        _check_recommenders(recommend.configs, bundle.recommenders)
        recommender_names = set(recommend.configs) | {r.name for r in bundle.recommenders}
        with service.lock:
            scratch = _validated_configs(
                service, bundle, recommender_names, {s.name for s in segments}
            )
    except P13nError as exc:
        raise InvalidInput(
            f"the configuration is invalid, nothing was changed: {exc.message}", hint=exc.hint
        ) from None

    def diff(kind: str, given: Iterable[Any], current: Callable[[str], Any]) -> list[Any]:
        changed = []
        for obj in given:
            stored = current(obj.name)
            if stored == obj:
                report.unchanged += 1
                continue
            (report.updated if stored is not None else report.created).append(f"{kind}/{obj.name}")
            changed.append(obj)
        return changed

    by_insight = {d.name: d for d in engine.state.insights}
    by_segment = {d.name: d for d in engine.state.segments}
    configs = service.configs
    new_insights = diff("insight", bundle.insights, by_insight.get)
    new_segments = diff("segment", bundle.segments, by_segment.get)
    new_recommenders = diff("recommender", bundle.recommenders, recommend.configs.get)
    points = [scratch.points[p.name] for p in bundle.points]
    decisions = [scratch.decisions[d.name] for d in bundle.decisions]
    experiments = [scratch.experiments[e.name] for e in bundle.experiments]
    new_points = diff("point", points, configs.points.get)
    new_decisions = diff("decision", decisions, configs.decisions.get)
    new_experiments = diff("experiment", experiments, configs.experiments.get)
    if dry_run:
        return report
    for insight in new_insights:
        engine.put_insight(insight)
    for segment in new_segments:
        engine.put_segment(segment)
    for config in new_recommenders:
        recommend.put_config(config)
    with service.lock:
        live = service.configs
        for point in new_points:
            live.write(live.point_repo, point)
            live.points[point.name] = point
        for decision in new_decisions:
            live.write(live.decision_repo, decision)
            live.decisions[decision.name] = decision
        for experiment in new_experiments:
            live.write(live.experiment_repo, experiment)
            live.experiments[experiment.name] = experiment
        live._index()
    return report


def export_bundle(service: DecisionService) -> dict[str, Any]:
    """Everything `apply_bundle` accepts, as plain data (the stored objects, builtins included)."""
    engine, recommend = service.engine, service.recommend

    def dump(objects: Iterable[Any]) -> list[dict[str, Any]]:
        return [o.model_dump(mode="json", by_alias=True) for o in objects]

    out: dict[str, Any] = {
        "insights": dump(sorted(engine.state.insights, key=lambda d: d.name)),
        "segments": dump(sorted(engine.state.segments, key=lambda d: d.name)),
        "recommenders": dump(sorted(recommend.configs.values(), key=lambda c: c.name)),
    }
    out.update(service.configs.export())
    return out
