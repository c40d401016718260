"""The per-point stages of the decision pipeline: find the point, qualify (forced decision,
experiment cohort, first live decision whose targeting holds), personalize (manual content or
the recommender), and the answer and log entry of one point.

Functions over the in-memory configuration (`DecisionConfigs`) and what the service passes in;
`DecisionService.decide` runs them per requested point and owns the timing and error capture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from p13n.domain.decisions import (
    MAX_ITEMS,
    MAX_POINTS_PER_REQUEST,
    Cohort,
    Decision,
    Diagnostic,
    Experiment,
    ManualContentSchema,
    Personalization,
    PersonalizationPoint,
    PointRequest,
    TargetingFacts,
    assign,
    data_item,
    diagnostic,
    evaluate_targeting,
    render,
)
from p13n.domain.errors import DecisionRejected, NotFound, PayloadTooLarge
from p13n.domain.graphs import ProfileGraph
from p13n.domain.ingest import Item
from p13n.domain.recommend import RecommendRequest
from p13n.domain.services.decision_configs import DecisionConfigs
from p13n.domain.services.recommend_service import RecommendService

__all__ = ["Outcome", "check_shape", "find_point", "qualify", "personalize", "personalization"]

log = logging.getLogger("p13n.decisions")


@dataclass(slots=True)
class Outcome:
    """What qualify + personalize produced for one point."""

    status: int = 201
    decision: Decision | None = None
    recommender: str | None = None
    experiment: Experiment | None = None
    cohort: Cohort | None = None
    data: list[dict[str, Any]] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    qualifying_ms: float = 0.0
    personalizing_ms: float = 0.0


def check_shape(refs: list[PointRequest], *, authenticated: bool) -> None:
    """Refuse a request the pipeline cannot answer point by point (no points, too many, a
    forced decision on the unauthenticated endpoint)."""
    if not refs:
        raise DecisionRejected(
            403,
            "the request names no personalization point.",
            hint='Add "personalizationPoints": [{"name": "<point>"}].',
        )
    if len(refs) > MAX_POINTS_PER_REQUEST:
        raise PayloadTooLarge(
            f"the request names {len(refs)} points; at most {MAX_POINTS_PER_REQUEST} per request.",
            hint="Split it into several requests.",
        )
    if not authenticated and any(r.decisionId for r in refs):
        raise DecisionRejected(
            408,
            "a forced decisionId is only accepted on the authenticated endpoint.",
            hint="Remove decisionId, or call /personalization/authenticated/decisions.",
        )


def find_point(
    configs: DecisionConfigs, ref: PointRequest, authenticated: bool
) -> tuple[PersonalizationPoint | None, int]:
    """The requested point (by id, then name) and 200, or None and its diagnostic code."""
    if not ref.id and not ref.name:
        return None, 402
    point = configs.points_by_id.get(ref.id) if ref.id else None
    if point is None and ref.name:
        point = configs.points.get(ref.name)
    if point is None or point.status != "Active":
        return None, 401
    if point.authentication_required and not authenticated:
        return None, 405
    return point, 200


def qualify(
    configs: DecisionConfigs,
    point: PersonalizationPoint,
    ref: PointRequest,
    facts: TargetingFacts,
    key: str | None,
    outcome: Outcome,
    *,
    assigner: Callable[[Experiment, str], Cohort] = assign,
) -> bool:
    """Choose what serves the point into `outcome`; False when nothing qualified. `assigner`
    gives a unit's cohort (the decision service's also keeps bandits' cohorts sticky)."""
    if ref.decisionId:
        forced = configs.decisions_by_id.get(ref.decisionId) or configs.decisions.get(
            ref.decisionId
        )
        if forced is None or forced.point != point.name:
            outcome.status = 407
            outcome.diagnostics.append(diagnostic(407))
            return False
        outcome.decision = forced
        return True
    experiment = configs.started_by_point.get(point.name)
    if experiment is not None and key:
        try:
            if evaluate_targeting(experiment.targeting, facts):
                cohort = assigner(experiment, key)
                outcome.experiment, outcome.cohort = experiment, cohort
                if cohort.decision is not None:
                    chosen = configs.decisions.get(cohort.decision)
                    if chosen is None:
                        raise LookupError(f"cohort decision '{cohort.decision}' is gone")
                    outcome.decision = chosen
                    return True
                if cohort.recommender is not None:
                    outcome.recommender = cohort.recommender
                    return True
        except Exception:
            log.exception("experiment %s failed", experiment.name)
            outcome.experiment = outcome.cohort = None
            outcome.diagnostics.append(diagnostic(522))
    for decision in configs.live_by_point.get(point.name, ()):
        try:
            qualifies = evaluate_targeting(decision.targeting, facts)
        except Exception:
            log.exception("targeting of decision %s failed", decision.name)
            outcome.diagnostics.append(
                diagnostic(521, f"The targeting of decision '{decision.name}' failed.")
            )
            continue
        if qualifies:
            outcome.decision = decision
            return True
    outcome.diagnostics.append(diagnostic(201))
    return False


def personalize(
    recommend: RecommendService,
    items: Mapping[str, Item],
    point: PersonalizationPoint,
    facts: TargetingFacts,
    uid: str | None,
    variables: Mapping[str, Any],
    request_id: str,
    pid: str,
    anchor: str | None,
    outcome: Outcome,
    *,
    stored: ProfileGraph | None = None,
) -> None:
    """Fill `outcome` with the qualified decision's content: its attributes with merge fields
    resolved, and the recommender's items in the point's schema (an unknown anchor dropped).
    `stored` is uid's stored profile as the augment stage read it: the recommender uses it
    rather than reading (decoding) it once more."""
    decision = outcome.decision
    if decision is not None:
        outcome.attributes = {
            k: render(v, facts.profile, variables) for k, v in decision.attributes.items()
        }
    schema = point.content_schema
    if isinstance(schema, ManualContentSchema):
        outcome.status = 200
        outcome.diagnostics.insert(0, diagnostic(200))
        return
    name = outcome.recommender or (decision.recommender if decision else None)
    if name is None or name not in recommend.configs:
        outcome.status = 421
        outcome.diagnostics.append(diagnostic(421))
        return
    outcome.recommender = name
    ask = RecommendRequest(
        recommender=name,
        individual=uid,
        anchor=anchor,
        limit=min(point.max_items, MAX_ITEMS),
        variables=variables,
        request_id=request_id,
        channel=facts.channel,  # no exploration slots in a quiet channel (the agent's)
        profile=stored,
    )
    try:
        recs = recommend.recommend(ask)
    except NotFound:
        if anchor is None:
            raise
        recs = recommend.recommend(
            RecommendRequest(
                recommender=name,
                individual=uid,
                limit=ask.limit,
                variables=variables,
                request_id=request_id,
                channel=facts.channel,
                profile=stored,
            )
        )
    outcome.data = [
        data_item(f"{pid}:{k}", items.get(r.id), r.id, schema) for k, r in enumerate(recs.items)
    ]
    outcome.status = 200
    outcome.diagnostics.insert(0, diagnostic(200))
    outcome.diagnostics.extend(Diagnostic(**d) for d in recs.diagnostics if d.get("code") == 533)


def personalization(
    pid: str,
    ref: PointRequest,
    point: PersonalizationPoint | None,
    outcome: Outcome,
    authenticated: bool,
    flags: set[str],
    augmenting_ms: float,
) -> Personalization:
    """The answer for one point; diagnostics and the trace only where they are on."""
    trace = None
    if authenticated and "EnableDiagnostics" in flags:
        trace = {
            "decision": outcome.decision.name if outcome.decision else None,
            "recommender": outcome.recommender,
            "experiment": outcome.experiment.name if outcome.experiment else None,
            "cohort": outcome.cohort.id if outcome.cohort else None,
            "timings": {
                "augmenting": round(augmenting_ms, 3),
                "qualifying": round(outcome.qualifying_ms, 3),
                "personalizing": round(outcome.personalizing_ms, 3),
            },
        }
    return Personalization(
        personalizationId=pid,
        personalizationPointId=point.id if point else ref.id,
        personalizationPointName=point.name if point else ref.name,
        data=outcome.data,
        attributes=outcome.attributes,
        diagnostics=outcome.diagnostics if authenticated else None,
        trace=trace,
    )
