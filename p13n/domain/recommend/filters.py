"""Include / exclude filters and booster rules over candidate rows, with the shared operators.

A condition is first resolved against the request (context variables, the anchor item, the
visitor's history) and then tested per candidate row with `p13n.domain.operators.compare`, so
an operator means exactly what it means in segments and targeting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from p13n.domain.operators import Operator, as_timestamp, compare, has_value
from p13n.domain.recommend.catalog import CatalogSnapshot
from p13n.domain.recommend.config import FilterCondition, FilterGroup, FilterType

__all__ = ["FilterContext", "CompiledGroup", "compile_group", "variable_name"]


@dataclass(frozen=True)
class FilterContext:
    """What conditions may compare with: request variables, the anchor, the visitor's history.

    `history` maps a source (`viewed`, `purchased`, `cart`, `engaged`) to snapshot rows.
    """

    snapshot: CatalogSnapshot
    now: float
    anchor_row: int | None = None
    variables: Mapping[str, Any] | None = None
    history: Mapping[str, Sequence[int]] | None = None


def variable_name(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("{!") and value.endswith("}"):
        return value[2:-1].strip()
    return None


@dataclass(frozen=True)
class _Resolved:
    condition: FilterCondition
    expected: Any
    from_history: bool


def _resolve(cond: FilterCondition, ctx: FilterContext) -> _Resolved | None:
    """The expected value, or None when the condition is dropped for this request."""
    if cond.type is FilterType.STATIC:
        name = variable_name(cond.value)
        if name is None:
            return _Resolved(cond, cond.value, False)
        variables = ctx.variables or {}
        if name not in variables or variables[name] is None:
            return None  # a missing context variable drops the condition
        return _Resolved(cond, variables[name], False)
    if cond.type is FilterType.DECISION_CONTEXT:
        if ctx.anchor_row is None:
            return None  # no anchor item in this request: nothing to compare with
        return _Resolved(
            cond, ctx.snapshot.value(ctx.anchor_row, cond.anchor_field or cond.field), False
        )
    source, _, field = (cond.profile_field or "").partition(".")
    rows = (ctx.history or {}).get(source, ())
    values: list[Any] = []
    for r in rows:
        v = ctx.snapshot.value(r, field)
        if has_value(v) and v not in values:
            values.append(v)
    return _Resolved(cond, values, True)


def _span(values: list[Any]) -> list[Any] | None:
    """[min, max] of history values as numbers, else as times, else as text."""
    for conv in (_number, as_timestamp):
        nums = [conv(v) for v in values]
        present = [g for g in nums if g is not None]
        if present and len(present) == len(nums):
            return [min(present), max(present)]
    texts = [v.casefold() for v in values if isinstance(v, str)]
    if texts and len(texts) == len(values):
        return [min(texts), max(texts)]
    return None


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def _holds(res: _Resolved, actual: Any, now: float) -> bool:
    op = res.condition.operator
    if not res.from_history:
        return compare(op, actual, res.expected, now=now)
    values: list[Any] = res.expected
    if op in (Operator.IS_SUBSET, Operator.MATCH_ANY, Operator.DOES_NOT_MATCH):
        if not values:
            return op is Operator.DOES_NOT_MATCH and has_value(actual)
        return compare(op, actual, values, now=now)
    if op is Operator.IS_NOT_EQUAL_TO:
        return has_value(actual) and all(compare(op, actual, v, now=now) for v in values)
    if op is Operator.IS_BETWEEN:
        span = _span(values)
        return span is not None and compare(op, actual, span, now=now)
    return any(compare(op, actual, v, now=now) for v in values)


@dataclass(frozen=True)
class CompiledGroup:
    """A filter group resolved for one request; `matches(row)` tests one candidate."""

    match: str
    conditions: tuple[_Resolved, ...]
    snapshot: CatalogSnapshot
    now: float

    def matches(self, row: int) -> bool:
        snap, now = self.snapshot, self.now
        results = (_holds(c, snap.value(row, c.condition.field), now) for c in self.conditions)
        return all(results) if self.match == "All" else any(results)


def compile_group(group: FilterGroup | None, ctx: FilterContext) -> CompiledGroup | None:
    """None when there is no group or every condition was dropped for this request."""
    if group is None:
        return None
    resolved = tuple(r for r in (_resolve(c, ctx) for c in group.conditions) if r is not None)
    if not resolved:
        return None
    return CompiledGroup(group.match, resolved, ctx.snapshot, ctx.now)
