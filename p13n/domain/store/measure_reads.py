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
from p13n.domain.store.sql_store import SqlStore, driver_rows
from p13n.domain.store.sql_store import table_of as _t
from p13n.domain.store.tables import EventRow

__all__ = [
    "MeasureReads",
    "CONVERSION_INTERACTIONS",
    "EXPOSURE_COLUMNS",
    "METRIC_EVENT_COLUMNS",
    "EXPERIMENT_COLUMNS",
]

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
EXPERIMENT_COLUMNS = ("personalization_id", "ts", "unified_id", "individual_id", "cohort", "shown")
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
    ) -> list[tuple[Any, ...]]:
        """The log rows of the experiment called any of `names` with `start` <= ts < `end`,
        as tuples of `EXPERIMENT_COLUMNS`: personalization id, time, unified and individual id,
        cohort, and `shown` (it carried content; the JSON is not read). Tuples, not dicts: an
        experiment's fold reads millions."""
        t = _t(PersonalizationLogRow)
        stmt = select(*self._experiment_cols()).where(
            t.c.experiment.in_(list(names)), t.c.ts >= start, t.c.ts < end
        )
        return self._tuples(stmt)

    def experiment_rows_named(
        self, names: Iterable[str], pids: Iterable[str], before: float
    ) -> list[tuple[Any, ...]]:
        """The experiment's log rows before `before` among the personalization ids `pids`
        (read by id, the experiment and time checked here: SQLite would otherwise pick the
        index by experiment and scan its rows)."""
        t = _t(PersonalizationLogRow)
        wanted = sorted(set(pids))
        experiment = t.c.experiment.label("experiment")
        keep = set(names)
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), 500):
            stmt = select(*self._experiment_cols(), experiment).where(
                t.c.personalization_id.in_(wanted[start : start + 500])
            )
            rows = self._tuples(stmt)
            found.extend(r[:-1] for r in rows if r[-1] in keep and r[1] < before)
        return found

    def engagements_between(self, start: float, end: float) -> list[dict[str, Any]]:
        """Views and clicks of personalizations with `start` <= ts < `end` (with `payload`,
        whose `personalizationContentId` may name the personalization, only where the
        `personalization_id` column does not: the JSON is most of what such a read moves)."""
        ev = _t(EventRow)
        cols = [ev.c[n] for n in ("event_id", *_UNIT_COLUMNS, "ts", "interaction")]
        named = or_(ev.c.personalization_id.is_(None), ev.c.personalization_id == "")
        payload = case((named, ev.c.payload), else_=None)
        stmt = select(*cols, ev.c.personalization_id, payload.label("payload")).where(
            ev.c.interaction.in_(ENGAGEMENT_INTERACTIONS), ev.c.ts >= start, ev.c.ts < end
        )
        return self._dicts(stmt)

    def metric_events_between(
        self,
        interactions: Iterable[str],
        start: float,
        end: float,
        *,
        unified_ids: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Events of `interactions` with `start` <= ts < `end` (the `METRIC_EVENT_COLUMNS`),
        of every unit or only of events carrying one of `unified_ids` (read by unit and time,
        the kinds kept here: SQLite would otherwise pick the index by kind and scan)."""
        ev = _t(EventRow)
        cols = [ev.c[n] for n in METRIC_EVENT_COLUMNS]
        kinds = sorted(set(interactions))
        if unified_ids is None:
            stmt = select(*cols).where(ev.c.interaction.in_(kinds), ev.c.ts >= start, ev.c.ts < end)
            return self._dicts(stmt)
        wanted = sorted(set(unified_ids))
        keep = set(kinds)
        found: list[dict[str, Any]] = []
        for low in range(0, len(wanted), 500):
            stmt = select(*cols).where(
                ev.c.unified_id.in_(wanted[low : low + 500]), ev.c.ts >= start, ev.c.ts < end
            )
            found.extend(r for r in self._dicts(stmt) if r["interaction"] in keep)
        return found

    def _dicts(self, stmt: Any) -> list[dict[str, Any]]:
        """The rows of `stmt` as dicts of its column names."""
        names = tuple(c.name for c in stmt.selected_columns)
        return [dict(zip(names, row, strict=True)) for row in self._tuples(stmt)]

    def _tuples(self, stmt: Any) -> list[tuple[Any, ...]]:
        return driver_rows(self.store.db, stmt)

    @staticmethod
    def _experiment_cols() -> list[Any]:
        t = _t(PersonalizationLogRow)
        shown = case((t.c.content.in_(("", "[]")), False), else_=True).label("shown")
        return [t.c[n] for n in EXPERIMENT_COLUMNS[:-1]] + [shown]


def _slices(start: float, end: float, hours: int) -> Iterator[tuple[float, float]]:
    step = 3600.0 * hours
    low = start
    while low < end:
        high = min(low + step, end)
        yield low, high
        low = high
