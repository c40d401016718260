"""get_context: what an agent should know about a person, small and safe to put in a prompt.

Personal data is masked unless the caller has the `pii` scope: emails keep their first letter
and the top-level domain (`a***@e***.com`), phones their last two digits, and any attribute
whose name mentions an address is replaced by `[masked]`. The first name is shared when the
caller has `pii` or the deployment allows first names (`ToolContext`'s default does: a first
name alone rarely identifies anyone, and agents greet people by it).

What the person bought comes as `recent_orders` (newest first, each with its items' ids and
names, date and amount), so an agent asked for "more like what I bought" can pass a bought item
as the anchor; `top_categories` and `top_brands` are the strongest affinities in the catalog's
own words (a category is its most specific path, usable as a filter as it stands), and
`stated_preferences` what the person told an agent (`record_interaction`).

Someone nobody knows yet gets an empty, anonymous context with `found: false` and a `note`
(a read never fails on a new visitor).

The answer is bounded (`max_bytes`, default 4 KB of JSON): when it would be larger, the least
useful parts are cut first — recently viewed items, then affinities, segments, older stated
preferences, older orders, order lines, cart lines (`profile_fit`) — and `omitted` says what
was left out.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.graphs import ProfileGraph
from p13n.domain.ingest import IDENTITY_EVENT_TYPES
from p13n.tools.context import ToolContext
from p13n.tools.people import resolve_person, unknown_person_note
from p13n.tools.profile_fit import fit
from p13n.tools.profile_shapes import (
    RECENT_ORDERS,
    Affinity,
    CartItem,
    Consent,
    Contact,
    Engagement,
    GetContextOutput,
    KeyInsights,
    OrderLine,
    RecentItem,
    RecentOrder,
)

__all__ = [
    "GetContextInput",
    "GetContextOutput",
    "get_context",
    "mask_email",
    "mask_phone",
    "DEFAULT_MAX_BYTES",
]

DEFAULT_MAX_BYTES = 4096
_TOP_AFFINITIES = 5
_RECENT_ITEMS = 5
_ORDER_LINES = 5
_ENGAGEMENT_DAYS = 30
_LABELS = {
    "View Catalog Object": "views",
    "View Catalog Object Detail": "detail views",
    "Add To Cart": "add-to-carts",
    "Remove From Cart": "cart removals",
    "Purchase": "purchases",
    "personalization-click": "recommendation clicks",
    "personalization-view": "recommendations shown",
}


class GetContextInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    individual: str = Field(
        min_length=1,
        description="The person: a device id, individual id, unified id, email or phone.",
    )
    max_bytes: int = Field(
        default=DEFAULT_MAX_BYTES,
        ge=1024,
        le=65536,
        description="Upper bound on the size of the answer as JSON; parts are left out (and "
        "listed in `omitted`) to stay under it.",
    )


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    host, _, tld = domain.rpartition(".")
    if not host:
        return (local[:1] or "*") + "***"
    return f"{local[:1]}***@{host[:1]}***.{tld}"


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return "*" * max(len(digits) - 2, 3) + digits[-2:]


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return (
        datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _engagement(ctx: ToolContext, profile: ProfileGraph) -> Engagement:
    now = ctx.engine.now()
    horizon = now - _ENGAGEMENT_DAYS * 86_400
    counts: Counter[str] = Counter()
    sessions_days: set[int] = set()
    for e in profile.engagement:
        if e.ts >= horizon and e.interaction not in IDENTITY_EVENT_TYPES:
            counts[_LABELS.get(e.interaction, e.interaction)] += 1
            sessions_days.add(int(e.ts // 86_400))
    recent = []
    for v in reversed(profile.recently_viewed[-_RECENT_ITEMS:]):
        item = ctx.engine.state.items.get(v.item_id)
        recent.append(RecentItem(item_id=v.item_id, name=item.name if item else None))
    if counts:
        listed = ", ".join(f"{n} {label}" for label, n in counts.most_common(4))
        summary = f"Active on {len(sessions_days)} of the last {_ENGAGEMENT_DAYS} days: {listed}."
    else:
        summary = f"No activity in the last {_ENGAGEMENT_DAYS} days."
    if profile.last_seen is not None:
        days = int((now - profile.last_seen) // 86_400)
        summary += " Last seen today." if days == 0 else f" Last seen {days} day(s) ago."
    if profile.cart:
        summary += f" {len(profile.cart)} item(s) in the cart."
    return Engagement(
        summary=summary,
        last_seen=_iso(profile.last_seen),
        counts_30d=dict(counts),
        recently_viewed=recent,
    )


def _orders(ctx: ToolContext, profile: ProfileGraph) -> list[RecentOrder]:
    items = ctx.engine.state.items
    orders = []
    for purchase in sorted(profile.purchases, key=lambda p: -p.ts)[:RECENT_ORDERS]:
        known = [items.get(line.item_id) for line in purchase.lines]
        amount = purchase.value
        if amount is None and all(line.price is not None for line in purchase.lines):
            amount = sum((line.price or 0.0) * line.quantity for line in purchase.lines)
        orders.append(
            RecentOrder(
                order_id=purchase.order_id,
                purchased_at=str(_iso(purchase.ts)),
                amount=None if amount is None else round(amount, 2),
                currency=next((i.currency for i in known if i is not None and i.currency), None),
                item_count=len(purchase.lines),
                items=[
                    OrderLine(
                        item_id=line.item_id,
                        name=item.name if item else None,
                        category=item.category if item else None,
                        quantity=line.quantity,
                        price=line.price,
                    )
                    for line, item in list(zip(purchase.lines, known, strict=True))[:_ORDER_LINES]
                ],
            )
        )
    return orders


def _top(scores: dict[str, float], *, most_specific: bool = False) -> list[Affinity]:
    """The strongest values; with `most_specific`, a category path whose descendant is also
    scored is left out (the descendant's path names it)."""
    values = list(scores)
    if most_specific:
        values = [v for v in values if not any(o.startswith(v + "/") for o in scores)]
    values.sort(key=lambda v: -scores[v])
    return [Affinity(value=v, score=round(scores[v], 1)) for v in values[:_TOP_AFFINITIES]]


def _build(ctx: ToolContext, profile: ProfileGraph) -> GetContextOutput:
    pii = ctx.caller.can_see_pii
    ins = profile.insights
    attrs = profile.attributes
    first = attrs.get("firstName")
    others: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in ("firstName", "lastName", "isAnonymous", "statedPreferences"):
            continue
        if not pii and ("address" in key.lower() or key.lower() in ("email", "phone")):
            value = "[masked]"
        others[key] = value
    if pii and attrs.get("lastName"):
        others["lastName"] = attrs["lastName"]
    emails = [c.value for c in profile.contact_points if c.type == "email"]
    phones = [c.value for c in profile.contact_points if c.type == "phone"]
    cart = []
    for line in profile.cart:
        item = ctx.engine.state.items.get(line.item_id)
        cart.append(
            CartItem(
                item_id=line.item_id,
                name=item.name if item else None,
                quantity=line.quantity,
                price=line.price,
            )
        )
    return GetContextOutput(
        individual=profile.unified_id,
        found=True,
        known=bool(profile.contact_points)
        or any(i.type == "individualId" for i in profile.identities),
        first_name=str(first) if first and (pii or ctx.share_first_name) else None,
        segments=sorted(profile.segments),
        insights=KeyInsights(
            orders=int(ins.get("order_count", 0) or 0),
            lifetime_revenue=round(float(ins.get("lifetime_revenue", 0.0) or 0.0), 2),
            average_order_value=(
                round(float(ins["average_order_value"]), 2)
                if ins.get("average_order_value") is not None
                else None
            ),
            last_purchase_at=_iso(ins.get("last_purchase_at")),
        ),
        recent_orders=_orders(ctx, profile),
        top_categories=_top(profile.affinities.get("category", {}), most_specific=True),
        top_brands=_top(profile.affinities.get("brand", {})),
        stated_preferences=[str(p) for p in attrs.get("statedPreferences") or []],
        cart=cart,
        engagement=_engagement(ctx, profile),
        consent=Consent(status=profile.consent.status, provider=profile.consent.provider),
        contact=Contact(
            masked=not pii,
            emails=emails if pii else [mask_email(e) for e in emails],
            phones=phones if pii else [mask_phone(p) for p in phones],
        ),
        attributes=others,
    )


def _unknown(identifier: str) -> GetContextOutput:
    return GetContextOutput(
        individual=None,
        found=False,
        known=False,
        first_name=None,
        segments=[],
        insights=KeyInsights(
            orders=0, lifetime_revenue=0.0, average_order_value=None, last_purchase_at=None
        ),
        recent_orders=[],
        top_categories=[],
        top_brands=[],
        stated_preferences=[],
        cart=[],
        engagement=Engagement(
            summary="No activity: a new visitor.", last_seen=None, counts_30d={}, recently_viewed=[]
        ),
        consent=Consent(status=None, provider=None),
        contact=Contact(masked=True, emails=[], phones=[]),
        attributes={},
        note=unknown_person_note(identifier),
    )


def get_context(ctx: ToolContext, data: GetContextInput) -> GetContextOutput:
    uid = resolve_person(ctx, data.individual)
    if uid is None:
        return _unknown(data.individual)
    return fit(_build(ctx, profile=ctx.engine.get_profile(uid)), data.max_bytes)
