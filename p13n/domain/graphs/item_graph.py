"""The item data graph: per-item insights kept current per event.

Views, units and revenue are kept in UTC-day buckets (31 days) so that the 1/7/30-day figures
can be read for any 'now' without scanning events. Co-viewed and co-bought counts are kept
for the strongest `CO_MAX` partners of each item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field, TypeAdapter

from p13n.domain.timeutil import day_index

__all__ = ["ItemGraph", "ItemInsights", "CO_MAX", "TRENDING_PRIOR"]

BUCKET_DAYS = 31
CO_MAX = 50
CO_PUBLISHED = 10
TRENDING_PRIOR = 1.0


class ItemInsights(BaseModel):
    views_1d: int
    views_7d: int
    views_30d: int
    units_sold_1d: float
    units_sold_7d: float
    units_sold_30d: float
    revenue_30d: float
    views_total: int
    units_sold_total: float
    revenue_total: float
    trending_score: float = Field(
        description="Last day's views and sales against the 30-day daily average (1 = steady)."
    )
    top_co_viewed: list[str]
    top_co_bought: list[str]


@dataclass(slots=True, kw_only=True)
class ItemGraph:
    """Running item insights; a slotted dataclass (updated per event), validated by pydantic
    when read from the store."""

    item_id: str
    buckets: dict[str, list[float]] = field(
        default_factory=dict
    )  # UTC day -> [views, units, revenue]
    views_total: int = 0
    units_sold_total: float = 0.0
    revenue_total: float = 0.0
    co_viewed: dict[str, float] = field(default_factory=dict)
    co_bought: dict[str, float] = field(default_factory=dict)
    last_event_at: float | None = None

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> ItemGraph:
        return _ADAPTER.validate_json(data)

    def model_dump_json(self) -> str:
        return _ADAPTER.dump_json(self).decode()

    def _bucket(self, ts: float) -> list[float]:
        key = str(day_index(ts))
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = [0.0, 0.0, 0.0]
            if len(self.buckets) > BUCKET_DAYS:
                for old in sorted(self.buckets, key=int)[: len(self.buckets) - BUCKET_DAYS]:
                    del self.buckets[old]
        return bucket

    def add_view(self, ts: float) -> None:
        self._bucket(ts)[0] += 1
        self.views_total += 1
        self._touch(ts)

    def add_sale(self, ts: float, units: float, revenue: float) -> None:
        bucket = self._bucket(ts)
        bucket[1] += units
        bucket[2] += revenue
        self.units_sold_total += units
        self.revenue_total += revenue
        self._touch(ts)

    def add_partner(self, kind: str, other: str, weight: float = 1.0) -> None:
        table = self.co_viewed if kind == "view" else self.co_bought
        table[other] = table.get(other, 0.0) + weight
        if len(table) > CO_MAX + 10:
            keep = sorted(table.items(), key=lambda kv: -kv[1])[:CO_MAX]
            table.clear()
            table.update(keep)

    def _touch(self, ts: float) -> None:
        self.last_event_at = ts if self.last_event_at is None else max(self.last_event_at, ts)

    def _window(self, now: float, days: int) -> list[float]:
        today = day_index(now)
        total = [0.0, 0.0, 0.0]
        for key, bucket in self.buckets.items():
            if today - days < int(key) <= today:
                for i in range(3):
                    total[i] += bucket[i]
        return total

    def insights(self, now: float) -> ItemInsights:
        d1, d7, d30 = self._window(now, 1), self._window(now, 7), self._window(now, 30)
        recent = d1[0] + 2 * d1[1]
        baseline = (d30[0] + 2 * d30[1]) / 30.0
        return ItemInsights(
            views_1d=int(d1[0]),
            views_7d=int(d7[0]),
            views_30d=int(d30[0]),
            units_sold_1d=d1[1],
            units_sold_7d=d7[1],
            units_sold_30d=d30[1],
            revenue_30d=round(d30[2], 2),
            views_total=self.views_total,
            units_sold_total=self.units_sold_total,
            revenue_total=round(self.revenue_total, 2),
            trending_score=round((recent + TRENDING_PRIOR) / (baseline + TRENDING_PRIOR), 3),
            top_co_viewed=_top(self.co_viewed),
            top_co_bought=_top(self.co_bought),
        )


_ADAPTER: TypeAdapter[ItemGraph] = TypeAdapter(ItemGraph)


def _top(table: dict[str, float]) -> list[str]:
    return [k for k, _ in sorted(table.items(), key=lambda kv: (-kv[1], kv[0]))[:CO_PUBLISHED]]
