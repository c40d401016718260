"""The identify seam: every event passes through `Identifier.identify` and gets one unified id;
every imported or changed source record passes through `Identifier.link_record`.

Event identifiers (device id, individual id, and the email / phone / party identifier an
identity event asserts) link exactly: identifiers seen in one event belong to one person
(device-to-known stitching). Source records link by the real-time rules of the active ruleset
through blocking indexes, and to the event identifiers they carry. When two unified
individuals turn out to be one, the oldest id survives and the other stays as an alias.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from p13n.domain.identity.fellegi_sunter import FSParams
from p13n.domain.identity.normalize import normalize_contact_point
from p13n.domain.identity.realtime import (
    EVENT_IDENTIFIER,
    EVENT_KEYS,
    RecordIndex,
    RecordLink,
    event_links,
)
from p13n.domain.identity.records import IndividualRecord, NormRecord, normalize_record
from p13n.domain.identity.rules import DEFAULT_RULESET, Ruleset
from p13n.domain.ingest import Event

__all__ = ["Identifier", "IdentityLinks", "LinkChange", "identity_keys", "new_unified_id"]

_UNIFIED_NAMESPACE = uuid.UUID("0b5d6a52-8f3e-4c61-a1f4-3d2f9e7c8b10")
EVENTS_SOURCE = "events"


def new_unified_id(seed: str) -> str:
    return "u-" + uuid.uuid5(_UNIFIED_NAMESPACE, seed).hex[:24]


@dataclass
class IdentityLinks:
    """In-memory identity state: identifier -> unified id, merged ids -> survivor, creation
    times, the source records with their blocking indexes, and the active ruleset."""

    links: dict[tuple[str, str], str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)
    index: RecordIndex = field(default_factory=RecordIndex)
    subjects: dict[str, dict[str, Any]] = field(default_factory=dict)  # events:<id> -> raw
    ruleset: Ruleset = field(default_factory=lambda: DEFAULT_RULESET)
    params: FSParams | None = None

    def resolve(self, unified_id: str) -> str:
        """Follow merges to the surviving id; an unknown id resolves to itself."""
        seen = 0
        while unified_id in self.aliases and seen < 64:
            unified_id = self.aliases[unified_id]
            seen += 1
        return unified_id

    def lookup(self, kind: str, value: str) -> str | None:
        uid = self.links.get((kind, value))
        return None if uid is None else self.resolve(uid)

    def forget(self, unified_ids: set[str], record_keys: set[str]) -> None:
        """Drop an erased person: their links, aliases, creation times, identity-event
        subjects and source records (`unified_ids` holds the survivor and its aliases)."""
        for link in [k for k, uid in self.links.items() if uid in unified_ids]:
            del self.links[link]
        for alias in [a for a, s in self.aliases.items() if a in unified_ids or s in unified_ids]:
            del self.aliases[alias]
        for uid in unified_ids:
            self.created.pop(uid, None)
        for key in record_keys:
            self.subjects.pop(key, None)
        self.index.remove(record_keys)

    def owner(self, record_key: str) -> str | None:
        uid = self.index.owner.get(record_key)
        return None if uid is None else self.resolve(uid)

    def oldest(self, uids: list[str]) -> list[str]:
        return sorted(dict.fromkeys(uids), key=lambda u: (self.created.get(u, float("inf")), u))


@dataclass
class LinkChange:
    """What one identify call changed, for the caller to persist in the same transaction."""

    unified_id: str
    new_individual: bool = False
    new_links: list[tuple[str, str]] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # unified ids absorbed into `unified_id`
    source_rows: list[dict[str, Any]] = field(default_factory=list)  # identity-event records


def identity_keys(event: Event) -> list[tuple[str, str]]:
    """The identifiers an event carries, strongest first."""
    keys: list[tuple[str, str]] = []
    if event.individual_id:
        keys.append(("individual", event.individual_id))
    if event.device_id:
        keys.append(("device", event.device_id))
    if event.kind == "identity":
        for attr, kind in (("email", "email"), ("phoneNumber", "phone"), ("phone", "phone")):
            value = event.identity.get(attr)
            if isinstance(value, str) and value.strip():
                keys.append((kind, normalize_contact_point(kind, value)))
        party = event.identity.get("userId")
        if isinstance(party, str) and party:
            keys.append(("party", _party_key(event.identity, party)))
    return keys


def _party_key(identity: dict[str, Any], number: str) -> str:
    return (
        IndividualRecord(
            source="x",
            source_record_id="x",
            party_identifiers=[
                {
                    "id_name": str(identity.get("IDName", "")),
                    "id_type": str(identity.get("IDType", "")),
                    "number": number,
                }
            ],
        )
        .party_identifiers[0]
        .key()
    )


_IDENTITY_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phoneNumber": "phone",
    "phone": "phone",
}


class Identifier:
    """Exact, deterministic stitching over `IdentityLinks`; the oldest unified id survives."""

    def __init__(self, state: IdentityLinks) -> None:
        self.state = state

    def lookup(self, kind: str, value: str) -> str | None:
        return self.state.lookup(kind, value)

    def identify(self, event: Event) -> LinkChange:
        state = self.state
        keys = identity_keys(event)
        found: list[str] = []
        for key in keys:
            uid = state.lookup(*key)
            if uid is not None and uid not in found:
                found.append(uid)
        for kind, value in keys:  # source records holding the identifiers the event asserts
            attr = EVENT_KEYS.get(kind)
            owners = [state.owner(k) for k in state.index.lookup(attr, value)] if attr else []
            holders = state.oldest([u for u in owners if u is not None])
            if holders and holders[0] not in found:
                found.append(holders[0])
        if not found:
            uid = state.resolve(new_unified_id(f"{keys[0][0]}:{keys[0][1]}"))
            change = LinkChange(uid, new_individual=uid not in state.created)
            state.created.setdefault(uid, event.ts)
        else:
            ordered = state.oldest(found)
            change = LinkChange(ordered[0], merged=ordered[1:])
            self._merge(change.unified_id, change.merged)
        for key in keys:
            if key not in state.links:
                state.links[key] = change.unified_id
                change.new_links.append(key)
        if event.kind == "identity":
            change.source_rows.append(self._subject_record(event, change.unified_id))
        return change

    def _merge(self, survivor: str, losers: list[str]) -> None:
        for loser in losers:
            self.state.aliases[loser] = survivor
        self.state.index.absorb(survivor, losers)

    def _subject_record(self, event: Event, uid: str) -> dict[str, Any]:
        """The source record of an identity event's subject (latest value of each field)."""
        subject = event.individual_id or event.device_id or ""
        key = f"{EVENTS_SOURCE}:{subject}"
        raw = dict(self.state.subjects.get(key) or {})
        raw.update({"source": EVENTS_SOURCE, "source_record_id": subject, "updated_at": event.ts})
        for attr, name in _IDENTITY_FIELDS.items():
            value = event.identity.get(attr)
            if isinstance(value, str) and value.strip():
                raw[name] = value
        number = event.identity.get("userId")
        if isinstance(number, str) and number:
            party = {
                "id_name": str(event.identity.get("IDName", "")),
                "id_type": str(event.identity.get("IDType", "")),
                "number": number,
            }
            raw["party_identifiers"] = [
                p for p in raw.get("party_identifiers", []) if p != party
            ] + [party]
        record = IndividualRecord.model_validate(raw)
        norm = normalize_record(
            record, default_region=self.state.ruleset.default_region, now=event.ts
        )
        self.state.subjects[key] = record.model_dump(exclude_defaults=True)
        self.state.index.put(norm, uid)
        return source_row(record, norm, uid)

    def link_record(self, rec: NormRecord, *, now: float) -> RecordLink:
        """Link a new or changed source record by the real-time rules (and the event
        identifiers it carries); merge the clusters it joins; index it."""
        state = self.state
        index = state.index
        matches = index.candidates(rec, state.ruleset, state.params)
        pairs = [(other, rule, score) for other, (rule, score) in matches.items()]
        uids = [u for u in (state.owner(k) for k in matches) if u is not None]
        for ident, uid in event_links(rec, state.links):
            pairs.append((ident, EVENT_IDENTIFIER, 1.0))
            uids.append(state.resolve(uid))
        previous = state.owner(rec.key)
        if previous is not None:
            uids.append(previous)
        ordered = self._without_apart(rec.key, state.oldest(uids))
        if not ordered:
            uid = state.resolve(new_unified_id(f"record:{rec.key}"))
            link = RecordLink(uid, new_individual=uid not in state.created, pairs=pairs)
            state.created.setdefault(uid, now)
        else:
            link = RecordLink(ordered[0], merged=ordered[1:], pairs=pairs)
            self._merge(link.unified_id, link.merged)
        index.put(rec, link.unified_id)
        return link

    def _without_apart(self, key: str, uids: list[str]) -> list[str]:
        """Drop clusters that would put a kept-apart pair together (splits)."""
        apart = self.state.index.apart
        if not apart:
            return uids
        members = self.state.index.members
        chosen: set[str] = {key}
        kept: list[str] = []
        for uid in uids:
            cluster = set(members.get(uid, []))
            if any(apart.get(m, set()) & chosen for m in cluster) or any(
                apart.get(m, set()) & cluster for m in chosen
            ):
                continue
            kept.append(uid)
            chosen |= cluster
        return kept


def source_row(record: IndividualRecord, norm: NormRecord, uid: str) -> dict[str, Any]:
    """The `source_records` row of a record (raw as given, normalized form, flags)."""
    return {
        "id": record.key,
        "source": record.source,
        "source_record_id": record.source_record_id,
        "unified_id": uid,
        "data": orjson.dumps(
            {"record": record.model_dump(exclude_defaults=True), "norm": norm.to_json()}
        ).decode(),
        "updated_at": norm.updated_at,
    }


__all__ += ["source_row", "EVENTS_SOURCE"]
