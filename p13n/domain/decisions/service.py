"""The decision pipeline of REFERENCE.md, per requested point: augment -> qualify -> personalize
-> respond -> log.

- augment: one profile-graph read from the in-process cache (`engine.resolve` +
  `engine.load_profile`), or the request's `profile`, or anonymous (`ContextOnly`, no id, or no
  profile: diagnostic 512, treated as a first-time anonymous visitor). Insight values and
  segment memberships are those computed at the profile's last event.
- qualify: a forced `decisionId` (authenticated only) wins outright, serving that decision
  whatever its state and targeting; else the point's Started experiment (its targeting, then a
  sticky cohort by hash of experiment id and `unifiedIndividualId` or `individualId`; an
  anonymous request without either skips the experiment); else the first Live decision in
  priority order whose targeting holds.
- personalize: manual content with merge fields resolved, or the recommender with the point's
  max items, the anchor (an unknown anchor is dropped) and the custom context variables.
- log: every point not in `TestMode`, through the queue of `PersonalizationLog`.

No SQL on this path: configuration lives in `Registry`, profiles and items in the engine's
caches. Configuration changes made through this service are visible at once; changes written by
another process are picked up by `reload()` (the server runs it every `reload_seconds`).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from p13n.domain.decisions.assignment import (
    AssignmentRequest,
    AssignmentResponse,
    assign_experiments,
)
from p13n.domain.decisions.cohorts import assign
from p13n.domain.decisions.config import (
    MAX_ITEMS,
    Decision,
    ManualContentSchema,
    PersonalizationPoint,
)
from p13n.domain.decisions.content import data_item, profile_from_document
from p13n.domain.decisions.experiments import Cohort, Experiment
from p13n.domain.decisions.log import LogEntry, LoggedContent, PersonalizationLog
from p13n.domain.decisions.merge import render
from p13n.domain.decisions.registry import Registry
from p13n.domain.decisions.request import (
    MAX_POINTS_PER_REQUEST,
    DecisionRequest,
    DecisionResponse,
    Diagnostic,
    Personalization,
    PointRequest,
    diagnostic,
)
from p13n.domain.decisions.targeting import TargetingFacts, evaluate_targeting, facts_for
from p13n.domain.engine import Engine
from p13n.domain.errors import InvalidInput, NotFound, PayloadTooLarge
from p13n.domain.graphs.profile import ProfileGraph
from p13n.domain.recommend.request import RecommendRequest
from p13n.domain.recommend.service import RecommendService

__all__ = ["DecisionService", "DecisionRejected", "profile_from_document", "new_id"]

log = logging.getLogger("p13n.decisions")
# Ids of requests and decision instances: version-4 UUIDs drawn from a generator seeded once
# from the OS. `uuid.uuid4()` reads os.urandom per call, which costs tens of microseconds in
# some VMs; these ids only need to be unique, not secret.
_IDS = random.Random(int.from_bytes(os.urandom(16), "big"))


def new_id() -> str:
    return str(uuid.UUID(int=_IDS.getrandbits(128), version=4))


class DecisionRejected(InvalidInput):
    """The whole request is refused (HTTP 400) with a diagnostic code of REFERENCE.md."""

    def __init__(self, code: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.diagnostic = diagnostic(code)


@dataclass(slots=True)
class _Outcome:
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


class DecisionService:
    def __init__(
        self,
        engine: Engine,
        recommend: RecommendService,
        *,
        log: PersonalizationLog | None = None,
        budget_ms: float | None = None,
    ) -> None:
        self.engine, self.recommend, self.log = engine, recommend, log
        # A request past its budget answers its remaining points with 502 TIMEOUT instead of
        # personalizing them (a decision runs to the end of the point it is in; None: no budget).
        self.budget_ms = budget_ms
        self.registry = Registry(
            store=engine.store,
            recommenders=lambda: recommend.configs.keys(),
            segments=lambda: [s.name for s in engine.segments],
            clock=engine.now,
        )
        self.registry.load()
        self.lock = threading.RLock()
        self._stop = threading.Event()

    def reload(self) -> None:
        """Re-read the configuration from the store (changes made by other processes)."""
        fresh = Registry(
            store=self.engine.store,
            recommenders=self.registry.recommenders,
            segments=self.registry.segments,
            clock=self.registry.clock,
        )
        with self.lock:  # not while a change is being written
            fresh.load()
            self.registry = fresh

    def start_auto_reload(self, seconds: float) -> None:
        """Re-read the configuration every `seconds` on a daemon thread (a server does this,
        so that `p13n config apply` run beside it shows without a restart)."""

        def loop() -> None:
            while not self._stop.wait(seconds):
                try:
                    self.reload()
                except Exception:  # a store hiccup: keep serving the configuration we have
                    log.exception("reloading the decisioning configuration failed")

        threading.Thread(target=loop, name="p13n-decisions-reload", daemon=True).start()

    def close(self) -> None:
        """Stop the reload thread and write out the personalization log."""
        self._stop.set()
        if self.log is not None:
            self.log.close()

    # -- configuration (validated, stored, swapped in) ---------------------------------------
    def change(self, action: Callable[[Registry], Any]) -> Any:
        with self.lock:
            return action(self.registry)

    # -- the decision path -------------------------------------------------------------------
    def decide(
        self, request: DecisionRequest, *, authenticated: bool, source: str = "api"
    ) -> DecisionResponse:
        """Answer a decision request. Raises DecisionRejected (no points: 403; forced decision on
        the unauthenticated endpoint: 408), PayloadTooLarge (too many points) and InvalidInput
        (a profile of the wrong shape); everything else is a diagnostic in the answer."""
        started = time.perf_counter()
        registry = self.registry
        request_id = request.requestId or new_id()
        flags: set[str] = set(request.executionFlags)
        refs = request.personalizationPoints
        self._check_shape(refs, authenticated=authenticated)
        ctx = request.context
        now = self.engine.now()
        uid, profile, top = self.augment(
            ctx.individualId, request.profile, context_only="ContextOnly" in flags
        )
        facts = facts_for(ctx, profile, now)
        variables = facts.variables
        augmenting_ms = (time.perf_counter() - started) * 1000
        key = ctx.unifiedIndividualId or ctx.individualId
        personalizations: list[Personalization] = []
        statuses: list[int] = []
        for ref in refs:
            pid = new_id()
            point, refusal = self._point(registry, ref, authenticated)
            if point is None:
                outcome = _Outcome(status=refusal, diagnostics=[diagnostic(refusal)])
            elif self._over_budget(started):
                outcome = _Outcome(status=502, diagnostics=[diagnostic(502)])
            else:
                outcome = self._one_point(
                    registry, point, ref, facts, key, uid, variables, request_id, pid, ctx.anchorId
                )
            statuses.append(outcome.status)
            personalizations.append(
                self._personalization(pid, ref, point, outcome, authenticated, flags, augmenting_ms)
            )
            if "TestMode" not in flags and self.log is not None:
                self.log.record(
                    LogEntry(
                        personalization_id=pid,
                        request_id=request_id,
                        ts=now,
                        point=point.name if point else ref.name,
                        point_id=point.id if point else ref.id,
                        decision=outcome.decision.name if outcome.decision else None,
                        recommender=outcome.recommender,
                        experiment=outcome.experiment.name if outcome.experiment else None,
                        cohort=outcome.cohort.id if outcome.cohort else None,
                        individual_id=ctx.individualId,
                        unified_id=uid,
                        channel=ctx.channel,
                        source=source,
                        status=outcome.status,
                        content=[
                            LoggedContent(d["personalizationContentId"], d.get("id"), k + 1)
                            for k, d in enumerate(outcome.data)
                        ],
                        augmenting_ms=round(augmenting_ms, 3),
                        qualifying_ms=round(outcome.qualifying_ms, 3),
                        personalizing_ms=round(outcome.personalizing_ms, 3),
                        total_ms=round((time.perf_counter() - started) * 1000, 3),
                    )
                )
        if not top or all(d.code != 512 for d in top):
            top.insert(0, diagnostic(200))
        return DecisionResponse(
            personalizations=personalizations,
            diagnostics=top if authenticated else None,
            requestId=request_id,
            timed_out=bool(statuses) and all(status == 502 for status in statuses),
        )

    def _over_budget(self, started: float) -> bool:
        if self.budget_ms is None:
            return False
        return (time.perf_counter() - started) * 1000 >= self.budget_ms

    @staticmethod
    def _check_shape(refs: list[PointRequest], *, authenticated: bool) -> None:
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

    @staticmethod
    def _point(
        registry: Registry, ref: PointRequest, authenticated: bool
    ) -> tuple[PersonalizationPoint | None, int]:
        if not ref.id and not ref.name:
            return None, 402
        point = registry.points_by_id.get(ref.id) if ref.id else None
        if point is None and ref.name:
            point = registry.points.get(ref.name)
        if point is None or point.status != "Active":
            return None, 401
        if point.authentication_required and not authenticated:
            return None, 405
        return point, 200

    def _one_point(
        self,
        registry: Registry,
        point: PersonalizationPoint,
        ref: PointRequest,
        facts: TargetingFacts,
        key: str | None,
        uid: str | None,
        variables: Mapping[str, Any],
        request_id: str,
        pid: str,
        anchor: str | None,
    ) -> _Outcome:
        t0 = time.perf_counter()
        outcome = _Outcome()
        try:
            if not self._qualify(registry, point, ref, facts, key, outcome):
                outcome.qualifying_ms = (time.perf_counter() - t0) * 1000
                return outcome
            t1 = time.perf_counter()
            outcome.qualifying_ms = (t1 - t0) * 1000
            self._personalize(point, facts, uid, variables, request_id, pid, anchor, outcome)
            outcome.personalizing_ms = (time.perf_counter() - t1) * 1000
        except Exception:  # one point's failure is its diagnostic, never the request's 500
            log.exception("personalizing point %s failed", point.name)
            outcome.status, outcome.data, outcome.attributes = 500, [], {}
            outcome.diagnostics.append(diagnostic(500))
        return outcome

    def _qualify(
        self,
        registry: Registry,
        point: PersonalizationPoint,
        ref: PointRequest,
        facts: TargetingFacts,
        key: str | None,
        outcome: _Outcome,
    ) -> bool:
        if ref.decisionId:
            forced = registry.decisions_by_id.get(ref.decisionId) or registry.decisions.get(
                ref.decisionId
            )
            if forced is None or forced.point != point.name:
                outcome.status = 407
                outcome.diagnostics.append(diagnostic(407))
                return False
            outcome.decision = forced
            return True
        experiment = registry.started_by_point.get(point.name)
        if experiment is not None and key:
            try:
                if evaluate_targeting(experiment.targeting, facts):
                    cohort = assign(experiment, key)
                    outcome.experiment, outcome.cohort = experiment, cohort
                    if cohort.decision is not None:
                        chosen = registry.decisions.get(cohort.decision)
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
        for decision in registry.live_by_point.get(point.name, ()):
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

    def _personalize(
        self,
        point: PersonalizationPoint,
        facts: TargetingFacts,
        uid: str | None,
        variables: Mapping[str, Any],
        request_id: str,
        pid: str,
        anchor: str | None,
        outcome: _Outcome,
    ) -> None:
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
        if name is None or name not in self.recommend.configs:
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
        )
        try:
            recs = self.recommend.recommend(ask)
        except NotFound:
            if anchor is None:
                raise
            recs = self.recommend.recommend(
                RecommendRequest(
                    recommender=name,
                    individual=uid,
                    limit=ask.limit,
                    variables=variables,
                    request_id=request_id,
                )
            )
        items = self.engine.items
        outcome.data = [
            data_item(f"{pid}:{k}", items.get(r.id), r.id, schema) for k, r in enumerate(recs.items)
        ]
        outcome.status = 200
        outcome.diagnostics.insert(0, diagnostic(200))
        outcome.diagnostics.extend(
            Diagnostic(**d) for d in recs.diagnostics if d.get("code") == 533
        )

    @staticmethod
    def _personalization(
        pid: str,
        ref: PointRequest,
        point: PersonalizationPoint | None,
        outcome: _Outcome,
        authenticated: bool,
        flags: set[str],
        augmenting_ms: float,
    ) -> Personalization:
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

    def augment(
        self, individual_id: str | None, profile_doc: dict[str, Any] | None, *, context_only: bool
    ) -> tuple[str | None, ProfileGraph | None, list[Diagnostic]]:
        """(unified id, profile, diagnostics) as the augment stage finds them."""
        if profile_doc is not None:
            profile = profile_from_document(profile_doc, self.engine.now())
            return profile.unified_id or None, profile, []
        if context_only or not individual_id:
            return None, None, []
        uid = self.engine.resolve(individual_id)
        found = self.engine.load_profile(uid) if uid else None
        if found is None:
            return None, None, [diagnostic(512)]
        return uid, found, []

    def assign(self, request: AssignmentRequest) -> AssignmentResponse:
        """Cohorts of the named experiments for this visitor (see `assignment.py`)."""
        _, profile, diagnostics = self.augment(
            request.context.individualId,
            request.profile,
            context_only="ContextOnly" in request.executionFlags,
        )
        return assign_experiments(self.registry, request, profile, self.engine.now(), diagnostics)

    # -- the log -----------------------------------------------------------------------------
    def logged(self, personalization_id: str) -> dict[str, Any]:
        """A logged decision with its engagement events; NotFound if it was never logged."""
        entry = self.log.entry(personalization_id) if self.log is not None else None
        if entry is None:
            raise NotFound(
                f"no logged decision '{personalization_id}'.",
                hint="Decisions made in TestMode are not logged; the log may also lag a moment.",
            )
        return entry
