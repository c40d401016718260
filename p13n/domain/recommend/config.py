"""Recommender configuration as data: one frozen pydantic model per recommender, stored and CRUD-ed.

Every model rejects unknown keys and is immutable; randomness (exploration) comes only from
`seed`. The algorithm part is a tagged union on `algorithm`; filters, switches, output rules,
diversity and boosters are shared by every algorithm and applied outside it (`ranking.py`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import ITEM_FIELDS
from p13n.domain.operators import (
    DAY_COUNT_OPERATORS,
    NO_VALUE_OPERATORS,
    Operator,
    validate_operand,
)

__all__ = [
    "RecipeConfig",
    "FilterType",
    "FilterCondition",
    "FilterGroup",
    "Switches",
    "Diversity",
    "Booster",
    "Objective",
    "AlgorithmConfig",
    "RecommenderConfig",
    "DEFAULT_RECOMMENDERS",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_CONDITIONS",
    "INSIGHT_FIELDS",
    "PROFILE_SOURCES",
    "check_item_field",
]

DEFAULT_LIMIT = 12
MAX_LIMIT = 24
MAX_CONDITIONS = 10
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
INSIGHT_FIELDS = frozenset(
    {
        "views_1d",
        "views_7d",
        "views_30d",
        "views_total",
        "units_sold_1d",
        "units_sold_7d",
        "units_sold_30d",
        "units_sold_total",
        "revenue_30d",
        "revenue_total",
        "trending_score",
    }
)
# Where a Profile Data Graph condition takes its values: <history>.<item field>.
PROFILE_SOURCES = frozenset({"viewed", "purchased", "cart", "engaged"})


def check_item_field(field: str) -> str:
    """A filterable item field: a catalog field, `attributes.<key>` or `insights.<insight>`."""
    if field in ITEM_FIELDS:
        return field
    head, _, rest = field.partition(".")
    if head == "attributes" and rest:
        return field
    if head == "insights" and rest in INSIGHT_FIELDS:
        return field
    raise ValueError(
        f"unknown item field {field!r}; use one of {sorted(ITEM_FIELDS)}, 'attributes.<key>' "
        f"or 'insights.<name>' with name in {sorted(INSIGHT_FIELDS)}"
    )


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilterType(StrEnum):
    STATIC = "Static"
    DECISION_CONTEXT = "Decision Context"
    PROFILE_DATA_GRAPH = "Profile Data Graph"


class FilterCondition(_Frozen):
    """`<item field> <operator> <value>`; where the value comes from depends on `type`.

    Static: `value` itself, or `{!name}` for the request's context variable `name` (a missing
    variable drops the condition). Decision Context: the anchor item's `anchor_field` (default:
    the same field; no anchor drops the condition). Profile Data Graph: the values of
    `profile_field` (`viewed|purchased|cart|engaged.<item field>`) over the visitor's history;
    a scalar operator holds if it holds for any of them (Is Not Equal To: for none), Is Between
    spans their minimum and maximum.
    """

    type: FilterType = FilterType.STATIC
    field: str
    operator: Operator
    value: Any = None
    anchor_field: str | None = None
    profile_field: str | None = None

    @model_validator(mode="after")
    def _check(self) -> FilterCondition:
        check_item_field(self.field)
        if self.type is FilterType.STATIC:
            if not _is_variable(self.value):
                try:
                    validate_operand(self.operator, self.value)
                except InvalidInput as exc:
                    raise ValueError(str(exc)) from None
            return self
        if self.operator in NO_VALUE_OPERATORS or self.operator in DAY_COUNT_OPERATORS:
            raise ValueError(
                f"operator {self.operator.value!r} takes no value from the anchor or the "
                "history; use a Static condition"
            )
        if self.value is not None:
            raise ValueError(f"a {self.type.value} condition takes no 'value'")
        if self.type is FilterType.DECISION_CONTEXT:
            check_item_field(self.anchor_field or self.field)
        else:
            source, _, field = (self.profile_field or "").partition(".")
            if source not in PROFILE_SOURCES or not field:
                raise ValueError(
                    f"profile_field must be <history>.<item field> with history one of "
                    f"{sorted(PROFILE_SOURCES)}, got {self.profile_field!r}"
                )
            check_item_field(field)
        return self


def _is_variable(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{!") and value.endswith("}")


class FilterGroup(_Frozen):
    match: Literal["All", "Any"] = "All"
    conditions: list[FilterCondition] = Field(min_length=1, max_length=MAX_CONDITIONS)


class Switches(_Frozen):
    exclude_purchased: bool = True
    exclude_viewed_days: int | None = Field(default=None, ge=1, le=365)
    in_stock_only: bool = True
    exclude_in_cart: bool = Field(
        default=False,
        description="Drop items in the visitor's open cart (on for the personal defaults).",
    )

    def stricter(self, other: Switches) -> Switches:
        """Both at once (what either excludes stays excluded): a fallback runs under its own
        switches and those of every recommender before it in the chain."""
        days = [d for d in (self.exclude_viewed_days, other.exclude_viewed_days) if d is not None]
        return Switches.model_construct(  # both are valid already
            exclude_purchased=self.exclude_purchased or other.exclude_purchased,
            exclude_viewed_days=max(days) if days else None,
            in_stock_only=self.in_stock_only or other.in_stock_only,
            exclude_in_cart=self.exclude_in_cart or other.exclude_in_cart,
        )


class Diversity(_Frozen):
    """At most `max_per_value` items per value of `field`; with `weight` > 0, also a re-ranking
    that trades relevance for variety (`ranking.diversify`): each next slot goes to the best
    of relevance (the score scaled to 0..1 over the candidates) minus `weight` times the
    items of its value already shown, so an item passes a better one of a shown value only
    when it is within `weight` of it per item shown (the relevance floor)."""

    field: Literal["category", "top_category", "brand"] = "category"
    max_per_value: int = Field(default=3, ge=1, le=MAX_LIMIT)
    weight: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="0: the cap alone; up to 1: relevance given up per item of a value already shown.",
    )


class Booster(_Frozen):
    """Multiply the score of items matching `when` by `factor` (>1 promotes, <1 demotes)."""

    when: FilterGroup
    factor: float = Field(gt=0, le=100)
    label: str | None = Field(default=None, max_length=80)


class Objective(StrEnum):
    MAXIMIZE_CLICKS = "Maximize Clicks"
    MAXIMIZE_REVENUE = "Maximize Revenue"
    MAXIMIZE_REVENUE_WITH_PROMOTIONS = "Maximize Revenue with Promotions"
    CUSTOM = "Custom"


class _Window(_Frozen):
    window_days: Literal[1, 7, 30] | None = Field(
        default=30, description="1, 7 or 30 UTC days; null for all time."
    )


class TopSellers(_Window):
    algorithm: Literal["top-sellers"] = "top-sellers"


class MostViewed(_Window):
    algorithm: Literal["most-viewed"] = "most-viewed"


class Trending(_Frozen):
    algorithm: Literal["trending"] = "trending"


class Newest(_Frozen):
    algorithm: Literal["newest"] = "newest"


class RecentlyViewed(_Frozen):
    algorithm: Literal["recently-viewed"] = "recently-viewed"


class CoBought(_Frozen):
    algorithm: Literal["co-bought"] = "co-bought"


class CoViewed(_Frozen):
    algorithm: Literal["co-viewed"] = "co-viewed"


class SimilarItems(_Frozen):
    algorithm: Literal["similar-items"] = "similar-items"


class SortBy(_Frozen):
    algorithm: Literal["sort-by"] = "sort-by"
    field: str
    descending: bool = True

    @model_validator(mode="after")
    def _check(self) -> SortBy:
        check_item_field(self.field)
        return self


class ObjectiveBased(_Frozen):
    """A learned model (see `model.py`) ranking by the objective's expected value."""

    algorithm: Literal["objective"] = "objective"
    objective: Objective = Objective.MAXIMIZE_CLICKS
    signal: str | None = Field(
        default=None, description="Custom: the interaction name whose probability is optimized."
    )
    direction: Literal["maximize", "minimize"] = "maximize"
    promotion_field: str = "attributes.promoted"
    promotion_factor: float = Field(default=1.5, gt=0, le=100)
    exploration: float = Field(default=0.05, ge=0, le=0.5)
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> ObjectiveBased:
        if (self.objective is Objective.CUSTOM) != (self.signal is not None):
            raise ValueError("'signal' is required for the Custom objective and only there")
        check_item_field(self.promotion_field)
        return self


# The rule-based recipes; with the objective-based model they make every algorithm.
RecipeConfig = (
    TopSellers
    | MostViewed
    | Trending
    | Newest
    | RecentlyViewed
    | CoBought
    | CoViewed
    | SimilarItems
    | SortBy
)
AlgorithmConfig = Annotated[RecipeConfig | ObjectiveBased, Field(discriminator="algorithm")]


class RecommenderConfig(_Frozen):
    name: str = Field(pattern=NAME_PATTERN)
    label: str | None = Field(default=None, max_length=120)
    recipe: AlgorithmConfig
    include: FilterGroup | None = None
    exclude: FilterGroup | None = None
    switches: Switches = Field(default_factory=Switches)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    fallback: str | None = Field(default="top-sellers", pattern=NAME_PATTERN)
    diversity: Diversity | None = None
    boosters: list[Booster] = Field(default_factory=list, max_length=MAX_CONDITIONS)

    @model_validator(mode="after")
    def _check(self) -> RecommenderConfig:
        if self.fallback == self.name:
            raise ValueError("a recommender cannot be its own fallback")
        return self


# A light re-ranking and a loose cap instead of the hard cap of 4 per category, which cost 2.7%
# of validation NDCG@10 on MovieLens-1M (re-ranking at 0.02: 0.0%; cap of 6: 1.0%); what each
# costs on a tenant's own data is in every `p13n train` run (`rule_costs.py`).
SHIPPED_DIVERSITY = {"field": "category", "max_per_value": 8, "weight": 0.02}


def _default(name: str, recipe: dict[str, Any], **extra: Any) -> RecommenderConfig:
    return RecommenderConfig.model_validate({"name": name, "recipe": recipe, **extra})


DEFAULT_RECOMMENDERS: tuple[RecommenderConfig, ...] = (
    _default("top-sellers", {"algorithm": "top-sellers"}, fallback="most-viewed"),
    _default("most-viewed", {"algorithm": "most-viewed"}, fallback="newest"),
    _default("trending", {"algorithm": "trending"}),
    _default("newest", {"algorithm": "newest"}, fallback=None),
    _default("recently-viewed", {"algorithm": "recently-viewed"}, fallback=None),
    _default("bought-together", {"algorithm": "co-bought"}, fallback="similar-items"),
    _default("viewed-together", {"algorithm": "co-viewed"}, fallback="similar-items"),
    _default("similar-items", {"algorithm": "similar-items"}),
    _default(
        "recommended-for-you",
        {"algorithm": "objective", "objective": "Maximize Clicks"},
        switches={"exclude_viewed_days": 1, "exclude_in_cart": True},
        diversity=SHIPPED_DIVERSITY,
    ),
    _default(
        "revenue-for-you",
        {"algorithm": "objective", "objective": "Maximize Revenue"},
        switches={"exclude_viewed_days": 1, "exclude_in_cart": True},
        diversity=SHIPPED_DIVERSITY,
    ),
)
