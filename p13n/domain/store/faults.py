"""What a database error means for the caller: the store refusing work it cannot do (a read-only
file, directory, role or database; a full disk; a server that is down) is `StoreUnavailable`
(HTTP 503 with Retry-After, one CLI line, an MCP `isError`), not an unexpected error. The
database rolls the refused transaction back, so nothing of the call is stored and the store is
not damaged; the same call succeeds once the cause is fixed."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

from p13n.domain.errors import StoreUnavailable

__all__ = ["store_fault"]

_NOTHING = "nothing from this call was stored"
_MESSAGES = {
    "read_only": (
        f"the store refused a write: it is read-only; {_NOTHING}.",
        "Make the store writable (the SQLite file and its directory, or the PostgreSQL role's "
        "rights and the database's default_transaction_read_only) and retry; reads still work.",
    ),
    "full": (
        f"the store refused a write: its disk is full; {_NOTHING}.",
        "Free disk space where the store lives (P13N_HOME or the PostgreSQL server) and retry.",
    ),
    "unreachable": (
        f"the store cannot be reached or cannot do its work now; {_NOTHING}.",
        "Check that the database is up and reachable, then retry.",
    ),
}
# PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_PG_READ_ONLY = {"25006", "42501"}  # read_only_sql_transaction, insufficient_privilege
_PG_FULL = {"53100"}  # disk_full
_PG_UNREACHABLE_CLASSES = ("08", "53", "57P")  # connection, resources, operator intervention


def _kind(exc: DBAPIError) -> str | None:
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        text = str(orig).lower()
        if name.startswith("SQLITE_READONLY") or "readonly database" in text:
            return "read_only"
        if name == "SQLITE_FULL" or "database or disk is full" in text:
            return "full"
        if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) or "disk i/o error" in text:
            return "unreachable"
        return None
    state = getattr(orig, "sqlstate", None)
    if state is None:
        return "unreachable" if exc.connection_invalidated else None
    if state in _PG_READ_ONLY:
        return "read_only"
    if state in _PG_FULL:
        return "full"
    if state.startswith(_PG_UNREACHABLE_CLASSES):
        return "unreachable"
    return None


def store_fault(exc: BaseException) -> StoreUnavailable | None:
    """The `StoreUnavailable` that `exc` (or an error it was raised from) means, else None."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, StoreUnavailable):
            return seen
        if isinstance(seen, DBAPIError):
            kind = _kind(seen)
            if kind is None:
                return None
            message, hint = _MESSAGES[kind]
            return StoreUnavailable(kind, message, hint=hint)
        seen = seen.__cause__ or seen.__context__
    return None
