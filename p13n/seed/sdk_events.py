"""The shape of a simulated web SDK event: the envelope, item URLs and cart line items.

Kept apart from the shopping model so what an event looks like is written once, in the order of
keys a real SDK sends (the simulator's output, key order included, is pinned by its tests).
"""

from __future__ import annotations

from typing import Any

from p13n.domain.ingest import Item
from p13n.domain.timeutil import to_iso
from p13n.seed.mercari import SHOP_URL

__all__ = ["CONSENTS", "item_url", "line_item", "sdk_event"]

CONSENTS = ({"provider": "p13n-demo", "purpose": "Tracking", "status": "Opt In"},)


def sdk_event(
    t: float,
    ctx: tuple[str, str],
    locale: str,
    page: str,
    url: str,
    etype: str,
    *,
    channel: str = "Web",
    **body: Any,
) -> dict[str, Any]:
    """One event on device `ctx[0]` in session `ctx[1]` at `t`; its id is set once all are in."""
    source = {"pageType": page, "url": url, "channel": channel, "locale": locale}
    return {
        "eventId": "",
        "deviceId": ctx[0],
        "sessionId": ctx[1],
        "dateTime": to_iso(t),
        "eventType": etype,
        **body,
        "source": source,
        "consents": [dict(c) for c in CONSENTS],
    }


def item_url(item: Item) -> str:
    return item.url or f"{SHOP_URL}/items/{item.id}"


def line_item(item: Item, qty: int) -> dict[str, Any]:
    return {
        "catalogObjectType": item.type,
        "catalogObjectId": item.id,
        "quantity": qty,
        "price": item.price,
    }
