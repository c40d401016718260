"""Attribution on a hand-built journey: every model x basis x window, worked out by hand.

The journey of unit u (T is midnight UTC of some day; d = one day):

    e0  T-10d  email   clicked c0 at T-10d+60s
    e1  T      home    never clicked
    e2  T+1d   pdp     clicked c2 at T+1d+60s
    e3  T+3d   cart    clicked c3 at T+3d+60s
        T+4d   ORDER o1, 100.00 (10000 cents), 2 units
    e4  T+5d   home    clicked c4 at T+5d+60s (after the order: never credited)

and unit v was shown vx at T+4d-1s (another unit: never credited to u's order).

Ages at the order: view basis e0 14d, e1 4d, e2 3d, e3 1d; click basis c0 14d-60s, c2 3d-60s,
c3 1d-60s. So the qualifying touches are
    24h: view {e3};          click {e3 via c3}
    7d:  view {e1, e2, e3};  click {e2, e3}
    30d: view {e0..e3};      click {e0, e2, e3}
Time decay uses a half-life of one day here (whole days make exact powers of two).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from p13n.domain.analytics import (
    Attribution,
    AttributionSettings,
    Click,
    Conversion,
    Exposure,
    Journeys,
    attribute,
    model_shares,
    parse_window,
    split_cents,
)
from p13n.domain.errors import InvalidInput
from p13n.domain.timeutil import DAY

T = 20_000 * DAY


def exposure(pid: str, ts: float, point: str, unit: str = "u", shown: bool = True) -> Exposure:
    return Exposure(
        personalization_id=pid, request_id=pid, ts=ts, unit=unit, point=point, shown=shown
    )


def click(event_id: str, pid: str, ts: float, unit: str = "u") -> Click:
    return Click(event_id, ts, unit, pid, f"{pid}:0", "i1", "personalization-click")


def conversion(
    key: str, ts: float, revenue: str, kind: str = "order", unit: str = "u"
) -> Conversion:
    return Conversion(
        key=key,
        kind="order" if kind == "order" else "cart",
        ts=ts,
        unit=unit,
        revenue=Decimal(revenue),
        units=Decimal(2),
        items=("i1",),
        event_ids=(key,),
        order_id=key if kind == "order" else None,
    )


JOURNEY = Journeys(
    exposures=(
        exposure("e0", T - 10 * DAY, "email"),
        exposure("e1", T, "home"),
        exposure("e2", T + DAY, "pdp"),
        exposure("e3", T + 3 * DAY, "cart"),
        exposure("vx", T + 4 * DAY - 1, "home", unit="v"),
        exposure("e4", T + 5 * DAY, "home"),
    ),
    clicks=(
        click("c0", "e0", T - 10 * DAY + 60),
        click("c2", "e2", T + DAY + 60),
        click("c3", "e3", T + 3 * DAY + 60),
        click("cx", "vx", T + 4 * DAY - 1, unit="v"),
        click("c4", "e4", T + 5 * DAY + 60),
    ),
    conversions=(conversion("o1", T + 4 * DAY, "100.00"),),
)

ALL = {"e3": "100.00"}  # a single touch takes everything under every model

# (basis, window, model) -> cents credited per touch, from the arithmetic beside each.
EXPECTED: dict[tuple[str, str, str], dict[str, str]] = {
    ("view", "24h", "first_touch"): ALL,
    ("view", "24h", "last_touch"): ALL,
    ("view", "24h", "linear"): ALL,
    ("view", "24h", "time_decay"): ALL,
    ("view", "24h", "position_based"): ALL,
    ("view", "7d", "first_touch"): {"e1": "100.00"},
    ("view", "7d", "last_touch"): {"e3": "100.00"},
    # 10000/3 = 3333.33 each: floors 9999, the one cent left ties, so the earliest (e1) gets it
    ("view", "7d", "linear"): {"e1": "33.34", "e2": "33.33", "e3": "33.33"},
    # weights 2^-4, 2^-3, 2^-1 = 1/16, 2/16, 8/16 -> shares 1/11, 2/11, 8/11
    # cents 909.09, 1818.18, 7272.73: floors 9999, the cent to the largest remainder (.73, e3)
    ("view", "7d", "time_decay"): {"e1": "9.09", "e2": "18.18", "e3": "72.73"},
    # three touches: 40 % first, 20 % the one middle, 40 % last
    ("view", "7d", "position_based"): {"e1": "40.00", "e2": "20.00", "e3": "40.00"},
    ("view", "30d", "first_touch"): {"e0": "100.00"},
    ("view", "30d", "last_touch"): {"e3": "100.00"},
    ("view", "30d", "linear"): {"e0": "25.00", "e1": "25.00", "e2": "25.00", "e3": "25.00"},
    # weights 2^-14, 2^-4, 2^-3, 2^-1 = (1, 1024, 2048, 8192)/2^14, total 11265
    # cents 0.8877, 909.0102, 1818.0204, 7272.0817: floors 9999, the cent to e0 (.8877)
    ("view", "30d", "time_decay"): {"e0": "0.01", "e1": "9.09", "e2": "18.18", "e3": "72.72"},
    # four touches: 40 % first, 20 % / 2 to each middle, 40 % last
    ("view", "30d", "position_based"): {
        "e0": "40.00",
        "e1": "10.00",
        "e2": "10.00",
        "e3": "40.00",
    },
    ("click", "24h", "first_touch"): ALL,
    ("click", "24h", "last_touch"): ALL,
    ("click", "24h", "linear"): ALL,
    ("click", "24h", "time_decay"): ALL,
    ("click", "24h", "position_based"): ALL,
    ("click", "7d", "first_touch"): {"e2": "100.00"},
    ("click", "7d", "last_touch"): {"e3": "100.00"},
    ("click", "7d", "linear"): {"e2": "50.00", "e3": "50.00"},
    # c2 is two days older than c3: weights 1/4 : 1 -> shares 1/5, 4/5
    ("click", "7d", "time_decay"): {"e2": "20.00", "e3": "80.00"},
    # two touches: no middle, half each
    ("click", "7d", "position_based"): {"e2": "50.00", "e3": "50.00"},
    ("click", "30d", "first_touch"): {"e0": "100.00"},
    ("click", "30d", "last_touch"): {"e3": "100.00"},
    ("click", "30d", "linear"): {"e0": "33.34", "e2": "33.33", "e3": "33.33"},
    # ages from the newest click: 13d, 2d, 0 -> weights (1, 2048, 8192)/2^13, total 10241
    # cents 0.9765, 1999.8047, 7999.2188: floors 9998, two cents to e0 (.9765) and e2 (.8047)
    ("click", "30d", "time_decay"): {"e0": "0.01", "e2": "20.00", "e3": "79.99"},
    ("click", "30d", "position_based"): {"e0": "40.00", "e2": "20.00", "e3": "40.00"},
}


def credited(result: Attribution, key: str = "o1") -> dict[str, str]:
    return {
        c.touch.exposure.personalization_id: str(c.revenue)
        for c in result.credits
        if c.conversion.key == key
    }


@pytest.mark.parametrize(("basis", "window", "model"), sorted(EXPECTED))
def test_each_model_basis_and_window_credits_the_hand_computed_cents(
    basis: str, window: str, model: str
) -> None:
    settings = AttributionSettings(
        model=model,  # type: ignore[arg-type]
        basis=basis,  # type: ignore[arg-type]
        window_s=parse_window(window),
        half_life_s=DAY,
    )
    result = attribute(JOURNEY, settings)
    assert credited(result) == EXPECTED[(basis, window, model)]
    assert sum(c.share for c in result.credits) == 1
    assert result.unattributed == ()


def test_the_defaults_are_last_touch_view_based_over_seven_days() -> None:
    assert attribute(JOURNEY).settings == AttributionSettings(
        model="last_touch", basis="view", window_s=7 * DAY, half_life_s=7 * DAY
    )
    assert credited(attribute(JOURNEY)) == {"e3": "100.00"}


def test_time_decay_halves_the_weight_per_default_half_life_of_seven_days() -> None:
    journey = Journeys(
        exposures=(exposure("a", T, "home"), exposure("b", T + 7 * DAY, "home")),
        conversions=(conversion("o", T + 7 * DAY, "10.00"),),
    )
    result = attribute(journey, AttributionSettings(model="time_decay", window_s=30 * DAY))
    # weights 1/2 and 1 -> 1/3, 2/3; cents 333.33, 666.67 -> the left cent to b (.67)
    assert [(c.share, str(c.revenue)) for c in result.credits] == [
        (Fraction(1, 3), "3.33"),
        (Fraction(2, 3), "6.67"),
    ]


def test_the_shares_of_the_thirty_day_view_journey_are_exact_fractions() -> None:
    ages = [14 * DAY, 4 * DAY, 3 * DAY, 1 * DAY]
    assert model_shares("first_touch", ages) == [1, 0, 0, 0]
    assert model_shares("last_touch", ages) == [0, 0, 0, 1]
    assert model_shares("linear", ages) == [Fraction(1, 4)] * 4
    assert model_shares("position_based", ages) == [
        Fraction(2, 5),
        Fraction(1, 10),
        Fraction(1, 10),
        Fraction(2, 5),
    ]
    assert model_shares("time_decay", ages, half_life_s=DAY) == [
        Fraction(n, 11265) for n in (1, 1024, 2048, 8192)
    ]


def test_position_based_gives_one_touch_everything_and_two_touches_half_each() -> None:
    assert model_shares("position_based", [5.0]) == [1]
    assert model_shares("position_based", [5.0, 1.0]) == [Fraction(1, 2)] * 2
    # five touches: 2/5 first and last, the 1/5 middle over three = 1/15 each
    assert model_shares("position_based", [5.0, 4, 3, 2, 1]) == [
        Fraction(2, 5),
        *[Fraction(1, 15)] * 3,
        Fraction(2, 5),
    ]


def test_a_touch_exactly_at_the_window_edge_counts_and_one_second_older_does_not() -> None:
    # e2 is exactly 3 days older than the order; e3 one day.
    edge = attribute(JOURNEY, AttributionSettings(model="linear", window_s=3 * DAY))
    assert credited(edge) == {"e2": "50.00", "e3": "50.00"}
    inside = attribute(JOURNEY, AttributionSettings(model="linear", window_s=3 * DAY - 1))
    assert credited(inside) == {"e3": "100.00"}


def test_a_touch_at_the_conversion_second_qualifies() -> None:
    journey = Journeys(
        exposures=(exposure("a", T, "home"),), conversions=(conversion("o", T, "5.00"),)
    )
    assert credited(attribute(journey), "o") == {"a": "5.00"}


def test_a_touch_one_second_after_the_conversion_is_never_credited() -> None:
    journey = Journeys(
        exposures=(exposure("a", T, "home"), exposure("b", T + 61, "pdp")),
        clicks=(click("ca", "a", T + 1), click("cb", "b", T + 61)),
        conversions=(conversion("o", T + 60, "5.00"),),
    )
    for basis in ("view", "click"):
        result = attribute(journey, AttributionSettings(basis=basis))  # type: ignore[arg-type]
        assert credited(result, "o") == {"a": "5.00"}


def test_a_conversion_before_any_touch_or_past_the_window_is_unattributed() -> None:
    journey = Journeys(
        exposures=JOURNEY.exposures,
        conversions=(
            conversion("early", T - 20 * DAY, "7.00"),
            conversion("late", T + 40 * DAY, "7.00"),
        ),
    )
    result = attribute(journey, AttributionSettings(window_s=30 * DAY))
    assert result.credits == ()
    assert [c.key for c in result.unattributed] == ["early", "late"]


def test_a_shown_nothing_exposure_is_never_a_touch() -> None:
    journey = Journeys(
        exposures=(exposure("a", T, "home"), exposure("b", T + 1, "pdp", shown=False)),
        conversions=(conversion("o", T + 2, "1.00"),),
    )
    assert credited(attribute(journey), "o") == {"a": "1.00"}


def test_several_clicks_on_one_personalization_are_one_touch_at_the_latest_in_the_window() -> None:
    journey = Journeys(
        exposures=(exposure("a", T, "home"), exposure("b", T + 10, "pdp")),
        clicks=(
            click("a1", "a", T + 1),
            click("b1", "b", T + 20),
            click("a2", "a", T + 30),  # a touches again after b
            click("a3", "a", T + 50),  # after the cart: not this conversion's
        ),
        conversions=(conversion("k", T + 40, "0.00", kind="cart"),),
    )
    result = attribute(journey, AttributionSettings(model="linear", basis="click"))
    assert [(c.touch.exposure.personalization_id, c.touch.ts, c.share) for c in result.credits] == [
        ("b", T + 20, Fraction(1, 2)),
        ("a", T + 30, Fraction(1, 2)),
    ]
    assert [c.touch.click.event_id for c in result.credits if c.touch.click] == ["b1", "a2"]
    last = attribute(journey, AttributionSettings(basis="click"))
    assert [c.touch.exposure.personalization_id for c in last.credits] == ["a"]


def test_a_cart_is_credited_like_an_order_and_its_shares_sum_to_one() -> None:
    journey = Journeys(
        exposures=JOURNEY.exposures,
        conversions=(conversion("k", T + 3 * DAY + 120, "12.00", kind="cart"),),
    )
    result = attribute(journey, AttributionSettings(model="position_based"))
    # touches in 7 days: e1 (T), e2 (T+1d), e3 (T+3d) -> 2/5, 1/5, 2/5
    assert [(c.touch.exposure.personalization_id, c.share) for c in result.credits] == [
        ("e1", Fraction(2, 5)),
        ("e2", Fraction(1, 5)),
        ("e3", Fraction(2, 5)),
    ]


def test_touches_at_the_same_second_are_ordered_by_personalization_id() -> None:
    journey = Journeys(
        exposures=(exposure("b", T, "home"), exposure("a", T, "pdp")),
        conversions=(conversion("o", T + 1, "0.03"),),
    )
    assert credited(attribute(journey, AttributionSettings(model="first_touch")), "o") == {
        "a": "0.03"
    }
    assert credited(attribute(journey), "o") == {"b": "0.03"}
    # linear 3 cents over two: 1.5 each, the tied cent to the earlier (a)
    assert credited(attribute(journey, AttributionSettings(model="linear")), "o") == {
        "a": "0.02",
        "b": "0.01",
    }


def test_split_cents_is_exact_for_any_sign_and_leaves_no_cent_behind() -> None:
    thirds = [Fraction(1, 3)] * 3
    assert split_cents(Decimal("0.01"), thirds) == [
        Decimal("0.01"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    assert split_cents(Decimal("-1.00"), thirds) == [
        Decimal("-0.33"),
        Decimal("-0.33"),
        Decimal("-0.34"),
    ]
    assert sum(split_cents(Decimal("99.99"), [Fraction(1, 7)] * 7)) == Decimal("99.99")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("24h", DAY),
        ("7d", 7 * DAY),
        ("30d", 30 * DAY),
        ("90m", 5400.0),
        ("3600", 3600.0),
        (60, 60.0),
    ],
)
def test_windows_read_as_named_spans_or_seconds(text: str | int, seconds: float) -> None:
    assert parse_window(text) == seconds


@pytest.mark.parametrize(
    "bad", [0, -5, "0d", "-1d", "7 days", "", float("nan"), float("inf"), True]
)
def test_a_window_that_is_not_positive_is_refused_with_what_to_send(bad: object) -> None:
    with pytest.raises(InvalidInput, match="not a positive duration") as raised:
        parse_window(bad)  # type: ignore[arg-type]
    assert "24h, 7d" in str(raised.value)
    with pytest.raises(InvalidInput):
        AttributionSettings(window_s=bad)  # type: ignore[arg-type]


def test_settings_take_a_window_in_any_spelling_and_keep_seconds() -> None:
    assert AttributionSettings(window_s="24h").window_s == DAY  # type: ignore[arg-type]
    assert AttributionSettings(window_s=90).window_s == 90.0


def test_unknown_models_bases_and_half_lives_are_refused_naming_the_valid_ones() -> None:
    with pytest.raises(InvalidInput, match="first_touch, last_touch, linear, time_decay"):
        AttributionSettings(model="markov")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="view .* or click"):
        AttributionSettings(basis="hover")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="half-life"):
        AttributionSettings(half_life_s=0)
    with pytest.raises(InvalidInput, match="unknown attribution model"):
        model_shares("shapley", [1.0])
