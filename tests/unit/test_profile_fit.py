"""get_context's byte bound (`p13n.tools.profile_fit`): what is cut, what is kept, what is said."""

from __future__ import annotations

import orjson
import pytest

from p13n.tools.profile_fit import fit
from p13n.tools.profile_shapes import (
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


def _heavy() -> GetContextOutput:
    orders = [
        RecentOrder(
            order_id=f"o-{k}",
            purchased_at=f"2026-05-{20 - k:02d}T10:00:00Z",
            amount=50.0,
            currency="USD",
            item_count=5,
            items=[
                OrderLine(
                    item_id=f"i-{k}-{n}",
                    name=f"Item {k}-{n} with a fairly long name",
                    category="Top/Sub/Leaf",
                    quantity=1,
                    price=10.0,
                )
                for n in range(5)
            ],
        )
        for k in range(5)
    ]
    return GetContextOutput(
        individual="u-1",
        found=True,
        known=True,
        first_name="Ava",
        segments=["repeat_buyers", "big_spenders"],
        insights=KeyInsights(
            orders=9, lifetime_revenue=450.0, average_order_value=50.0, last_purchase_at=None
        ),
        recent_orders=orders,
        top_categories=[Affinity(value=f"Top/Sub/Leaf {k}", score=100 - k) for k in range(5)],
        top_brands=[Affinity(value=f"Brand {k}", score=100 - k) for k in range(5)],
        stated_preferences=[f"preference {k}: " + "likes wool " * 10 for k in range(20)],
        cart=[
            CartItem(item_id=f"c-{k}", name=f"Cart item {k}", quantity=1, price=5.0)
            for k in range(4)
        ],
        engagement=Engagement(
            summary="Active.",
            last_seen=None,
            counts_30d={"views": 3},
            recently_viewed=[RecentItem(item_id=f"v-{k}", name=f"Viewed {k}") for k in range(5)],
        ),
        consent=Consent(status=None, provider=None),
        contact=Contact(masked=True, emails=["a***@e***.com"], phones=[]),
        attributes={"tier": "gold"},
    )


def _size(out: GetContextOutput) -> int:
    return len(orjson.dumps(out.model_dump(mode="json")))


def test_an_answer_that_fits_is_left_alone() -> None:
    out = _heavy()
    assert fit(out, 65536) == _heavy() and out.omitted == []


@pytest.mark.parametrize("bound", [2048, 3072, 4096, 6144])
def test_the_newest_are_kept_and_every_cut_is_named(bound: int) -> None:
    whole, out = _heavy(), fit(_heavy(), bound)
    assert _size(out) <= bound
    assert out.recent_orders[0].order_id == "o-0"  # the newest order
    assert out.stated_preferences[-1].startswith("preference 19:")  # the newest preference
    lists = {
        "recent_orders": (out.recent_orders, whole.recent_orders),
        "stated_preferences": (out.stated_preferences, whole.stated_preferences),
        "cart": (out.cart, whole.cart),
        "top_categories": (out.top_categories, whole.top_categories),
        "engagement.recently_viewed": (
            out.engagement.recently_viewed,
            whole.engagement.recently_viewed,
        ),
    }
    for label, (kept, full) in lists.items():
        note = f"{label}: kept {len(kept)} of {len(full)}"
        assert (note in out.omitted) == (len(kept) < len(full)), (label, out.omitted)
        if label == "recent_orders":  # their lines may be cut: compare the orders by id
            kept, full = [o.order_id for o in kept], [o.order_id for o in full]
        newest = (
            full[len(full) - len(kept) :] if label == "stated_preferences" else full[: len(kept)]
        )
        assert kept == newest, label
    for k, order in enumerate(out.recent_orders):
        note = f"recent_orders[{k}].items: kept {len(order.items)} of 5"
        assert (note in out.omitted) == (len(order.items) < 5), out.omitted
    assert not [o for o in out.omitted if o.startswith(f"recent_orders[{len(out.recent_orders)}]")]


def test_what_was_cut_is_given_back_while_it_fits() -> None:
    out = fit(_heavy(), 4096)
    whole = _heavy()
    assert len(out.stated_preferences) < 20
    one_more = out.model_copy(deep=True)
    one_more.stated_preferences.insert(
        0, whole.stated_preferences[-len(out.stated_preferences) - 1]
    )
    assert _size(one_more) > 4096  # the preferences were not cut further than needed
