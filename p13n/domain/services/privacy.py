"""Privacy requests: erase a person (right to be forgotten) and export what is held about them.

A person is the whole unified cluster an id belongs to, as Salesforce Data Cloud's deletion
does (the individual, its source records, its unified profile and the link records): a
device id, individual id, email, phone, source record or unified id all name the same person,
and every one of their ids, records and rows goes. `forget` erases the store's rows
(`ErasureStore`), then everything a running process keeps of them: the profile cache and the
graphs pending for the write-behind writer (everyone's written first), the identity state
(links, aliases, source records and their blocking indexes) and consent, the personalization log's
queue (written out first, so its rows are erased with the rest), the bandits' sticky
assignments, and the histories in the trained model (memory and its saved file). Item graphs
and the analytics aggregates hold only counts, which stay.

Erasing someone who is not (or no longer) known is `NotFound` (404): after an erasure nothing
is kept that could tell the id was ever there, so a second request cannot answer otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from pydantic import BaseModel, Field

from p13n.domain.services.audit import audit_trail
from p13n.domain.services.decision_service import DecisionService
from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.services.identity_control import IdentityControl, Lineage
from p13n.domain.services.recommend_service import RecommendService
from p13n.domain.store import ErasureStore

__all__ = ["ErasureReceipt", "PersonExport", "PrivacyService"]


class ErasureReceipt(BaseModel):
    """What an erasure removed. Kept nowhere by p13n (it names the person): the caller keeps it."""

    receipt_id: str = Field(description="A fresh id for this erasure, for the caller's records.")
    requested_id: str = Field(description="The id the request named.")
    unified_id: str = Field(description="The unified individual erased (with every alias).")
    erased_at: float = Field(description="When, UTC epoch seconds.")
    unified_ids: int = Field(description="Unified ids erased: the survivor and merged aliases.")
    identifiers: int = Field(description="Device, individual and source-record ids erased.")
    rows: dict[str, int] = Field(
        description="Rows erased per table (experiment_units and experiment_keys: anonymized, "
        "their counts kept); tables with none are left out."
    )
    cached_profiles: int = Field(description="Profiles dropped from the profile cache.")
    pending_writes: int = Field(description="Graph writes pending for the person, dropped.")
    model_histories: int = Field(description="Histories taken out of the trained model.")
    bandit_assignments: int = Field(description="In-memory sticky bandit assignments dropped.")


class PersonExport(BaseModel):
    """Everything p13n holds about one person (a data-access request), as JSON."""

    requested_id: str
    unified_id: str
    exported_at: float
    profile: dict[str, Any] | None = Field(description="The profile data graph.")
    identity: Lineage = Field(description="Reconciled fields, contact points, records, links.")
    identity_links: list[dict[str, Any]]
    source_records: list[dict[str, Any]] = Field(description="Current records, data parsed.")
    source_record_history: list[dict[str, Any]]
    identity_pair_links: list[dict[str, Any]]
    identity_splits: list[dict[str, Any]]
    individuals: list[dict[str, Any]] = Field(description="The unified id and merged aliases.")
    events: list[dict[str, Any]] = Field(description="Every logged event, payload parsed.")
    consent: list[dict[str, Any]] = Field(description="Latest Tracking consent per identifier.")
    consent_records: list[dict[str, Any]] = Field(
        description="Events kept only as a consent record (no Tracking opt-in)."
    )
    personalization_log: list[dict[str, Any]] = Field(
        description="Every personalization shown to them (content and attribution parsed)."
    )
    bandit_assignments: list[dict[str, Any]]


_JSON_COLUMNS = {
    "events": ("payload",),
    "source_records": ("data",),
    "source_record_history": ("data",),
    "identity_splits": ("apart_from",),
    "personalization_log": ("content", "attribution"),
}


class PrivacyService:
    def __init__(
        self,
        engine: Engine,
        control: IdentityControl,
        decisions: DecisionService,
        recommend: RecommendService,
    ) -> None:
        self.engine, self.control = engine, control
        self.decisions, self.recommend = decisions, recommend
        self.rows = ErasureStore(sql_store(engine))

    def _flush_log(self) -> None:
        if self.decisions.log is not None:
            self.decisions.log.flush()

    def forget(self, any_id: str) -> ErasureReceipt:
        """Erase the person `any_id` names (any of their ids); NotFound when nobody is known."""
        engine = self.engine
        uid = self.control.unified_id_of(any_id)
        with engine.lock:  # no event of theirs is applied meanwhile
            self._flush_log()  # queued log rows reach the table, to be erased with it
            state = engine.state
            footprint = self.rows.footprint(uid)
            uids = set(footprint.unified_ids)
            cached = sum(1 for u in uids if u in state.profiles)
            pending = sum(1 for u in uids if u in state.pending_profiles)
            engine.checkpoint()  # pending graphs written, theirs to be erased with the rest
            receipt_id = uuid.uuid4().hex
            rows = self.rows.erase(footprint, audit_target=f"erased:{receipt_id}")
            keys = set(footprint.all_keys())
            engine.forget_people(uids, keys)  # profile cache, pending graphs, identity, consent
        trail = audit_trail(engine.store)
        if trail is not None:
            trail.record(
                "privacy",
                "erase",
                f"erased:{receipt_id}",
                after={"rows": rows, "unified_ids": len(uids), "identifiers": len(keys - uids)},
            )
        return ErasureReceipt(
            receipt_id=receipt_id,
            requested_id=any_id,
            unified_id=uid,
            erased_at=engine.now(),
            unified_ids=len(uids),
            identifiers=len(keys - uids),
            rows=rows,
            cached_profiles=cached,
            pending_writes=pending,
            model_histories=self.recommend.forget_individuals(uids),
            bandit_assignments=self.decisions.bandits.forget_units(keys),
        )

    def export(self, any_id: str) -> PersonExport:
        """Everything held about the person `any_id` names; NotFound when nobody is known."""
        engine = self.engine
        uid = self.control.unified_id_of(any_id)
        self._flush_log()
        engine.checkpoint()
        footprint = self.rows.footprint(uid)
        tables = self.rows.export_rows(footprint)
        for name, columns in _JSON_COLUMNS.items():
            for row in tables.get(name, []):
                for column in columns:
                    if isinstance(row.get(column), str):
                        row[column] = orjson.loads(row[column])
        profile = engine.load_profile(uid)
        trail = audit_trail(engine.store)
        if trail is not None:
            counts = {name: len(rows) for name, rows in tables.items() if rows}
            trail.record("privacy", "export", uid, after={"rows": counts})
        return PersonExport(
            requested_id=any_id,
            unified_id=uid,
            exported_at=engine.now(),
            profile=None if profile is None else profile.model_dump(),
            identity=self.control.lineage(uid),
            identity_links=tables["identity_links"],
            source_records=tables["source_records"],
            source_record_history=tables["source_record_history"],
            identity_pair_links=tables["identity_pair_links"],
            identity_splits=tables["identity_splits"],
            individuals=tables["individuals"],
            events=tables["events"],
            consent=tables["consent_state"],
            consent_records=tables["consent_records"],
            personalization_log=tables["personalization_log"],
            bandit_assignments=tables["bandit_assignments"],
        )
