"""The profile data graph: one document per unified individual, kept current per event."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ProfileGraph",
    "Identity",
    "ContactPoint",
    "ConsentState",
    "EngagementEntry",
    "CartLine",
    "ViewedItem",
    "PurchaseLine",
    "Purchase",
    "SegmentMembership",
    "SegmentExit",
    "RECENT_ENGAGEMENT_MAX",
    "RECENT_ENGAGEMENT_DAYS",
]

RECENT_ENGAGEMENT_MAX = 100
RECENT_ENGAGEMENT_DAYS = 30


class Identity(BaseModel):
    type: str  # deviceId | individualId
    value: str
    first_seen: float


class ContactPoint(BaseModel):
    type: str  # email | phone | partyIdentification
    value: str
    normalized: str
    first_seen: float


class ConsentState(BaseModel):
    status: str | None = None
    provider: str | None = None
    updated_at: float | None = None


class EngagementEntry(BaseModel):
    event_id: str
    ts: float
    interaction: str
    item_id: str | None = None
    category: str | None = None
    brand: str | None = None
    quantity: float | None = None
    value: float | None = None
    order_id: str | None = None


class CartLine(BaseModel):
    item_id: str
    quantity: float
    price: float | None = None
    added_at: float


class ViewedItem(BaseModel):
    item_id: str
    ts: float


class PurchaseLine(BaseModel):
    item_id: str
    quantity: float
    price: float | None = None


class Purchase(BaseModel):
    order_id: str | None
    ts: float
    value: float | None
    lines: list[PurchaseLine] = Field(default_factory=list)


class SegmentMembership(BaseModel):
    entered_at: float


class SegmentExit(BaseModel):
    segment: str
    entered_at: float
    exited_at: float


class ProfileGraph(BaseModel):
    """Everything a decision needs about one person, precomputed.

    Times are UTC epoch seconds. `state` holds the running aggregates that insights and
    affinities are derived from; it is stored but not part of the public read shape.
    """

    unified_id: str
    created_at: float
    updated_at: float
    first_seen: float | None = None
    last_seen: float | None = None
    event_count: int = 0
    attributes: dict[str, Any] = Field(default_factory=dict)
    identities: list[Identity] = Field(default_factory=list)
    contact_points: list[ContactPoint] = Field(default_factory=list)
    consent: ConsentState = Field(default_factory=ConsentState)
    engagement: list[EngagementEntry] = Field(default_factory=list)
    cart: list[CartLine] = Field(default_factory=list)
    recently_viewed: list[ViewedItem] = Field(default_factory=list)
    purchases: list[Purchase] = Field(default_factory=list)
    insights: dict[str, Any] = Field(default_factory=dict)
    segments: dict[str, SegmentMembership] = Field(default_factory=dict)
    segment_exits: list[SegmentExit] = Field(default_factory=list)
    affinities: dict[str, dict[str, float]] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return self.model_dump(exclude={"state"})
