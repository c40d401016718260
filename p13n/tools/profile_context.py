"""get_context: what an agent should know about a person, small and safe to put in a prompt.

Personal data is masked unless the caller has the `pii` scope: emails keep their first letter
and the top-level domain (`a***@e***.com`), phones their last two digits, and any attribute
whose name mentions an address is replaced by `[masked]`. The first name is shared when the
caller has `pii` or the deployment allows first names (`ToolContext`'s default does: a first
name alone rarely identifies anyone, and agents greet people by it).

The answer is bounded (`max_bytes`, default 4 KB of JSON): when it would be larger, the least
useful parts are cut first — recently viewed items, then affinities, cart lines, segments —
and `omitted` says what was left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.graphs import ProfileGraph
from p13n.domain.ingest import IDENTITY_EVENT_TYPES
from p13n.tools.context import ToolContext
from p13n.tools.people import resolve_person

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


class KeyInsights(BaseModel):
    orders: int = Field(description="Distinct orders placed.")
    lifetime_revenue: float = Field(description="Sum of purchase values.")
    average_order_value: float | None = Field(description="Lifetime revenue per order.")
    last_purchase_at: str | None = Field(description="Time of the latest purchase (UTC ISO 8601).")


class Affinity(BaseModel):
    value: str = Field(description="The category, brand or other value.")
    score: float = Field(description="0-100, higher is stronger.")


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
    individual: str = Field(description="The person's unified id.")
    known: bool = Field(
        description="True when the person has identified themselves (logged in or gave contact details)."
    )
    first_name: str | None = Field(description="First name, when known and allowed.")
    segments: list[str] = Field(description="Segments the person is in.")
    insights: KeyInsights = Field(description="Key purchase facts.")
    affinities: dict[str, list[Affinity]] = Field(
        description="Strongest affinities per dimension (category, brand, ...), strongest first."
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


def _build(ctx: ToolContext, profile: ProfileGraph) -> GetContextOutput:
    pii = ctx.caller.can_see_pii
    ins = profile.insights
    attrs = profile.attributes
    first = attrs.get("firstName")
    others: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in ("firstName", "lastName", "isAnonymous"):
            continue
        if not pii and ("address" in key.lower() or key.lower() in ("email", "phone")):
            value = "[masked]"
        others[key] = value
    if pii and attrs.get("lastName"):
        others["lastName"] = attrs["lastName"]
    emails = [c.value for c in profile.contact_points if c.type == "email"]
    phones = [c.value for c in profile.contact_points if c.type == "phone"]
    affinities = {
        dim: [
            Affinity(value=v, score=round(s, 1))
            for v, s in sorted(scores.items(), key=lambda kv: -kv[1])[:_TOP_AFFINITIES]
        ]
        for dim, scores in profile.affinities.items()
        if scores
    }
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
        affinities=affinities,
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


def _size(out: GetContextOutput) -> int:
    return len(orjson.dumps(out.model_dump(mode="json")))


def _fit(out: GetContextOutput, max_bytes: int) -> GetContextOutput:
    """Halve the least useful lists until the JSON fits, then say what was cut in `omitted`."""
    if not out.omitted and _size(out) <= max_bytes:  # the usual case: one measurement
        return out
    cut: dict[str, tuple[int, list[Any]]] = {}

    def halve(label: str, values: list[Any]) -> bool:
        if not values:
            return False
        cut.setdefault(label, (len(values), values))
        del values[len(values) // 2 :]
        return True

    def affinities(keep_one: bool) -> bool:
        lists = [(d, v) for d, v in out.affinities.items() if len(v) > (1 if keep_one else 0)]
        return any([halve(f"affinities.{d}", v) for d, v in lists])

    steps: list[Callable[[], bool]] = [
        lambda: halve("engagement.recently_viewed", out.engagement.recently_viewed),
        lambda: affinities(True),
        lambda: halve("cart", out.cart),
        lambda: halve("segments", out.segments),
        lambda: halve("contact.emails", out.contact.emails),
        lambda: halve("contact.phones", out.contact.phones),
        lambda: affinities(False),
        lambda: _drop_attributes(out, dropped),
    ]
    dropped: list[str] = []

    def too_big() -> bool:
        """The size with the notes of what was cut so far (they count against the bound)."""
        out.omitted = [f"{label}: kept {len(v)} of {n}" for label, (n, v) in cut.items()]
        out.omitted += dropped
        return _size(out) > max_bytes

    for step in steps:
        while too_big() and step():
            pass
    return out


def _drop_attributes(out: GetContextOutput, dropped: list[str]) -> bool:
    if not out.attributes:
        return False
    dropped.append(f"attributes: all {len(out.attributes)} left out")
    out.attributes = {}
    return True


def get_context(ctx: ToolContext, data: GetContextInput) -> GetContextOutput:
    uid = resolve_person(ctx, data.individual)
    profile = ctx.engine.get_profile(uid)
    return _fit(_build(ctx, profile), data.max_bytes)
