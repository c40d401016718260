"""What a metric reads of an event row, and each unit's value of a metric (`UnitValues`), which
`experiment_cells.py` folds from the log and the events.

Assignment is sticky: a unit belongs to the cohort of its first exposure in the experiment
(the journeys' exposures whose `experiment` names it, every channel). A unit later exposed in
another cohort stays where it started and is counted in `multiple_exposures` (GrowthBook warns
above 1 % of units); exposures naming no unit are counted and left out, and so are units whose
first exposure names a cohort the experiment does not have.

A unit's metric value reads its events in `[first exposure, first exposure + window]` (both
edges inclusive, as attribution's window), and for CUPED the same metric over
`[first exposure − pre_window, first exposure)`. Event rows have the event log's columns
(`event_id, unified_id, individual_id, device_id, ts, interaction, item_id, quantity, price,
value, order_id`); repeated event ids count once; `units` maps merged ids to their survivor as
in `build_journeys`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from p13n.domain.analytics.journeys import as_decimal, as_text, has_no_revenue, line_revenue

__all__ = ["UnitValues", "metric_fields"]

_Fields = dict[str, float | str | None]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, float):  # a float's shortest repr is itself
        return value
    number = as_decimal(value)
    return None if number is None else float(number)


def metric_fields(event_id: str, row: Mapping[str, Any]) -> _Fields:
    """The metric fields of one row (None when missing); `revenue` and the `order_id` fallback
    follow `journeys.py` (a line with a value is its value; price x quantity is multiplied
    exactly there)."""
    value = _number(row.get("value"))
    if value is not None:
        revenue: float | None = value
    else:
        revenue = None if has_no_revenue(row) else float(line_revenue(row))
    return {
        "value": value,
        "quantity": _number(row.get("quantity")),
        "price": _number(row.get("price")),
        "revenue": revenue,
        "order_id": as_text(row.get("order_id")) or f"event:{event_id}",
        "item_id": as_text(row.get("item_id")),
    }


@dataclass(frozen=True, slots=True)
class UnitValues:
    """One metric over the assigned units, in the assignment's order. numerator: the value per
    unit (a ratio's numerator); denominator: a ratio's denominator, else None; converted: the
    unit had at least one numerator event; pre: the numerator over the pre-exposure window;
    missing: numerator events in the window whose field was missing (counted 0)."""

    cohort: NDArray[np.int64]
    first_ts: NDArray[np.float64]
    numerator: NDArray[np.float64]
    denominator: NDArray[np.float64] | None
    converted: NDArray[np.bool_]
    pre: NDArray[np.float64]
    missing: int
