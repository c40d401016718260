"""Attribution: which touches earn each conversion, and how much of it.

A touch is one shown personalization of the conversion's unit. View-based (the default): the
exposure is the touch, at the time it was logged. Click-based: a personalization touches only
once clicked, at its latest qualifying click (several clicks on one personalization are one
touch). A touch qualifies when it is the same unit's, at or before the conversion, and no
further back than the window: `0 <= conversion.ts - touch.ts <= window` (both edges inclusive).
Touches are ordered by (time, personalization id); that order breaks every tie.

Models, for n qualifying touches:
- first touch / last touch (the default): all credit to the first / last;
- linear: 1/n each;
- time decay: weight 2^(-age / half-life), age measured from the conversion (7 days by
  default), normalized; computed from the newest touch so that whole half-lives give exact
  shares;
- position based: 40 % first, 40 % last, 20 % split over the middle; with one touch it takes
  everything, with two they take half each (no middle to give the 20 % to).

Shares are exact `Fraction`s summing to 1 per conversion. Revenue is split in cents by the
largest remainder: each touch gets the floor of its share, the cents left over go one each to
the largest remainders, ties to the earlier touch; so the credited revenue sums to the order's
revenue exactly.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal, get_args

from p13n.domain.analytics.journeys import CENT, Click, Conversion, Exposure, Journeys
from p13n.domain.errors import InvalidInput
from p13n.domain.timeutil import DAY

__all__ = [
    "AttributionModel",
    "AttributionBasis",
    "AttributionSettings",
    "Touch",
    "Credit",
    "Attribution",
    "attribute",
    "model_shares",
    "split_cents",
    "parse_window",
    "WINDOWS",
    "ATTRIBUTION_MODELS",
    "ATTRIBUTION_BASES",
]

AttributionModel = Literal["first_touch", "last_touch", "linear", "time_decay", "position_based"]
AttributionBasis = Literal["view", "click"]
ATTRIBUTION_MODELS: tuple[str, ...] = get_args(AttributionModel)
ATTRIBUTION_BASES: tuple[str, ...] = get_args(AttributionBasis)
WINDOWS: dict[str, float] = {"24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
MAX_WINDOW = 365 * DAY
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_FIRST_LAST, _MIDDLE = Fraction(2, 5), Fraction(1, 5)


def parse_window(value: str | float) -> float:
    """Seconds of a window: '24h', '7d', '30d', any '<n>s|m|h|d', or a number of seconds."""
    seconds: float | None = None
    if isinstance(value, bool):
        seconds = None
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        found = _SPAN.match(value)
        if found:
            seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2) or "s"]
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInput(
            f"attribution window {value!r} is not a positive duration.",
            hint="Use 24h, 7d (the default), 30d, or a positive number of seconds such as 3600.",
        )
    if seconds > MAX_WINDOW:  # a longer one reads the whole log back for every request
        raise InvalidInput(
            f"window {value!r} is longer than {MAX_WINDOW / DAY:.0f} days.",
            hint="Use at most 365d.",
        )
    return seconds


@dataclass(frozen=True, slots=True)
class AttributionSettings:
    """Validated when made: an unknown model or basis, or a window or half-life that is not
    positive, raises InvalidInput naming the valid values. `window_s` may be given as any
    `parse_window` spelling ('24h', '7d', '30d', seconds) and is kept as seconds."""

    model: AttributionModel = "last_touch"
    basis: AttributionBasis = "view"
    window_s: float = 7 * DAY
    half_life_s: float = 7 * DAY

    def __post_init__(self) -> None:
        if self.model not in ATTRIBUTION_MODELS:
            raise InvalidInput(
                f"unknown attribution model {self.model!r}.",
                hint=f"Use one of: {', '.join(ATTRIBUTION_MODELS)}.",
            )
        if self.basis not in ATTRIBUTION_BASES:
            raise InvalidInput(
                f"unknown attribution basis {self.basis!r}.",
                hint="Use view (an exposure is enough; the default) or click.",
            )
        object.__setattr__(self, "window_s", parse_window(self.window_s))  # '7d' reads too
        if not _positive(self.half_life_s):
            raise InvalidInput(
                f"time-decay half-life {self.half_life_s!r} is not a positive number of seconds.",
                hint="Give a half-life in seconds, e.g. 604800 for 7 days (the default).",
            )


@dataclass(frozen=True, slots=True)
class Touch:
    """One qualifying personalization: its exposure, when it touched, and the click (click
    basis)."""

    exposure: Exposure
    ts: float
    click: Click | None = None


@dataclass(frozen=True, slots=True)
class Credit:
    conversion: Conversion
    touch: Touch
    share: Fraction
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class Attribution:
    """Credits in conversion order, touches in order within each; `unattributed` are the
    conversions no touch qualified for (before any exposure, or outside the window)."""

    settings: AttributionSettings
    credits: tuple[Credit, ...]
    attributed: tuple[Conversion, ...]
    unattributed: tuple[Conversion, ...]


def attribute(journeys: Journeys, settings: AttributionSettings | None = None) -> Attribution:
    """Credit each conversion of `journeys` to its qualifying touches under `settings`."""
    settings = settings or AttributionSettings()
    index = _touch_index(journeys, settings.basis)
    credits: list[Credit] = []
    attributed: list[Conversion] = []
    unattributed: list[Conversion] = []
    for conversion in journeys.conversions:
        touches = _qualifying(index.get(conversion.unit), conversion.ts, settings.window_s)
        if not touches:
            unattributed.append(conversion)
            continue
        attributed.append(conversion)
        shares = model_shares(
            settings.model,
            [conversion.ts - t.ts for t in touches],
            half_life_s=settings.half_life_s,
        )
        cents = split_cents(conversion.revenue, shares)
        credits.extend(
            Credit(conversion, t, s, c)
            for t, s, c in zip(touches, shares, cents, strict=True)
            if s or c
        )
    return Attribution(settings, tuple(credits), tuple(attributed), tuple(unattributed))


def model_shares(
    model: str, ages_s: Sequence[float], *, half_life_s: float = 7 * DAY
) -> list[Fraction]:
    """Each touch's share of one conversion, touches oldest first (`ages_s` falling or equal:
    seconds from touch to conversion). The shares are exact and sum to 1."""
    n = len(ages_s)
    if n == 0:
        return []
    if model == "first_touch":
        return [Fraction(1 if k == 0 else 0) for k in range(n)]
    if model == "last_touch":
        return [Fraction(1 if k == n - 1 else 0) for k in range(n)]
    if model == "linear":
        return [Fraction(1, n)] * n
    if model == "position_based":
        if n <= 2:
            return [Fraction(1, n)] * n
        middle = _MIDDLE / (n - 2)
        return [_FIRST_LAST, *([middle] * (n - 2)), _FIRST_LAST]
    if model == "time_decay":
        newest = min(ages_s)
        weights = [Fraction(2.0 ** (-(age - newest) / half_life_s)) for age in ages_s]
        total = sum(weights, Fraction(0))
        return [w / total for w in weights]
    raise InvalidInput(
        f"unknown attribution model {model!r}.",
        hint=f"Use one of: {', '.join(ATTRIBUTION_MODELS)}.",
    )


def split_cents(total: Decimal, shares: Sequence[Fraction]) -> list[Decimal]:
    """`total` (whole cents) split by `shares` (summing to 1) so that the parts sum to it exactly:
    floors first, then one cent each to the largest remainders, ties to the earlier share."""
    cents = int((total / CENT).to_integral_value())
    raw = [share * cents for share in shares]
    floors = [math.floor(r) for r in raw]
    left = cents - sum(floors)
    by_remainder = sorted(range(len(raw)), key=lambda k: (-(raw[k] - floors[k]), k))
    for k in by_remainder[:left]:
        floors[k] += 1
    return [Decimal(f) * CENT for f in floors]


# -- touches -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _UnitTouches:
    """One unit's touch moments in time order: (ts, personalization id, click)."""

    times: list[float]
    moments: list[tuple[float, Exposure, Click | None]]


def _touch_index(journeys: Journeys, basis: str) -> dict[str, _UnitTouches]:
    moments: dict[str, list[tuple[float, Exposure, Click | None]]] = {}
    if basis == "view":
        for exposure in journeys.exposures:
            if exposure.shown and exposure.unit is not None:
                moments.setdefault(exposure.unit, []).append((exposure.ts, exposure, None))
    else:
        for click in journeys.clicks:
            clicked = journeys.exposure(click.personalization_id)
            if clicked is not None:
                moments.setdefault(click.unit, []).append((click.ts, clicked, click))
    index: dict[str, _UnitTouches] = {}
    for unit, found in moments.items():
        found.sort(key=lambda m: (m[0], m[1].personalization_id, m[2].event_id if m[2] else ""))
        index[unit] = _UnitTouches([m[0] for m in found], found)
    return index


def _qualifying(touches: _UnitTouches | None, at: float, window_s: float) -> list[Touch]:
    """The touches in [at - window, at], one per personalization (its latest moment there),
    ordered by (time, personalization id)."""
    if touches is None:
        return []
    times = touches.times
    hi = bisect_right(times, at)
    lo = bisect_left(times, at - window_s, 0, hi)
    # the predicate is `at - ts <= window`; `at - window` may round either way of a touch
    while lo > 0 and at - times[lo - 1] <= window_s:
        lo -= 1
    while lo < hi and at - times[lo] > window_s:
        lo += 1
    latest: dict[str, tuple[float, Exposure, Click | None]] = {}
    for moment in touches.moments[lo:hi]:
        latest[moment[1].personalization_id] = moment  # later moments overwrite earlier ones
    ordered = sorted(latest.values(), key=lambda m: (m[0], m[1].personalization_id))
    return [Touch(exposure, ts, click) for ts, exposure, click in ordered]


def _positive(value: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
