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
from p13n.domain.decisions.targeting import (
    ALWAYS,
    MAX_TARGETING_CONDITIONS,
    RequestCondition,
    ScheduleCondition,
    TargetingFacts,
    TargetingGroup,
    evaluate_targeting,
)

__all__ = [
    "ACTIONS",
    "ALWAYS",
    "API_NAME_PATTERN",
    "BUCKETS",
    "Cohort",
    "ContentSchema",
    "DEFAULT_MAX_ITEMS",
    "Decision",
    "Experiment",
    "ExperimentStatus",
    "MAX_DECISIONS_PER_POINT",
    "MAX_ITEMS",
    "MAX_MERGE_FIELDS",
    "MAX_TARGETING_CONDITIONS",
    "ManualContentSchema",
    "Metric",
    "PersonalizationPoint",
    "RecommendationsSchema",
    "RequestCondition",
    "ScheduleCondition",
    "TRANSITIONS",
    "TargetingFacts",
    "TargetingGroup",
    "assign",
    "bucket",
    "evaluate_targeting",
    "render",
    "stable_id",
    "transition",
]
