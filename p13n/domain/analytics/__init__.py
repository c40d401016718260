"""Measure: experiment statistics, attribution and pipeline intelligence.

Pure functions over exposures, conversions and sufficient statistics that the services hand in;
nothing here reads the store or knows a face. The services keep the aggregates these read.
"""

from __future__ import annotations

from p13n.domain.analytics.attribution import (
    ATTRIBUTION_BASES,
    ATTRIBUTION_MODELS,
    WINDOWS,
    Attribution,
    AttributionBasis,
    AttributionModel,
    AttributionSettings,
    Credit,
    Touch,
    attribute,
    model_shares,
    parse_window,
    split_cents,
)
from p13n.domain.analytics.journeys import (
    Click,
    Conversion,
    ConversionKind,
    Exposure,
    Journeys,
    build_journeys,
    unit_of,
)
from p13n.domain.analytics.kpis import KPI_GROUPINGS, KpiRow, check_grouping, kpis
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
    "Exposure",
    "Click",
    "Conversion",
    "ConversionKind",
    "Journeys",
    "build_journeys",
    "unit_of",
    "AttributionModel",
    "AttributionBasis",
    "AttributionSettings",
    "ATTRIBUTION_MODELS",
    "ATTRIBUTION_BASES",
    "WINDOWS",
    "Touch",
    "Credit",
    "Attribution",
    "attribute",
    "model_shares",
    "split_cents",
    "parse_window",
    "KPI_GROUPINGS",
    "KpiRow",
    "check_grouping",
    "kpis",
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
