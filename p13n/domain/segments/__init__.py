"""Segments: rule trees over the profile data graph, evaluated per profile change or in batch."""

from __future__ import annotations

from p13n.domain.segments.evaluate import (
    condition_actual,
    evaluate,
    leave_segment,
    update_memberships,
)
from p13n.domain.segments.rules import (
    DEFAULT_SEGMENTS,
    Condition,
    RuleGroup,
    SegmentDefinition,
    referenced_segments,
    validate_segment_set,
)

__all__ = [
    "Condition",
    "DEFAULT_SEGMENTS",
    "RuleGroup",
    "SegmentDefinition",
    "condition_actual",
    "evaluate",
    "leave_segment",
    "referenced_segments",
    "update_memberships",
    "validate_segment_set",
]
