"""Comparison operators of segment rules, decision targeting and recommender filters, defined once.

Semantics shared by every operator (so that a rule means the same thing everywhere):

- A missing actual value (None, "", empty list or dict) matches only `Has No Value`; every other
  operator is False for it, as in SQL where NULL never compares. Write `Has No Value` Any-ed with
  the comparison when "missing or 0" is meant.
- Nothing raises on a type mismatch: values that cannot be compared give False. `Is Not Equal To`
  is the negation of `Is Equal To` on present values, so "abc" is not equal to 5.
- Equality: strings case-insensitively, numbers numerically (a number and a numeric string
  compare as numbers, two strings always as text so that "007" is not "7"), booleans with
  booleans or with the strings "true" / "false".
- Ordering: numbers (or numeric strings) numerically; otherwise date-times (epoch seconds or
  ISO 8601, naive = UTC) by time; otherwise two strings case-insensitively; otherwise False.
- Date operators take epoch seconds (UTC) or ISO 8601 strings and count whole UTC days with today
  as day 1, like insight windows: `Last Number of Days` N is [start of day today-N+1, now],
  `Next Number of Days` N is [now, end of day today+N-1].
- List operators (`Is Subset`, `Match Any`, `Does Not Match`) take a scalar or a list as actual
  and use the equality above for membership.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from p13n.domain.errors import InvalidInput
from p13n.domain.timeutil import DAY, day_index, to_ts, window_start

__all__ = [
    "Operator",
    "NO_VALUE_OPERATORS",
    "ORDER_OPERATORS",
    "DAY_COUNT_OPERATORS",
    "LIST_OPERATORS",
    "compare",
    "parse_operator",
    "validate_operand",
    "has_value",
    "as_timestamp",
]


class Operator(StrEnum):
    """The operator names of the reference product; the string value is the wire name."""

    HAS_VALUE = "Has Value"
    HAS_NO_VALUE = "Has No Value"
    IS_EQUAL_TO = "Is Equal To"
    IS_NOT_EQUAL_TO = "Is Not Equal To"
    IS_LESS_THAN = "Is Less Than"
    IS_LESS_THAN_OR_EQUAL_TO = "Is Less Than Or Equal To"
    IS_GREATER_THAN = "Is Greater Than"
    IS_GREATER_THAN_OR_EQUAL_TO = "Is Greater Than Or Equal To"
    IS_BETWEEN = "Is Between"
    IS_TODAY = "Is Today"
    LAST_NUMBER_OF_DAYS = "Last Number of Days"
    NEXT_NUMBER_OF_DAYS = "Next Number of Days"
    IS_BEFORE_CURRENT_DATETIME = "Is Before Current DateTime"
    IS_AFTER_CURRENT_DATETIME = "Is After Current DateTime"
    IS_SUBSET = "Is Subset"
    MATCH_ANY = "Match Any"
    DOES_NOT_MATCH = "Does Not Match"


NO_VALUE_OPERATORS = frozenset(
    {
        Operator.HAS_VALUE,
        Operator.HAS_NO_VALUE,
        Operator.IS_TODAY,
        Operator.IS_BEFORE_CURRENT_DATETIME,
        Operator.IS_AFTER_CURRENT_DATETIME,
    }
)
ORDER_OPERATORS = frozenset(
    {
        Operator.IS_LESS_THAN,
        Operator.IS_LESS_THAN_OR_EQUAL_TO,
        Operator.IS_GREATER_THAN,
        Operator.IS_GREATER_THAN_OR_EQUAL_TO,
    }
)
DAY_COUNT_OPERATORS = frozenset({Operator.LAST_NUMBER_OF_DAYS, Operator.NEXT_NUMBER_OF_DAYS})
LIST_OPERATORS = frozenset({Operator.IS_SUBSET, Operator.MATCH_ANY, Operator.DOES_NOT_MATCH})
_SCALARS = (str, int, float, bool)


def parse_operator(name: str | Operator) -> Operator:
    """The operator with this exact name, or InvalidInput listing the valid names."""
    try:
        return Operator(name)
    except ValueError:
        valid = ", ".join(repr(op.value) for op in Operator)
        raise InvalidInput(f"unknown operator {name!r}.", hint=f"Use one of: {valid}.") from None


def has_value(value: Any) -> bool:
    """None, blank strings and empty collections count as no value."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, list | tuple | set | frozenset | dict):
        return len(value) > 0
    return not (isinstance(value, float) and math.isnan(value))


def compare(operator: Operator | str, actual: Any, expected: Any, *, now: float) -> bool:
    """Whether `actual` satisfies `operator expected` at time `now` (UTC epoch seconds)."""
    op = parse_operator(operator)
    if op is Operator.HAS_VALUE:
        return has_value(actual)
    if op is Operator.HAS_NO_VALUE:
        return not has_value(actual)
    if not has_value(actual):
        return False
    if op is Operator.IS_EQUAL_TO:
        return _equal(actual, expected)
    if op is Operator.IS_NOT_EQUAL_TO:
        return not _equal(actual, expected)
    if op in ORDER_OPERATORS:
        return _ordered(op, actual, expected)
    if op is Operator.IS_BETWEEN:
        return _between(actual, expected)
    if op in LIST_OPERATORS:
        return _list_match(op, actual, expected)
    return _date_match(op, actual, expected, now)


def validate_operand(operator: Operator | str, value: Any) -> Operator:
    """Check that `value` has the shape `operator` needs; returns the parsed operator.

    Raises InvalidInput saying which shape was expected, so a config error is caught when the
    rule is saved rather than silently never matching.
    """
    op = parse_operator(operator)
    if op in NO_VALUE_OPERATORS:
        if value is not None:
            raise InvalidInput(
                f"operator {op.value!r} takes no value, got {value!r}.",
                hint="Omit the value or set it to null.",
            )
    elif op in (Operator.IS_EQUAL_TO, Operator.IS_NOT_EQUAL_TO):
        if not isinstance(value, _SCALARS):
            raise InvalidInput(
                f"operator {op.value!r} needs one text, number or boolean value, got {value!r}.",
                hint="For a list of values use 'Match Any' or 'Does Not Match'.",
            )
    elif op in ORDER_OPERATORS:
        if not _orderable_operand(value):
            raise InvalidInput(
                f"operator {op.value!r} needs a number, a date-time or a text value, got {value!r}."
            )
    elif op is Operator.IS_BETWEEN:
        _validate_between(value)
    elif op in DAY_COUNT_OPERATORS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInput(
                f"operator {op.value!r} needs a whole number of days of at least 1, got {value!r}."
            )
    elif not (isinstance(value, list) and value and all(isinstance(v, _SCALARS) for v in value)):
        raise InvalidInput(
            f"operator {op.value!r} needs a non-empty list of text, number or boolean values, "
            f"got {value!r}."
        )
    return op


def _orderable_operand(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    return isinstance(value, str) and value.strip() != ""


def _validate_between(value: Any) -> None:
    shape_hint = "Give [low, high], both numbers or both date-times; both ends are included."
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise InvalidInput(
            f"operator 'Is Between' needs a list of two values, got {value!r}.", hint=shape_hint
        )
    low, high = value
    if not (_orderable_operand(low) and _orderable_operand(high)):
        raise InvalidInput(
            f"operator 'Is Between' needs two numbers or date-times, got {value!r}.",
            hint=shape_hint,
        )
    pair = _comparable(low, high)
    if pair is None:
        raise InvalidInput(
            f"the two ends of 'Is Between' are not comparable: {value!r}.", hint=shape_hint
        )
    if pair[0] > pair[1]:
        raise InvalidInput(
            f"'Is Between' needs low <= high, got {value!r}.", hint="Swap the two ends."
        )


def _as_number(value: Any) -> float | None:
    """A finite float for numbers and numeric strings; None otherwise (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_timestamp(value: Any) -> float | None:
    """UTC epoch seconds from epoch seconds, a numeric string, a datetime or an ISO 8601 string."""
    number = _as_number(value)
    if number is not None:
        return number
    if isinstance(value, datetime):
        return to_ts(value)
    if isinstance(value, date):
        return to_ts(datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return to_ts(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return _bool_of(actual) is not None and _bool_of(actual) == _bool_of(expected)
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.casefold() == expected.casefold()
    if isinstance(actual, int | float | str) and isinstance(expected, int | float | str):
        left, right = _as_number(actual), _as_number(expected)
        return (
            left is not None
            and right is not None
            and math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
        )
    return False


def _bool_of(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in ("true", "false"):
        return value.strip().casefold() == "true"
    return None


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both as numbers, else both as timestamps, else both as folded text; None if neither."""
    if isinstance(left, bool) or isinstance(right, bool):
        return None
    a, b = _as_number(left), _as_number(right)
    if a is not None and b is not None:
        return a, b
    if isinstance(left, str | datetime | int | float) and isinstance(
        right, str | datetime | int | float
    ):
        ta, tb = as_timestamp(left), as_timestamp(right)
        if ta is not None and tb is not None:
            return ta, tb
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold(), right.casefold()
    return None


def _ordered(op: Operator, actual: Any, expected: Any) -> bool:
    pair = _comparable(actual, expected)
    if pair is None:
        return False
    a, b = pair
    if op is Operator.IS_LESS_THAN:
        return bool(a < b)
    if op is Operator.IS_LESS_THAN_OR_EQUAL_TO:
        return bool(a <= b)
    if op is Operator.IS_GREATER_THAN:
        return bool(a > b)
    return bool(a >= b)


def _between(actual: Any, expected: Any) -> bool:
    if not (isinstance(expected, list | tuple) and len(expected) == 2):
        return False
    low, high = expected
    return _ordered(Operator.IS_GREATER_THAN_OR_EQUAL_TO, actual, low) and _ordered(
        Operator.IS_LESS_THAN_OR_EQUAL_TO, actual, high
    )


def _values(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return [v for v in value if has_value(v)]
    return [value] if has_value(value) else []


def _contains(haystack: Iterable[Any], needle: Any) -> bool:
    return any(_equal(needle, candidate) for candidate in haystack)


def _list_match(op: Operator, actual: Any, expected: Any) -> bool:
    given = _values(expected)
    mine = _values(actual)
    if not mine:
        return False
    if op is Operator.IS_SUBSET:
        return all(_contains(given, v) for v in mine)
    shared = any(_contains(given, v) for v in mine)
    return shared if op is Operator.MATCH_ANY else not shared


def _date_match(op: Operator, actual: Any, expected: Any, now: float) -> bool:
    ts = as_timestamp(actual)
    if ts is None:
        return False
    if op is Operator.IS_TODAY:
        return day_index(ts) == day_index(now)
    if op is Operator.IS_BEFORE_CURRENT_DATETIME:
        return ts < now
    if op is Operator.IS_AFTER_CURRENT_DATETIME:
        return ts > now
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 1:
        return False
    if op is Operator.LAST_NUMBER_OF_DAYS:
        return window_start(now, int(expected)) <= ts <= now
    end = (day_index(now) + int(expected)) * DAY
    return now <= ts < end
