"""The store port in plain Python, for unit tests of the services (no database).

Tables are dicts of row dicts; a transaction snapshots them and puts the snapshot back when its
block raises, so a failed batch leaves nothing behind, as on SQL. One lock serializes
transactions. Not for production: nothing is persisted and every copy is deep.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from p13n.domain.store.port import AggregateMeasure

__all__ = ["MemoryStore"]

_TABLES = (
    "events",
    "consent_records",
    "consent_state",
    "individuals",
    "links",
    "source_records",
    "profiles",
    "items",
    "item_graphs",
    "configs",
    "meta",
)


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._seq = 0
        self.events: dict[str, dict[str, Any]] = {}  # event_id -> row, insertion = seq order
        self.consent_records: dict[str, dict[str, Any]] = {}
        self.consent_state: dict[str, dict[str, Any]] = {}
        self.individuals: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[str, str], dict[str, Any]] = {}
        self.source_records: dict[str, dict[str, Any]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.item_graphs: dict[str, dict[str, Any]] = {}
        self.configs: dict[tuple[str, str], dict[str, Any]] = {}
        self.meta: dict[str, str] = {}
        self.splits: list[dict[str, Any]] = []

    @contextmanager
    def transaction(self) -> Iterator[MemoryStore]:
        with self._lock:
            saved = {name: copy.deepcopy(getattr(self, name)) for name in _TABLES}
            seq = self._seq
            try:
                yield self
            except BaseException:
                for name, table in saved.items():
                    setattr(self, name, table)
                self._seq = seq
                raise

    def close(self) -> None:
        pass

    # -- events ------------------------------------------------------------------------------
    def existing_event_ids(self, conn: Any, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if i in self.events or i in self.consent_records}

    def append_events(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if row["event_id"] in self.events:
                raise ValueError(f"duplicate event_id {row['event_id']!r}")
            self._seq += 1
            self.events[row["event_id"]] = {**row, "seq": self._seq}

    def append_consent_records(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            if row["event_id"] in self.consent_records:
                raise ValueError(f"duplicate event_id {row['event_id']!r}")
            self.consent_records[row["event_id"]] = dict(row)

    def events_of(self, conn: Any, unified_id: str) -> list[dict[str, Any]]:
        keys = ("seq", "ts", "payload", "category", "brand", "event_id")
        return [
            {k: r.get(k) for k in keys}
            for r in self.events.values()
            if r.get("unified_id") == unified_id
        ]

    def max_event_seq(self, conn: Any) -> int:
        return max((r["seq"] for r in self.events.values()), default=0)

    def iter_events_after(self, seq: int, *, batch: int = 5000) -> Iterator[list[dict[str, Any]]]:
        keys = ("seq", "ts", "payload", "category", "brand", "event_id", "unified_id")
        rows = [{k: r.get(k) for k in keys} for r in self.events.values() if r["seq"] > seq]
        for start in range(0, len(rows), batch):
            yield rows[start : start + batch]

    def iter_item_interactions(
        self, *, batch: int = 50_000
    ) -> Iterator[list[tuple[str, str | None, str, float, str | None]]]:
        out = []
        for r in self.events.values():
            if r.get("item_id") is None and r.get("kind") != "order":
                continue
            payload = r["payload"] if r.get("item_id") is None else None
            out.append((r["unified_id"], r.get("item_id"), r["interaction"], r["ts"], payload))
        for start in range(0, len(out), batch):
            yield out[start : start + batch]

    def count_events(self) -> int:
        return len(self.events)

    # -- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    def set_meta(self, conn: Any, key: str, value: str) -> None:
        self.meta[key] = value

    def delete_meta(self, conn: Any, key: str) -> None:
        self.meta.pop(key, None)

    # -- consent -----------------------------------------------------------------------------
    def upsert_consent_state(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        _upsert(self.consent_state, rows, lambda r: r["subject"])

    def load_consent_state(self) -> dict[str, str]:
        return {s: r["status"] for s, r in self.consent_state.items()}

    # -- identity ----------------------------------------------------------------------------
    def insert_individuals(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        _upsert(self.individuals, rows, lambda r: r["unified_id"])

    def insert_links(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        _upsert(self.links, rows, lambda r: (r["kind"], r["value"]))

    def upsert_source_records(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        _upsert(self.source_records, rows, lambda r: r["id"])

    def load_identity(
        self,
    ) -> tuple[dict[tuple[str, str], str], dict[str, str], dict[str, float]]:
        links = {key: r["unified_id"] for key, r in self.links.items()}
        aliases = {u: r["merged_into"] for u, r in self.individuals.items() if r.get("merged_into")}
        created = {u: r["created_at"] for u, r in self.individuals.items()}
        return links, aliases, created

    def merge_individuals(self, conn: Any, losers: Sequence[str], survivor: str) -> None:
        gone = set(losers)
        for table in (self.events, self.links, self.source_records):
            for row in table.values():
                if row.get("unified_id") in gone:
                    row["unified_id"] = survivor
        for uid, row in self.individuals.items():
            if uid in gone or row.get("merged_into") in gone:
                row["merged_into"] = survivor
        for uid in gone:
            self.profiles.pop(uid, None)

    def iter_resolution_records(
        self, *, batch: int = 50_000
    ) -> Iterator[list[tuple[str, str, str]]]:
        rows = [
            (key, r["unified_id"], r["data"])
            for key, r in sorted(self.source_records.items())
            if r.get("source") != "events" or key.startswith("events:")
        ]
        for start in range(0, len(rows), batch):
            yield rows[start : start + batch]

    def load_splits(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.splits]

    # -- profiles ----------------------------------------------------------------------------
    def upsert_profiles(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        _upsert(self.profiles, rows, lambda r: r["unified_id"])

    def get_profile_doc(self, unified_id: str) -> str | None:
        row = self.profiles.get(unified_id)
        return None if row is None else str(row["doc"])

    def get_profile_docs(self, unified_ids: Sequence[str]) -> list[str]:
        return [self.profiles[u]["doc"] for u in unified_ids if u in self.profiles]

    def iter_profile_docs(self, *, batch: int = 2000) -> Iterator[list[str]]:
        docs = [r["doc"] for _, r in sorted(self.profiles.items())]
        for start in range(0, len(docs), batch):
            yield docs[start : start + batch]

    def iter_recent_profile_docs(self, limit: int, *, batch: int = 5000) -> Iterator[list[str]]:
        rows = sorted(self.profiles.values(), key=lambda r: r["updated_at"], reverse=True)
        docs = [r["doc"] for r in rows[:limit]]
        for start in range(0, len(docs), batch):
            yield docs[start : start + batch]

    def count_profiles(self) -> int:
        return len(self.profiles)

    # -- items -------------------------------------------------------------------------------
    def upsert_items(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        _upsert(self.items, rows, lambda r: r["id"])

    def insert_items_if_missing(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self.items.setdefault(row["id"], dict(row))

    def load_items(self) -> list[str]:
        return [r["doc"] for r in self.items.values()]

    def upsert_item_graphs(self, conn: Any, rows: Sequence[dict[str, Any]]) -> None:
        _upsert(self.item_graphs, rows, lambda r: r["item_id"])

    def load_item_graphs(self) -> list[str]:
        return [r["doc"] for r in self.item_graphs.values()]

    # -- configuration -----------------------------------------------------------------------
    def put_config(self, kind: str, name: str, doc: str, now: float) -> int:
        with self.transaction():
            old = self.configs.get((kind, name))
            version = 1 if old is None else int(old["version"]) + 1
            self.configs[(kind, name)] = {
                "kind": kind,
                "name": name,
                "doc": doc,
                "version": version,
                "updated_at": now,
            }
        return version

    def list_config(self, kind: str) -> list[str]:
        return [r["doc"] for (k, _), r in sorted(self.configs.items()) if k == kind]

    def delete_config(self, kind: str, name: str) -> bool:
        with self.transaction():
            return self.configs.pop((kind, name), None) is not None

    def put_configs_if_missing(
        self, kind: str, docs: Iterable[tuple[str, str]], now: float
    ) -> None:
        with self.transaction():
            for name, doc in docs:
                self.configs.setdefault(
                    (kind, name),
                    {"kind": kind, "name": name, "doc": doc, "version": 1, "updated_at": now},
                )

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
        groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for r in self.events.values():
            if interactions and r["interaction"] not in interactions:
                continue
            if since is not None and r["ts"] < since:
                continue
            if field is not None and measure != "count" and r.get(field) is None:
                continue
            key = None if dimension is None else r.get(dimension)
            if dimension is not None and key is None:
                continue
            groups.setdefault((r["unified_id"], key), []).append(r)
        return [(uid, key, _aggregate(measure, field, rows)) for (uid, key), rows in groups.items()]

    def event_unified_ids(self) -> list[str]:
        return sorted({r["unified_id"] for r in self.events.values()})


def _upsert(table: dict[Any, dict[str, Any]], rows: Sequence[dict[str, Any]], key: Any) -> None:
    for row in rows:
        table.setdefault(key(row), {}).update(row)


def _aggregate(measure: AggregateMeasure, field: str | None, rows: list[dict[str, Any]]) -> Any:
    if measure == "count":
        return len(rows)
    assert field is not None
    values = [r[field] for r in rows]
    if measure == "sum":
        return sum(values)
    if measure == "min":
        return min(values)
    if measure == "max":
        return max(values)
    if measure == "avg":
        return sum(values) / len(values)
    if measure == "distinct_count":
        return len(set(values))
    return max(rows, key=lambda r: (r["ts"], r["seq"]))[field]  # last
