"""Calculated insights: defined once as data, updated per event online, recomputed in batch."""

from __future__ import annotations

from p13n.domain.insights.batch import recompute_insights
from p13n.domain.insights.definitions import (
    BUILTIN_INSIGHTS,
    InsightDefinition,
    validate_insight_set,
)
from p13n.domain.insights.online import apply_event_insights, insight_values

__all__ = [
    "BUILTIN_INSIGHTS",
    "InsightDefinition",
    "validate_insight_set",
    "apply_event_insights",
    "insight_values",
    "recompute_insights",
]
