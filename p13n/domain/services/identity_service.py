"""Identity resolution over the engine's store: import source records (real-time path),
batch resolution (`resolve`), export. Merges take the one merge path (`graph_writes`): the
losers' history is relinked to the survivor and the survivor's profile is rebuilt from the log.
Needs a `SqlStore`: the resolution tables (`IdentityStore`) are outside the store port.
Longer than most modules because import, resolve and export share one staging of records and
one merge bookkeeping; split, they would pass that state between files.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from p13n.domain.errors import InvalidInput, P13nError
from p13n.domain.identity import (
    EVENT_IDENTIFIER,
    EVENTS_SOURCE,
    NormRecord,
    event_links,
    new_unified_id,
    normalize_record,
    record_from_row,
    resolve_records,
    source_row,
)
from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.services.graph_writes import merge_individuals, write_graphs
from p13n.domain.services.identity_state import LAST_RUN_KEY, PARAMS_KEY
from p13n.domain.store import IdentityStore, Transaction

__all__ = [
    "IdentityService",
    "ImportIndividualsSummary",
    "ResolveSummary",
    "RESERVED_SOURCES",
]

RESERVED_SOURCES = frozenset({"device", "individual", "email", "phone", "party", EVENTS_SOURCE})
_MAX_LISTED = 100


class ImportIndividualsSummary(BaseModel):
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    superseded: int = Field(default=0, description="Older versions: kept in history only.")
    flagged: int = Field(default=0, description="Accepted with a malformed or missing value.")
    merges: int = 0
    seconds: float = 0.0
    rejections: list[tuple[int, str]] = Field(default_factory=list)


class ResolveSummary(BaseModel):
    records: int
    clusters: int
    links: int
    merges: int
    moved: int = Field(description="Records whose unified id changed.")
    candidate_pairs: int
    incremental: bool
    seconds: float
    steps: dict[str, float]


class IdentityService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = IdentityStore(sql_store(engine))
        self.state = engine.state.identity

    # -- import (real-time path) ------------------------------------------------------------
    def import_records(
        self,
        rows: Iterable[Any],
        *,
        default_source: str = "import",
        chunk: int = 5000,
        on_progress: Callable[[int], None] | None = None,
    ) -> ImportIndividualsSummary:
        """Validate, normalize, keep and link each row; one transaction per chunk."""
        started = time.perf_counter()
        summary = ImportIndividualsSummary()
        buffer: list[Any] = []
        for row in rows:
            buffer.append(row)
            if len(buffer) >= chunk:
                self._import_chunk(buffer, default_source, summary)
                if on_progress is not None:
                    on_progress(len(buffer))
                buffer.clear()
        if buffer:
            self._import_chunk(buffer, default_source, summary)
            if on_progress is not None:
                on_progress(len(buffer))
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _import_chunk(
        self, rows: list[Any], default_source: str, summary: ImportIndividualsSummary
    ) -> None:
        engine = self.engine
        now = engine.now()
        with engine.lock:
            try:
                with engine.store.transaction() as conn:
                    self._link_rows(conn, rows, default_source, summary, now)
            except Exception:
                engine.reload()
                raise

    def _link_rows(
        self,
        conn: Transaction,
        rows: list[Any],
        default_source: str,
        summary: ImportIndividualsSummary,
        now: float,
    ) -> None:
        state, ident = self.state, self.engine.state.identifier
        current: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        individuals: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        merges: list[tuple[str, list[str]]] = []
        for row in rows:
            summary.rows += 1
            try:
                record = record_from_row(row, default_source=default_source)
                if record.source in RESERVED_SOURCES:
                    raise InvalidInput(
                        f"source '{record.source}' is reserved; name your source otherwise."
                    )
                norm = normalize_record(
                    record, default_region=state.ruleset.default_region, now=now
                )
            except P13nError as exc:
                summary.rejected += 1
                if len(summary.rejections) < _MAX_LISTED:
                    summary.rejections.append((summary.rows, exc.message))
                continue
            summary.accepted += 1
            summary.flagged += bool(norm.flags)
            data = source_row(record, norm, "")
            history.append(
                {
                    "record_id": record.key,
                    "data": data["data"],
                    "updated_at": norm.updated_at,
                    "received_at": now,
                }
            )
            known = state.index.records.get(record.key)
            if known is not None and known.updated_at > norm.updated_at:
                summary.superseded += 1  # an older version: history only, the newer one stays
                continue
            link = ident.link_record(norm, now=now)
            if link.new_individual:
                individuals.append(
                    {"unified_id": link.unified_id, "created_at": now, "merged_into": None}
                )
            if link.merged:
                merges.append((link.unified_id, link.merged))
            current.append({**data, "unified_id": link.unified_id})
            links.extend(
                {
                    "record_a": record.key,
                    "record_b": other,
                    "rule": rule,
                    "score": float(score),
                    "linked_at": now,
                }
                for other, rule, score in link.pairs
            )
        latest = {r["id"]: r for r in current}  # the same record twice in a chunk: the last wins
        self.store.upsert_records(conn, list(latest.values()))
        self.store.append_history(conn, history)
        self.engine.store.insert_individuals(conn, individuals)
        self.store.add_pair_links(conn, links)
        summary.merges += len(merges)
        self.apply_merges(conn, merges, now)

    # -- merges ------------------------------------------------------------------------------
    def apply_merges(
        self, conn: Transaction, merges: Sequence[tuple[str, list[str]]], now: float
    ) -> None:
        """Relink the losers' events, links and records to the survivor (aliases stay
        resolvable) and rebuild the survivor's profile when either side had one."""
        if not merges:
            return
        state, store = self.engine.state, self.engine.store
        with_events = {self.state.resolve(u) for u in self.state.links.values()}
        quiet: list[tuple[str, str]] = []  # individuals known only from source records
        relinked: list[tuple[str, list[str]]] = []
        for survivor, losers in merges:
            if not with_events & {survivor, *losers} and not any(
                u in state.pending_profiles for u in (survivor, *losers)
            ):
                quiet.extend((loser, survivor) for loser in losers)
            else:
                relinked.append((survivor, losers))
        rebuilt = merge_individuals(state, store, conn, relinked, now, only_with_profiles=True)
        if quiet:
            targets = set(self.state.aliases.values())
            self.store.mark_merged(conn, quiet, were_survivors=targets)
        if rebuilt:
            state.pending_profiles.update(rebuilt)
            write_graphs(state, store, conn, now)

    # -- batch -------------------------------------------------------------------------------
    def resolve(
        self,
        *,
        incremental: bool = False,
        on_step: Callable[[str], None] | None = None,
        on_records: Callable[[int, int], None] | None = None,
    ) -> ResolveSummary:
        """Re-resolve the source records with every rule, fuzzy and probabilistic included.
        Incremental: only pairs touching records changed since the last run are examined, with
        the weights of the last full run, and existing clusters are only ever joined.
        `on_step(name)` follows the steps, `on_records(done, total)` the records compared."""
        engine, state = self.engine, self.state
        started = time.perf_counter()
        with engine.lock:
            now = engine.now()
            keys = sorted(state.index.records)
            records = [state.index.records[k] for k in keys]
            position = {k: n for n, k in enumerate(keys)}
            anchors, anchor_uids = self._anchors(records)
            apart = [
                (position[a], position[b])
                for a, others in state.index.apart.items()
                for b in others
                if a < b and a in position and b in position
            ]
            focus = self._touched(keys) if incremental and state.params is not None else None
            if focus is not None:
                anchors += self._current_clusters(keys, anchor_uids)
            outcome = resolve_records(
                records,
                state.ruleset,
                anchors=anchors,
                apart=apart,
                params=state.params,
                fit=focus is None,
                focus=focus,
                on_step=on_step,
                on_records=None if on_records is None else lambda k: on_records(k, len(keys)),
            )
            plan = self._plan(keys, outcome.labels, anchor_uids, now)
            pairs = zip(
                outcome.link_i.tolist(),
                outcome.link_j.tolist(),
                outcome.link_rule,
                outcome.link_score.tolist(),
                strict=True,
            )
            link_rows = [
                {
                    "record_a": keys[i],
                    "record_b": keys[j],
                    "rule": r,
                    "score": float(s),
                    "linked_at": now,
                }
                for i, j, r, s in pairs
            ] + [
                {
                    "record_a": keys[i],
                    "record_b": ident,
                    "rule": EVENT_IDENTIFIER,
                    "score": 1.0,
                    "linked_at": now,
                }
                for i, ident in self._event_pairs(records)
            ]
            try:
                with engine.store.transaction() as conn:
                    self._write_plan(conn, plan, now)
                    touched = None if focus is None else [keys[k] for k in np.flatnonzero(focus)]
                    self.store.replace_pair_links(conn, touched, link_rows)
                    if outcome.params is not None:
                        engine.store.set_meta(conn, PARAMS_KEY, outcome.params.model_dump_json())
                    engine.store.set_meta(conn, LAST_RUN_KEY, repr(now))
            except Exception:
                engine.reload()
                raise
            state.params = outcome.params
        return ResolveSummary(
            records=len(keys),
            clusters=len(set(plan["owner"].values())),
            links=len(link_rows),
            merges=len(plan["merges"]),
            moved=len(plan["moved"]),
            candidate_pairs=outcome.candidate_pairs,
            incremental=focus is not None,
            seconds=round(time.perf_counter() - started, 3),
            steps=outcome.seconds,
        )

    def _anchors(self, records: list[NormRecord]) -> tuple[list[tuple[int, int]], list[str]]:
        """Ties to individuals known from events: an event identifier a record carries, and an
        identity-event record to its subject's individual."""
        uids: dict[str, int] = {}
        anchors = []
        for n, rec in enumerate(records):
            tied = [self.state.resolve(u) for _, u in event_links(rec, self.state.links)]
            if rec.key.startswith(f"{EVENTS_SOURCE}:"):
                tied.append(self.state.owner(rec.key) or "")
            for uid in tied:
                if uid:
                    anchors.append((n, uids.setdefault(uid, len(uids))))
        return anchors, list(uids)

    def _event_pairs(self, records: list[NormRecord]) -> list[tuple[int, str]]:
        return [
            (n, ident)
            for n, rec in enumerate(records)
            for ident, _ in event_links(rec, self.state.links)
        ]

    def _current_clusters(self, keys: list[str], anchor_uids: list[str]) -> list[tuple[int, int]]:
        """Incremental mode keeps existing clusters: each record is tied to its current id."""
        number = {u: n for n, u in enumerate(anchor_uids)}
        out = []
        for n, key in enumerate(keys):
            uid = self.state.owner(key)
            if uid is not None:
                if uid not in number:
                    number[uid] = len(anchor_uids)
                    anchor_uids.append(uid)
                out.append((n, number[uid]))
        return out

    def _touched(self, keys: list[str]) -> np.ndarray:
        since = float(self.engine.store.get_meta(LAST_RUN_KEY) or 0.0)
        changed = set(self.store.changed_since(since))
        return np.fromiter((k in changed for k in keys), dtype=bool, count=len(keys))

    def _plan(
        self, keys: list[str], labels: np.ndarray, anchor_uids: list[str], now: float
    ) -> dict[str, Any]:
        """Unified id per cluster: the oldest id it holds (an id held by several clusters goes
        to the one tied to it by events, else to the one with most of its records)."""
        state = self.state
        n = len(keys)
        clusters: dict[int, list[int]] = {}
        for k in range(n):
            clusters.setdefault(int(labels[k]), []).append(k)
        claims: dict[str, dict[int, tuple[int, int]]] = {}
        for a, uid in enumerate(anchor_uids):
            if n + a < len(labels):
                claims.setdefault(uid, {})[int(labels[n + a])] = (1 << 30, 0)
        for label, members in clusters.items():
            for k in members:
                held_by = state.owner(keys[k])
                if held_by is not None:
                    votes, first = claims.setdefault(held_by, {}).get(label, (0, -k))
                    claims[held_by][label] = (votes + 1, max(first, -k))
        held: dict[int, list[str]] = {}
        for uid, by_label in claims.items():
            winner = max(by_label, key=lambda lb: by_label[lb])
            held.setdefault(winner, []).append(uid)
        owner: dict[str, str] = {}
        merges, new = [], []
        for label, members in clusters.items():
            ordered = state.oldest(held.get(label, []))
            if ordered:
                uid = ordered[0]
                if ordered[1:]:
                    merges.append((uid, ordered[1:]))
            else:
                uid, salt = new_unified_id(f"record:{keys[members[0]]}"), 0
                while uid in state.created:
                    salt += 1
                    uid = new_unified_id(f"record:{keys[members[0]]}:{salt}")
                new.append(uid)
                state.created[uid] = now
            for k in members:
                owner[keys[k]] = uid
        moved = [(key, uid) for key, uid in owner.items() if state.owner(key) != uid]
        return {"owner": owner, "merges": merges, "new": new, "moved": moved}

    def _write_plan(self, conn: Transaction, plan: dict[str, Any], now: float) -> None:
        state = self.state
        self.engine.store.insert_individuals(
            conn, [{"unified_id": u, "created_at": now, "merged_into": None} for u in plan["new"]]
        )
        for survivor, losers in plan["merges"]:
            for loser in losers:
                state.aliases[loser] = survivor
        self.apply_merges(conn, plan["merges"], now)
        self.store.set_owners(conn, plan["moved"])
        index = state.index
        index.members = {}
        for key, uid in plan["owner"].items():
            index.owner[key] = uid
            index.members.setdefault(uid, []).append(key)

    # -- export ------------------------------------------------------------------------------
    def export(self, path: Path) -> int:
        """CSV `source_record_id,unified_individual_id,source`; returns the number of rows."""
        count = 0
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["source_record_id", "unified_individual_id", "source"])
            for rows in self.store.export_rows():
                writer.writerows((srid, self.state.resolve(uid), src) for srid, uid, src in rows)
                count += len(rows)
        return count
