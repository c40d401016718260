"""Attribution cells: the KPIs of `kpis.py` cut into (UTC day, personalization dimensions)
cells that add up, so that a report over many days sums stored days instead of re-reading the
log (the Measure service keeps them per day; a recompute makes the same cells from the raw log).

A cell key is (day index, point, decision, recommender, experiment, cohort, channel), the
dimensions being the exposure's (`channel` the logged channel, else the source), day the UTC
day the thing happened, as in `kpis.py`. Per cell:
- exposure side (`ExposureCell`): impressions (shown exposures), clicks (click events whose
  personalization was logged at most `CLICK_LOOKBACK` before the click), and HyperLogLog
  sketches of the request ids and the units of the exposures, so that distinct requests and
  unique individuals of any grouping are estimated from merged sketches (`sketches.py`: about
  1.6 % relative error, exact to the unit for a handful);
- conversion side (`CreditCell`), per attribution setting: the credited shares of carts and
  orders, revenue in whole cents (split by `attribution.split_cents`, so credits sum to the
  orders' revenue exactly) and units, all from the credits of the day's conversions.
Shares are added as floats (exact fractions of time decay grow without bound when summed over
many conversions); figures are rounded to 6 decimals when reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from p13n.domain.analytics.attribution import Attribution
from p13n.domain.analytics.journeys import Exposure, Journeys
from p13n.domain.analytics.sketches import hll_add, hll_merge, new_hll
from p13n.domain.timeutil import DAY

__all__ = [
    "CLICK_LOOKBACK",
    "DIMENSIONS",
    "CellKey",
    "CreditCell",
    "DaySummary",
    "ExposureCell",
    "credit_cells",
    "day_summaries",
    "exposure_cells",
    "merge_cells",
    "sketch_bytes",
    "sketch_of",
]

CLICK_LOOKBACK = 30 * DAY
DIMENSIONS = ("point", "decision", "recommender", "experiment", "cohort", "channel")
CellKey = tuple[int, tuple[str | None, ...]]


@dataclass(slots=True)
class ExposureCell:
    impressions: int = 0
    clicks: int = 0
    requests: npt.NDArray[np.uint8] = field(default_factory=new_hll)
    units: npt.NDArray[np.uint8] = field(default_factory=new_hll)

    def merge(self, other: ExposureCell) -> None:
        self.impressions += other.impressions
        self.clicks += other.clicks
        hll_merge(self.requests, other.requests)
        hll_merge(self.units, other.units)


@dataclass(slots=True)
class CreditCell:
    carts: float = 0.0
    orders: float = 0.0
    revenue_cents: int = 0
    units: float = 0.0

    def merge(self, other: CreditCell) -> None:
        self.carts += other.carts
        self.orders += other.orders
        self.revenue_cents += other.revenue_cents
        self.units += other.units


@dataclass(slots=True)
class DaySummary:
    """What a day's conversions came to under one setting, and what could not be used."""

    conversions: int = 0
    attributed: int = 0
    attributed_orders: int = 0
    attributed_cents: int = 0
    order_cents: int = 0
    unattributed_carts: int = 0
    unattributed_orders: int = 0
    unattributed_cents: int = 0
    exposures: int = 0

    def merge(self, other: DaySummary) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _day(ts: float) -> int:
    return int(ts // DAY)


def _dims(exposure: Exposure) -> tuple[str | None, ...]:
    return (
        exposure.point,
        exposure.decision,
        exposure.recommender,
        exposure.experiment,
        exposure.cohort,
        exposure.channel or exposure.source,
    )


def exposure_cells(journeys: Journeys, start: float, end: float) -> dict[CellKey, ExposureCell]:
    """The exposure side of the exposures and clicks with `start` <= ts < `end`."""
    cells: dict[CellKey, ExposureCell] = {}
    requests: dict[CellKey, list[str]] = {}
    units: dict[CellKey, list[str]] = {}
    for exposure in journeys.exposures:
        if not start <= exposure.ts < end:
            continue
        key = (_day(exposure.ts), _dims(exposure))
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = ExposureCell()
        cell.impressions += exposure.shown
        requests.setdefault(key, []).append(exposure.request_id)
        if exposure.unit is not None:
            units.setdefault(key, []).append(exposure.unit)
    for click in journeys.clicks:
        clicked = journeys.exposure(click.personalization_id)
        if clicked is None or not start <= click.ts < end:
            continue
        if click.ts - clicked.ts > CLICK_LOOKBACK:
            continue
        key = (_day(click.ts), _dims(clicked))
        cells.setdefault(key, ExposureCell()).clicks += 1
    for key, ids in requests.items():
        hll_add(cells[key].requests, ids)
    for key, ids in units.items():
        hll_add(cells[key].units, ids)
    return cells


def credit_cells(attribution: Attribution, start: float, end: float) -> dict[CellKey, CreditCell]:
    """The conversion side: the credits of the conversions with `start` <= ts < `end`."""
    cells: dict[CellKey, CreditCell] = {}
    for credit in attribution.credits:
        conversion = credit.conversion
        if not start <= conversion.ts < end:
            continue
        key = (_day(conversion.ts), _dims(credit.touch.exposure))
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = CreditCell()
        share = float(credit.share)
        if conversion.kind == "cart":
            cell.carts += share
        else:
            cell.orders += share
            cell.revenue_cents += _cents(credit.revenue)
            cell.units += share * float(conversion.units)
    return cells


def day_summaries(
    journeys: Journeys, attribution: Attribution, start: float, end: float
) -> dict[int, DaySummary]:
    """Per UTC day of [start, end): conversions, attributed ones and revenue, the rest."""
    days: dict[int, DaySummary] = {}
    attributed = {id(c) for c in attribution.attributed}
    for conversion in journeys.conversions:
        if not start <= conversion.ts < end:
            continue
        day = days.setdefault(_day(conversion.ts), DaySummary())
        day.conversions += 1
        cents = _cents(conversion.revenue)
        order = conversion.kind == "order"
        day.order_cents += cents if order else 0
        if id(conversion) in attributed:
            day.attributed += 1
            day.attributed_orders += order
            day.attributed_cents += cents if order else 0
        elif order:
            day.unattributed_orders += 1
            day.unattributed_cents += cents
        else:
            day.unattributed_carts += 1
    for exposure in journeys.exposures:
        if start <= exposure.ts < end:
            days.setdefault(_day(exposure.ts), DaySummary()).exposures += 1
    return days


def merge_cells(
    into: dict[CellKey, ExposureCell] | dict[CellKey, CreditCell],
    cells: Mapping[CellKey, ExposureCell] | Mapping[CellKey, CreditCell],
) -> None:
    """Add `cells` into `into` (both of one kind), in place."""
    target: dict[CellKey, object] = into  # type: ignore[assignment]
    for key, cell in cells.items():
        found = target.get(key)
        if found is None:
            target[key] = type(cell)()
            found = target[key]
        found.merge(cell)  # type: ignore[attr-defined]


def sketch_bytes(registers: npt.NDArray[np.uint8]) -> bytes:
    return registers.tobytes()


def sketch_of(blob: bytes | None) -> npt.NDArray[np.uint8]:
    if not blob:
        return new_hll()
    return np.frombuffer(bytes(blob), dtype=np.uint8).copy()


def _cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value())
