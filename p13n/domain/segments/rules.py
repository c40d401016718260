"""Segment rules as data: nested All / Any groups of conditions on one profile data graph."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from p13n.domain.errors import InvalidInput
from p13n.domain.graphs import RECENT_ENGAGEMENT_DAYS
from p13n.domain.operators import (
    DAY_COUNT_OPERATORS,
    NO_VALUE_OPERATORS,
    ORDER_OPERATORS,
    Operator,
    validate_operand,
)

__all__ = [
    "Source",
    "Condition",
    "RuleGroup",
    "Rule",
    "SegmentDefinition",
    "DEFAULT_SEGMENTS",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "referenced_segments",
    "validate_segment_set",
]

Source = Literal["attribute", "insight", "engagement", "affinity", "segment"]
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
MAX_CONDITIONS = 50
MAX_DEPTH = 5
_NUMBER_OPERATORS = ORDER_OPERATORS | {
    Operator.IS_EQUAL_TO,
    Operator.IS_NOT_EQUAL_TO,
    Operator.IS_BETWEEN,
}
_SEGMENT_OPERATORS = (
    NO_VALUE_OPERATORS | DAY_COUNT_OPERATORS | {Operator.IS_EQUAL_TO, Operator.IS_NOT_EQUAL_TO}
)


class Condition(BaseModel):
    """One comparison: `operator value` applied to a value read from the profile.

    - attribute: `profile.attributes[field]`
    - insight: `profile.insights[field]`, or `[field][key]` for a dimensioned insight
    - engagement: how many recent engagement entries have interaction == field within the last
      `window_days` x 24 h of now (default and maximum 30, what the profile keeps)
    - affinity: `profile.affinities[field][key]`, field `category` or `brand`, 0-100
    - segment: membership of segment `field`; Has Value / Has No Value = member or not, date
      operators test when it was entered, Is (Not) Equal To takes true / false
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    field: str = Field(min_length=1, max_length=200)
    key: str | None = Field(default=None, min_length=1)
    operator: Operator
    value: Any = None
    window_days: int | None = Field(default=None, ge=1, le=RECENT_ENGAGEMENT_DAYS)

    @model_validator(mode="after")
    def _check(self) -> Condition:
        try:
            validate_operand(self.operator, self.value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        if self.key is not None and self.source not in ("insight", "affinity"):
            raise ValueError(
                f"'key' is only for insight and affinity conditions, not {self.source}"
            )
        if self.window_days is not None and self.source != "engagement":
            raise ValueError("'window_days' is only for engagement conditions")
        if self.source == "engagement":
            self._check_numeric("an engagement count")
        elif self.source == "affinity":
            if self.field not in ("category", "brand"):
                raise ValueError(
                    f"affinity field must be 'category' or 'brand', got {self.field!r}"
                )
            if self.key is None:
                raise ValueError("an affinity condition needs 'key': the category or brand value")
            if self.operator not in (Operator.HAS_VALUE, Operator.HAS_NO_VALUE):
                self._check_numeric("an affinity score (0-100)")
        elif self.source == "segment":
            self._check_segment()
        return self

    def _check_numeric(self, what: str) -> None:
        if self.operator not in _NUMBER_OPERATORS:
            raise ValueError(
                f"{what} is a number: use Is Equal To, Is Not Equal To, Is Less Than (Or Equal "
                f"To), Is Greater Than (Or Equal To) or Is Between, not {self.operator.value!r}"
            )
        ends = self.value if isinstance(self.value, list) else [self.value]
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in ends):
            raise ValueError(f"{what} is compared with numbers, got {self.value!r}")

    def _check_segment(self) -> None:
        if self.operator not in _SEGMENT_OPERATORS:
            raise ValueError(
                "a segment condition uses Has Value (member), Has No Value (not a member), "
                "Is Equal To true / false, or a date operator on when it was entered, "
                f"not {self.operator.value!r}"
            )
        is_equality = self.operator in (Operator.IS_EQUAL_TO, Operator.IS_NOT_EQUAL_TO)
        if is_equality and not isinstance(self.value, bool):
            raise ValueError("segment membership is compared with true or false")


def _rule_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "group" if "rules" in value or "type" in value else "condition"
    return "group" if isinstance(value, RuleGroup) else "condition"


Rule = Annotated[
    Annotated[Condition, Tag("condition")] | Annotated["RuleGroup", Tag("group")],
    Discriminator(_rule_kind),
]


class RuleGroup(BaseModel):
    """`All` rules hold, or `Any` rule holds; groups nest up to MAX_DEPTH levels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["All", "Any"]
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_size(self) -> RuleGroup:
        if _count_conditions(self) > MAX_CONDITIONS:
            raise ValueError(f"a rule has at most {MAX_CONDITIONS} conditions")
        if _depth(self) > MAX_DEPTH:
            raise ValueError(f"rule groups nest at most {MAX_DEPTH} levels deep")
        return self


class SegmentDefinition(BaseModel):
    """A named rule; a profile is a member while the rule holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="Identifier-like, at most 64 characters")
    description: str = ""
    rule: RuleGroup

    @model_validator(mode="after")
    def _not_self_referencing(self) -> SegmentDefinition:
        if self.name in referenced_segments(self.rule):
            raise ValueError(f"segment {self.name!r} cannot depend on its own membership")
        return self


def _count_conditions(group: RuleGroup) -> int:
    return sum(_count_conditions(r) if isinstance(r, RuleGroup) else 1 for r in group.rules)


def _depth(group: RuleGroup) -> int:
    return 1 + max((_depth(r) for r in group.rules if isinstance(r, RuleGroup)), default=0)


def referenced_segments(rule: RuleGroup | Condition) -> set[str]:
    """Names of the segments whose membership this rule reads."""
    if isinstance(rule, Condition):
        return {rule.field} if rule.source == "segment" else set()
    names: set[str] = set()
    for child in rule.rules:
        names |= referenced_segments(child)
    return names


def validate_segment_set(segments: Iterable[SegmentDefinition]) -> None:
    """Names unique and no membership cycle (a -> b -> a), which could never settle."""
    by_name: dict[str, SegmentDefinition] = {}
    for segment in segments:
        if segment.name in by_name:
            raise InvalidInput(
                f"two segments are named {segment.name!r}.", hint="Give each a unique name."
            )
        by_name[segment.name] = segment
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done" or name not in by_name:
            return
        if state.get(name) == "open":
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise InvalidInput(
                f"segments depend on each other in a cycle: {cycle}.",
                hint="Remove one of the segment conditions in the cycle.",
            )
        state[name] = "open"
        for ref in sorted(referenced_segments(by_name[name].rule)):
            visit(ref, [*path, name])
        state[name] = "done"

    for name in by_name:
        visit(name, [])


def _segment(name: str, description: str, rule: dict[str, Any]) -> SegmentDefinition:
    return SegmentDefinition.model_validate(
        {"name": name, "description": description, "rule": rule}
    )


def _insight(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"source": "insight", "field": field, "operator": operator, "value": value}


DEFAULT_SEGMENTS: tuple[SegmentDefinition, ...] = (
    _segment(
        "big_spenders",
        "Lifetime revenue of 200 or more.",
        {
            "type": "All",
            "rules": [_insight("lifetime_revenue", "Is Greater Than Or Equal To", 200)],
        },
    ),
    _segment(
        "repeat_buyers",
        "Two or more distinct orders.",
        {"type": "All", "rules": [_insight("order_count", "Is Greater Than Or Equal To", 2)]},
    ),
    _segment(
        "window_shoppers",
        "Ten or more catalog views in the last 7 days and never bought.",
        {
            "type": "All",
            "rules": [
                _insight("views_7d", "Is Greater Than Or Equal To", 10),
                {
                    "type": "Any",
                    "rules": [
                        _insight("order_count", "Has No Value"),
                        _insight("order_count", "Is Equal To", 0),
                    ],
                },
            ],
        },
    ),
    _segment(
        "cart_abandoners",
        "Added to cart in the last 7 days (rolling) without buying in that time.",
        {
            "type": "All",
            "rules": [
                {
                    "source": "engagement",
                    "field": "Add To Cart",
                    "window_days": 7,
                    "operator": "Is Greater Than Or Equal To",
                    "value": 1,
                },
                {
                    "source": "engagement",
                    "field": "Purchase",
                    "window_days": 7,
                    "operator": "Is Equal To",
                    "value": 0,
                },
            ],
        },
    ),
    _segment(
        "womens_fashion_fans",
        "Category 'Women' scores 60 or more of their strongest category affinity.",
        {
            "type": "All",
            "rules": [
                {
                    "source": "affinity",
                    "field": "category",
                    "key": "Women",
                    "operator": "Is Greater Than Or Equal To",
                    "value": 60,
                }
            ],
        },
    ),
    _segment(
        "electronics_fans",
        "Category 'Electronics' scores 60 or more of their strongest category affinity.",
        {
            "type": "All",
            "rules": [
                {
                    "source": "affinity",
                    "field": "category",
                    "key": "Electronics",
                    "operator": "Is Greater Than Or Equal To",
                    "value": 60,
                }
            ],
        },
    ),
)
