"""What attribution reads from the store: the personalization log and the events that matter to
it (engagement events, carts and orders) in a time range, streamed in pages.

Contracts as in `sql_store`: times are UTC epoch seconds, ranges are [start, end); each page is
one short read (no read transaction held across pages), pages come in time order, the rows
within a page in no promised order (`build_journeys` orders them). Rows are dicts with the
column names `p13n.domain.analytics.journeys` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Index, and_, case, or_, select

from p13n.domain.store.log_table import ENGAGEMENT_INTERACTIONS, PersonalizationLogRow
from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t
from p13n.domain.store.tables import EventRow

__all__ = ["MeasureReads", "CONVERSION_INTERACTIONS", "EXPOSURE_COLUMNS", "METRIC_EVENT_COLUMNS"]

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
# The log by experiment and time: an experiment's fold reads its own rows of a slice.
_LOG_BY_EXPERIMENT = Index(
    "ix_personalization_log_experiment_ts", _t(PersonalizationLogRow).c.experiment, "ts"
)
_UNIT_COLUMNS = ("unified_id", "individual_id", "device_id")
METRIC_EVENT_COLUMNS = (
    "event_id",
    *_UNIT_COLUMNS,
    "ts",
    "interaction",
    "item_id",
    "quantity",
    "price",
    "value",
    "order_id",
)


class MeasureReads:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        _t(PersonalizationLogRow).create(store.db, checkfirst=True)
        _EVENTS_BY_INTERACTION.create(store.db, checkfirst=True)
        _LOG_BY_EXPERIMENT.create(store.db, checkfirst=True)

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

    def experiment_rows(
        self, names: Iterable[str], start: float, end: float
    ) -> list[dict[str, Any]]:
        """The log rows of the experiment called any of `names` with `start` <= ts < `end`:
        personalization id, time, the unit columns, cohort, and `shown` (it carried content;
        the JSON is not read)."""
        t = _t(PersonalizationLogRow)
        stmt = select(*self._experiment_cols()).where(
            t.c.experiment.in_(list(names)), t.c.ts >= start, t.c.ts < end
        )
        with self.store.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def experiment_rows_named(
        self, names: Iterable[str], pids: Iterable[str], before: float
    ) -> list[dict[str, Any]]:
        """The experiment's log rows before `before` among the personalization ids `pids`."""
        t = _t(PersonalizationLogRow)
        wanted = sorted(set(pids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), 500):
            stmt = select(*self._experiment_cols()).where(
                t.c.personalization_id.in_(wanted[start : start + 500]),
                t.c.experiment.in_(list(names)),
                t.c.ts < before,
            )
            with self.store.db.connect() as conn:
                found.extend(dict(r._mapping) for r in conn.execute(stmt))
        return found

    def engagements_between(self, start: float, end: float) -> list[dict[str, Any]]:
        """Views and clicks of personalizations with `start` <= ts < `end` (with `payload`,
        whose `personalizationContentId` may name the personalization)."""
        ev = _t(EventRow)
        cols = [ev.c[n] for n in ("event_id", *_UNIT_COLUMNS, "ts", "interaction")]
        stmt = select(*cols, ev.c.personalization_id, ev.c.payload).where(
            ev.c.interaction.in_(ENGAGEMENT_INTERACTIONS), ev.c.ts >= start, ev.c.ts < end
        )
        with self.store.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def metric_events_between(
        self,
        interactions: Iterable[str],
        start: float,
        end: float,
        *,
        unified_ids: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Events of `interactions` with `start` <= ts < `end` (the `METRIC_EVENT_COLUMNS`),
        of every unit or only of events carrying one of `unified_ids`."""
        ev = _t(EventRow)
        cols = [ev.c[n] for n in METRIC_EVENT_COLUMNS]
        kinds = ev.c.interaction.in_(sorted(set(interactions)))
        base = select(*cols).where(kinds, ev.c.ts >= start, ev.c.ts < end)
        if unified_ids is None:
            with self.store.db.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(base)]
        wanted = sorted(set(unified_ids))
        found: list[dict[str, Any]] = []
        for low in range(0, len(wanted), 500):
            stmt = base.where(ev.c.unified_id.in_(wanted[low : low + 500]))
            with self.store.db.connect() as conn:
                found.extend(dict(r._mapping) for r in conn.execute(stmt))
        return found

    @staticmethod
    def _experiment_cols() -> list[Any]:
        t = _t(PersonalizationLogRow)
        shown = case((t.c.content.in_(("", "[]")), False), else_=True).label("shown")
        return [
            t.c.personalization_id,
            t.c.ts,
            *(t.c[n] for n in _UNIT_COLUMNS if n in t.c),
            t.c.cohort,
            shown,
        ]


def _slices(start: float, end: float, hours: int) -> Iterator[tuple[float, float]]:
    step = 3600.0 * hours
    low = start
    while low < end:
        high = min(low + step, end)
        yield low, high
        low = high
