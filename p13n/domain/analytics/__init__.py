"""Measure: experiment statistics, attribution and pipeline intelligence.

Pure functions over exposures, conversions and sufficient statistics that the services hand in;
nothing here reads the store or knows a face. The services keep the aggregates these read.
"""

from __future__ import annotations

from p13n.domain.analytics.pipeline import (
    HOUR,
    STAGES,
    BucketKey,
    PipelineBucket,
    accumulate,
    decode_state,
    merge_states,
)
from p13n.domain.analytics.pipeline_report import (
    GRANULARITIES,
    GROUPINGS,
    IngestCounts,
    PipelineQuery,
    PipelineReport,
    PipelineRow,
    StageTimings,
    parse_pipeline_query,
    pipeline_report,
)

__all__ = [
    "BucketKey",
    "GRANULARITIES",
    "GROUPINGS",
    "HOUR",
    "IngestCounts",
    "PipelineBucket",
    "PipelineQuery",
    "PipelineReport",
    "PipelineRow",
    "STAGES",
    "StageTimings",
    "accumulate",
    "decode_state",
    "merge_states",
    "parse_pipeline_query",
    "pipeline_report",
]
