"""The profile data graph: one document per unified individual, kept current per event.

The graph is plain slotted dataclasses, validated and serialized by pydantic at the store and
API boundaries: a hundred thousand profiles stay in the hot-path cache, and slotted objects
take about a third of the memory of pydantic models and are several times cheaper to update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

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
    "profile_adapter",
]

RECENT_ENGAGEMENT_MAX = 100
RECENT_ENGAGEMENT_DAYS = 30


@dataclass(slots=True, kw_only=True)
class Identity:
    type: str  # deviceId | individualId
    value: str
    first_seen: float


@dataclass(slots=True, kw_only=True)
class ContactPoint:
    type: str  # email | phone | partyIdentification
    value: str
    normalized: str
    first_seen: float


@dataclass(slots=True, kw_only=True)
class ConsentState:
    status: str | None = None
    provider: str | None = None
    updated_at: float | None = None


@dataclass(slots=True, kw_only=True)
class EngagementEntry:
    event_id: str
    ts: float
    interaction: str
    item_id: str | None = None
    category: str | None = None
    brand: str | None = None
    quantity: float | None = None
    value: float | None = None
    order_id: str | None = None


@dataclass(slots=True, kw_only=True)
class CartLine:
    item_id: str
    quantity: float
    price: float | None = None
    added_at: float


@dataclass(slots=True, kw_only=True)
class ViewedItem:
    item_id: str
    ts: float


@dataclass(slots=True, kw_only=True)
class PurchaseLine:
    item_id: str
    quantity: float
    price: float | None = None


@dataclass(slots=True, kw_only=True)
class Purchase:
    order_id: str | None
    ts: float
    value: float | None
    lines: list[PurchaseLine] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class SegmentMembership:
    entered_at: float


@dataclass(slots=True, kw_only=True)
class SegmentExit:
    segment: str
    entered_at: float
    exited_at: float


@dataclass(slots=True, kw_only=True)
class ProfileGraph:
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
    attributes: dict[str, Any] = field(default_factory=dict)
    identities: list[Identity] = field(default_factory=list)
    contact_points: list[ContactPoint] = field(default_factory=list)
    consent: ConsentState = field(default_factory=ConsentState)
    engagement: list[EngagementEntry] = field(default_factory=list)
    cart: list[CartLine] = field(default_factory=list)
    recently_viewed: list[ViewedItem] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)
    insights: dict[str, Any] = field(default_factory=dict)
    segments: dict[str, SegmentMembership] = field(default_factory=dict)
    segment_exits: list[SegmentExit] = field(default_factory=list)
    affinities: dict[str, dict[str, float]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> ProfileGraph:
        return _ADAPTER.validate_json(data)

    @classmethod
    def model_validate(cls, data: Any) -> ProfileGraph:
        return _ADAPTER.validate_python(data)

    def model_dump_json(self) -> str:
        return _ADAPTER.dump_json(self).decode()

    def model_dump(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        dumped: dict[str, Any] = _ADAPTER.dump_python(self, mode="json", exclude=exclude)
        return dumped

    def model_copy(self, *, deep: bool = True) -> ProfileGraph:
        return _ADAPTER.validate_json(_ADAPTER.dump_json(self))

    def public(self) -> dict[str, Any]:
        return self.model_dump(exclude={"state"})


_ADAPTER: TypeAdapter[ProfileGraph] = TypeAdapter(ProfileGraph)


def profile_adapter() -> TypeAdapter[ProfileGraph]:
    """The one pydantic adapter of the profile document (the store's and the cache's JSON)."""
    return _ADAPTER
