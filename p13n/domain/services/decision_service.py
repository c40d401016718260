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

No scan on this path: configuration lives in `DecisionConfigs`, items in the hot state, and
profiles in the engine's cache (a cache miss reads one profile document by key). Configuration changes made through this service are visible at once; changes written by
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
from typing import Any

from p13n.domain.decisions import (
    AssignmentRequest,
    AssignmentResponse,
    Cohort,
    DecisionRequest,
    DecisionResponse,
    Diagnostic,
    Experiment,
    Personalization,
    PersonalizationPoint,
    PointRequest,
    TargetingFacts,
    assign,
    diagnostic,
    facts_for,
    profile_from_document,
)
from p13n.domain.errors import NotFound
from p13n.domain.graphs import ProfileGraph
from p13n.domain.services.assignment import assign_experiments
from p13n.domain.services.bandits import Bandits
from p13n.domain.services.decision_configs import DecisionConfigs
from p13n.domain.services.decision_stages import (
    Outcome,
    check_shape,
    find_point,
    personalization,
    personalize,
    qualify,
)
from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.services.personalization_log import LogEntry, LoggedContent, PersonalizationLog
from p13n.domain.services.recommend_service import RecommendService

__all__ = ["DecisionService", "new_id"]

log = logging.getLogger("p13n.decisions")
# Ids of requests and decision instances: version-4 UUIDs drawn from a generator seeded once
# from the OS. `uuid.uuid4()` reads os.urandom per call, which costs tens of microseconds in
# some VMs; these ids only need to be unique, not secret.
_IDS = random.Random(
    int.from_bytes(os.urandom(16), "big")
)  # request ids must be unique, not secret (seeded from os.urandom)  # nosec B311


def new_id() -> str:
    return str(uuid.UUID(int=_IDS.getrandbits(128), version=4))


def _codes(outcome: Outcome, request_codes: str) -> str:
    """The point's diagnostic codes and its request's, space-separated, for the log."""
    own = " ".join(str(d.code) for d in outcome.diagnostics)
    return f"{own} {request_codes}".strip() if request_codes else own


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
        self.configs = DecisionConfigs(
            store=engine.store,
            recommenders=lambda: recommend.configs.keys(),
            segments=lambda: [s.name for s in engine.state.segments],
            # read at each stamp, so a clock set on the engine later (tests, the demo seed's
            # measured week) dates configuration changes too
            clock=lambda: engine.now(),
        )
        self.configs.load()
        self._bandits: Bandits | None = None
        self.lock = threading.RLock()
        self._stop = threading.Event()

    @property
    def bandits(self) -> Bandits:
        """The bandit experiments' state (opened on first use: it needs the SQL store)."""
        if self._bandits is None:
            self._bandits = Bandits(sql_store(self.engine), clock=self.engine.now)
        return self._bandits

    def assign_cohort(self, experiment: Experiment, key: str) -> Cohort:
        """A unit's cohort: by hash for an A/B experiment, sticky under moving weights for a
        bandit (`services/bandits.py`)."""
        if experiment.mode != "bandit":
            return assign(experiment, key)
        return self.bandits.assign(experiment, key)

    def reload(self) -> None:
        """Re-read the configuration from the store (changes made by other processes)."""
        fresh = DecisionConfigs(
            store=self.engine.store,
            recommenders=self.configs.recommenders,
            segments=self.configs.segments,
            clock=self.configs.clock,
        )
        with self.lock:  # not while a change is being written
            fresh.load()
            self.configs = fresh

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
    def change(self, action: Callable[[DecisionConfigs], Any]) -> Any:
        """Run a configuration change on the live configuration, one change at a time."""
        with self.lock:
            return action(self.configs)

    # -- the decision path -------------------------------------------------------------------
    def decide(
        self, request: DecisionRequest, *, authenticated: bool, source: str = "api"
    ) -> DecisionResponse:
        """Answer a decision request. Raises DecisionRejected (no points: 403; forced decision on
        the unauthenticated endpoint: 408), PayloadTooLarge (too many points) and InvalidInput
        (a profile of the wrong shape); everything else is a diagnostic in the answer."""
        started = time.perf_counter()
        configs = self.configs
        request_id = request.requestId or new_id()
        flags: set[str] = set(request.executionFlags)
        refs = request.personalizationPoints
        check_shape(refs, authenticated=authenticated)
        ctx = request.context
        now = self.engine.now()
        uid, profile, top = self.augment(
            ctx.individualId, request.profile, context_only="ContextOnly" in flags
        )
        facts = facts_for(ctx, profile, now)
        # The profile read from the cache or store (not one the request carries): the points'
        # recommenders reuse it instead of reading it again.
        stored = profile if request.profile is None else None
        variables = facts.variables
        augmenting_ms = (time.perf_counter() - started) * 1000
        key = ctx.unifiedIndividualId or ctx.individualId
        # A person who withdrew consent is served as anonymous and leaves no id in the log.
        individual_id = ctx.individualId
        if uid is None and self._withdrew(individual_id):
            key = individual_id = None
        personalizations: list[Personalization] = []
        statuses: list[int] = []
        entries: list[LogEntry] = []
        logging_on = "TestMode" not in flags and self.log is not None
        request_codes = " ".join(str(d.code) for d in top)
        for ref in refs:
            pid = new_id()
            point, refusal = find_point(configs, ref, authenticated)
            if point is None:
                outcome = Outcome(status=refusal, diagnostics=[diagnostic(refusal)])
            elif self._over_budget(started):
                outcome = Outcome(status=502, diagnostics=[diagnostic(502)])
            else:
                outcome = self._one_point(
                    configs,
                    point,
                    ref,
                    facts,
                    key,
                    uid,
                    variables,
                    request_id,
                    pid,
                    ctx.anchorId,
                    stored,
                )
            statuses.append(outcome.status)
            personalizations.append(
                personalization(pid, ref, point, outcome, authenticated, flags, augmenting_ms)
            )
            if logging_on:
                entries.append(
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
                        individual_id=individual_id,
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
                        diagnostics=_codes(outcome, request_codes),
                    )
                )
        if entries and self.log is not None:
            self.log.record_request(entries)
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

    def _one_point(
        self,
        configs: DecisionConfigs,
        point: PersonalizationPoint,
        ref: PointRequest,
        facts: TargetingFacts,
        key: str | None,
        uid: str | None,
        variables: Mapping[str, Any],
        request_id: str,
        pid: str,
        anchor: str | None,
        stored: ProfileGraph | None,
    ) -> Outcome:
        """Qualify and personalize one point; its failure is its diagnostic, never the request's."""
        t0 = time.perf_counter()
        outcome = Outcome()
        try:
            if not qualify(configs, point, ref, facts, key, outcome, assigner=self.assign_cohort):
                outcome.qualifying_ms = (time.perf_counter() - t0) * 1000
                return outcome
            t1 = time.perf_counter()
            outcome.qualifying_ms = (t1 - t0) * 1000
            personalize(
                self.recommend,
                self.engine.state.items,
                point,
                facts,
                uid,
                variables,
                request_id,
                pid,
                anchor,
                outcome,
                stored=stored,
            )
            outcome.personalizing_ms = (time.perf_counter() - t1) * 1000
        except Exception:  # one point's failure is its diagnostic, never the request's 500
            log.exception("personalizing point %s failed", point.name)
            outcome.status, outcome.data, outcome.attributes = 500, [], {}
            outcome.diagnostics.append(diagnostic(500))
        return outcome

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

    def _withdrew(self, individual_id: str | None) -> bool:
        """Whether the request's individual withdrew Tracking consent (they, or the person
        they belong to)."""
        if not individual_id:
            return False
        engine = self.engine
        if engine.state.consent.get(individual_id) == "Opt Out":
            return True
        uid = engine.resolve(individual_id, honor_consent=False)
        return uid is not None and engine.withdrew_consent(individual_id, uid)

    def assign(self, request: AssignmentRequest) -> AssignmentResponse:
        """Cohorts of the named experiments for this visitor (see `services/assignment.py`)."""
        _, profile, diagnostics = self.augment(
            request.context.individualId,
            request.profile,
            context_only="ContextOnly" in request.executionFlags,
        )
        return assign_experiments(
            self.configs,
            request,
            profile,
            self.engine.now(),
            diagnostics,
            assigner=self.assign_cohort,
        )

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
