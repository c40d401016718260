"""The two wire shapes of an event: the web/mobile SDK shape of REFERENCE.md and a flat shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CatalogObject",
    "LineItem",
    "Order",
    "Interaction",
    "User",
    "EventSource",
    "ConsentEntry",
    "SdkEvent",
    "FlatEvent",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class CatalogObject(_Wire):
    type: str = "Product"
    id: str = Field(min_length=1, max_length=256)
    attributes: dict[str, Any] = Field(default_factory=dict)
    relatedCatalogObjects: dict[str, Any] | None = None


class LineItem(_Wire):
    catalogObjectType: str = "Product"
    catalogObjectId: str = Field(min_length=1, max_length=256)
    quantity: float = Field(default=1.0, ge=0)
    price: float | None = Field(default=None, ge=0)


class Order(_Wire):
    id: str | None = None
    totalValue: float | None = Field(default=None, ge=0)
    currency: str | None = None
    lineItems: list[LineItem] = Field(default_factory=list)


class Interaction(_Wire):
    name: str = Field(min_length=1, max_length=128)
    catalogObject: CatalogObject | None = None
    lineItem: LineItem | None = None
    lineItems: list[LineItem] | None = None
    order: Order | None = None


class User(_Wire):
    anonymousId: str | None = None
    identities: dict[str, Any] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)


class EventSource(_Wire):
    pageType: str | None = None
    url: str | None = None
    urlReferrer: str | None = None
    channel: str | None = None
    locale: str | None = None


class ConsentEntry(_Wire):
    provider: str | None = None
    purpose: str = "Tracking"
    status: Literal["Opt In", "Opt Out"]


class SdkEvent(_Wire):
    """An event as the Interactions SDK sends it."""

    eventId: str | None = Field(default=None, max_length=256)
    deviceId: str | None = Field(default=None, max_length=256)
    sessionId: str | None = None
    dateTime: datetime | None = None
    eventType: str | None = None
    interaction: Interaction | None = None
    user: User | None = None
    source: EventSource | None = None
    consents: list[ConsentEntry] | None = None
    personalizationId: str | None = None
    personalizationContentId: str | None = None


class FlatEvent(_Wire):
    """An event from a server-side sender: one line of an order, one view, one cart change."""

    eventId: str | None = Field(default=None, max_length=256)
    individualId: str | None = Field(default=None, max_length=256)
    deviceId: str | None = Field(default=None, max_length=256)
    sessionId: str | None = None
    interaction: str = Field(min_length=1, max_length=128)
    itemId: str | None = Field(default=None, max_length=256)
    quantity: float | None = Field(default=None, ge=0)
    price: float | None = Field(default=None, ge=0)
    orderId: str | None = None
    currency: str | None = None
    dateTime: datetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    consents: list[ConsentEntry] | None = None
    channel: str | None = None
    personalizationId: str | None = None
    personalizationContentId: str | None = None
