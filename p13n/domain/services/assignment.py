"""The experiment assignment API (`POST /experimentation/v1/authenticated/assignment`).

Each named experiment (name or id) that is Started and whose targeting holds gives one
`variableAssignments` entry: `variableId` is the cohort id, `data` says what the cohort serves
(decision, recommender or deferToDecisions) and `attributes` are the cohort decision's content
with merge fields resolved. `experimentsOverride` forces cohorts, and only in `TestMode`.
Assignments are not written to the personalization log (decisions are).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from p13n.domain.decisions import (
    AssignmentRequest,
    AssignmentResponse,
    Cohort,
    Diagnostic,
    Experiment,
    VariableAssignment,
    assign,
    diagnostic,
    evaluate_targeting,
    facts_for,
    render,
)
from p13n.domain.errors import InvalidInput
from p13n.domain.graphs import ProfileGraph
from p13n.domain.services.decision_configs import DecisionConfigs

__all__ = ["assign_experiments"]


def assign_experiments(
    configs: DecisionConfigs,
    request: AssignmentRequest,
    profile: ProfileGraph | None,
    now: float,
    diagnostics: list[Diagnostic],
    *,
    assigner: Callable[[Experiment, str], Cohort] = assign,
) -> AssignmentResponse:
    if request.experimentsOverride and "TestMode" not in request.executionFlags:
        raise InvalidInput(
            "experimentsOverride is only accepted with the TestMode execution flag.",
            hint='Add "executionFlags": ["TestMode"], or remove experimentsOverride.',
        )
    overrides = {o.experiment: o.cohortId for o in request.experimentsOverride}
    ctx = request.context
    facts = facts_for(ctx, profile, now)
    key = ctx.unifiedIndividualId or ctx.individualId
    out: list[VariableAssignment] = []
    for wanted in request.experiments:
        experiment = configs.experiments.get(wanted) or configs.experiments_by_id.get(wanted)
        if experiment is None:
            diagnostics.append(diagnostic(522, f"No experiment '{wanted}'."))
            continue
        forced = overrides.get(experiment.name, overrides.get(experiment.id))
        if forced is not None:
            cohort = next((c for c in experiment.cohorts if c.id == forced), None)
            if cohort is None:
                raise InvalidInput(
                    f"experiment '{experiment.name}' has no cohort '{forced}'.",
                    hint=f"Its cohorts: {', '.join(c.id for c in experiment.cohorts)}.",
                )
        else:
            if experiment.status != "Started":
                diagnostics.append(
                    diagnostic(522, f"Experiment '{experiment.name}' is {experiment.status}.")
                )
                continue
            if not key:
                diagnostics.append(
                    diagnostic(522, "No individualId or unifiedIndividualId to assign by.")
                )
                continue
            if not evaluate_targeting(experiment.targeting, facts):
                continue
            cohort = assigner(experiment, key)
        decision = configs.decisions.get(cohort.decision) if cohort.decision else None
        attributes = (
            {k: render(v, profile, facts.variables) for k, v in decision.attributes.items()}
            if decision is not None
            else {}
        )
        out.append(
            VariableAssignment(
                variableId=cohort.id,
                experimentId=experiment.id,
                experimentName=experiment.name,
                data={
                    "cohortId": cohort.id,
                    "decision": cohort.decision,
                    "recommender": cohort.recommender,
                    "deferToDecisions": cohort.defer_to_decisions,
                },
                attributes=attributes,
            )
        )
    if all(d.code != 512 for d in diagnostics):
        diagnostics.insert(0, diagnostic(200))
    return AssignmentResponse(
        variableAssignments=out,
        diagnostics=diagnostics,
        requestId=request.requestId or str(uuid.uuid4()),
    )
