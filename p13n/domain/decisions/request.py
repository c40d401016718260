"""The Decisioning API's and the experiment assignment API's request and response shapes
(REFERENCE.md field names) and diagnostics."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DIAGNOSTICS",
    "Diagnostic",
    "diagnostic",
    "ExecutionFlag",
    "DecisionContext",
    "PointRequest",
    "DecisionRequest",
    "Personalization",
    "DecisionResponse",
    "NAMED_CONTEXT_FIELDS",
    "MAX_POINTS_PER_REQUEST",
    "ExperimentOverride",
    "AssignmentRequest",
    "VariableAssignment",
    "AssignmentResponse",
]

MAX_POINTS_PER_REQUEST = 25
DIAGNOSTICS: dict[int, tuple[str, str]] = {
    200: ("OK", "The decision was made."),
    201: ("NO_DECISION_QUALIFIED", "No live decision of this point qualified; no content."),
    401: ("POINT_NOT_CONFIGURED", "No active personalization point has this name or id."),
    402: ("UNIDENTIFIED_POINT_REQUESTED", "A requested point has neither an id nor a name."),
    403: ("NO_POINTS_REQUEST", "The request names no personalization point."),
    405: (
        "PERMISSION_DENIED",
        "This point requires authentication; call the authenticated decisions endpoint.",
    ),
    406: ("TOO_MANY_REQUESTS", "Too many requests; retry later."),
    407: ("DECISION_NOT_FOUND", "The forced decisionId is not a decision of this point."),
    408: (
        "SPECIFIED_DECISION_NOT_SUPPORTED",
        "A forced decisionId is only accepted on the authenticated endpoint.",
    ),
    421: (
        "PERSONALIZER_NOT_SELECTED",
        "The qualified decision names no recommender that exists; no content.",
    ),
    500: ("UNEXPECTED_ERROR", "An unexpected error happened while personalizing this point."),
    502: ("TIMEOUT", "The decision took too long."),
    512: (
        "QUERY_SERVICE_MISSING_PROFILE",
        "No profile for this individual; treated as a first-time anonymous visitor.",
    ),
    521: (
        "RULE_EVALUATION_FAILURE",
        "A decision's targeting could not be evaluated; the decision was skipped.",
    ),
    522: (
        "EXPERIMENT_EVALUATION_FAILURE",
        "The experiment could not be evaluated; the point's decisions were used instead.",
    ),
    533: (
        "RECOMMENDER_CONTENT_SIZE_EXCEEDED",
        "More items were asked for than a recommender returns; the answer was truncated.",
    ),
}


class Diagnostic(BaseModel):
    code: int
    name: str
    description: str


def diagnostic(code: int, description: str | None = None) -> Diagnostic:
    name, default = DIAGNOSTICS[code]
    return Diagnostic(code=code, name=name, description=description or default)


ExecutionFlag = Literal["TestMode", "ContextOnly", "EnableDiagnostics"]
# Context keys with a meaning of their own; every other key is a custom variable.
NAMED_CONTEXT_FIELDS = frozenset(
    {
        "individualId",
        "unifiedIndividualId",
        "dataspace",
        "anchorId",
        "anchorType",
        "correlationId",
        "messageId",
        "requestUrl",
        "pageType",
        "locale",
        "channel",
    }
)
_Id = Field(default=None, min_length=1, max_length=256)


class DecisionContext(BaseModel):
    """Who and where; any other key is a custom variable (`{!name}` in recommender filters)."""

    model_config = ConfigDict(extra="allow")

    individualId: str | None = _Id
    unifiedIndividualId: str | None = _Id
    dataspace: str = Field(default="default", max_length=100)
    anchorId: str | None = _Id
    anchorType: str | None = Field(default=None, max_length=100)
    correlationId: str | None = Field(default=None, max_length=256)
    messageId: str | None = Field(default=None, max_length=256)
    requestUrl: str | None = Field(default=None, max_length=4096)
    pageType: str | None = Field(default=None, max_length=200)
    locale: str | None = Field(default=None, max_length=50)
    channel: str | None = Field(default=None, max_length=100)

    def variables(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class PointRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=64)
    decisionId: str | None = Field(default=None, max_length=64)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: DecisionContext = Field(default_factory=DecisionContext)
    personalizationPoints: list[PointRequest] = Field(default_factory=list)
    profile: dict[str, Any] | None = None
    executionFlags: list[ExecutionFlag] = Field(default_factory=list)
    requestId: str | None = Field(
        default=None, max_length=64, description="Optional; a uuid is made when absent."
    )


class Personalization(BaseModel):
    personalizationId: str
    personalizationPointId: str | None
    personalizationPointName: str | None
    data: list[dict[str, Any]] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict)
    diagnostics: list[Diagnostic] | None = None
    trace: dict[str, Any] | None = Field(
        default=None,
        description="With EnableDiagnostics on the authenticated endpoint: decision, "
        "recommender, experiment, cohort and stage timings.",
    )


class DecisionResponse(BaseModel):
    personalizations: list[Personalization]
    diagnostics: list[Diagnostic] | None = None
    requestId: str
    # Every point ran out of the time budget (502): the faces answer HTTP 503. Not in the JSON.
    timed_out: bool = Field(default=False, exclude=True)

    def public(self) -> dict[str, Any]:
        """The JSON answer: `diagnostics` and `trace` are left out where they are off; every
        other field is always present (null when unknown, e.g. the id of an unknown point)."""
        out = self.model_dump(mode="json")
        if out["diagnostics"] is None:
            del out["diagnostics"]
        for p in out["personalizations"]:
            for key in ("diagnostics", "trace"):
                if p[key] is None:
                    del p[key]
        return out


# -- the experiment assignment API (`POST /experimentation/v1/authenticated/assignment`) ------
class ExperimentOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment: str = Field(min_length=1, max_length=64)
    cohortId: str = Field(min_length=1, max_length=64)


class AssignmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: DecisionContext = Field(default_factory=DecisionContext)
    experiments: list[str] = Field(min_length=1, max_length=25)
    profile: dict[str, Any] | None = None
    experimentsOverride: list[ExperimentOverride] = Field(default_factory=list, max_length=25)
    executionFlags: list[ExecutionFlag] = Field(default_factory=list)
    requestId: str | None = Field(default=None, max_length=64)


class VariableAssignment(BaseModel):
    variableId: str
    experimentId: str
    experimentName: str
    data: dict[str, Any]
    attributes: dict[str, str]


class AssignmentResponse(BaseModel):
    variableAssignments: list[VariableAssignment]
    diagnostics: list[Diagnostic]
    requestId: str
