"""Apply one accepted event to a profile graph (the online path of the update step)."""

from __future__ import annotations

from bisect import insort

from p13n.domain.graphs.affinity import add_affinity
from p13n.domain.graphs.profile import (
    RECENT_ENGAGEMENT_DAYS,
    RECENT_ENGAGEMENT_MAX,
    CartLine,
    ConsentState,
    ContactPoint,
    EngagementEntry,
    Identity,
    ProfileGraph,
    Purchase,
    PurchaseLine,
    ViewedItem,
)
from p13n.domain.identity import normalize_contact_point
from p13n.domain.ingest import Event
from p13n.domain.timeutil import DAY

__all__ = [
    "CART_MAX",
    "new_profile",
    "apply_event_to_profile",
    "VIEW_INTERACTIONS",
    "RECENTLY_VIEWED_MAX",
]

VIEW_INTERACTIONS = frozenset(
    {"View Catalog Object", "View Catalog Object Detail", "Quick View Catalog Object"}
)
# What puts an item in `recently_viewed`: views, and clicks on an item (a click opens it; in
# the agent channel a click is the only sign that the person looked at the item).
SEEN_INTERACTIONS = VIEW_INTERACTIONS | {"personalization-click", "catalog-object-click"}
RECENTLY_VIEWED_MAX = 20
PURCHASES_MAX = 50
# Cart lines kept (the oldest added goes first past it): every other list of a profile is
# bounded, and a cart that only grew (a bot adding every item) grew the document, the cache's
# memory and each decision's decode without end (found by the soak, issue 17).
CART_MAX = 100
_NAME_ATTRIBUTES = ("firstName", "lastName", "isAnonymous")


def new_profile(unified_id: str, ts: float) -> ProfileGraph:
    return ProfileGraph(unified_id=unified_id, created_at=ts, updated_at=ts)


def apply_event_to_profile(profile: ProfileGraph, event: Event) -> None:
    """Identities, consent, attributes, engagement, cart, views, purchases, affinity scores.

    The published 0-100 affinities are derived later, once per batch (`publish_affinities`).
    """
    ts = event.ts
    profile.event_count += 1
    if ts > profile.updated_at:
        profile.updated_at = ts
    if profile.first_seen is None or ts < profile.first_seen:
        profile.first_seen = ts
    if profile.last_seen is None or ts > profile.last_seen:
        profile.last_seen = ts
    _add_identities(profile, event)
    if event.consent is not None and (
        profile.consent.updated_at is None or ts >= profile.consent.updated_at
    ):
        profile.consent = ConsentState(
            status=event.consent, provider=event.consent_provider, updated_at=ts
        )
    if event.kind == "identity":
        _apply_identity(profile, event)
    elif event.attributes:
        for key, value in event.attributes.items():
            if key != "eventType":
                profile.attributes[key] = value
    _add_engagement(profile, event)
    if event.kind == "cart":
        _apply_cart(profile, event)
    elif event.interaction == "Purchase":
        _apply_purchase(profile, event)
    if event.interaction in SEEN_INTERACTIONS and event.item_id:
        _add_view(profile, event.item_id, ts)
    add_affinity(profile.state, event.interaction, ts, event.category, event.brand)


def _add_identities(profile: ProfileGraph, event: Event) -> None:
    for kind, value in (("deviceId", event.device_id), ("individualId", event.individual_id)):
        if not value:
            continue
        for known in profile.identities:
            if known.value == value and known.type == kind:
                break
        else:
            profile.identities.append(Identity(type=kind, value=value, first_seen=event.ts))


def _apply_identity(profile: ProfileGraph, event: Event) -> None:
    for key in _NAME_ATTRIBUTES:
        if key in event.identity:
            profile.attributes[key] = event.identity[key]
    for attr, kind in (("email", "email"), ("phoneNumber", "phone"), ("phone", "phone")):
        value = event.identity.get(attr)
        if isinstance(value, str) and value.strip():
            norm = normalize_contact_point(kind, value)
            if not any(c.type == kind and c.normalized == norm for c in profile.contact_points):
                profile.contact_points.append(
                    ContactPoint(type=kind, value=value, normalized=norm, first_seen=event.ts)
                )
    if event.interaction == "partyIdentification" and event.identity.get("userId"):
        number = str(event.identity["userId"])
        label = f"{event.identity.get('IDName', '')}|{event.identity.get('IDType', '')}|{number}"
        if not any(c.normalized == label for c in profile.contact_points):
            profile.contact_points.append(
                ContactPoint(
                    type="partyIdentification", value=number, normalized=label, first_seen=event.ts
                )
            )


def _add_engagement(profile: ProfileGraph, event: Event) -> None:
    entry = EngagementEntry(
        event_id=event.event_id,
        ts=event.ts,
        interaction=event.interaction,
        item_id=event.item_id,
        category=event.category,
        brand=event.brand,
        quantity=event.quantity,
        value=event.value,
        order_id=event.order_id,
    )
    recent = profile.engagement
    if not recent or recent[-1].ts <= entry.ts:
        recent.append(entry)
    else:
        insort(recent, entry, key=lambda e: e.ts)
    horizon = recent[-1].ts - RECENT_ENGAGEMENT_DAYS * DAY
    drop = 0
    while drop < len(recent) and (
        len(recent) - drop > RECENT_ENGAGEMENT_MAX or recent[drop].ts < horizon
    ):
        drop += 1
    if drop:
        del recent[:drop]


def _apply_cart(profile: ProfileGraph, event: Event) -> None:
    if event.interaction == "Replace Cart":
        profile.cart = [
            CartLine(item_id=ln.item_id, quantity=ln.quantity, price=ln.price, added_at=event.ts)
            for ln in event.lines
            if ln.quantity > 0
        ]
        return
    if not event.item_id:
        return
    qty = event.quantity if event.quantity is not None else 1.0
    line = next((c for c in profile.cart if c.item_id == event.item_id), None)
    if event.interaction == "Add To Cart":
        if line is None:
            profile.cart.append(
                CartLine(item_id=event.item_id, quantity=qty, price=event.price, added_at=event.ts)
            )
            if len(profile.cart) > CART_MAX:
                oldest = min(profile.cart, key=lambda c: c.added_at)
                profile.cart.remove(oldest)
        else:
            line.quantity += qty
            line.price = event.price if event.price is not None else line.price
    elif line is not None:  # Remove From Cart
        line.quantity -= qty if event.quantity is not None else line.quantity
        if line.quantity <= 0:
            profile.cart.remove(line)


def _apply_purchase(profile: ProfileGraph, event: Event) -> None:
    bought = {ln.item_id for ln in event.lines}
    profile.cart = [c for c in profile.cart if c.item_id not in bought]
    lines = [
        PurchaseLine(item_id=ln.item_id, quantity=ln.quantity, price=ln.price) for ln in event.lines
    ]
    existing = None
    if event.order_id:
        existing = next((p for p in profile.purchases if p.order_id == event.order_id), None)
    if existing is not None:  # flat senders send one event per order line
        existing.lines.extend(lines)
        existing.value = (existing.value or 0.0) + (event.value or 0.0)
        return
    profile.purchases.append(
        Purchase(order_id=event.order_id, ts=event.ts, value=event.value, lines=lines)
    )
    if len(profile.purchases) > PURCHASES_MAX:
        profile.purchases.sort(key=lambda p: p.ts)
        del profile.purchases[: len(profile.purchases) - PURCHASES_MAX]


def _add_view(profile: ProfileGraph, item_id: str, ts: float) -> None:
    views = profile.recently_viewed
    for i, seen in enumerate(views):
        if seen.item_id == item_id:
            if seen.ts >= ts:
                return
            del views[i]
            break
    if not views or views[-1].ts <= ts:
        views.append(ViewedItem(item_id=item_id, ts=ts))
    else:
        insort(views, ViewedItem(item_id=item_id, ts=ts), key=lambda v: v.ts)
    if len(views) > RECENTLY_VIEWED_MAX:
        del views[: len(views) - RECENTLY_VIEWED_MAX]
