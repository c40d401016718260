"""The batch path: recompute every individual's insights with SQL GROUP BY over the event log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from p13n.domain.insights.definitions import InsightDefinition, finish_values
from p13n.domain.store.insight_sql import aggregate_events, event_unified_ids
from p13n.domain.timeutil import window_start

if TYPE_CHECKING:  # the database is reached only through the fenced store package
    from sqlalchemy import Engine

__all__ = ["recompute_insights"]


def recompute_insights(
    engine: Engine, definitions: Iterable[InsightDefinition], now: float
) -> dict[str, dict[str, Any]]:
    """unified_id -> insight name -> value, for every individual in the log, as of `now`.

    One query per non-ratio definition; ratios and rounding are derived exactly as on the
    online path (`finish_values`). An individual with events but no value for any insight maps
    to {} so that a refresh can clear values that fell out of their windows.
    """
    definitions = list(definitions)
    raw: dict[str, dict[str, Any]] = {uid: {} for uid in event_unified_ids(engine)}
    for definition in definitions:
        if definition.measure == "ratio":
            continue
        since = None
        if definition.window_days is not None:
            since = window_start(now, definition.window_days)
        rows = aggregate_events(
            engine,
            measure=definition.measure,
            field=definition.field,
            interactions=definition.interactions,
            since=since,
            dimension=definition.dimension,
        )
        for unified_id, key, value in rows:
            values = raw.setdefault(unified_id, {})
            if definition.dimension is None:
                values[definition.name] = _number(value)
            else:
                values.setdefault(definition.name, {})[str(key)] = _number(value)
    return {uid: finish_values(values, definitions) for uid, values in raw.items()}


def _number(value: Any) -> Any:
    """Drivers may hand back Decimal for aggregates; insight values are int, float or text."""
    if value is None or isinstance(value, int | float | str):
        return value
    return float(value)
