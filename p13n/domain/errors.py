"""One error hierarchy: every error says what was wrong and what to do."""

from __future__ import annotations

__all__ = [
    "P13nError",
    "InvalidInput",
    "NotFound",
    "Conflict",
    "StoreVersionTooNew",
    "PayloadTooLarge",
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


class Conflict(P13nError):
    """The request contradicts stored state (HTTP 409)."""


class PayloadTooLarge(InvalidInput):
    """A batch exceeds the per-call limits (HTTP 413)."""


class StoreVersionTooNew(P13nError):
    """The store was written by a newer p13n; opening it would corrupt it."""
