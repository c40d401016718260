"""The normalized event every later step reads, whatever shape it arrived in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Event",
    "Line",
    "EventKind",
    "CATALOG_INTERACTIONS",
    "CART_INTERACTIONS",
    "ORDER_INTERACTIONS",
    "ENGAGEMENT_INTERACTIONS",
    "IDENTITY_EVENT_TYPES",
    "INTERACTION_ALIASES",
    "kind_of",
]

EventKind = Literal["catalog", "cart", "order", "identity", "engagement", "custom"]

CATALOG_INTERACTIONS = frozenset(
    {
        "View Catalog Object",
        "View Catalog Object Detail",
        "Quick View Catalog Object",
        "Share Catalog Object",
        "Review Catalog Object",
        "Comment Catalog Object",
        "Favorite Catalog Object",
    }
)
CART_INTERACTIONS = frozenset({"Add To Cart", "Remove From Cart", "Replace Cart"})
ORDER_INTERACTIONS = frozenset(
    {"Purchase", "Preorder", "Cancel", "Ship", "Deliver", "Return", "Exchange"}
)
ENGAGEMENT_INTERACTIONS = frozenset(
    {
        "personalization-view",
        "personalization-click",
        "catalog-object-view-start",
        "catalog-object-click",
        "agent-message-sent",
        "agent-message-click",
        "agent-conversation-started",
    }
)
IDENTITY_EVENT_TYPES = frozenset(
    {"identity", "contactPointEmail", "contactPointPhone", "partyIdentification"}
)
# Short names server-side senders tend to use; anything else unknown is kept as a custom interaction.
INTERACTION_ALIASES = {
    "view": "View Catalog Object",
    "view_item": "View Catalog Object",
    "detail": "View Catalog Object Detail",
    "add_to_cart": "Add To Cart",
    "remove_from_cart": "Remove From Cart",
    "purchase": "Purchase",
    "order": "Purchase",
    "favorite": "Favorite Catalog Object",
}


def kind_of(interaction: str) -> EventKind:
    if interaction in CATALOG_INTERACTIONS:
        return "catalog"
    if interaction in CART_INTERACTIONS:
        return "cart"
    if interaction in ORDER_INTERACTIONS:
        return "order"
    if interaction in ENGAGEMENT_INTERACTIONS:
        return "engagement"
    if interaction in IDENTITY_EVENT_TYPES:
        return "identity"
    return "custom"


@dataclass(slots=True)
class Line:
    item_id: str
    quantity: float = 1.0
    price: float | None = None
    item_type: str = "Product"


@dataclass(slots=True)
class Event:
    """One accepted event. `unified_id`, `category` and `brand` are filled in by later steps."""

    event_id: str
    ts: float
    interaction: str
    kind: EventKind
    shape: Literal["sdk", "flat"]
    device_id: str | None = None
    individual_id: str | None = None
    session_id: str | None = None
    event_type: str | None = None
    item_id: str | None = None
    item_type: str = "Product"
    quantity: float | None = None
    price: float | None = None
    value: float | None = None
    order_id: str | None = None
    currency: str | None = None
    lines: list[Line] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    consent: str | None = None
    consent_provider: str | None = None
    channel: str | None = None
    page_type: str | None = None
    url: str | None = None
    personalization_id: str | None = None
    personalization_content_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    unified_id: str | None = None
    category: str | None = None
    brand: str | None = None

    @property
    def subject(self) -> str:
        """The id consent is recorded against: the device if any, else the individual."""
        return self.device_id or self.individual_id or ""
