"""The batch path: recompute every individual's insights from aggregates over the event log.

The aggregates (SQL GROUP BY in the store) are passed in as a function, so this step stays
pure: the services hand it the store's `insight_aggregates` and `event_unified_ids`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from p13n.domain.insights.definitions import InsightDefinition, finish_values
from p13n.domain.timeutil import window_start

__all__ = ["recompute_insights", "Aggregate"]

Aggregate = Callable[..., list[tuple[str, str | None, Any]]]
"""`(measure=, field=, interactions=, since=, dimension=) -> [(unified_id, key, value)]`, as
`Store.insight_aggregates` documents."""


def recompute_insights(
    definitions: Iterable[InsightDefinition],
    now: float,
    *,
    unified_ids: Iterable[str],
    aggregate: Aggregate,
) -> dict[str, dict[str, Any]]:
    """unified_id -> insight name -> value, for every individual in `unified_ids`, as of `now`.

    One aggregate per non-ratio definition; ratios and rounding are derived exactly as on the
    online path (`finish_values`). An individual with events but no value for any insight maps
    to {} so that a refresh can clear values that fell out of their windows.
    """
    definitions = list(definitions)
    raw: dict[str, dict[str, Any]] = {uid: {} for uid in unified_ids}
    for definition in definitions:
        if definition.measure == "ratio":
            continue
        since = None
        if definition.window_days is not None:
            since = window_start(now, definition.window_days)
        rows = aggregate(
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
