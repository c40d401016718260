"""The shared comparison operators: semantics, tolerance of bad types, operand validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from p13n.domain.errors import InvalidInput
from p13n.domain.operators import Operator, compare, parse_operator, validate_operand

# 2024-05-15 12:00:00 UTC
NOW = datetime(2024, 5, 15, 12, tzinfo=UTC).timestamp()
DAY = 86_400.0


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


def test_operator_names_are_exactly_the_reference_names() -> None:
    assert [op.value for op in Operator] == [
        "Has Value",
        "Has No Value",
        "Is Equal To",
        "Is Not Equal To",
        "Is Less Than",
        "Is Less Than Or Equal To",
        "Is Greater Than",
        "Is Greater Than Or Equal To",
        "Is Between",
        "Is Today",
        "Last Number of Days",
        "Next Number of Days",
        "Is Before Current DateTime",
        "Is After Current DateTime",
        "Is Subset",
        "Match Any",
        "Does Not Match",
    ]


@pytest.mark.parametrize("actual", [None, "", "   ", [], {}, float("nan")])
def test_missing_values_match_only_has_no_value(actual: Any) -> None:
    assert compare("Has No Value", actual, None, now=NOW)
    assert not compare("Has Value", actual, None, now=NOW)
    assert not compare("Is Not Equal To", actual, "x", now=NOW)
    assert not compare("Does Not Match", actual, ["x"], now=NOW)


@pytest.mark.parametrize("actual", [0, False, "a", [1], {"k": 1}])
def test_zero_false_and_non_empty_values_have_a_value(actual: Any) -> None:
    assert compare(Operator.HAS_VALUE, actual, None, now=NOW)


def test_strings_are_equal_case_insensitively() -> None:
    assert compare("Is Equal To", "Gold", "gOLD", now=NOW)
    assert not compare("Is Not Equal To", "Gold", "gold", now=NOW)
    assert compare("Is Not Equal To", "Gold", "Silver", now=NOW)


def test_a_number_equals_its_numeric_string_but_two_strings_compare_as_text() -> None:
    assert compare("Is Equal To", "42", 42, now=NOW)
    assert compare("Is Equal To", 2.0, 2, now=NOW)
    assert not compare("Is Equal To", "007", "7", now=NOW)


def test_booleans_equal_booleans_and_true_false_strings_but_not_numbers() -> None:
    assert compare("Is Equal To", True, "TRUE", now=NOW)
    assert compare("Is Equal To", "false", False, now=NOW)
    assert not compare("Is Equal To", True, 1, now=NOW)


def test_type_mismatches_give_false_instead_of_raising() -> None:
    for op in ("Is Less Than", "Is Greater Than Or Equal To", "Is Equal To"):
        assert not compare(op, {"a": 1}, 3, now=NOW)
        assert not compare(op, "abc", 3, now=NOW)
        assert not compare(op, True, 3, now=NOW)
    assert not compare("Is Between", "abc", [1, 2], now=NOW)
    assert not compare("Is Between", 5, "not a pair", now=NOW)
    assert not compare("Is Today", "yesterday-ish", None, now=NOW)
    assert not compare("Last Number of Days", NOW, "seven", now=NOW)
    assert not compare("Match Any", {"a": 1}, ["a"], now=NOW)


def test_ordering_is_numeric_for_numbers_and_numeric_strings() -> None:
    assert compare("Is Less Than", "9", 10, now=NOW)
    assert compare("Is Greater Than", 10.5, "9", now=NOW)
    assert compare("Is Less Than Or Equal To", 3, 3, now=NOW)
    assert not compare("Is Less Than", 3, 3, now=NOW)
    assert compare("Is Greater Than Or Equal To", 3, 3, now=NOW)


def test_ordering_compares_iso_datetimes_by_time_not_by_text() -> None:
    assert compare("Is Less Than", "2024-05-01T10:00:00+02:00", "2024-05-01T09:30:00Z", now=NOW)
    assert compare("Is Greater Than", ts("2024-05-02T00:00:00"), "2024-05-01", now=NOW)


def test_ordering_two_plain_strings_is_case_insensitive_text_order() -> None:
    assert compare("Is Less Than", "apple", "Banana", now=NOW)


def test_between_includes_both_ends() -> None:
    assert compare("Is Between", 10, [10, 20], now=NOW)
    assert compare("Is Between", 20, [10, 20], now=NOW)
    assert not compare("Is Between", 20.01, [10, 20], now=NOW)
    assert compare("Is Between", "2024-05-10", ["2024-05-01", "2024-05-31T23:59:59Z"], now=NOW)


def test_is_today_is_the_same_utc_day_as_now() -> None:
    assert compare("Is Today", ts("2024-05-15T00:00:00"), None, now=NOW)
    assert compare("Is Today", "2024-05-15T23:59:59Z", None, now=NOW)
    assert not compare("Is Today", "2024-05-14T23:59:59Z", None, now=NOW)


def test_last_number_of_days_counts_today_as_day_one_and_excludes_the_future() -> None:
    assert compare("Last Number of Days", "2024-05-09T00:00:00Z", 7, now=NOW)
    assert not compare("Last Number of Days", "2024-05-08T23:59:59Z", 7, now=NOW)
    assert compare("Last Number of Days", NOW, 1, now=NOW)
    assert not compare("Last Number of Days", NOW + 60, 7, now=NOW)


def test_next_number_of_days_runs_from_now_to_the_end_of_the_last_day() -> None:
    assert compare("Next Number of Days", "2024-05-21T23:59:59Z", 7, now=NOW)
    assert not compare("Next Number of Days", "2024-05-22T00:00:00Z", 7, now=NOW)
    assert not compare("Next Number of Days", NOW - 1, 7, now=NOW)


def test_before_and_after_current_datetime_use_now() -> None:
    assert compare("Is Before Current DateTime", NOW - 1, None, now=NOW)
    assert not compare("Is Before Current DateTime", NOW + 1, None, now=NOW)
    assert compare("Is After Current DateTime", "2030-01-01T00:00:00Z", None, now=NOW)
    assert not compare("Is After Current DateTime", NOW, None, now=NOW)


def test_is_subset_needs_every_actual_value_in_the_given_list() -> None:
    assert compare("Is Subset", ["red", "BLUE"], ["Red", "blue", "green"], now=NOW)
    assert compare("Is Subset", "red", ["red", "blue"], now=NOW)
    assert not compare("Is Subset", ["red", "pink"], ["red", "blue"], now=NOW)


def test_match_any_and_does_not_match_look_for_one_shared_value() -> None:
    assert compare("Match Any", ["shoes", "Bags"], ["bags"], now=NOW)
    assert compare("Match Any", 3, [1, 2, "3"], now=NOW)
    assert not compare("Match Any", ["shoes"], ["bags"], now=NOW)
    assert compare("Does Not Match", ["shoes"], ["bags"], now=NOW)
    assert not compare("Does Not Match", "BAGS", ["bags", "hats"], now=NOW)


def test_an_unknown_operator_name_is_rejected_with_the_valid_names() -> None:
    with pytest.raises(InvalidInput, match="Is Equal To"):
        compare("Equals", 1, 1, now=NOW)
    assert parse_operator("Match Any") is Operator.MATCH_ANY


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("Has Value", None),
        ("Is Today", None),
        ("Is Equal To", "gold"),
        ("Is Not Equal To", False),
        ("Is Less Than", 3),
        ("Is Greater Than", "2024-05-01"),
        ("Is Between", [1, 2.5]),
        ("Is Between", ["2024-01-01", "2024-02-01"]),
        ("Last Number of Days", 7),
        ("Match Any", ["a", 1]),
        ("Is Subset", ["a"]),
    ],
)
def test_well_shaped_operands_pass_validation(operator: str, value: Any) -> None:
    assert validate_operand(operator, value) is Operator(operator)


@pytest.mark.parametrize(
    ("operator", "value", "says"),
    [
        ("Has Value", 1, "takes no value"),
        ("Is Before Current DateTime", "2024-01-01", "takes no value"),
        ("Is Equal To", ["a", "b"], "Match Any"),
        ("Is Equal To", None, "one text, number or boolean"),
        ("Is Greater Than", True, "number, a date-time or a text"),
        ("Is Between", [5], "two values"),
        ("Is Between", [5, 1], "low <= high"),
        ("Is Between", [1, {"x": 2}], "two numbers or date-times"),
        ("Last Number of Days", 0, "at least 1"),
        ("Next Number of Days", "7", "whole number of days"),
        ("Match Any", [], "non-empty list"),
        ("Does Not Match", "bags", "non-empty list"),
        ("Is Subset", [["nested"]], "non-empty list"),
    ],
)
def test_badly_shaped_operands_are_rejected_with_the_expected_shape(
    operator: str, value: Any, says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        validate_operand(operator, value)
