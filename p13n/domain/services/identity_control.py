"""Lineage and control: who a unified individual is made of and why; splits; rulesets.

Needs a `SqlStore` (lineage and splits are in the SQL-only `IdentityStore`).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, Field

from p13n.domain.errors import Conflict, NotFound
from p13n.domain.identity import (
    DEFAULT_RULESET,
    EVENTS_SOURCE,
    Ruleset,
    SourceValues,
    clean_email,
    contact_points,
    new_unified_id,
    phone_e164,
    reconcile,
)
from p13n.domain.services.audit import audit_trail
from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.services.identity_state import ACTIVE_RULESET_KEY, ruleset_repository
from p13n.domain.store import RULESET_KIND, IdentityStore

__all__ = ["IdentityControl", "Lineage", "SplitDone"]


class Lineage(BaseModel):
    unified_id: str
    aliases: list[str] = Field(description="Merged ids that resolve to this individual.")
    individual: dict[str, Any] = Field(description="Reconciled fields.")
    contact_points: dict[str, list[dict[str, Any]]]
    identifiers: list[dict[str, str]] = Field(description="Event identifiers (device, ...).")
    source_records: list[dict[str, Any]]
    links: list[dict[str, Any]] = Field(
        description="Which rule, with which score, linked each pair."
    )
    splits: list[dict[str, Any]]


class SplitDone(BaseModel):
    record_id: str
    from_unified_id: str
    unified_id: str
    kept_apart_from: list[str]


class IdentityControl:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = IdentityStore(sql_store(engine))
        self.state = engine.state.identity
        self.repository = ruleset_repository(engine.store, engine.now)

    def unified_id_of(self, any_id: str) -> str:
        """A unified id, alias, record id (`source:source_record_id`), source record id,
        device id, individual id, email or phone -> the unified id."""
        state = self.state
        uid = state.owner(any_id) or self.engine.resolve(any_id, honor_consent=False)
        if uid is None:
            keys = list(state.index.lookup("srid", any_id))
            email = clean_email(any_id) if "@" in any_id else None
            phone = phone_e164(any_id, default_region=state.ruleset.default_region)
            keys += state.index.lookup("emails_n", email) if email else []
            keys += state.index.lookup("phones_n", phone) if phone else []
            owners = [state.owner(k) for k in keys]
            found = state.oldest([u for u in owners if u is not None])
            uid = found[0] if found else None
        if uid is None:
            raise NotFound(
                f"nobody is known by '{any_id}'.",
                hint="Use a unified id, a source:source_record_id, a device id, email or phone.",
            )
        return uid

    def lineage(self, any_id: str) -> Lineage:
        uid = self.unified_id_of(any_id)
        state = self.state
        rows = self.store.records_of(uid)
        records, identifiers, values = [], [], []
        for row in rows:
            doc = orjson.loads(row["data"])
            if "norm" not in doc:
                identifiers.append({"kind": doc.get("kind", ""), "value": doc.get("value", "")})
                continue
            records.append(
                {
                    "id": row["id"],
                    "source": row["source"],
                    "source_record_id": row["source_record_id"],
                    "updated_at": row["updated_at"],
                    "flags": doc["norm"].get("flags", []),
                    "record": doc["record"],
                }
            )
            values.append(SourceValues(row["source"], row["updated_at"], doc["record"]))
        keys = [r["id"] for r in records]
        links = sorted(self.store.pair_links_of(keys), key=lambda r: (r["record_a"], r["record_b"]))
        return Lineage(
            unified_id=uid,
            aliases=sorted(a for a in state.aliases if state.resolve(a) == uid and a != uid),
            individual=reconcile(values, state.ruleset.reconciliation),
            contact_points=contact_points(values, default_region=state.ruleset.default_region),
            identifiers=identifiers,
            source_records=records,
            links=links,
            splits=[
                s
                for s in self.store.load_splits()
                if s["record_id"] in keys or s["from_unified_id"] == uid
            ],
        )

    def split(self, record_id: str, *, reason: str | None = None) -> SplitDone:
        """Take a source record out of its cluster into a new individual, kept apart from the
        cluster's other records in every later run (real time and batch); logged."""
        engine, state = self.engine, self.state
        index = state.index
        if record_id not in index.records:
            raise NotFound(f"no source record '{record_id}'.", hint="Give source:source_record_id.")
        if record_id.startswith(f"{EVENTS_SOURCE}:"):
            raise Conflict(
                f"'{record_id}' comes from identity events, which link by their identifiers.",
                hint="Split imported source records.",
            )
        with engine.lock:
            old = state.owner(record_id)
            assert old is not None
            others = [k for k in index.members.get(old, []) if k != record_id]
            if not others:
                raise Conflict(f"'{record_id}' is already alone in {old}.")
            now = engine.now()
            uid, salt = new_unified_id(f"split:{record_id}"), 0
            while uid in state.created:
                salt += 1
                uid = new_unified_id(f"split:{record_id}:{salt}")
            with engine.store.transaction() as conn:
                engine.store.insert_individuals(
                    conn, [{"unified_id": uid, "created_at": now, "merged_into": None}]
                )
                self.store.set_owners(conn, [(record_id, uid)])
                self.store.replace_pair_links(conn, [record_id], [])
                self.store.add_split(
                    conn,
                    {
                        "record_id": record_id,
                        "from_unified_id": old,
                        "to_unified_id": uid,
                        "apart_from": orjson.dumps(sorted(others)).decode(),
                        "reason": reason,
                        "split_at": now,
                    },
                )
            state.created[uid] = now
            index.members[old] = others
            index.members[uid] = [record_id]
            index.owner[record_id] = uid
            for other in others:
                index.apart.setdefault(record_id, set()).add(other)
                index.apart.setdefault(other, set()).add(record_id)
        done = SplitDone(
            record_id=record_id, from_unified_id=old, unified_id=uid, kept_apart_from=sorted(others)
        )
        trail = audit_trail(engine.store)
        if trail is not None:
            trail.record(
                "identity_split",
                "split",
                record_id,
                before={"unified_id": old, "members": sorted([*others, record_id])},
                after={**done.model_dump(mode="json"), "reason": reason},
            )
        return done

    # -- rulesets ----------------------------------------------------------------------------
    def rulesets(self) -> list[Ruleset]:
        stored = self.repository.list()
        if not any(r.name == DEFAULT_RULESET.name for r in stored):
            stored.insert(0, DEFAULT_RULESET)
        return stored

    def ruleset(self, name: str) -> Ruleset:
        for ruleset in self.rulesets():
            if ruleset.name == name:
                return ruleset
        raise NotFound(
            f"no identity ruleset '{name}'.", hint="GET /admin/identity/rulesets lists them."
        )

    def active(self) -> Ruleset:
        return self.state.ruleset

    def put_ruleset(self, ruleset: Ruleset) -> int:
        """Store a (validated) ruleset; when it is the active one it applies from now on."""
        with self.engine.lock:
            version = self.repository.put(ruleset)
            if ruleset.name == self.state.ruleset.name:
                self._apply(ruleset)
        return version

    def activate(self, name: str) -> Ruleset:
        ruleset = self.ruleset(name)
        with self.engine.lock:
            if name == DEFAULT_RULESET.name:
                self.repository.put_missing([ruleset])
            before = self.state.ruleset.name
            with self.engine.store.transaction() as conn:
                self.engine.store.set_meta(conn, ACTIVE_RULESET_KEY, name)
            self._apply(ruleset)
        trail = audit_trail(self.engine.store)
        if trail is not None and before != name:
            trail.record(
                RULESET_KIND, "activate", name, before={"active": before}, after={"active": name}
            )
        return ruleset

    def delete_ruleset(self, name: str) -> None:
        if name == self.state.ruleset.name:
            raise Conflict(f"'{name}' is the active ruleset.", hint="Activate another one first.")
        if name == DEFAULT_RULESET.name:
            raise Conflict("the built-in default ruleset cannot be deleted.")
        if not self.repository.delete(name):
            raise NotFound(f"no identity ruleset '{name}'.")

    def _apply(self, ruleset: Ruleset) -> None:
        self.state.ruleset = ruleset
        self.state.index.configure(ruleset)
