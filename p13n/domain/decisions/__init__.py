"""Decide: personalization points, decisions with targeting and merge fields, the decision
pipeline and the personalization log.

The configuration models are exported here; the service lives in `decisions.service`
(`DecisionService`) and the log in `decisions.log` (`PersonalizationLog`), imported from their
modules so that `experiments` can use these models without an import cycle.
"""

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
    "ALWAYS",
    "API_NAME_PATTERN",
    "ContentSchema",
    "DEFAULT_MAX_ITEMS",
    "Decision",
    "MAX_DECISIONS_PER_POINT",
    "MAX_ITEMS",
    "MAX_MERGE_FIELDS",
    "MAX_TARGETING_CONDITIONS",
    "ManualContentSchema",
    "PersonalizationPoint",
    "RecommendationsSchema",
    "RequestCondition",
    "ScheduleCondition",
    "TargetingFacts",
    "TargetingGroup",
    "evaluate_targeting",
    "render",
    "stable_id",
]
