"""The service layer: what a running process holds (`HotState`, the write lock, transactions)
and the orchestrators that drive the pure steps over the store port.

`Engine` (ingest, reads, configuration) with its population batch paths (`population`), graph
writes and the one merge path (`graph_writes`), identity resolution (`IdentityService`) and
control (`IdentityControl`). The step packages never import this package.
"""

from p13n.domain.services.engine import Engine, sql_store
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
from p13n.domain.services.state import EngineOptions, HotState

__all__ = [
    "Engine",
    "EngineOptions",
    "HotState",
    "IngestBatch",
    "GRAPHS_SYNCED_KEY",
    "compute_profile",
    "event_from_log",
    "merge_individuals",
    "replay_profile",
    "write_graphs",
    "IdentityService",
    "IdentityControl",
    "ImportIndividualsSummary",
    "ResolveSummary",
    "Lineage",
    "SplitDone",
    "RESERVED_SOURCES",
    "load_resolution_state",
    "sql_store",
]
