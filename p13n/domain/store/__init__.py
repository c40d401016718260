"""The fence around the relational store: only this package talks SQL.

`Store` (port.py) is the port the services use; `SqlStore` implements it over SQLite or
PostgreSQL, `MemoryStore` in plain Python for unit tests.
"""

from p13n.domain.store.attribution_table import CELL_DIMENSIONS, AttributionStore
from p13n.domain.store.audit_table import AuditRow, AuditStore
from p13n.domain.store.bandit_tables import BanditStore
from p13n.domain.store.database import open_engine
from p13n.domain.store.erasure import ErasureStore, Footprint
from p13n.domain.store.experiment_table import ExperimentStore
from p13n.domain.store.faults import store_fault
from p13n.domain.store.identity_store import (  # importing it registers its tables
    RULESET_KIND,
    IdentityStore,
)
from p13n.domain.store.keys_store import ApiKeyRow, KeysStore
from p13n.domain.store.log_table import LOG_COLUMNS, PersonalizationLogStore
from p13n.domain.store.measure_reads import MeasureReads
from p13n.domain.store.memory_store import MemoryStore
from p13n.domain.store.pipeline_table import PIPELINE_COUNTERS, PipelineStore
from p13n.domain.store.port import Store, Transaction
from p13n.domain.store.segment_counts_table import SegmentCountStore
from p13n.domain.store.sql_store import SqlStore

__all__ = [
    "ApiKeyRow",
    "AttributionStore",
    "AuditRow",
    "AuditStore",
    "CELL_DIMENSIONS",
    "BanditStore",
    "LOG_COLUMNS",
    "ErasureStore",
    "Footprint",
    "IdentityStore",
    "KeysStore",
    "MeasureReads",
    "ExperimentStore",
    "MemoryStore",
    "PersonalizationLogStore",
    "PIPELINE_COUNTERS",
    "PipelineStore",
    "RULESET_KIND",
    "SegmentCountStore",
    "SqlStore",
    "Store",
    "Transaction",
    "open_engine",
    "store_fault",
]


def _implements_the_port(sql: SqlStore, memory: MemoryStore) -> tuple[Store, Store]:
    """Never called: mypy checks here that both stores implement the port."""
    return sql, memory
