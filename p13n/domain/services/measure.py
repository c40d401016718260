"""The Measure service: attribution reports and experiment results over the personalization
log and the events, for the faces (`GET /analytics/attribution`, `GET
/analytics/experiments/{name}`, their `p13n analytics` commands, `get_performance`), and the
primary metric per cohort that bandits re-weight by.

It reads the range's log rows and the events that matter (`MeasureReads`, in pages), builds
the journeys with every id mapped to its current survivor (identities merged after the rows
were written still make one unit), attributes, and groups the KPIs: the pure functions of
`domain/analytics`. Nothing is cached between calls, so a report always reflects the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import Any

import orjson

from p13n.domain.analytics import (
    CLICK_LOOKBACK,
    AttributionQuery,
    AttributionReport,
    BanditState,
    CellKey,
    CreditCell,
    DaySummary,
    ExperimentResults,
    ExposureCell,
    Journeys,
    ResultSettings,
    Summary,
    attribute,
    attribution_report,
    build_journeys,
    credit_cells,
    day_summaries,
    exposure_cells,
    metric_summaries,
    parse_attribution_query,
    resolve_metrics,
    results_of_cells,
    sketch_bytes,
    sketch_of,
    unit_of,
)
from p13n.domain.decisions import Experiment
from p13n.domain.services.bandits import Bandits
from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.services.experiment_aggregates import ExperimentAggregates, metrics_of
from p13n.domain.services.result_snapshots import ResultSnapshots
from p13n.domain.services.survivors import Survivors
from p13n.domain.store import CELL_DIMENSIONS, AttributionStore, MeasureReads
from p13n.domain.timeutil import DAY

__all__ = ["MeasureService", "Survivors"]

log = logging.getLogger("p13n.measure")
CONVERSIONS = frozenset({"Add To Cart", "Purchase"})  # journeys' conversion interactions


SETTLE_SECONDS = 3600.0
"""A day is served from the aggregates once it ended this long ago (the log writer and late
senders have caught up)."""
RawCells = tuple[
    dict[CellKey, ExposureCell],
    dict[CellKey, CreditCell],
    dict[int, DaySummary],
    dict[int, tuple[int, int]],
]


class MeasureService:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] | None = None,
        settle_s: float = SETTLE_SECONDS,
    ) -> None:
        self.engine = engine
        store = sql_store(engine)
        self.reads = MeasureReads(store)
        self.cells = AttributionStore(store)
        self.now = clock or engine.now
        self.settle_s = settle_s
        self._stop = threading.Event()
        self.experiments = ExperimentAggregates(
            self.reads,
            self._survivors,
            lambda: len(engine.state.identity.aliases),
            clock=self.now,
            settle_s=settle_s,
        )
        self.snapshots = ResultSnapshots(
            lambda e, s, b: self.experiment_results(e, s, bandit=b), clock=self.now
        )

    def query(
        self,
        *,
        model: str = "last_touch",
        basis: str = "view",
        window: str | float = "7d",
        half_life: str | float | None = None,
        group_by: Iterable[str] = (),
        start: str | float | None = None,
        end: str | float | None = None,
    ) -> AttributionQuery:
        """A validated query (InvalidInput naming the fix for a bad model, basis, window,
        grouping or range)."""
        return parse_attribution_query(
            model=model,
            basis=basis,
            window=window,
            half_life=half_life,
            group_by=group_by,
            start=start,
            end=end,
            now=self.now(),
        )

    def attribution(self, query: AttributionQuery) -> AttributionReport:
        """The report of the query: from the day aggregates when the range is whole UTC days
        that closed at least `settle_s` ago (days not made yet for the query's setting are
        made first, from the raw log), else from the raw log."""
        if not self.served_by_aggregates(query):
            return self.recompute(query)
        first, last = int(query.start // DAY), int(query.end // DAY)
        setting = _setting(query)
        self._make_missing(query, first, last)
        exposures = {
            _cell_key(r): ExposureCell(
                r["impressions"], r["clicks"], sketch_of(r["requests"]), sketch_of(r["units"])
            )
            for r in self.cells.exposures(first, last)
        }
        credits = {
            _cell_key(r): CreditCell(r["carts"], r["orders"], r["revenue_cents"], r["units"])
            for r in self.cells.credits(setting, first, last)
        }
        days: dict[int, DaySummary] = {}
        unlinked = missing = 0
        for r in self.cells.summaries(setting, first, last):
            days[int(r["day"])] = DaySummary(**{n: int(r[n]) for n in _SUMMARY_FIELDS})
            unlinked += int(r["unlinked"])
            missing += int(r["revenue_missing"])
        return attribution_report(
            query,
            exposures,
            credits,
            days,
            unlinked=unlinked,
            revenue_missing=missing,
            source="aggregates",
        )

    def recompute(self, query: AttributionQuery) -> AttributionReport:
        """The report from the raw log and events (what the aggregates must equal)."""
        exposures, credits, days, counts = self._raw_cells(query, query.start, query.end)
        return attribution_report(
            query,
            exposures,
            credits,
            days,
            unlinked=sum(c[0] for c in counts.values()),
            revenue_missing=sum(c[1] for c in counts.values()),
            source="raw log",
        )

    def served_by_aggregates(self, query: AttributionQuery) -> bool:
        closed = (self.now() - self.settle_s) // DAY * DAY
        return query.start % DAY == 0 and query.end % DAY == 0 and query.end <= closed

    def make_closed_days(
        self, *, days: int = 30, queries: Iterable[AttributionQuery] | None = None
    ) -> int:
        """Make the aggregates of the last `days` closed days that are not made yet, for each
        of `queries`' settings (default: the default report's, last touch, view-based, 7 days);
        returns how many (day, setting) pairs were made. A server runs it hourly
        (`start_background`), so that the first report of a period does not pay for it."""
        closed = (self.now() - self.settle_s) // DAY * DAY
        start = closed - days * DAY
        wanted = list(queries) if queries is not None else [self.query(start=start, end=closed)]
        made = 0
        for query in wanted:
            first, last = int(start // DAY), int(closed // DAY)
            before = len(self.cells.days_made(_setting(query), first, last))
            self._make_missing(query, first, last)
            made += len(self.cells.days_made(_setting(query), first, last)) - before
        return made

    def start_background(
        self,
        seconds: float = 3600.0,
        experiments: Callable[[], Iterable[Experiment]] | None = None,
    ) -> threading.Thread:
        """Make the closed days and fold the Started experiments' cells (`experiments`, read
        at each round: the configuration reloads under a server) now and every `seconds` on
        a daemon thread (`stop` ends it)."""

        def loop() -> None:
            while True:
                try:
                    self.make_closed_days()
                except Exception:  # the next round tries again; reports make days themselves
                    log.exception("making the attribution aggregates failed")
                try:
                    if experiments is not None:
                        self.experiments.fold_all(list(experiments()))
                except Exception:  # the next read folds what is missing
                    log.exception("folding the experiment cells failed")
                if self._stop.wait(seconds):
                    return

        thread = threading.Thread(target=loop, name="p13n-measure-aggregates", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def forget_aggregates(self) -> None:
        """Drop every made day and every experiment's cells (after importing old events or
        re-resolving identities: the next reports make them again from the raw log)."""
        self.cells.clear()
        self.experiments.forget()

    def journeys(self, start: float, end: float) -> Journeys:
        """The journeys of [start, end), ids mapped to their survivors."""
        log_rows = chain.from_iterable(self.reads.exposures_between(start, end))
        events = chain.from_iterable(self.reads.events_between(start, end))
        return build_journeys(log_rows, events, units=Survivors(self.engine.state.identity))

    # -- the cells ---------------------------------------------------------------------------
    def _raw_cells(self, query: AttributionQuery, start: float, end: float) -> RawCells:
        """The cells of [start, end) from the raw log, and per day the engagements naming no
        personalization and the lines without revenue: touches and clicked personalizations
        are read back as far as the window (at least `CLICK_LOOKBACK`) before `start`."""
        back = start - max(query.window_s, CLICK_LOOKBACK)
        events = [r for page in self.reads.events_between(back, end) for r in page]
        survivors = Survivors(self.engine.state.identity)
        journeys = build_journeys(
            _needed(self.reads.exposures_between(back, end), events, start, end, survivors),
            events,
            units=survivors,
        )
        credited = attribute(journeys, query.settings())
        by_day: dict[int, list[dict[str, Any]]] = {}
        for e in events:
            if start <= e["ts"] < end:
                by_day.setdefault(int(e["ts"] // DAY), []).append(e)
        return (
            exposure_cells(journeys, start, end),
            credit_cells(credited, start, end),
            day_summaries(journeys, credited, start, end),
            {day: _event_counts(found) for day, found in by_day.items()},
        )

    def _make_missing(self, query: AttributionQuery, first: int, last: int) -> None:
        setting = _setting(query)
        made = self.cells.days_made(setting, first, last)
        exposed = self.cells.days_made("", first, last)
        missing = [d for d in range(first, last) if d not in made]
        for run in _runs(missing):
            lo, hi = run[0] * DAY, (run[-1] + 1) * DAY
            exposures, credits, days, counts = self._raw_cells(query, lo, hi)
            need_exposures = any(d not in exposed for d in run)
            now = self.now()
            self.cells.write_days(
                run,
                setting,
                exposures=[_exposure_row(k, c) for k, c in exposures.items()]
                if need_exposures
                else None,
                credits=[_credit_row(k, setting, c) for k, c in credits.items()],
                summaries=[
                    _summary_row(d, setting, days.get(d, DaySummary()), counts.get(d, (0, 0)), now)
                    for d in run
                ]
                + (
                    [_summary_row(d, "", DaySummary(), (0, 0), now) for d in run]
                    if need_exposures
                    else []
                ),
            )

    def experiment_results(
        self,
        experiment: Experiment,
        settings: ResultSettings | None = None,
        *,
        bandit: BanditState | None = None,
        metrics: Sequence[str] | None = None,
    ) -> ExperimentResults:
        """The experiment's results over the log up to now: its exposures since it started,
        each unit's events from `pre_window` before its first exposure (CUPED) to `window`
        after it. metrics: built-in names, the first primary (default: the experiment's own).
        From its cells kept up to date (`ExperimentAggregates`) when the windows are the
        default and the metrics its own (or some of them), else folded from the raw log. A
        Created experiment has an empty result that says so."""
        settings = settings or ResultSettings()
        own = metrics_of(experiment)
        wanted = tuple(resolve_metrics(list(metrics))) if metrics else own
        reading = experiment.model_copy(
            update={
                "primary_metric": wanted[0].name,
                "secondary_metrics": [m.name for m in wanted[1:]],
            }
        )
        if all(m in own for m in wanted):
            cells, _ = self.experiments.cells(experiment, own, settings)
        else:
            cells = self.experiments.recompute(experiment, wanted, settings)
        return results_of_cells(reading, cells, settings=settings, bandit=bandit, metrics=wanted)

    def recompute_experiment(
        self,
        experiment: Experiment,
        settings: ResultSettings | None = None,
        *,
        bandit: BanditState | None = None,
    ) -> ExperimentResults:
        """The same results folded from the raw log from the start (what the kept cells must
        equal)."""
        settings = settings or ResultSettings()
        cells = self.experiments.recompute(experiment, metrics_of(experiment), settings)
        return results_of_cells(experiment, cells, settings=settings, bandit=bandit)

    def primary_arms(
        self, experiment: Experiment, bandit: BanditState | None = None
    ) -> dict[str, Summary]:
        """The primary metric's statistics per cohort (stratified by the bandit's periods):
        what a bandit's re-weighting reads (`Bandits.rebalance_due`)."""
        metrics = metrics_of(experiment)
        cells, _ = self.experiments.cells(experiment, metrics, ResultSettings())
        return metric_summaries(experiment, cells, metrics[0], bandit=bandit)

    def rebalance_bandits(self, bandits: Bandits, experiments: Iterable[Experiment]) -> list[str]:
        """One round of the bandit schedule: re-weight every Started bandit whose interval
        has passed from its primary metric per cohort (stratified by its own history); the
        names re-weighted."""
        due = [
            e
            for e in experiments
            if e.mode == "bandit" and e.status == "Started" and bandits.state(e).due(self.now())
        ]
        if not due:
            return []
        return bandits.rebalance_due(due, arms_of=lambda e: self.primary_arms(e, bandits.state(e)))

    def start_bandit_schedule(
        self,
        bandits: Callable[[], Bandits],
        experiments: Callable[[], Iterable[Experiment]],
        *,
        check_s: float = 60.0,
    ) -> threading.Thread:
        """Run `rebalance_bandits` every `check_s` on a daemon thread (each bandit is
        re-weighted at its own interval, hourly by default; `stop` ends it). bandits and
        experiments are read at each round: the configuration reloads under a server."""

        def loop() -> None:
            while not self._stop.wait(check_s):
                try:
                    found = list(experiments())
                    if any(e.mode == "bandit" and e.status == "Started" for e in found):
                        self.rebalance_bandits(bandits(), found)
                except Exception:  # the next round tries again; the weights stay meanwhile
                    log.exception("re-weighting the bandit experiments failed")

        thread = threading.Thread(target=loop, name="p13n-bandit-schedule", daemon=True)
        thread.start()
        return thread

    def _survivors(self) -> Survivors:
        return Survivors(self.engine.state.identity)


_SUMMARY_FIELDS = tuple(DaySummary.__slots__)


def _setting(query: AttributionQuery) -> str:
    return f"{query.model}/{query.basis}/{query.window_s:g}/{query.half_life_s:g}"


def _runs(days: list[int]) -> Iterator[list[int]]:
    """Consecutive days in runs of at most 31, one read of the raw log each (a run holds its
    days' exposures in memory, and of the 30 days before it only the few it needs; shorter
    runs would read that month again for each: 7-day runs took twice as long in
    `bench.analytics` for a tenth less memory)."""
    run: list[int] = []
    for day in days:
        if run and (day != run[-1] + 1 or len(run) >= 31):
            yield run
            run = []
        run.append(day)
    if run:
        yield run


def _needed(
    pages: Iterable[list[dict[str, Any]]],
    events: list[dict[str, Any]],
    start: float,
    end: float,
    survivors: Survivors,
) -> Iterator[dict[str, Any]]:
    """The log rows the cells of [start, end) can use: every row of the range, and of the
    rows before it only those of a unit that converts in the range or named by an engagement
    event (their touches and clicked personalizations); the others would only be held in
    memory. Leaving them out changes no cell."""
    units: set[str | None] = set()
    named: set[str] = set()
    for e in events:
        interaction = e.get("interaction")
        if interaction in CONVERSIONS and start <= e["ts"] < end:
            units.add(unit_of(e, survivors))
        elif interaction not in CONVERSIONS:
            pid = e.get("personalization_id")
            named.add(str(pid) if pid else _pid_in(e.get("payload")))
    for page in pages:
        for row in page:
            if (
                row["ts"] >= start
                or row["personalization_id"] in named
                or unit_of(row, survivors) in units
            ):
                yield row


def _pid_in(payload: Any) -> str:
    """The personalization id of a payload's `personalizationContentId` (`<id>:<n>`), or ''."""
    if not payload:
        return ""
    try:
        content = orjson.loads(payload).get("personalizationContentId")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return str(content).rpartition(":")[0] if content else ""


def _event_counts(events: list[dict[str, Any]]) -> tuple[int, int]:
    """(engagements naming no personalization, cart and order lines without revenue)."""
    found = build_journeys([], events)
    return found.unlinked_engagements, found.revenue_missing


def _dims_row(dims: tuple[str | None, ...]) -> dict[str, str]:
    return {name: value or "" for name, value in zip(CELL_DIMENSIONS, dims, strict=True)}


def _cell_key(row: Mapping[str, Any]) -> CellKey:
    return int(row["day"]), tuple(row[name] or None for name in CELL_DIMENSIONS)


def _exposure_row(key: CellKey, cell: ExposureCell) -> dict[str, Any]:
    return {
        "day": key[0],
        **_dims_row(key[1]),
        "impressions": cell.impressions,
        "clicks": cell.clicks,
        "requests": sketch_bytes(cell.requests),
        "units": sketch_bytes(cell.units),
    }


def _credit_row(key: CellKey, setting: str, cell: CreditCell) -> dict[str, Any]:
    return {
        "day": key[0],
        "setting": setting,
        **_dims_row(key[1]),
        "carts": cell.carts,
        "orders": cell.orders,
        "revenue_cents": cell.revenue_cents,
        "units": cell.units,
    }


def _summary_row(
    day: int, setting: str, summary: DaySummary, counts: tuple[int, int], now: float
) -> dict[str, Any]:
    return {
        "day": day,
        "setting": setting,
        **{name: getattr(summary, name) for name in _SUMMARY_FIELDS},
        "unlinked": counts[0],
        "revenue_missing": counts[1],
        "made_at": now,
    }
