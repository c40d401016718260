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

from sqlalchemy import Index, and_, case, func, or_, select

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
    "ENGAGEMENT_COLUMNS",
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
EXPERIMENT_COLUMNS = ("personalization_id", "ts", "who", "cohort", "shown")
"""`who`: the unified id, else the individual id (None for neither); `cohort` None for none."""
ENGAGEMENT_COLUMNS = (
    "event_id",
    "who",
    "ts",
    "interaction",
    "logged_ts",
    "logged_who",
    "logged_cohort",
    "logged_shown",
    "personalization_id",
)
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
    "who",  # the unified id, else the individual, else the device
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
        as tuples of `EXPERIMENT_COLUMNS`: personalization id, time, who (the unified id, else
        the individual id), cohort, and `shown` (it carried content; the JSON is not read).
        Tuples, not dicts, and the id chosen in SQL: an experiment's fold reads millions."""
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

    def experiment_engagements(
        self, names: Iterable[str], start: float, end: float
    ) -> list[tuple[Any, ...]]:
        """Views and clicks with `start` <= ts < `end` whose `personalization_id` names a log
        row of the experiment called any of `names` logged before `end`, as tuples of
        `ENGAGEMENT_COLUMNS` (the event's, then its log row's `EXPERIMENT_COLUMNS` but the
        id). Joined in SQL: the other points' engagements, most of a slice's, never reach
        Python (events naming a personalization only in their payload:
        `unnamed_engagements`)."""
        ev, t = _t(EventRow), _t(PersonalizationLogRow)
        cols = self._experiment_cols()
        stmt = (
            select(
                ev.c.event_id,
                self._who(ev).label("who"),
                ev.c.ts,
                ev.c.interaction,
                *[c.label(f"logged_{c.name}") for c in cols[1:]],
                ev.c.personalization_id,
            )
            .select_from(ev.join(t, t.c.personalization_id == ev.c.personalization_id))
            .where(
                ev.c.interaction.in_(ENGAGEMENT_INTERACTIONS),
                ev.c.ts >= start,
                ev.c.ts < end,
                t.c.experiment.in_(list(names)),
                t.c.ts < end,
            )
        )
        return self._tuples(stmt)

    def unnamed_engagements(self, start: float, end: float) -> list[tuple[Any, ...]]:
        """Views and clicks with `start` <= ts < `end` without a `personalization_id` (their
        payload's `personalizationContentId` may name one): (event_id, who, ts, interaction,
        payload)."""
        ev = _t(EventRow)
        stmt = select(
            ev.c.event_id, self._who(ev).label("who"), ev.c.ts, ev.c.interaction, ev.c.payload
        ).where(
            ev.c.interaction.in_(ENGAGEMENT_INTERACTIONS),
            ev.c.ts >= start,
            ev.c.ts < end,
            or_(ev.c.personalization_id.is_(None), ev.c.personalization_id == ""),
        )
        return self._tuples(stmt)

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
        cols = [ev.c[n] for n in METRIC_EVENT_COLUMNS[:-1]] + [self._who(ev).label("who")]
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
    def _who(ev: Any) -> Any:
        """An event's unit id in SQL: the unified id, else the individual, else the device."""
        return func.coalesce(*(func.nullif(ev.c[n], "") for n in _UNIT_COLUMNS))

    @staticmethod
    def _experiment_cols() -> list[Any]:
        t = _t(PersonalizationLogRow)
        shown = case((t.c.content.in_(("", "[]")), False), else_=True).label("shown")
        who = func.coalesce(func.nullif(t.c.unified_id, ""), func.nullif(t.c.individual_id, ""))
        cohort = func.nullif(t.c.cohort, "")
        return [t.c.personalization_id, t.c.ts, who.label("who"), cohort.label("cohort"), shown]


def _slices(start: float, end: float, hours: int) -> Iterator[tuple[float, float]]:
    step = 3600.0 * hours
    low = start
    while low < end:
        high = min(low + step, end)
        yield low, high
        low = high
