"""Product feeds for agent platforms, with the performance signals they rank by.

- `acp`: the Agentic Commerce Protocol product feed (OpenAI's product feed specification, the
  flat file form: one row per item) with `popularity_score` and `return_rate`, the spec's
  recommended "performance signals". `enable_search` is true for items in stock;
  `enable_checkout` is false (p13n does not take orders: the merchant's checkout does).
- `merchant`: a Google Merchant Center supplemental feed: `id` (matching the primary feed's
  item id) and `popularity_rank`, the attribute Merchant Center reads for conversational
  experiences. A supplemental feed only adds attributes to products the primary feed defines.

The signals, computed from the item graphs and the event log as of `now`:

- activity = 30-day views + 10 × 30-day units sold (a sale counts as ten views), from the item
  graphs (the insights `views_30d` and `units_sold_30d`);
- `popularity_rank` (0-100, 100 = most popular): the share of the exported items whose
  activity is at most this item's, times 100, rounded; an item nobody viewed or bought in 30
  days ranks 0;
- `popularity_score` (0-5): `popularity_rank` / 20, two decimals;
- `return_rate` (percent, 0-100): of the orders naming the item (`Purchase`) in the whole
  event log, the share with a `Return` naming it, one decimal; empty for an item never bought.

Placeholder items (ids events named before the catalog had them) are not exported.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.ingest import Item
from p13n.domain.services.engine import Engine
from p13n.domain.services.training import interactions_from_log

__all__ = [
    "AcpFeedRow",
    "FeedFormat",
    "FeedSignals",
    "MerchantSupplementalRow",
    "feed_signals",
    "feed_text",
    "SALE_WEIGHT",
]

FeedFormat = Literal["acp", "merchant"]
SALE_WEIGHT = 10.0


class FeedSignals(BaseModel):
    """An item's performance signals, as both feeds state them."""

    model_config = ConfigDict(frozen=True)

    popularity_rank: int = Field(ge=0, le=100)
    popularity_score: float = Field(ge=0, le=5)
    return_rate: float | None = Field(default=None, ge=0, le=100)


class AcpFeedRow(BaseModel):
    """One product of the ACP product feed (field names as the specification has them)."""

    enable_search: Literal["true", "false"]
    enable_checkout: Literal["true", "false"]
    id: str = Field(max_length=100)
    title: str = Field(max_length=150)
    description: str = Field(max_length=5000)
    link: str
    image_link: str | None
    price: str | None = Field(description="Amount and ISO 4217 currency, e.g. '79.99 USD'.")
    availability: Literal["in_stock", "out_of_stock"]
    brand: str | None
    product_category: str | None = Field(description="The category path, ' > ' between levels.")
    seller_name: str
    seller_url: str
    popularity_score: float = Field(ge=0, le=5)
    return_rate: str | None = Field(description="A percentage, e.g. '2.5%'.")


class MerchantSupplementalRow(BaseModel):
    """One row of the Merchant Center supplemental feed."""

    id: str
    popularity_rank: int = Field(ge=0, le=100)


def _activity(engine: Engine, item_id: str, now: float) -> float:
    graph = engine.state.item_graphs.get(item_id)
    if graph is None:
        return 0.0
    insights = graph.insights(now)
    return insights.views_30d + SALE_WEIGHT * insights.units_sold_30d


def _return_rates(engine: Engine) -> dict[str, float]:
    """Item id -> percent of the orders naming it that a return names too."""
    log = interactions_from_log(engine.store.iter_item_interactions())
    bought: Counter[str] = Counter()
    returned: Counter[str] = Counter()
    for item, act in zip(log.items, log.interactions, strict=True):
        if act == "Purchase":
            bought[item] += 1
        elif act == "Return":
            returned[item] += 1
    return {
        item: round(min(100.0, 100.0 * returned[item] / n), 1) for item, n in bought.items() if n
    }


def feed_signals(engine: Engine, items: Sequence[Item], now: float) -> dict[str, FeedSignals]:
    """Item id -> its signals, ranked among `items`."""
    activity = {item.id: _activity(engine, item.id, now) for item in items}
    ordered = sorted(activity.values())
    rates = _return_rates(engine)
    out: dict[str, FeedSignals] = {}
    for item_id, value in activity.items():
        rank = 0
        if value > 0 and ordered:
            rank = round(100 * bisect.bisect_right(ordered, value) / len(ordered))
        out[item_id] = FeedSignals(
            popularity_rank=rank,
            popularity_score=round(rank / 20, 2),
            return_rate=rates.get(item_id),
        )
    return out


def _seller_url(items: Iterable[Item]) -> str:
    origins = Counter(
        f"{p.scheme}://{p.netloc}"
        for p in (urlsplit(i.url) for i in items if i.url)
        if p.scheme in ("http", "https") and p.netloc
    )
    return origins.most_common(1)[0][0] if origins else ""


def _acp_row(
    item: Item, signals: FeedSignals, seller_name: str, seller_url: str
) -> AcpFeedRow | None:
    if not item.name or not item.url:
        return None  # a title and a link are required; such an item cannot be listed
    price = (
        f"{item.price:.2f} {item.currency}" if item.price is not None and item.currency else None
    )
    rate = None if signals.return_rate is None else f"{signals.return_rate:g}%"
    return AcpFeedRow(
        enable_search="true" if item.in_stock else "false",
        enable_checkout="false",
        id=item.id[:100],
        title=item.name[:150],
        description=(item.description or item.name)[:5000],
        link=item.url,
        image_link=item.image_url,
        price=price,
        availability="in_stock" if item.in_stock else "out_of_stock",
        brand=item.brand,
        product_category=" > ".join(item.category.split("/")) if item.category else None,
        seller_name=seller_name,
        seller_url=seller_url,
        popularity_score=signals.popularity_score,
        return_rate=rate,
    )


def _table(rows: Sequence[BaseModel], fields: Sequence[str], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(fields), delimiter=delimiter, lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        values = row.model_dump()
        writer.writerow({k: "" if v is None else v for k, v in values.items()})
    return buffer.getvalue()


def feed_text(
    engine: Engine,
    feed_format: FeedFormat,
    *,
    seller_name: str | None = None,
    seller_url: str | None = None,
) -> tuple[str, int, int]:
    """The feed as text (ACP: CSV; Merchant: tab-separated, as Merchant Center takes a
    supplemental file), the rows written, and the items left out (no title or link)."""
    items = [i for i in engine.state.items.values() if not i.placeholder]
    items.sort(key=lambda i: i.id)
    signals = feed_signals(engine, items, engine.now())
    if feed_format == "merchant":
        rows: list[BaseModel] = [
            MerchantSupplementalRow(id=i.id, popularity_rank=signals[i.id].popularity_rank)
            for i in items
        ]
        return _table(rows, list(MerchantSupplementalRow.model_fields), "\t"), len(rows), 0
    url = seller_url or _seller_url(items)
    name = seller_name or urlsplit(url).netloc or "p13n store"
    built = [_acp_row(i, signals[i.id], name, url) for i in items]
    kept: list[BaseModel] = [r for r in built if r is not None]
    return _table(kept, list(AcpFeedRow.model_fields), ","), len(kept), len(built) - len(kept)
