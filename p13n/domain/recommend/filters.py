"""Include / exclude filters and booster rules over candidate rows, with the shared operators.

A condition is first resolved against the request (context variables, the anchor item, the
visitor's history) and then tested per candidate row with `p13n.domain.operators.compare`, so
an operator means exactly what it means in segments and targeting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from p13n.domain.operators import (
    DAY_COUNT_OPERATORS,
    Operator,
    as_timestamp,
    compare,
    has_value,
)
from p13n.domain.recommend.config import FilterCondition, FilterGroup, FilterType
from p13n.domain.recommend.snapshot import BoolArray, CatalogSnapshot, FloatArray

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


_NOW_OPS = frozenset(
    {Operator.IS_TODAY, Operator.IS_BEFORE_CURRENT_DATETIME, Operator.IS_AFTER_CURRENT_DATETIME}
)


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


_CHEAP_UNIQUES = 512
_MASK_CACHE = 256
_ORDER_OPS = {
    Operator.IS_LESS_THAN: np.less,
    Operator.IS_LESS_THAN_OR_EQUAL_TO: np.less_equal,
    Operator.IS_GREATER_THAN: np.greater,
    Operator.IS_GREATER_THAN_OR_EQUAL_TO: np.greater_equal,
}


def _numeric_mask(res: _Resolved, column: FloatArray, now: float) -> BoolArray | None:
    """The condition over a numeric column with numpy, exactly as `compare` decides it; None
    where this shortcut does not apply."""
    if res.from_history:
        return None
    op, expected = res.condition.operator, res.expected
    present: BoolArray = ~np.isnan(column)
    with np.errstate(invalid="ignore"):
        if op is Operator.HAS_VALUE:
            return present
        if op is Operator.HAS_NO_VALUE:
            return ~present
        if op in _ORDER_OPS:
            if isinstance(expected, bool):
                return np.zeros(len(column), dtype=np.bool_)
            bound = as_timestamp(expected)
            if bound is None:
                return np.zeros(len(column), dtype=np.bool_)
            out: BoolArray = _ORDER_OPS[op](column, bound) & present
            return out
        if op is Operator.IS_BETWEEN:
            if not (isinstance(expected, list | tuple) and len(expected) == 2):
                return np.zeros(len(column), dtype=np.bool_)
            low, high = expected
            if isinstance(low, bool) or isinstance(high, bool):
                return np.zeros(len(column), dtype=np.bool_)
            lo, hi = as_timestamp(low), as_timestamp(high)
            if lo is None or hi is None:
                return np.zeros(len(column), dtype=np.bool_)
            return (column >= lo) & (column <= hi) & present
        if op in (Operator.IS_EQUAL_TO, Operator.IS_NOT_EQUAL_TO) and (
            isinstance(expected, int | float) and not isinstance(expected, bool)
        ):
            b = float(expected)
            if not math.isfinite(b):
                return None
            tol = np.maximum(1e-9 * np.maximum(np.abs(column), abs(b)), 1e-9)
            equal = (np.abs(column - b) <= tol) & present
            return equal if op is Operator.IS_EQUAL_TO else present & ~equal
    return None


_MEMBERSHIP = frozenset(
    {
        Operator.IS_EQUAL_TO,
        Operator.IS_NOT_EQUAL_TO,
        Operator.MATCH_ANY,
        Operator.DOES_NOT_MATCH,
        Operator.IS_SUBSET,
    }
)
_NEGATED = frozenset({Operator.IS_NOT_EQUAL_TO, Operator.DOES_NOT_MATCH})


def _text_membership(
    res: _Resolved, snap: CatalogSnapshot, uniques: list[Any], now: float
) -> BoolArray | None:
    """Per distinct value: an (in)equality or membership test against text values, through the
    casefolded text ids (text equals text case-insensitively, always as text). Values that are
    not text are tested one by one; None when the expected values are not all text."""
    op, expected = res.condition.operator, res.expected
    if op not in _MEMBERSHIP:
        return None
    if res.from_history or op in (Operator.MATCH_ANY, Operator.DOES_NOT_MATCH, Operator.IS_SUBSET):
        wanted = list(expected) if isinstance(expected, list | tuple) else [expected]
        wanted = [v for v in wanted if has_value(v)]
        if not wanted:
            return None
    else:
        wanted = [expected]
    if not all(isinstance(v, str) for v in wanted):
        return None
    ids, index = snap.folded_codes(res.condition.field)
    targets = [index[v.casefold()] for v in wanted if v.casefold() in index]
    hit = np.isin(ids, np.asarray(targets, dtype=np.int64))
    text = ids >= 0
    out = (text & ~hit) if op in _NEGATED else hit
    for k in np.flatnonzero(~text).tolist():
        out[k] = _holds(res, uniques[k], now)
    return out


def _cache_key(res: _Resolved) -> tuple[Any, ...] | None:
    if res.condition.operator in DAY_COUNT_OPERATORS or res.condition.operator in _NOW_OPS:
        return None  # depends on the request time
    try:
        expected = orjson.dumps(res.expected, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return (res.condition.field, res.condition.operator, res.from_history, expected)


def _mask(res: _Resolved, ctx: FilterContext, *, force: bool) -> BoolArray | None:
    """The condition as a row mask when that is cheap (numeric column, cached, few distinct
    values) or `force`d; None means: test it row by row on the candidates."""
    snap = ctx.snapshot
    key = _cache_key(res)
    if key is not None and key in snap.masks:
        return snap.masks[key]
    field = res.condition.field
    column = snap.numeric_values(field)
    mask = _numeric_mask(res, column, ctx.now) if column is not None else None
    if mask is None:
        codes, uniques = snap.column_codes(field)
        per_value = _text_membership(res, snap, uniques, ctx.now)
        if per_value is None:
            if (not force or key is None) and len(uniques) > _CHEAP_UNIQUES:
                return None
            per_value = np.fromiter(
                (_holds(res, v, ctx.now) for v in uniques), dtype=np.bool_, count=len(uniques)
            )
        mask = per_value[codes]
    if key is not None:
        if len(snap.masks) >= _MASK_CACHE:
            snap.masks.pop(next(iter(snap.masks)))
        snap.masks[key] = mask
    return mask


@dataclass(frozen=True)
class CompiledGroup:
    """A filter group resolved for one request: conditions that were cheap to evaluate for
    every row are combined in `mask`; the others (`lazy`) are tested per candidate row."""

    match: str
    mask: BoolArray | None
    lazy: tuple[_Resolved, ...]
    snapshot: CatalogSnapshot
    now: float

    def matches(self, row: int) -> bool:
        snap, now = self.snapshot, self.now
        results = (_holds(c, snap.value(row, c.condition.field), now) for c in self.lazy)
        if self.match == "All":
            return (self.mask is None or bool(self.mask[row])) and all(results)
        return (self.mask is not None and bool(self.mask[row])) or any(results)

    @property
    def exact(self) -> bool:
        """True when `mask` alone decides every row."""
        return not self.lazy

    def must_hold(self) -> BoolArray | None:
        """Rows outside this mask cannot match (None: no such bound)."""
        if self.match == "All" or self.exact:
            return self.mask
        return None

    def surely_holds(self) -> BoolArray | None:
        """Rows inside this mask match whatever the lazy conditions say (None: none known)."""
        if self.match == "Any" or self.exact:
            return self.mask
        return None


def compile_group(group: FilterGroup | None, ctx: FilterContext) -> CompiledGroup | None:
    """None when there is no group or every condition was dropped for this request."""
    if group is None:
        return None
    resolved = tuple(r for r in (_resolve(c, ctx) for c in group.conditions) if r is not None)
    if not resolved:
        return None
    combined: BoolArray | None = None
    lazy: list[_Resolved] = []
    for res in resolved:
        static = (
            res.condition.type is FilterType.STATIC and variable_name(res.condition.value) is None
        )
        no_history = res.from_history and not res.expected  # cached under its empty list
        m = _mask(res, ctx, force=static or no_history)
        if m is None:
            lazy.append(res)
        elif combined is None:
            combined = m
        else:
            combined = combined & m if group.match == "All" else combined | m
    return CompiledGroup(group.match, combined, tuple(lazy), ctx.snapshot, ctx.now)
