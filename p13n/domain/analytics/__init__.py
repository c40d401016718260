"""Measure: experiment statistics, attribution and pipeline intelligence.

Pure functions over exposures, conversions and sufficient statistics that the services hand in;
nothing here reads the store or knows a face. The services keep the aggregates these read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
from p13n.domain.analytics.attribution_cells import (
    CLICK_LOOKBACK,
    CellKey,
    CreditCell,
    DaySummary,
    ExposureCell,
    credit_cells,
    day_summaries,
    exposure_cells,
    sketch_bytes,
    sketch_of,
)
from p13n.domain.analytics.attribution_report import (
    AttributionQuery,
    AttributionReport,
    AttributionRow,
    KpiFigures,
    attribution_report,
    parse_attribution_query,
)
from p13n.domain.analytics.cuped import (
    AdjustedStats,
    CupedResult,
    PrePostStats,
    cuped_adjust,
    pooled_theta,
)
from p13n.domain.analytics.experiment_cells import (
    SLOTS,
    Engagement,
    ExperimentCells,
    Exposures,
    FoldSlice,
    LoggedExposure,
    MetricEvent,
)
from p13n.domain.analytics.experiment_report import (
    ENGINES,
    CohortFigures,
    Comparison,
    Engine,
    ExperimentResults,
    MetricResults,
    ResultSettings,
)
from p13n.domain.analytics.journeys import (
    CLICK_INTERACTIONS,
    Click,
    Conversion,
    ConversionKind,
    Exposure,
    Journeys,
    build_journeys,
    engagement_pid,
    unit_of,
)
from p13n.domain.analytics.kpis import KPI_GROUPINGS, KpiRow, check_grouping, kpis
from p13n.domain.analytics.metric_values import metric_fields
from p13n.domain.analytics.metrics import (
    BUILT_IN_METRIC_NAMES,
    BUILT_IN_METRICS,
    CLICK,
    IMPRESSION,
    MetricDefinition,
    MetricKind,
    MetricPart,
    parse_metric,
    resolve_metrics,
)
from p13n.domain.analytics.pipeline import (
    HOUR,
    STAGES,
    BucketKey,
    PipelineBucket,
    accumulate,
    accumulate_rows,
    decode_state,
    merge_all,
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
from p13n.domain.analytics.sufficient import (
    MeanStats,
    Moments,
    RateStats,
    RatioStats,
    Scale,
    Summary,
    effect_moments,
    why_undefined,
)

if TYPE_CHECKING:
    from p13n.domain.analytics.bandit import (
        MIN_SHARE,
        BanditWeights,
        floor_shares,
        thompson_weights,
    )
    from p13n.domain.analytics.bandit_state import (
        BANDIT_INTERVAL,
        BanditEntry,
        BanditState,
        rebalance,
        start_bandit,
        stratify,
    )
    from p13n.domain.analytics.bayesian import (
        UNIFORM,
        BetaPosterior,
        BetaPrior,
        MeanComparison,
        NormalPrior,
        RateComparison,
        chance_to_be_best_means,
        chance_to_be_best_rates,
        compare_means,
        compare_rates,
    )
    from p13n.domain.analytics.experiment_points import (
        PointFigures,
        SeriesPoint,
        point_figures,
        point_from_json,
        series_point,
    )
    from p13n.domain.analytics.experiment_results import (
        cells_of_journeys,
        experiment_results,
        metric_summaries,
        parse_result_settings,
        results_of_cells,
    )
    from p13n.domain.analytics.frequentist import Effect, two_proportion_test, welch_test
    from p13n.domain.analytics.sequential import DEFAULT_TUNING, sequential_test
    from p13n.domain.analytics.srm import (
        SRM_MIN_UNITS,
        SRM_THRESHOLD,
        SrmCheck,
        check_sample_ratio,
    )
    from p13n.domain.analytics.verdict import (
        MIN_UNITS,
        WIN_CHANCE,
        Outcome,
        Verdict,
        metric_verdict,
    )

# The statistics import SciPy (about half a second): they load on first use, not in every
# process that only reads pipeline figures or attribution (every CLI command and server).
_LAZY: dict[str, tuple[str, ...]] = {
    "bandit_state": (
        "BANDIT_INTERVAL",
        "BanditEntry",
        "BanditState",
        "rebalance",
        "start_bandit",
        "stratify",
    ),
    "experiment_points": (
        "PointFigures",
        "SeriesPoint",
        "point_figures",
        "point_from_json",
        "series_point",
    ),
    "experiment_results": (
        "cells_of_journeys",
        "experiment_results",
        "metric_summaries",
        "parse_result_settings",
        "results_of_cells",
    ),
    "bandit": (
        "MIN_SHARE",
        "BanditWeights",
        "floor_shares",
        "thompson_weights",
    ),
    "bayesian": (
        "UNIFORM",
        "BetaPosterior",
        "BetaPrior",
        "MeanComparison",
        "NormalPrior",
        "RateComparison",
        "chance_to_be_best_means",
        "chance_to_be_best_rates",
        "compare_means",
        "compare_rates",
    ),
    "frequentist": (
        "Effect",
        "two_proportion_test",
        "welch_test",
    ),
    "sequential": (
        "DEFAULT_TUNING",
        "sequential_test",
    ),
    "srm": (
        "SRM_MIN_UNITS",
        "SRM_THRESHOLD",
        "SrmCheck",
        "check_sample_ratio",
    ),
    "verdict": (
        "MIN_UNITS",
        "WIN_CHANCE",
        "Outcome",
        "Verdict",
        "metric_verdict",
    ),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

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
    "CLICK_LOOKBACK",
    "CellKey",
    "CreditCell",
    "DaySummary",
    "ExposureCell",
    "credit_cells",
    "day_summaries",
    "exposure_cells",
    "sketch_bytes",
    "sketch_of",
    "AttributionQuery",
    "AttributionReport",
    "AttributionRow",
    "KpiFigures",
    "attribution_report",
    "parse_attribution_query",
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
    "accumulate_rows",
    "decode_state",
    "merge_all",
    "merge_states",
    "parse_pipeline_query",
    "pipeline_report",
    "MeanStats",
    "RateStats",
    "RatioStats",
    "Moments",
    "Summary",
    "Scale",
    "effect_moments",
    "why_undefined",
    "Effect",
    "welch_test",
    "two_proportion_test",
    "sequential_test",
    "DEFAULT_TUNING",
    "BetaPrior",
    "UNIFORM",
    "BetaPosterior",
    "RateComparison",
    "compare_rates",
    "chance_to_be_best_rates",
    "NormalPrior",
    "MeanComparison",
    "compare_means",
    "chance_to_be_best_means",
    "PrePostStats",
    "AdjustedStats",
    "CupedResult",
    "pooled_theta",
    "cuped_adjust",
    "SRM_THRESHOLD",
    "SRM_MIN_UNITS",
    "SrmCheck",
    "check_sample_ratio",
    "MIN_UNITS",
    "WIN_CHANCE",
    "Outcome",
    "Verdict",
    "metric_verdict",
    "MetricKind",
    "MetricPart",
    "MetricDefinition",
    "BUILT_IN_METRICS",
    "BUILT_IN_METRIC_NAMES",
    "parse_metric",
    "resolve_metrics",
    "Engine",
    "ENGINES",
    "ResultSettings",
    "CohortFigures",
    "Comparison",
    "MetricResults",
    "ExperimentResults",
    "experiment_results",
    "results_of_cells",
    "cells_of_journeys",
    "metric_summaries",
    "parse_result_settings",
    "ExperimentCells",
    "SLOTS",
    "CLICK_INTERACTIONS",
    "engagement_pid",
    "CLICK",
    "IMPRESSION",
    "FoldSlice",
    "Exposures",
    "LoggedExposure",
    "Engagement",
    "MetricEvent",
    "metric_fields",
    "PointFigures",
    "SeriesPoint",
    "point_figures",
    "point_from_json",
    "series_point",
    "BANDIT_INTERVAL",
    "BanditEntry",
    "BanditState",
    "start_bandit",
    "rebalance",
    "stratify",
    "MIN_SHARE",
    "BanditWeights",
    "thompson_weights",
    "floor_shares",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = importlib.import_module(f"{__name__}.{module}")
    # every name of the module at once: importing it set the package's attribute of the same
    # name as a module (`experiment_results`) to the module itself
    for other in _LAZY[module]:
        globals()[other] = getattr(loaded, other)
    return globals()[name]
