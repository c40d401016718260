"""The identify seam: every event passes through `Identifier.identify` and gets one unified id.

This first version links device ids and individual ids to a unified individual and stitches
on exact normalized contact points from identity events (a device that logs in with a known
email joins that person). The identity-resolution issue replaces the inside, not the callers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from p13n.domain.identity.normalize import normalize_contact_point
from p13n.domain.ingest.events import Event

__all__ = ["Identifier", "IdentityLinks", "LinkChange", "identity_keys"]

_UNIFIED_NAMESPACE = uuid.UUID("0b5d6a52-8f3e-4c61-a1f4-3d2f9e7c8b10")


@dataclass
class IdentityLinks:
    """In-memory identity state: identifier -> unified id, merged ids -> survivor, creation times."""

    links: dict[tuple[str, str], str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)

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


@dataclass
class LinkChange:
    """What one identify call changed, for the caller to persist in the same transaction."""

    unified_id: str
    new_individual: bool = False
    new_links: list[tuple[str, str]] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # unified ids absorbed into `unified_id`


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
            id_name = str(event.identity.get("IDName", ""))
            id_type = str(event.identity.get("IDType", ""))
            keys.append(("party", f"{id_name}|{id_type}|{party}"))
    return keys


class Identifier:
    """Exact, deterministic stitching over `IdentityLinks`; the oldest unified id survives."""

    def __init__(self, state: IdentityLinks) -> None:
        self.state = state

    def lookup(self, kind: str, value: str) -> str | None:
        return self.state.lookup(kind, value)

    def identify(self, event: Event) -> LinkChange:
        keys = identity_keys(event)
        found: list[str] = []
        for key in keys:
            uid = self.state.lookup(*key)
            if uid is not None and uid not in found:
                found.append(uid)
        if not found:
            uid = "u-" + uuid.uuid5(_UNIFIED_NAMESPACE, f"{keys[0][0]}:{keys[0][1]}").hex[:24]
            uid = self.state.resolve(uid)
            change = LinkChange(uid, new_individual=uid not in self.state.created)
            self.state.created.setdefault(uid, event.ts)
        else:
            found.sort(key=lambda u: (self.state.created.get(u, float("inf")), u))
            change = LinkChange(found[0], merged=found[1:])
            for loser in change.merged:
                self.state.aliases[loser] = change.unified_id
        for key in keys:
            if key not in self.state.links:
                self.state.links[key] = change.unified_id
                change.new_links.append(key)
        return change
