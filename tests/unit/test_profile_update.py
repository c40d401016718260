"""The online update of a profile graph, event by event."""

from __future__ import annotations

from p13n.domain.graphs.affinity import publish_affinities
from p13n.domain.graphs.profile import RECENT_ENGAGEMENT_MAX
from p13n.domain.graphs.profile_update import CART_MAX, apply_event_to_profile, new_profile
from p13n.domain.ingest.events import Event, Line, kind_of
from p13n.domain.timeutil import DAY

T0 = 1_800_000_000.0


def ev(interaction: str, ts: float = T0, **kw: object) -> Event:
    base: dict[str, object] = {
        "event_id": f"{interaction}-{ts}-{kw.get('item_id')}",
        "ts": ts,
        "interaction": interaction,
        "kind": kind_of(interaction),
        "shape": "sdk",
        "device_id": "d1",
    }
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


def test_cart_adds_removes_and_a_purchase_empties_the_bought_lines() -> None:
    p = new_profile("u", T0)
    apply_event_to_profile(
        p, ev("Add To Cart", item_id="a", quantity=2, price=5.0, lines=[Line("a", 2, 5.0)])
    )
    apply_event_to_profile(
        p, ev("Add To Cart", T0 + 1, item_id="b", quantity=1, price=7.0, lines=[Line("b", 1, 7.0)])
    )
    apply_event_to_profile(
        p, ev("Remove From Cart", T0 + 2, item_id="a", quantity=1, lines=[Line("a", 1)])
    )
    assert {c.item_id: c.quantity for c in p.cart} == {"a": 1, "b": 1}
    apply_event_to_profile(
        p, ev("Purchase", T0 + 3, order_id="o1", value=7.0, lines=[Line("b", 1, 7.0)])
    )
    assert [c.item_id for c in p.cart] == ["a"]
    assert p.purchases[0].order_id == "o1" and p.purchases[0].value == 7.0


def test_a_cart_keeps_at_most_cart_max_lines_dropping_the_oldest_added() -> None:
    p = new_profile("u", T0)
    for k in range(CART_MAX + 30):
        apply_event_to_profile(p, ev("Add To Cart", T0 + k, item_id=f"i{k}", quantity=1))
    assert len(p.cart) == CART_MAX
    assert p.cart[0].item_id == "i30" and p.cart[-1].item_id == f"i{CART_MAX + 29}"


def test_flat_order_lines_with_one_order_id_make_one_purchase() -> None:
    p = new_profile("u", T0)
    apply_event_to_profile(p, ev("Purchase", order_id="o", value=2.0, lines=[Line("a", 1, 2.0)]))
    apply_event_to_profile(
        p, ev("Purchase", T0 + 1, order_id="o", value=3.0, lines=[Line("b", 1, 3.0)])
    )
    assert len(p.purchases) == 1
    assert p.purchases[0].value == 5.0 and [ln.item_id for ln in p.purchases[0].lines] == ["a", "b"]


def test_replace_cart_with_no_lines_empties_it() -> None:
    p = new_profile("u", T0)
    apply_event_to_profile(p, ev("Add To Cart", item_id="a", quantity=1, lines=[Line("a", 1)]))
    apply_event_to_profile(p, ev("Replace Cart", T0 + 1, lines=[]))
    assert p.cart == []


def test_recent_engagement_keeps_at_most_100_events_within_30_days() -> None:
    p = new_profile("u", T0)
    apply_event_to_profile(p, ev("View Catalog Object", T0 - 40 * DAY, item_id="old"))
    for i in range(RECENT_ENGAGEMENT_MAX + 20):
        apply_event_to_profile(p, ev("View Catalog Object", T0 + i, item_id=f"i{i}"))
    assert len(p.engagement) == RECENT_ENGAGEMENT_MAX
    assert p.engagement[-1].item_id == f"i{RECENT_ENGAGEMENT_MAX + 19}"
    assert all(e.item_id != "old" for e in p.engagement)
    assert p.event_count == RECENT_ENGAGEMENT_MAX + 21


def test_an_out_of_order_event_is_placed_by_time() -> None:
    p = new_profile("u", T0)
    apply_event_to_profile(p, ev("View Catalog Object", T0 + 10, item_id="late"))
    apply_event_to_profile(p, ev("View Catalog Object", T0 + 5, item_id="early"))
    assert [e.item_id for e in p.engagement] == ["early", "late"]
    assert p.first_seen == T0 + 5 and p.last_seen == T0 + 10


def test_recently_viewed_is_distinct_and_newest_last() -> None:
    p = new_profile("u", T0)
    for i, item in enumerate(["a", "b", "a"]):
        apply_event_to_profile(p, ev("View Catalog Object", T0 + i, item_id=item))
    assert [v.item_id for v in p.recently_viewed] == ["b", "a"]


def test_a_click_on_an_item_counts_as_having_seen_it_and_a_shown_item_does_not() -> None:
    """An agent's shopper only clicks (no page view is sent): get_context must still list it."""
    p = new_profile("u", T0)
    apply_event_to_profile(p, ev("personalization-view", T0, item_id="shown"))
    apply_event_to_profile(p, ev("personalization-click", T0 + 1, item_id="clicked"))
    apply_event_to_profile(p, ev("catalog-object-click", T0 + 2, item_id="opened"))
    assert [v.item_id for v in p.recently_viewed] == ["clicked", "opened"]


def test_identity_events_set_names_and_normalized_contact_points_once() -> None:
    p = new_profile("u", T0)
    apply_event_to_profile(p, ev("identity", identity={"firstName": "Ada", "lastName": "L"}))
    apply_event_to_profile(p, ev("contactPointEmail", identity={"email": " Ada.L+shop@Gmail.com "}))
    apply_event_to_profile(p, ev("contactPointEmail", T0 + 1, identity={"email": "adal@gmail.com"}))
    apply_event_to_profile(p, ev("contactPointPhone", identity={"phoneNumber": "(415) 555-0100"}))
    assert p.attributes["firstName"] == "Ada"
    assert [(c.type, c.normalized) for c in p.contact_points] == [
        ("email", "adal@gmail.com"),
        ("phone", "+14155550100"),
    ]
    assert [(i.type, i.value) for i in p.identities] == [("deviceId", "d1")]


def test_consent_follows_the_latest_consent_event() -> None:
    p = new_profile("u", T0)
    apply_event_to_profile(p, ev("View Catalog Object", T0 + 5, item_id="a", consent="Opt In"))
    apply_event_to_profile(p, ev("View Catalog Object", T0 + 1, item_id="a", consent="Opt Out"))
    assert p.consent.status == "Opt In"


def test_affinities_favour_what_was_engaged_with_most_and_latest() -> None:
    p = new_profile("u", T0)
    for i in range(3):
        apply_event_to_profile(
            p, ev("View Catalog Object", T0 + i, item_id="a", category="Women/Tops", brand="Nike")
        )
    apply_event_to_profile(
        p, ev("View Catalog Object", T0 + 5, item_id="b", category="Men/Shoes", brand="Adidas")
    )
    publish_affinities(p.state, p.affinities)
    assert p.affinities["category"]["Women"] == 100.0
    assert p.affinities["category"]["Women/Tops"] == 100.0
    assert 0 < p.affinities["category"]["Men"] < 100
    assert p.affinities["brand"]["Nike"] == 100.0
    # Two months later a single purchase outweighs old views.
    apply_event_to_profile(
        p,
        ev(
            "Purchase",
            T0 + 60 * DAY,
            item_id="b",
            category="Men/Shoes",
            brand="Adidas",
            lines=[Line("b", 1, 1.0)],
        ),
    )
    publish_affinities(p.state, p.affinities)
    assert p.affinities["brand"]["Adidas"] == 100.0
    assert p.affinities["brand"]["Nike"] < 10
