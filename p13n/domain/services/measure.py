"""The Measure service: attribution reports over the personalization log and the events, for
the faces (`GET /analytics/attribution`, `p13n analytics attribution`, `get_performance`).

It reads the range's log rows and the events that matter (`MeasureReads`, in pages), builds
the journeys with every id mapped to its current survivor (identities merged after the rows
were written still make one unit), attributes, and groups the KPIs: the pure functions of
`domain/analytics`. Nothing is cached between calls, so a report always reflects the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import chain
from typing import Any

from p13n.domain.analytics import (
    AttributionQuery,
    AttributionReport,
    Journeys,
    attribute,
    attribution_report,
    build_journeys,
    kpis,
    parse_attribution_query,
)
from p13n.domain.identity import IdentityLinks
from p13n.domain.services.engine import Engine, sql_store
from p13n.domain.store import MeasureReads

__all__ = ["MeasureService", "Survivors"]


class Survivors(Mapping[str, str]):
    """Any id a row carries -> the unified id that survives today: a merged unified id to its
    survivor, an individual or device id to the individual it is linked to; an id known to
    neither is absent (`get(id, id)` keeps it). Reads the engine's identity links as they are
    at each lookup."""

    def __init__(self, identity: IdentityLinks) -> None:
        self.identity = identity

    def get(self, key: str, default: Any = None) -> Any:  # journeys' only call: no ABC detour
        try:
            return self[key]
        except KeyError:
            return default

    def __getitem__(self, key: str) -> str:
        ident = self.identity
        if key in ident.aliases:
            return ident.resolve(key)
        if key in ident.created:
            return key
        for kind in ("individual", "device"):
            found = ident.lookup(kind, key)
            if found is not None:
                return found
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.identity.created)

    def __len__(self) -> int:
        return len(self.identity.created)


class MeasureService:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] | None = None) -> None:
        self.engine = engine
        self.reads = MeasureReads(sql_store(engine))
        self.now = clock or engine.now

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
        """The KPI rows, totals and counts of the query's range under its model, from the raw
        log and events."""
        journeys = self.journeys(query.start, query.end)
        credited = attribute(journeys, query.settings())
        rows = kpis(journeys, credited, group_by=query.group_by)
        total = rows if not query.group_by else kpis(journeys, credited)
        return attribution_report(query, journeys, credited, rows, total)

    def journeys(self, start: float, end: float) -> Journeys:
        """The journeys of [start, end), ids mapped to their survivors."""
        log_rows: Iterable[dict[str, Any]] = chain.from_iterable(
            self.reads.exposures_between(start, end)
        )
        events: Iterable[dict[str, Any]] = chain.from_iterable(
            self.reads.events_between(start, end)
        )
        return build_journeys(log_rows, events, units=Survivors(self.engine.state.identity))
