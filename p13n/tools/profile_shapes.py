"""The shape of `get_context`'s answer (its fields are the contract an agent reads)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "RECENT_ORDERS",
    "Affinity",
    "CartItem",
    "Consent",
    "Contact",
    "Engagement",
    "GetContextOutput",
    "KeyInsights",
    "OrderLine",
    "RecentItem",
    "RecentOrder",
]

RECENT_ORDERS = 5


class KeyInsights(BaseModel):
    orders: int = Field(description="Distinct orders placed.")
    lifetime_revenue: float = Field(description="Sum of purchase values.")
    average_order_value: float | None = Field(description="Lifetime revenue per order.")
    last_purchase_at: str | None = Field(description="Time of the latest purchase (UTC ISO 8601).")


class Affinity(BaseModel):
    value: str = Field(
        description="The category path or brand as the catalog writes it (usable in filters)."
    )
    score: float = Field(description="0-100, higher is stronger.")


class OrderLine(BaseModel):
    item_id: str = Field(description="Catalog item id (usable as anchor_item_id).")
    name: str | None = Field(description="Item name.")
    category: str | None = Field(description="Category path, 'Top/Sub/Leaf'.")
    quantity: float = Field(description="Units bought.")
    price: float | None = Field(description="Unit price paid.")


class RecentOrder(BaseModel):
    order_id: str | None = Field(description="The store's order id, when it sent one.")
    purchased_at: str = Field(description="When (UTC ISO 8601).")
    amount: float | None = Field(description="Order total, in `currency`.")
    currency: str | None = Field(description="ISO 4217 code of the items' prices, when known.")
    item_count: int = Field(description="Lines in the order (`items` may list fewer).")
    items: list[OrderLine] = Field(description="What was bought.")


class CartItem(BaseModel):
    item_id: str = Field(description="Catalog item id.")
    name: str | None = Field(description="Item name.")
    quantity: float = Field(description="Units in the cart.")
    price: float | None = Field(description="Unit price when added.")


class RecentItem(BaseModel):
    item_id: str = Field(description="Catalog item id.")
    name: str | None = Field(description="Item name.")


class Engagement(BaseModel):
    summary: str = Field(description="One or two sentences on recent behaviour.")
    last_seen: str | None = Field(description="Time of the latest event (UTC ISO 8601).")
    counts_30d: dict[str, int] = Field(description="Interactions in the last 30 days, by kind.")
    recently_viewed: list[RecentItem] = Field(
        description="Most recently viewed items, newest first."
    )


class Consent(BaseModel):
    status: str | None = Field(description="'Opt In', 'Opt Out' or null when never stated.")
    provider: str | None = Field(description="Who collected the consent.")


class Contact(BaseModel):
    masked: bool = Field(description="True unless the caller has the `pii` scope.")
    emails: list[str] = Field(description="Email addresses (masked unless `pii`).")
    phones: list[str] = Field(description="Phone numbers (masked unless `pii`).")


class GetContextOutput(BaseModel):
    individual: str | None = Field(
        description="The person's unified id; null when nobody is known by the identifier."
    )
    found: bool = Field(
        description="False when no profile answers to the identifier: a new visitor, and the "
        "rest of the answer is empty."
    )
    known: bool = Field(
        description="True when the person has identified themselves (logged in or gave contact details)."
    )
    first_name: str | None = Field(description="First name, when known and allowed.")
    segments: list[str] = Field(description="Segments the person is in.")
    insights: KeyInsights = Field(description="Key purchase facts.")
    recent_orders: list[RecentOrder] = Field(
        description=f"Up to {RECENT_ORDERS} most recent orders, newest first, with the items "
        "bought (`insights.orders` counts them all)."
    )
    top_categories: list[Affinity] = Field(
        description="Categories the person engages with most, strongest first (the most "
        "specific path of each branch)."
    )
    top_brands: list[Affinity] = Field(description="Brands they engage with most, strongest first.")
    stated_preferences: list[str] = Field(
        description="What the person said they like or need, oldest first (most recent 20)."
    )
    cart: list[CartItem] = Field(description="What is in the cart now.")
    engagement: Engagement = Field(description="Recent behaviour.")
    consent: Consent = Field(description="Tracking consent.")
    contact: Contact = Field(description="Contact points.")
    attributes: dict[str, Any] = Field(
        description="Other profile attributes (masked unless `pii`)."
    )
    omitted: list[str] = Field(
        default_factory=list, description="What was left out to respect `max_bytes`."
    )
    note: str | None = Field(default=None, description="Anything the agent should know first.")
