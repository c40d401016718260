"""KPIs of personalization: requests, impressions, clicks, CTR, carts, orders, revenue, units and
unique individuals, grouped by any of point, decision, recommender, experiment, cohort, channel
and day.

How each counts (one row per group):
- requests: distinct request ids of the group's logged personalizations (a request of two
  points counts once in each point's row, so requests do not add up across rows);
- impressions: shown exposures, one per personalization (`journeys.py` says how view events
  merge); clicks: click events; CTR = clicks / impressions (None without impressions);
- add-to-carts, orders, revenue and units: the credits of `attribution.py` (last touch,
  view-based, 7 days unless given), so a conversion shared by touches adds its share to each
  touch's row and the rows add up to the attributed totals; revenue and units are orders';
- unique individuals: distinct units among the group's exposures.
Every dimension but day is the exposure's; `channel` is the logged channel, else the source
(api, cli, agent, batch). Day is the UTC day the thing happened: the exposure's, the click's,
the conversion's. Rows are sorted by their group values, a missing value (None) first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from p13n.domain.analytics.attribution import Attribution, attribute
from p13n.domain.analytics.journeys import Exposure, Journeys
from p13n.domain.errors import InvalidInput

__all__ = ["KPI_GROUPINGS", "KpiRow", "kpis", "check_grouping"]

KPI_GROUPINGS: tuple[str, ...] = (
    "point",
    "decision",
    "recommender",
    "experiment",
    "cohort",
    "channel",
    "day",
)

GroupKey = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class KpiRow:
    """One group's figures; `group` pairs each grouping name with its value. Carts, orders and
    units are exact fractions (a shared conversion credits a part of one)."""

    group: tuple[tuple[str, str | None], ...]
    requests: int
    impressions: int
    clicks: int
    ctr: Fraction | None
    add_to_carts: Fraction
    orders: Fraction
    revenue: Decimal
    units: Fraction
    unique_individuals: int

    def value(self, grouping: str) -> str | None:
        return dict(self.group)[grouping]


def check_grouping(group_by: str | Sequence[str]) -> tuple[str, ...]:
    """The groupings once each, in the order given; InvalidInput for an unknown one."""
    names = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    unknown = [n for n in names if n not in KPI_GROUPINGS]
    if unknown:
        raise InvalidInput(
            f"unknown grouping {', '.join(repr(n) for n in unknown)}.",
            hint=f"Group by any of: {', '.join(KPI_GROUPINGS)}.",
        )
    return tuple(dict.fromkeys(names))


def kpis(
    journeys: Journeys,
    attribution: Attribution | None = None,
    *,
    group_by: str | Sequence[str] = (),
) -> tuple[KpiRow, ...]:
    """The KPI rows of `journeys` under `attribution` (attributed with the defaults if None);
    no grouping gives one row of totals (none at all when there is no data)."""
    names = check_grouping(group_by)
    attribution = attribution if attribution is not None else attribute(journeys)
    cells: dict[GroupKey, _Cell] = {}

    def cell(exposure: Exposure, ts: float) -> _Cell:
        key = tuple(_dimension(exposure, name, ts) for name in names)
        found = cells.get(key)
        if found is None:
            found = cells[key] = _Cell()
        return found

    for exposure in journeys.exposures:
        c = cell(exposure, exposure.ts)
        c.requests.add(exposure.request_id)
        c.impressions += exposure.shown
        if exposure.unit is not None:
            c.individuals.add(exposure.unit)
    for click in journeys.clicks:
        clicked = journeys.exposure(click.personalization_id)
        if clicked is not None:
            cell(clicked, click.ts).clicks += 1
    for credit in attribution.credits:
        conversion = credit.conversion
        c = cell(credit.touch.exposure, conversion.ts)
        if conversion.kind == "cart":
            c.carts += credit.share
        else:
            c.orders += credit.share
            c.revenue += credit.revenue
            c.units += credit.share * Fraction(conversion.units)
    ordered = sorted(cells.items(), key=lambda kv: _sort_key(kv[0]))
    return tuple(_row(names, key, c) for key, c in ordered)


@dataclass(slots=True)
class _Cell:
    requests: set[str] = field(default_factory=set)
    individuals: set[str] = field(default_factory=set)
    impressions: int = 0
    clicks: int = 0
    carts: Fraction = field(default_factory=Fraction)
    orders: Fraction = field(default_factory=Fraction)
    revenue: Decimal = field(default_factory=lambda: Decimal("0.00"))
    units: Fraction = field(default_factory=Fraction)


def _row(names: tuple[str, ...], key: GroupKey, c: _Cell) -> KpiRow:
    return KpiRow(
        group=tuple(zip(names, key, strict=True)),
        requests=len(c.requests),
        impressions=c.impressions,
        clicks=c.clicks,
        ctr=Fraction(c.clicks, c.impressions) if c.impressions else None,
        add_to_carts=c.carts,
        orders=c.orders,
        revenue=c.revenue,
        units=c.units,
        unique_individuals=len(c.individuals),
    )


def _dimension(exposure: Exposure, name: str, ts: float) -> str | None:
    if name == "day":
        return datetime.fromtimestamp(ts, UTC).date().isoformat()
    if name == "channel":
        return exposure.channel or exposure.source
    value: str | None = getattr(exposure, name)
    return value


def _sort_key(key: GroupKey) -> tuple[tuple[bool, str], ...]:
    return tuple((v is not None, v or "") for v in key)
