"""The attribution report: KPI rows (`kpis.py`) under one attribution model, the totals, and
what was counted and what was left out; and the query it answers, validated.

The range: `from` inclusive, `to` exclusive, spelled as for the pipeline report (epoch
seconds, ISO date or datetime, naive = UTC; a date as `to` ends with its day). Defaults: `to`
= now, `from` = 30 days before. The report covers the exposures, clicks and conversions of the
range: a conversion in the range whose only touches came before `from` is unattributed (it is
counted in `ignored`), so that a report of a period is that period's traffic and what it
earned in it. Refused (InvalidInput): a time in the future, `from` not before `to`, a range
over 400 days, an unknown model, basis or grouping, a window or half-life that is not positive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.analytics.attribution import Attribution, AttributionSettings, parse_window
from p13n.domain.analytics.journeys import Journeys
from p13n.domain.analytics.kpis import KpiRow, check_grouping
from p13n.domain.analytics.pipeline_report import _iso, _parse_time
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
    "Ranges are UTC; `to` is exclusive. Exposures, clicks and conversions of the range only.",
    "addToCarts, orders and units are attributed shares (a conversion shared by several "
    "touches adds its share to each touch's row); revenue is split in cents so that the "
    "credited revenue sums to the attributed orders' revenue exactly.",
    "requests and uniqueIndividuals are distinct counts: they do not add up across rows.",
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
    viewsMerged: int = Field(
        description="View events of personalizations already counted as an impression."
    )
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
    journeys: Journeys,
    attribution: Attribution,
    rows: Sequence[KpiRow],
    total: Sequence[KpiRow],
) -> AttributionReport:
    """The report of `rows` (kpis grouped by the query's groupings) and `total` (kpis with no
    grouping: one row, or none without data) over `journeys` under `attribution`."""
    orders = [c for c in journeys.conversions if c.kind == "order"]
    attributed_orders = [c for c in attribution.attributed if c.kind == "order"]
    missed = attribution.unattributed
    return AttributionReport(
        start=_iso(query.start),
        end=_iso(query.end),
        model=query.model,
        basis=query.basis,
        windowSeconds=query.window_s,
        halfLifeSeconds=query.half_life_s,
        groupBy=list(query.group_by),
        rows=[AttributionRow(group=dict(r.group), **_figures(r).model_dump()) for r in rows],
        total=_figures(total[0]) if total else _zero(),
        counted=Counted(
            exposures=len(journeys.exposures),
            conversions=len(journeys.conversions),
            attributedConversions=len(attribution.attributed),
            attributedOrders=len(attributed_orders),
            attributedRevenue=_sum(c.revenue for c in attributed_orders),
            orderRevenue=_sum(c.revenue for c in orders),
        ),
        ignored=Ignored(
            unattributedCarts=sum(c.kind == "cart" for c in missed),
            unattributedOrders=sum(c.kind == "order" for c in missed),
            unattributedRevenue=_sum(c.revenue for c in missed if c.kind == "order"),
            viewsMerged=journeys.views_merged,
            unlinkedEngagements=journeys.unlinked_engagements,
            revenueMissing=journeys.revenue_missing,
        ),
        empty=not journeys.exposures and not journeys.conversions,
    )


def _figures(row: KpiRow) -> KpiFigures:
    return KpiFigures(
        requests=row.requests,
        impressions=row.impressions,
        clicks=row.clicks,
        ctr=_float(row.ctr),
        addToCarts=_float(row.add_to_carts) or 0.0,
        orders=_float(row.orders) or 0.0,
        revenue=row.revenue,
        units=_float(row.units) or 0.0,
        uniqueIndividuals=row.unique_individuals,
    )


def _zero() -> KpiFigures:
    return KpiFigures(
        requests=0,
        impressions=0,
        clicks=0,
        ctr=None,
        addToCarts=0.0,
        orders=0.0,
        revenue=Decimal("0.00"),
        units=0.0,
        uniqueIndividuals=0,
    )


def _float(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal("0.00"))
