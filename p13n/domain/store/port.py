"""The store port: the calls the services make on the relational store, with their contracts.

`SqlStore` implements it over SQLite or PostgreSQL; `MemoryStore` implements it in plain Python
for unit tests of the services. `tests/integration/test_store_contract.py` holds the contract
as one test class run against all three.

Contracts shared by every method:
- Times are UTC epoch seconds (floats); the store never converts them.
- Reads of a missing key return None (or an empty collection); they never raise.
- Row arguments and results are plain dicts keyed by the column names of `tables.py`.
- Write methods take the open `Transaction` of the caller, so that one batch commits (or rolls
  back) atomically. Whether a read outside it sees its uncommitted writes is not promised
  (the services never rely on either).
- An empty list of rows is a no-op.

Left outside the port, SQL-only on purpose: identity resolution's `IdentityStore` (pair links,
history, splits written, changed records; `IdentityService` and `IdentityControl` need a
`SqlStore`), the personalization log store, the API-key store and the vector index (its own
port in `domain/vectors`). The two identity reads that loading the hot state needs
(`iter_resolution_records`, `load_splits`) are in the port.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

__all__ = ["Store", "Transaction", "AggregateMeasure"]

Transaction = Any
"""An open transaction, opaque to the services: obtained from `Store.transaction()` and only
ever passed back to the same store's write methods."""

AggregateMeasure = Literal["count", "sum", "min", "max", "avg", "distinct_count", "last"]


class Store(Protocol):
    # -- lifecycle ---------------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A transaction: committed when the block exits normally, rolled back (every write in
        it undone) when it raises."""
        ...

    def close(self) -> None:
        """Release connections and background threads; the store is unusable afterwards."""
        ...

    # -- events ------------------------------------------------------------------------------
    def existing_event_ids(self, conn: Transaction, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are already in the event log or kept as consent records."""
        ...

    def append_events(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Append event rows (`event_id` unique; a duplicate id raises); the store assigns each
        an increasing `seq`."""
        ...

    def append_consent_records(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Keep untracked events as consent records (`event_id` unique)."""
        ...

    def events_of(self, conn: Transaction, unified_id: str) -> list[dict[str, Any]]:
        """Every logged event of one individual (seq, ts, payload, category, brand, event_id),
        in `seq` (arrival) order; [] for an unknown id."""
        ...

    def max_event_seq(self, conn: Transaction) -> int:
        """The seq of the newest logged event; 0 for an empty log."""
        ...

    def iter_events_after(self, seq: int, *, batch: int = 5000) -> Iterator[list[dict[str, Any]]]:
        """Logged events with seq > `seq` (with their unified_id), in seq order, in batches."""
        ...

    def iter_item_interactions(
        self, *, batch: int = 50_000
    ) -> Iterator[list[tuple[str, str | None, str, float, str | None]]]:
        """Item-level events in seq order, in batches of (unified_id, item_id, interaction, ts,
        payload); the payload only for orders that name no single item, else None."""
        ...

    def count_events(self) -> int:
        """Rows in the event log (consent records not counted)."""
        ...

    # -- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """The value stored under `key`; None when absent."""
        ...

    def set_meta(self, conn: Transaction, key: str, value: str) -> None:
        """Create or replace `key`."""
        ...

    def delete_meta(self, conn: Transaction, key: str) -> None:
        """Remove `key`; no error when absent."""
        ...

    # -- consent -----------------------------------------------------------------------------
    def upsert_consent_state(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Create or replace the consent status of each `subject`."""
        ...

    def load_consent_state(self) -> dict[str, str]:
        """subject -> status ("Opt In" / "Opt Out"); {} when none."""
        ...

    # -- identity ----------------------------------------------------------------------------
    def insert_individuals(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Create or replace individuals (unified_id, created_at, merged_into)."""
        ...

    def insert_links(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Create or replace identity links keyed by (kind, value)."""
        ...

    def upsert_source_records(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Create or replace source records keyed by `id`."""
        ...

    def load_identity(
        self,
    ) -> tuple[dict[tuple[str, str], str], dict[str, str], dict[str, float]]:
        """(links (kind, value) -> unified id, aliases loser -> survivor, creation times)."""
        ...

    def merge_individuals(self, conn: Transaction, losers: Sequence[str], survivor: str) -> None:
        """Point every event, link and source record of `losers` at `survivor`, mark the losers
        (and the aliases that pointed at them) merged into it, and delete the losers' profiles."""
        ...

    def iter_resolution_records(
        self, *, batch: int = 50_000
    ) -> Iterator[list[tuple[str, str, str]]]:
        """(id, unified id, data) of every resolvable source record (imported ones and
        identity-event subjects `events:...`, not the `device:...` identifier rows), in id
        order, in batches."""
        ...

    def load_splits(self) -> list[dict[str, Any]]:
        """Every identity split (record_id, from/to unified id, apart_from JSON, reason,
        split_at), oldest first."""
        ...

    # -- profiles ----------------------------------------------------------------------------
    def upsert_profiles(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Create or replace profile documents (unified_id, doc JSON, updated_at)."""
        ...

    def get_profile_doc(self, unified_id: str) -> str | None:
        """The profile document (JSON); None when there is none."""
        ...

    def get_profile_docs(self, unified_ids: Sequence[str]) -> list[str]:
        """Documents of those ids that exist, in no particular order."""
        ...

    def iter_profile_docs(self, *, batch: int = 2000) -> Iterator[list[str]]:
        """All profile documents, in unified-id order, in batches."""
        ...

    def iter_recent_profile_docs(self, limit: int, *, batch: int = 5000) -> Iterator[list[str]]:
        """Up to `limit` profile documents, most recently updated first, in batches."""
        ...

    def count_profiles(self) -> int:
        """Number of profile documents."""
        ...

    # -- items -------------------------------------------------------------------------------
    def upsert_items(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Create or replace items (id, type, doc, placeholder, updated_at)."""
        ...

    def insert_items_if_missing(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Placeholders for items first seen in events; an existing item is never overwritten."""
        ...

    def load_items(self) -> list[str]:
        """Every item document (JSON), in no particular order."""
        ...

    def upsert_item_graphs(self, conn: Transaction, rows: Sequence[dict[str, Any]]) -> None:
        """Create or replace item graph documents (item_id, doc, updated_at)."""
        ...

    def load_item_graphs(self) -> list[str]:
        """Every item graph document (JSON), in no particular order."""
        ...

    # -- configuration (own transaction each) ------------------------------------------------
    def put_config(self, kind: str, name: str, doc: str, now: float) -> int:
        """Store a configuration object; returns its new version (1 for a new object)."""
        ...

    def list_config(self, kind: str) -> list[str]:
        """Documents of one kind, in name order; [] for an unknown kind."""
        ...

    def delete_config(self, kind: str, name: str) -> bool:
        """Delete one object; False when it did not exist."""
        ...

    def put_configs_if_missing(
        self, kind: str, docs: Iterable[tuple[str, str]], now: float
    ) -> None:
        """Store (name, doc) pairs at version 1 where no object of that name exists."""
        ...

    # -- batch insights ----------------------------------------------------------------------
    def insight_aggregates(
        self,
        *,
        measure: AggregateMeasure,
        field: str | None,
        interactions: Sequence[str] = (),
        since: float | None = None,
        dimension: str | None = None,
    ) -> list[tuple[str, str | None, Any]]:
        """(unified_id, dimension value or None, aggregate) per individual (and dimension key)
        over the logged events of `interactions` (all when empty) with `ts >= since` (all when
        None). Rows whose `field` or `dimension` is NULL are left out (all rows count for
        `count`); `last` is the field of the row with the greatest (ts, seq); individuals with
        no matching row are absent; numbers may come back as Decimal. The store knows nothing
        of insight definitions: `insights.recompute_insights` turns these into values."""
        ...

    def event_unified_ids(self) -> list[str]:
        """Every unified id with at least one logged event, sorted."""
        ...
