"""What an ingest call answers: each event accepted, duplicate or rejected with a reason."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["EventResult", "IngestReport", "ImportSummary", "MAX_BATCH_EVENTS", "MAX_BATCH_BYTES"]

MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 1_000_000


class EventResult(BaseModel):
    index: int = Field(description="Position of the event in the request (0-based).")
    eventId: str | None = None
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = Field(default=None, description="Why the event was rejected.")
    code: str | None = Field(
        default=None,
        description="The rejection's kind: unreadable, invalid_field, no_interaction, no_identity, no_item, future_time, or flood (past the sender's events per minute: counted, not stored).",
    )
    unifiedIndividualId: str | None = None
    tracked: bool | None = Field(
        default=None,
        description="False when the event was kept only as a consent record (no Tracking opt-in).",
    )


class IngestReport(BaseModel):
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    results: list[EventResult] = Field(default_factory=list)


class ImportSummary(BaseModel):
    """A bulk import's outcome; rejected rows are listed by line number (first 100)."""

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    untracked: int = 0
    rejections: list[tuple[int, str]] = Field(default_factory=list)
    seconds: float = 0.0
