"""Decide: personalization points, decisions with targeting and merge fields, content shapes,
the Decisioning API's request and response models, and experiments with sticky cohorts.

Pure logic over these models: the decision pipeline, its configuration, the personalization
log and the assignment API are services (`p13n.domain.services`).
"""

from p13n.domain.decisions.cohorts import BUCKETS, assign, bucket
from p13n.domain.decisions.config import (
    API_NAME_PATTERN,
    DEFAULT_MAX_ITEMS,
    MAX_DECISIONS_PER_POINT,
    MAX_ITEMS,
    ContentSchema,
    Decision,
    ManualContentSchema,
    PersonalizationPoint,
    RecommendationsSchema,
    stable_id,
)
from p13n.domain.decisions.content import data_item, profile_from_document
from p13n.domain.decisions.experiments import (
    ACTIONS,
    TRANSITIONS,
    Cohort,
    Experiment,
    ExperimentStatus,
    Metric,
    transition,
)
from p13n.domain.decisions.merge import MAX_MERGE_FIELDS, render
from p13n.domain.decisions.request import (
    MAX_POINTS_PER_REQUEST,
    AssignmentRequest,
    AssignmentResponse,
    DecisionContext,
    DecisionRequest,
    DecisionResponse,
    Diagnostic,
    ExperimentOverride,
    Personalization,
    PointRequest,
    VariableAssignment,
    diagnostic,
)
from p13n.domain.decisions.targeting import (
    ALWAYS,
    MAX_TARGETING_CONDITIONS,
    RequestCondition,
    ScheduleCondition,
    TargetingFacts,
    TargetingGroup,
    evaluate_targeting,
    facts_for,
    referenced_segments_of,
)

__all__ = [
    "ACTIONS",
    "ALWAYS",
    "API_NAME_PATTERN",
    "AssignmentRequest",
    "AssignmentResponse",
    "BUCKETS",
    "Cohort",
    "ContentSchema",
    "DEFAULT_MAX_ITEMS",
    "Decision",
    "DecisionContext",
    "DecisionRequest",
    "DecisionResponse",
    "Diagnostic",
    "Experiment",
    "ExperimentOverride",
    "ExperimentStatus",
    "MAX_DECISIONS_PER_POINT",
    "MAX_ITEMS",
    "MAX_MERGE_FIELDS",
    "MAX_POINTS_PER_REQUEST",
    "MAX_TARGETING_CONDITIONS",
    "ManualContentSchema",
    "Metric",
    "Personalization",
    "PersonalizationPoint",
    "PointRequest",
    "RecommendationsSchema",
    "RequestCondition",
    "ScheduleCondition",
    "TRANSITIONS",
    "TargetingFacts",
    "TargetingGroup",
    "VariableAssignment",
    "assign",
    "bucket",
    "data_item",
    "diagnostic",
    "evaluate_targeting",
    "facts_for",
    "profile_from_document",
    "referenced_segments_of",
    "render",
    "stable_id",
    "transition",
]
