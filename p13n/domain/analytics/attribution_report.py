"""The attribution report: the KPIs of `kpis.py` per group under one attribution model, the
totals, and what was counted and what was left out, made from attribution cells
(`attribution_cells.py`); and the query it answers, validated.

The range: `from` inclusive, `to` exclusive, spelled as for the pipeline report (epoch
seconds, ISO date or datetime, naive = UTC; a date as `to` ends with its day). Defaults: `to`
= now, `from` = 30 days before. The report counts the exposures, clicks and conversions of the
range; a conversion of the range is credited to its touches within the window, which may come
before `from` (the row of such a touch shows the credit and none of its impressions), as an
attribution report of a period answers "what did this period's orders come from". Refused (InvalidInput): a time in the future, `from` not before `to`, a range
over 400 days, an unknown model, basis or grouping, a window or half-life that is not positive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.analytics.attribution import AttributionSettings, parse_window
from p13n.domain.analytics.attribution_cells import (
    DIMENSIONS,
    CellKey,
    CreditCell,
    DaySummary,
    ExposureCell,
)
from p13n.domain.analytics.kpis import check_grouping
from p13n.domain.analytics.pipeline_report import _iso, _parse_time
from p13n.domain.analytics.sketches import hll_estimate
from p13n.domain.errors import InvalidInput
from p13n.domain.timeutil import DAY

__all__ = [
    "AttributionQuery",
    "AttributionReport",
    "AttributionRow",
    "KpiFigures",
    "Counted",
    "Ignored",
    "parse_attribution_query",
    "attribution_report",
]

DEFAULT_SPAN = 30 * DAY
MAX_SPAN = 400 * DAY
NOTES = (
    "Ranges are UTC; `to` is exclusive. Exposures, clicks and conversions of the range; a "
    "conversion is credited to its touches within the window, even ones before `from`.",
    "addToCarts, orders and units are attributed shares (a conversion shared by several "
    "touches adds its share to each touch's row); revenue is split in cents so that the "
    "credited revenue sums to the attributed orders' revenue exactly.",
    "requests and uniqueIndividuals: HyperLogLog estimates (relative standard error about "
    "1.6 %, exact for a handful); distinct counts, so they do not add up across rows.",
    "clicks count when their personalization was logged at most 30 days before the click.",
)


class AttributionQuery(BaseModel):
    """A validated query: [start, end) in UTC epoch seconds and the attribution settings."""

    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    model: str = "last_touch"
    basis: str = "view"
    window_s: float = 7 * DAY
    half_life_s: float = 7 * DAY
    group_by: tuple[str, ...] = ()

    def settings(self) -> AttributionSettings:
        return AttributionSettings(
            model=self.model,  # type: ignore[arg-type]
            basis=self.basis,  # type: ignore[arg-type]
            window_s=self.window_s,
            half_life_s=self.half_life_s,
        )


class KpiFigures(BaseModel):
    requests: int = Field(description="Distinct decision requests.")
    impressions: int = Field(description="Shown personalizations (one per personalization id).")
    clicks: int
    ctr: float | None = Field(description="clicks / impressions; null without impressions.")
    addToCarts: float = Field(description="Attributed add-to-carts (shares).")
    orders: float = Field(description="Attributed orders (shares).")
    revenue: Decimal = Field(description="Attributed order revenue, exact to the cent.")
    units: float = Field(description="Attributed units ordered (shares).")
    uniqueIndividuals: int


class AttributionRow(KpiFigures):
    group: dict[str, str | None] = Field(
        description="The grouping values of this row (null: none, e.g. no decision qualified)."
    )


class Counted(BaseModel):
    exposures: int = Field(description="Logged personalizations (and bare ones from events).")
    conversions: int = Field(description="Add-to-carts and orders of the range.")
    attributedConversions: int
    attributedOrders: int
    attributedRevenue: Decimal = Field(description="Revenue of the attributed orders.")
    orderRevenue: Decimal = Field(description="Revenue of every order of the range.")


class Ignored(BaseModel):
    unattributedCarts: int = Field(description="Carts no touch qualified for.")
    unattributedOrders: int = Field(description="Orders no touch qualified for.")
    unattributedRevenue: Decimal
    unlinkedEngagements: int = Field(description="Views and clicks naming no personalization.")
    revenueMissing: int = Field(description="Cart and order lines with neither value nor price.")


class AttributionReport(BaseModel):
    start: str
    end: str
    model: str
    basis: str
    windowSeconds: float
    halfLifeSeconds: float
    groupBy: list[str]
    source: str = Field(
        description="aggregates (whole UTC days kept per day) or raw log (read for this query)."
    )
    rows: list[AttributionRow]
    total: KpiFigures = Field(description="The whole range in one row.")
    counted: Counted
    ignored: Ignored
    empty: bool = Field(description="True when the range holds no exposure and no conversion.")
    notes: list[str] = Field(default_factory=lambda: list(NOTES))


def parse_attribution_query(
    *,
    model: str = "last_touch",
    basis: str = "view",
    window: str | float = "7d",
    half_life: str | float | None = None,
    group_by: Iterable[str] = (),
    start: str | float | None = None,
    end: str | float | None = None,
    now: float,
) -> AttributionQuery:
    """The query as typed by a person or sent as query parameters, validated (InvalidInput
    naming the fix)."""
    names = [n for raw in group_by for n in raw.replace(",", " ").split()]
    groups = check_grouping(names)
    to = _parse_time(end, "to", is_end=True)
    frm = _parse_time(start, "from", is_end=False)
    for name, value, given in (("from", frm, start), ("to", to, end)):
        if value is None:
            continue
        dated = name == "to" and isinstance(given, str) and len(given.strip()) == 10
        first = value - DAY if dated else value
        if first > now:
            raise InvalidInput(
                f"{name}={given!r} is in the future ({_iso(first)} > now {_iso(now)}).",
                hint="Ask about what already happened.",
            )
    to = now if to is None else min(to, now)
    frm = to - DEFAULT_SPAN if frm is None else frm
    if frm >= to:
        said_from = start if start not in (None, "") else _iso(frm)
        said_to = end if end not in (None, "") else f"now, {_iso(to)}"
        raise InvalidInput(
            f"from ({said_from}) is not before to ({said_to}; a date as `to` ends with its day).",
            hint="Swap them, or widen the range.",
        )
    if to - frm > MAX_SPAN:
        raise InvalidInput(
            f"the range covers {(to - frm) / DAY:.0f} days; at most {MAX_SPAN // DAY:.0f}.",
            hint="Narrow the range.",
        )
    window_s = parse_window(window)
    half = 7 * DAY if half_life is None or half_life == "" else parse_window(half_life)
    settings = AttributionSettings(
        model=model,  # type: ignore[arg-type]
        basis=basis,  # type: ignore[arg-type]
        window_s=window_s,
        half_life_s=half,
    )
    return AttributionQuery(
        start=frm,
        end=to,
        model=settings.model,
        basis=settings.basis,
        window_s=settings.window_s,
        half_life_s=settings.half_life_s,
        group_by=groups,
    )


def attribution_report(
    query: AttributionQuery,
    exposures: Mapping[CellKey, ExposureCell],
    credits: Mapping[CellKey, CreditCell],
    days: Mapping[int, DaySummary],
    *,
    unlinked: int,
    revenue_missing: int,
    source: str,
) -> AttributionReport:
    """The report of the cells of the query's range (`attribution_cells.py`), grouped by the
    query's groupings; `days` summarizes the range's conversions per day."""
    names = query.group_by
    grouped: dict[tuple[str | None, ...], tuple[ExposureCell, CreditCell]] = {}
    overall = (ExposureCell(), CreditCell())

    def group(key: CellKey) -> tuple[ExposureCell, CreditCell]:
        values = tuple(_value(key, n) for n in names)
        found = grouped.get(values)
        if found is None:
            found = grouped[values] = (ExposureCell(), CreditCell())
        return found

    for key, exposure in sorted(exposures.items(), key=_cell_order):
        group(key)[0].merge(exposure)
        overall[0].merge(exposure)
    for key, credit in sorted(credits.items(), key=_cell_order):
        group(key)[1].merge(credit)
        overall[1].merge(credit)
    summary = DaySummary()
    for day in sorted(days):
        summary.merge(days[day])
    rows = [
        AttributionRow(group=dict(zip(names, values, strict=True)), **_figures(*cells).model_dump())
        for values, cells in sorted(grouped.items(), key=lambda kv: _sort_key(kv[0]))
    ]
    return AttributionReport(
        start=_iso(query.start),
        end=_iso(query.end),
        model=query.model,
        basis=query.basis,
        windowSeconds=query.window_s,
        halfLifeSeconds=query.half_life_s,
        groupBy=list(names),
        source=source,
        rows=rows if names else [],
        total=_figures(*overall),
        counted=Counted(
            exposures=summary.exposures,
            conversions=summary.conversions,
            attributedConversions=summary.attributed,
            attributedOrders=summary.attributed_orders,
            attributedRevenue=_money(summary.attributed_cents),
            orderRevenue=_money(summary.order_cents),
        ),
        ignored=Ignored(
            unattributedCarts=summary.unattributed_carts,
            unattributedOrders=summary.unattributed_orders,
            unattributedRevenue=_money(summary.unattributed_cents),
            unlinkedEngagements=unlinked,
            revenueMissing=revenue_missing,
        ),
        empty=not summary.exposures and not summary.conversions,
    )


def _value(key: CellKey, name: str) -> str | None:
    day, dims = key
    if name == "day":
        return datetime.fromtimestamp(day * DAY, UTC).date().isoformat()
    return dims[DIMENSIONS.index(name)]


def _cell_order(item: tuple[CellKey, object]) -> tuple[int, tuple[tuple[bool, str], ...]]:
    day, dims = item[0]
    return day, _sort_key(dims)


def _sort_key(key: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((v is not None, v or "") for v in key)


def _figures(exposure: ExposureCell, credit: CreditCell) -> KpiFigures:
    impressions = exposure.impressions
    return KpiFigures(
        requests=hll_estimate(exposure.requests),
        impressions=impressions,
        clicks=exposure.clicks,
        ctr=round(exposure.clicks / impressions, 6) if impressions else None,
        addToCarts=round(credit.carts, 6),
        orders=round(credit.orders, 6),
        revenue=_money(credit.revenue_cents),
        units=round(credit.units, 6),
        uniqueIndividuals=hll_estimate(exposure.units),
    )


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))
