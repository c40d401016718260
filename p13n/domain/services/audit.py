"""The audit trail: who changed what, when, with the document before and after.

Recorded in one place per kind of change, in the service layer every face goes through:
`ConfigRepository.put` / `delete` (every configuration kind: points, decisions, experiments
and their metrics, recommenders, segments, insights, identity rulesets), `ApiKeys.create` /
`revoke`, `IdentityControl.split` / `activate`, and `PrivacyService.forget` / `export`. Who
is the caller the face authenticated (`acting_as`, set by the server's auth for the request,
read here through a context variable): its key id and label, or `local` for the CLI and
in-process callers. Built-in defaults seeded at start (`put_missing`) are not changes.

A privacy request names the unified id in `target`; erasing that person scrubs their earlier
privacy and identity-split rows (target: the erasure's receipt id, no documents), so the trail
keeps that they happened without keeping who they were about. Only a `SqlStore` has the trail (`audit_trail` is None on the
in-memory store of unit tests).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson
from pydantic import BaseModel, Field

from p13n.domain.store import AuditStore, SqlStore
from p13n.domain.timeutil import now_ts

__all__ = [
    "Actor",
    "AuditEntry",
    "AuditPage",
    "AuditTrail",
    "LOCAL_ACTOR",
    "acting_as",
    "audit_trail",
    "set_actor",
]


class Actor(BaseModel):
    """Who made a change: an API key (`key_…` and its label), a JWT subject, or `local`."""

    id: str
    name: str


LOCAL_ACTOR = Actor(id="local", name="local process (CLI or in-process)")
_ACTOR: ContextVar[Actor | None] = ContextVar("p13n_audit_actor", default=None)


def set_actor(actor: Actor) -> None:
    """The caller of the current request (the server's auth sets it per request task)."""
    _ACTOR.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Changes made inside the block are recorded as `actor`'s."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


class AuditEntry(BaseModel):
    seq: int = Field(description="Increasing; the cursor of pagination.")
    ts: float = Field(description="When, UTC epoch seconds.")
    actor_id: str = Field(description="Key id, JWT subject, or `local`.")
    actor_name: str = Field(description="The key's label (or the JWT kind, or local).")
    kind: str = Field(description="point, decision, experiment, recommender, segment, ...")
    action: str = Field(description="create, update, delete, revoke, split, erase, export, ...")
    target: str = Field(description="The object's name (a key id, a record id, ...).")
    before: Any = Field(default=None, description="The document before; null for a creation.")
    after: Any = Field(default=None, description="The document after; null for a deletion.")


class AuditPage(BaseModel):
    entries: list[AuditEntry] = Field(description="Newest first.")
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )


class AuditTrail:
    def __init__(self, rows: AuditStore, *, clock: Any = now_ts) -> None:
        self.rows = rows
        self.clock = clock

    def record(
        self,
        kind: str,
        action: str,
        target: str,
        *,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """One change by the current actor. `before` / `after`: JSON text or JSON-able data."""
        actor = _ACTOR.get() or LOCAL_ACTOR
        self.rows.append(
            {
                "ts": self.clock(),
                "actor_id": actor.id,
                "actor_name": actor.name,
                "kind": kind,
                "action": action,
                "target": target,
                "before": _json(before),
                "after": _json(after),
            }
        )

    def page(
        self,
        *,
        kinds: Sequence[str] = (),
        since: float | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> AuditPage:
        rows = self.rows.page(kinds=kinds, since=since, before_seq=before, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        entries = [
            AuditEntry(
                **{
                    **r,
                    "before": None if r["before"] is None else orjson.loads(r["before"]),
                    "after": None if r["after"] is None else orjson.loads(r["after"]),
                }
            )
            for r in rows
        ]
        return AuditPage(entries=entries, next_before=entries[-1].seq if more else None)


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


_TRAILS_LOCK = threading.Lock()


def audit_trail(store: object) -> AuditTrail | None:
    """The trail over `store` (one per store object, kept on it so that it lives and goes
    with the store), None for a store that is not SQL."""
    if not isinstance(store, SqlStore):
        return None
    found: AuditTrail | None = getattr(store, "_audit_trail", None)
    if found is None:
        with _TRAILS_LOCK:
            found = getattr(store, "_audit_trail", None)
            if found is None:
                found = AuditTrail(AuditStore(store.db))
                setattr(store, "_audit_trail", found)  # noqa: B010 - not a declared attribute
    return found
