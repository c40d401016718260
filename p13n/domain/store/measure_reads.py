"""What attribution reads from the store: the personalization log and the events that matter to
it (engagement events, carts and orders) in a time range, streamed in pages.

Contracts as in `sql_store`: times are UTC epoch seconds, ranges are [start, end); each page is
one short read (no read transaction held across pages), pages come in time order, the rows
within a page in no promised order (`build_journeys` orders them). Rows are dicts with the
column names `p13n.domain.analytics.journeys` reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Index, and_, case, or_, select

from p13n.domain.store.log_table import ENGAGEMENT_INTERACTIONS, PersonalizationLogRow
from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t
from p13n.domain.store.tables import EventRow

__all__ = ["MeasureReads", "CONVERSION_INTERACTIONS", "EXPOSURE_COLUMNS"]

CONVERSION_INTERACTIONS = ("Add To Cart", "Purchase")
EXPOSURE_COLUMNS = (
    "personalization_id",
    "request_id",
    "ts",
    "point",
    "decision",
    "recommender",
    "experiment",
    "cohort",
    "individual_id",
    "unified_id",
    "channel",
    "source",
    "content",
)
# Events by kind and time: attribution reads a few kinds over a range of a large log.
_EVENTS_BY_INTERACTION = Index("ix_events_interaction_ts", _t(EventRow).c.interaction, "ts")


class MeasureReads:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        _t(PersonalizationLogRow).create(store.db, checkfirst=True)
        _EVENTS_BY_INTERACTION.create(store.db, checkfirst=True)

    def exposures_between(
        self, start: float, end: float, *, hours: int = 6
    ) -> Iterator[list[dict[str, Any]]]:
        """Log rows with `start` <= ts < `end` (the `EXPOSURE_COLUMNS`; `content` as JSON
        text), in pages of `hours` hours of log time."""
        t = _t(PersonalizationLogRow)
        cols = [t.c[name] for name in EXPOSURE_COLUMNS]
        for low, high in _slices(start, end, hours):
            with self.store.db.connect() as conn:
                found = conn.execute(select(*cols).where(t.c.ts >= low, t.c.ts < high)).all()
            if found:
                yield [dict(r._mapping) for r in found]

    def events_between(
        self, start: float, end: float, *, hours: int = 6
    ) -> Iterator[list[dict[str, Any]]]:
        """Engagement events (views and clicks of personalizations, catalog clicks), carts and
        orders with `start` <= ts < `end`, in pages of `hours` hours. `payload` is read only
        where journeys need it: engagements (their `personalizationContentId`) and cart or
        order lines that name no item (their line items); else it is None."""
        ev = _t(EventRow)
        engagement = ev.c.interaction.in_(ENGAGEMENT_INTERACTIONS)
        payload = case(
            (or_(engagement, ev.c.item_id.is_(None)), ev.c.payload),
            else_=None,
        ).label("payload")
        cols = (
            ev.c.event_id,
            ev.c.unified_id,
            ev.c.individual_id,
            ev.c.device_id,
            ev.c.ts,
            ev.c.interaction,
            ev.c.item_id,
            ev.c.quantity,
            ev.c.price,
            ev.c.value,
            ev.c.order_id,
            ev.c.channel,
            ev.c.personalization_id,
            payload,
        )
        kinds = ev.c.interaction.in_((*ENGAGEMENT_INTERACTIONS, *CONVERSION_INTERACTIONS))
        for low, high in _slices(start, end, hours):
            stmt = select(*cols).where(and_(kinds, ev.c.ts >= low, ev.c.ts < high))
            with self.store.db.connect() as conn:
                found = conn.execute(stmt).all()
            if found:
                yield [dict(r._mapping) for r in found]


def _slices(start: float, end: float, hours: int) -> Iterator[tuple[float, float]]:
    step = 3600.0 * hours
    low = start
    while low < end:
        high = min(low + step, end)
        yield low, high
        low = high
