"""The service layer: what a running process holds (`HotState`, the write lock, transactions)
and the orchestrators that drive the pure steps over the store port.

`Engine` (ingest, reads, configuration) with its population batch paths (`population`), graph
writes and the one merge path (`graph_writes`), identity resolution (`IdentityService`) and
control (`IdentityControl`), recommendations (`RecommendService`, catalog search, training),
decisions (`DecisionService` with its stages, `DecisionConfigs`, assignment and `Bandits`,
the `PersonalizationLog` with the pipeline aggregates of `PipelineStats`), configuration (`ConfigRepository`, config bundles) and `ApiKeys`.
The step packages never import this package (tested in `tests/unit/test_layers.py`).
"""

from p13n.domain.services.api_keys import ApiKeys
from p13n.domain.services.assignment import assign_experiments
from p13n.domain.services.audit import (
    LOCAL_ACTOR,
    Actor,
    AuditEntry,
    AuditPage,
    AuditTrail,
    acting_as,
    audit_trail,
    set_actor,
)
from p13n.domain.services.bandits import ArmsOf, Bandits
from p13n.domain.services.catalog_search import SearchHit, SearchPage, search_items
from p13n.domain.services.config_bundles import (
    ApplyReport,
    ConfigBundle,
    apply_bundle,
    export_bundle,
    parse_bundle,
)
from p13n.domain.services.config_repository import ConfigRepository, ConfigStore
from p13n.domain.services.decision_configs import DecisionConfigs
from p13n.domain.services.decision_service import DecisionService
from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.services.feeds import (
    AcpFeedRow,
    FeedFormat,
    FeedSignals,
    MerchantSupplementalRow,
    feed_signals,
    feed_text,
)
from p13n.domain.services.graph_writes import (
    GRAPHS_SYNCED_KEY,
    compute_profile,
    event_from_log,
    merge_individuals,
    replay_profile,
    write_graphs,
)
from p13n.domain.services.identity_control import IdentityControl, Lineage, SplitDone
from p13n.domain.services.identity_service import (
    RESERVED_SOURCES,
    IdentityService,
    ImportIndividualsSummary,
    ResolveSummary,
)
from p13n.domain.services.identity_state import load_resolution_state
from p13n.domain.services.ingest_batch import IngestBatch
from p13n.domain.services.measure import MeasureService
from p13n.domain.services.measure_series import CohortSeries, ExperimentSeries, experiment_series
from p13n.domain.services.model_runs import (
    DEFAULT_BUDGET_SECONDS,
    ModelRun,
    RunStatus,
    RunStore,
    TrainOptions,
    run_training,
)
from p13n.domain.services.personalization_log import LogEntry, LoggedContent, PersonalizationLog
from p13n.domain.services.pipeline_stats import PipelineStats
from p13n.domain.services.privacy import ErasureReceipt, PersonExport, PrivacyService
from p13n.domain.services.recommend_service import RecommendService
from p13n.domain.services.result_snapshots import (
    SNAPSHOT_MAX_AGE_S,
    SNAPSHOT_WAIT_S,
    ResultSnapshots,
    Snapshot,
)
from p13n.domain.services.segment_counts import TREND_DAYS, SegmentCounts, SegmentTrend
from p13n.domain.services.state import EngineOptions, HotState
from p13n.domain.services.survivors import Survivors
from p13n.domain.services.training import interactions_from_log, load_model, save_model

__all__ = [
    "AcpFeedRow",
    "FeedFormat",
    "FeedSignals",
    "MerchantSupplementalRow",
    "feed_signals",
    "feed_text",
    "DEFAULT_BUDGET_SECONDS",
    "ModelRun",
    "RunStatus",
    "RunStore",
    "TrainOptions",
    "run_training",
    "ArmsOf",
    "Bandits",
    "ApiKeys",
    "Actor",
    "AuditEntry",
    "AuditPage",
    "AuditTrail",
    "LOCAL_ACTOR",
    "acting_as",
    "audit_trail",
    "set_actor",
    "ApplyReport",
    "ConfigBundle",
    "ConfigRepository",
    "ConfigStore",
    "DecisionConfigs",
    "DecisionService",
    "LogEntry",
    "LoggedContent",
    "PersonalizationLog",
    "PipelineStats",
    "MeasureService",
    "ResultSnapshots",
    "SegmentCounts",
    "SegmentTrend",
    "TREND_DAYS",
    "Snapshot",
    "SNAPSHOT_MAX_AGE_S",
    "SNAPSHOT_WAIT_S",
    "Survivors",
    "CohortSeries",
    "ExperimentSeries",
    "experiment_series",
    "apply_bundle",
    "assign_experiments",
    "export_bundle",
    "parse_bundle",
    "Engine",
    "EngineOptions",
    "GRAPHS_SYNCED_KEY",
    "HotState",
    "IdentityControl",
    "IdentityService",
    "ImportIndividualsSummary",
    "IngestBatch",
    "Lineage",
    "RESERVED_SOURCES",
    "RecommendService",
    "ErasureReceipt",
    "PersonExport",
    "PrivacyService",
    "ResolveSummary",
    "SearchHit",
    "SearchPage",
    "SplitDone",
    "compute_profile",
    "event_from_log",
    "interactions_from_log",
    "load_model",
    "load_resolution_state",
    "merge_individuals",
    "replay_profile",
    "save_model",
    "search_items",
    "sql_store",
    "write_graphs",
]
