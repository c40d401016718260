"""One error hierarchy: every error says what was wrong and what to do.

The tree (every error class in p13n; HTTP status as `server/app.py` maps it, MCP and LangChain
answer each `P13nError` as an error result, the CLI as one line on stderr and exit 1):

    Exception
    ├── P13nError                 p13n/domain/errors.py   (base; unmapped kinds answer 400)
    │   ├── InvalidInput          400 (422 for a body of the wrong shape, raised by FastAPI)
    │   │   ├── PayloadTooLarge   413
    │   │   ├── EventRejected     one event of a batch refused; `reason` is its code (per event)
    │   │   └── DecisionRejected  400, with the Decisioning API's diagnostic `code` (403, 408)
    │   ├── NotFound              404
    │   ├── Forbidden             403 (an agent action the caller's scopes do not allow)
    │   ├── Conflict              409
    │   ├── StoreUnavailable      503 with Retry-After (the store refused a write: read-only,
    │   │                         full, or unreachable; nothing of the call was stored)
    │   └── StoreVersionTooNew    refused at start-up (the store is from a newer p13n)
    └── AuthError                 p13n/server/auth.py     401 / 403 with WWW-Authenticate

`AuthError` is a face-level error, deliberately outside `P13nError`: only the HTTP face raises
it (its auth dependency), it carries an HTTP status and header that no other face has, and its
own handler answers it; the domain never raises it (an unknown credential is `None` there).
"""

from __future__ import annotations

__all__ = [
    "P13nError",
    "InvalidInput",
    "NotFound",
    "Forbidden",
    "Conflict",
    "StoreVersionTooNew",
    "StoreUnavailable",
    "PayloadTooLarge",
    "DecisionRejected",
    "EventRejected",
]


class P13nError(Exception):
    """Base of every error the domain raises on purpose; the faces map it to 4xx / isError."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message if hint is None else f"{message} {hint}")
        self.message = message
        self.hint = hint


class InvalidInput(P13nError):
    """The caller sent something malformed; fixing the input fixes the call (HTTP 400/422)."""


class NotFound(P13nError):
    """The named thing does not exist (HTTP 404)."""


class Forbidden(P13nError):
    """The caller may not do this: its credential lacks a scope the action needs (HTTP 403).
    The faces' own auth refuses whole routes with `AuthError`; this is for one action among
    others behind the same route (`POST /actions/{name}`, `/mcp`)."""


class Conflict(P13nError):
    """The request contradicts stored state (HTTP 409)."""


class PayloadTooLarge(InvalidInput):
    """A batch exceeds the per-call limits (HTTP 413)."""


class DecisionRejected(InvalidInput):
    """A whole decision request is refused (HTTP 400); `code` is its diagnostic code of
    REFERENCE.md (403 no points, 408 a forced decision on the unauthenticated endpoint)."""

    def __init__(self, code: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class EventRejected(InvalidInput):
    """One event refused by validation; `reason` is a short code (`invalid_field`,
    `future_time`, ...; `p13n.domain.ingest.REJECTION_REASONS`) so that rejections can be
    counted by kind, while the message keeps the detail."""

    def __init__(self, reason: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class StoreVersionTooNew(P13nError):
    """The store was written by a newer p13n; opening it would corrupt it."""


class StoreUnavailable(P13nError):
    """The store refused the work (read-only, out of disk, or unreachable): nothing of the call
    was stored, the store is not damaged, and the same call can be retried once it is fixed.
    `kind` is `read_only`, `full` or `unreachable`."""

    def __init__(self, kind: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
