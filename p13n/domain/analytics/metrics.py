"""Experiment metrics as data: what is measured per unit, defined once and validated when saved.

A metric reduces the events of one unit (after its first exposure, within the attribution
window) to a number, then the cohort's units to sufficient statistics:

- `count`: matching events; `sum`: a numeric field summed over them; `distinct`: distinct values
  of a key field; `proportion`: 1 when the unit has at least one matching event, else 0 (a rate,
  read with the beta–binomial model);
- `ratio`: Σ numerator / Σ denominator over the cohort's units, each part a count, sum or
  distinct; the unit, not the event, is the independent draw, so the variance comes from the
  delta method (`sufficient.RatioStats`).

Event names are free text: the event log's interaction (`Purchase`, `Add To Cart`, any custom
interaction), plus two names the experiment itself supplies, from the journeys: `impression`
(a shown exposure of this experiment) and `click` (a click on one of its personalizations).
Fields are a closed set, so that a typo is refused when the metric is saved instead of
silently measuring 0: numeric `value`, `quantity`, `price` and `revenue` (the line's value,
else price × quantity with quantity 1 when missing: the rule of `journeys.py`), and key fields
`order_id` (else the event id: a line without an order is its own order) and `item_id`. An
event whose field is missing counts 0 (nothing for `distinct`) and the results say how many.

The seven built-in metrics carry the names of `decisions.experiments.Metric`, so experiments
keep naming them; their definitions, as Salesforce Personalization and Marketing Cloud
Personalization describe their campaign statistics:
- Click-Through Rate: clicks / impressions (ratio, the KPIs' CTR);
- Conversion Rate: units that placed an order / units exposed (proportion of `Purchase`);
- Add To Cart Rate: units that added to cart / units exposed (proportion of `Add To Cart`);
- Revenue Per Visitor: order revenue per unit exposed (sum of `revenue` over `Purchase`);
- Average Order Value: order revenue / orders (ratio of that sum to distinct order ids);
- Orders: orders per unit (distinct `order_id` of `Purchase`);
- Revenue: order revenue; cohorts of different sizes are compared per unit, so its tests are
  Revenue Per Visitor's, while its cohort figures show the totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from p13n.domain.analytics.journeys import CART_INTERACTION, ORDER_INTERACTION
from p13n.domain.errors import InvalidInput

__all__ = [
    "MetricKind",
    "PartKind",
    "MetricField",
    "NUMERIC_FIELDS",
    "KEY_FIELDS",
    "IMPRESSION",
    "CLICK",
    "MetricPart",
    "MetricDefinition",
    "BUILT_IN_METRICS",
    "BUILT_IN_METRIC_NAMES",
    "parse_metric",
    "resolve_metrics",
    "validated",
]

MetricKind = Literal["count", "sum", "distinct", "proportion", "ratio"]
PartKind = Literal["count", "sum", "distinct"]
MetricField = Literal["value", "quantity", "price", "revenue", "order_id", "item_id"]
NUMERIC_FIELDS: frozenset[str] = frozenset({"value", "quantity", "price", "revenue"})
KEY_FIELDS: frozenset[str] = frozenset({"order_id", "item_id"})
IMPRESSION = "impression"
CLICK = "click"
EXPOSURE_EVENTS = frozenset({IMPRESSION, CLICK})

_Model = TypeVar("_Model", bound=BaseModel)


def validated(model: type[_Model], data: Any, what: str) -> _Model:
    """`model` from `data`, or InvalidInput naming the first problems (never a bare
    ValidationError: the faces answer InvalidInput with a 4xx)."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or what
            parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise InvalidInput(f"the {what} does not validate: " + "; ".join(parts)) from None


def _check_part(kind: str, events: tuple[str, ...], field: str | None, where: str) -> None:
    if not events:
        raise ValueError(f"{where}needs events: interaction names such as 'Purchase'")
    if any(not e.strip() for e in events):
        raise ValueError(f"{where}event names must not be blank")
    if kind in ("count", "proportion"):
        if field is not None:
            raise ValueError(
                f"{where}{kind!r} counts matching events and takes no field; use 'sum' for a"
                " numeric field or 'distinct' for a key field"
            )
        return
    wanted = NUMERIC_FIELDS if kind == "sum" else KEY_FIELDS
    if field not in wanted:
        raise ValueError(
            f"{where}{kind!r} needs a field among {', '.join(sorted(wanted))}, got {field!r}"
        )
    if EXPOSURE_EVENTS.intersection(events):
        raise ValueError(
            f"{where}'impression' and 'click' carry no fields; count them instead of {kind!r}"
        )


class MetricPart(BaseModel):
    """The numerator or denominator of a ratio: a count, sum or distinct per unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: PartKind
    events: tuple[str, ...]
    field: MetricField | None = None

    @model_validator(mode="after")
    def _check(self) -> MetricPart:
        _check_part(self.kind, self.events, self.field, "")
        return self


class MetricDefinition(BaseModel):
    """One metric. `higher_is_better` says which way is good (False for, say, returns): the
    chance to beat the control and the verdict read it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=500)
    kind: MetricKind
    events: tuple[str, ...] = ()
    field: MetricField | None = None
    numerator: MetricPart | None = None
    denominator: MetricPart | None = None
    higher_is_better: bool = Field(default=True, alias="higherIsBetter")

    @model_validator(mode="after")
    def _check(self) -> MetricDefinition:
        if self.kind == "ratio":
            if self.numerator is None or self.denominator is None:
                raise ValueError("a 'ratio' needs a numerator and a denominator")
            if self.events or self.field is not None:
                raise ValueError(
                    "a 'ratio' takes no events or field: set them on its numerator and denominator"
                )
            return self
        if self.numerator is not None or self.denominator is not None:
            raise ValueError("numerator and denominator are only for kind 'ratio'")
        _check_part(self.kind, self.events, self.field, "")
        return self

    @property
    def parts(self) -> tuple[MetricPart, MetricPart | None]:
        """(what is summed per unit, what it is divided by or None)."""
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None
            return self.numerator, self.denominator
        kind: PartKind = "count" if self.kind == "proportion" else self.kind
        return MetricPart(kind=kind, events=self.events, field=self.field), None

    @property
    def is_rate(self) -> bool:
        return self.kind == "proportion"


def parse_metric(data: Mapping[str, Any] | MetricDefinition) -> MetricDefinition:
    """A metric from its JSON/YAML mapping; InvalidInput says what is wrong (an unknown field
    is refused)."""
    return validated(MetricDefinition, data, "metric")


def _sum(events: tuple[str, ...], field: MetricField) -> MetricPart:
    return MetricPart(kind="sum", events=events, field=field)


_ORDERS = MetricPart(kind="distinct", events=(ORDER_INTERACTION,), field="order_id")
_REVENUE = _sum((ORDER_INTERACTION,), "revenue")

BUILT_IN_METRICS: dict[str, MetricDefinition] = {
    m.name: m
    for m in (
        MetricDefinition(
            name="Click-Through Rate",
            description="Clicks on the experiment's content per impression of it.",
            kind="ratio",
            numerator=MetricPart(kind="count", events=(CLICK,)),
            denominator=MetricPart(kind="count", events=(IMPRESSION,)),
        ),
        MetricDefinition(
            name="Conversion Rate",
            description="Share of exposed units that placed an order.",
            kind="proportion",
            events=(ORDER_INTERACTION,),
        ),
        MetricDefinition(
            name="Add To Cart Rate",
            description="Share of exposed units that added an item to their cart.",
            kind="proportion",
            events=(CART_INTERACTION,),
        ),
        MetricDefinition(
            name="Revenue Per Visitor",
            description="Order revenue per exposed unit (units that bought nothing count 0).",
            kind="sum",
            events=(ORDER_INTERACTION,),
            field="revenue",
        ),
        MetricDefinition(
            name="Average Order Value",
            description="Order revenue per order.",
            kind="ratio",
            numerator=_REVENUE,
            denominator=_ORDERS,
        ),
        MetricDefinition(
            name="Orders",
            description="Orders per exposed unit (the lines of one order are one order).",
            kind="distinct",
            events=(ORDER_INTERACTION,),
            field="order_id",
        ),
        MetricDefinition(
            name="Revenue",
            description="Order revenue: totals per cohort, compared per exposed unit.",
            kind="sum",
            events=(ORDER_INTERACTION,),
            field="revenue",
        ),
    )
}
BUILT_IN_METRIC_NAMES: tuple[str, ...] = tuple(BUILT_IN_METRICS)


def resolve_metrics(
    names: list[str] | tuple[str, ...],
    custom: Mapping[str, MetricDefinition] | None = None,
) -> tuple[MetricDefinition, ...]:
    """The definitions an experiment names, custom ones first (a saved metric may refine a
    built-in of the same name); InvalidInput naming the unknown ones and what exists."""
    known = {**BUILT_IN_METRICS, **(custom or {})}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(
            f"unknown metric(s): {', '.join(repr(n) for n in unknown)}.",
            hint=f"Known metrics: {', '.join(sorted(known))}.",
        )
    seen: dict[str, MetricDefinition] = {}
    for name in names:
        seen.setdefault(name, known[name])
    return tuple(seen.values())
