"""API keys over the store: create, list, revoke, and verify with an in-memory cache.

Lookups are cached in memory by hash: a verified key costs one dict lookup. A key revoked
through this `ApiKeys` is dropped from the cache at once; a key revoked by another process (the
CLI beside a running server) is refused once its cache entry is older than `recheck_seconds`
(30 s by default). Unknown tokens are not cached, so a key created by the CLI works at once.
Why the hash is a plain SHA-256: see `p13n.domain.access.keys`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable

from p13n.domain.access import (
    KEY_PREFIX,
    MAX_LABEL,
    ApiKeyInfo,
    CreatedKey,
    Principal,
    Scope,
    hash_key,
    parse_scopes,
)
from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.services.audit import AuditTrail, audit_trail
from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.store import ApiKeyRow, KeysStore
from p13n.domain.timeutil import now_ts

__all__ = ["ApiKeys"]

_MAX_CACHE = 10_000


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        label=row.label,
        scopes=sorted(Scope(s) for s in row.scopes.split()),
        created_at=row.created_at,
        revoked=row.revoked,
        revoked_at=row.revoked_at,
    )


class ApiKeys:
    def __init__(
        self,
        store: KeysStore,
        *,
        recheck_seconds: float = 30.0,
        clock: Callable[[], float] = now_ts,
        monotonic: Callable[[], float] = time.monotonic,
        audit: AuditTrail | None = None,
    ) -> None:
        self.store = store
        self.audit = audit  # records creations and revocations (who, when, which key)
        self.recheck_seconds = recheck_seconds
        self.now = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        # key hash -> (principal, monotonic time verified)
        self._cache: dict[str, tuple[Principal, float]] = {}
        # ids revoked through this object: refused even if a verify raced with the revoke
        self._revoked: set[str] = set()

    @classmethod
    def for_engine(cls, engine: Engine) -> ApiKeys:
        """The keys kept beside `engine`'s data (the key table is SQL-only, like the log)."""
        return cls(KeysStore(sql_store(engine).db), audit=audit_trail(engine.store))

    def create(self, scopes: Iterable[str], *, label: str = "") -> CreatedKey:
        granted = parse_scopes(scopes)
        label = label.strip()
        if len(label) > MAX_LABEL:
            raise InvalidInput(
                f"the label has {len(label)} characters.", hint=f"Use at most {MAX_LABEL}."
            )
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKeyRow(
            id="key_" + secrets.token_hex(6),
            key_hash=hash_key(secret),
            label=label,
            scopes=" ".join(sorted(s.value for s in granted)),
            created_at=self.now(),
        )
        self.store.insert(row)
        info = _info(row)
        if self.audit is not None:
            self.audit.record("key", "create", row.id, after=info.model_dump(mode="json"))
        return CreatedKey(**info.model_dump(), key=secret)

    def list(self) -> list[ApiKeyInfo]:
        return [_info(r) for r in self.store.list()]

    def revoke(self, key_id: str) -> ApiKeyInfo:
        """Revoke a key by id; it is refused from now on (in this process at once)."""
        if not self.store.revoke(key_id, self.now()):
            raise NotFound(
                f"no API key with id {key_id!r}.", hint="List the keys with `p13n keys list`."
            )
        with self._lock:
            self._revoked.add(key_id)
            self._cache = {h: v for h, v in self._cache.items() if v[0].subject != key_id}
        row = self.store.get(key_id)
        assert row is not None
        info = _info(row)
        if self.audit is not None:
            self.audit.record("key", "revoke", key_id, after=info.model_dump(mode="json"))
        return info

    def peek(self, secret: str) -> Principal | None:
        """The principal if this key was verified recently (memory only, no I/O); else None,
        which means "ask `verify`", not "refused"."""
        hit = self._cache.get(hash_key(secret))
        if hit is not None and self._monotonic() - hit[1] < self.recheck_seconds:
            return hit[0]
        return None

    def verify(self, secret: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None for anything else (never raises)."""
        if not secret.startswith(KEY_PREFIX):
            return None
        digest = hash_key(secret)
        hit = self._cache.get(digest)
        now = self._monotonic()
        if hit is not None and now - hit[1] < self.recheck_seconds:
            return hit[0]
        # The secret itself is never compared: it is looked up by its SHA-256 digest (a guess
        # sharing a prefix with a real key shares nothing with its digest), and the digest
        # found is checked once more in constant time.
        row = self.store.by_hash(digest)
        if row is not None and not hmac.compare_digest(row.key_hash, digest):
            row = None
        if row is None or row.revoked or row.id in self._revoked:
            with self._lock:
                self._cache.pop(digest, None)
            return None
        principal = Principal(
            kind="api_key",
            subject=row.id,
            scopes=frozenset(Scope(s) for s in row.scopes.split()),
            label=row.label or None,
        )
        with self._lock:
            if row.id in self._revoked:
                return None
            if len(self._cache) >= _MAX_CACHE:
                self._cache.clear()
            self._cache[digest] = (principal, now)
        return principal
