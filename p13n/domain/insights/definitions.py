"""Calculated insight definitions: one piece of data that both the online and batch paths read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from p13n.domain.errors import InvalidInput

__all__ = [
    "InsightDefinition",
    "Measure",
    "InsightField",
    "DimensionField",
    "NUMERIC_FIELDS",
    "VIEW_INTERACTIONS",
    "BUILTIN_INSIGHTS",
    "validate_insight_set",
    "fingerprint",
    "finish_values",
]

Measure = Literal["count", "sum", "min", "max", "last", "distinct_count", "avg", "ratio"]
InsightField = Literal[
    "value",
    "price",
    "quantity",
    "ts",
    "item_id",
    "order_id",
    "session_id",
    "category",
    "brand",
    "channel",
    "interaction",
]
DimensionField = Literal[
    "item_id", "order_id", "session_id", "category", "brand", "channel", "interaction"
]
NUMERIC_FIELDS: frozenset[str] = frozenset({"value", "price", "quantity", "ts"})
_NUMERIC_MEASURES = frozenset({"sum", "min", "max", "avg"})
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
VIEW_INTERACTIONS = (
    "View Catalog Object",
    "View Catalog Object Detail",
    "Quick View Catalog Object",
)


class InsightDefinition(BaseModel):
    """One calculated insight.

    Windows are whole UTC days ending today (events with ts >= window_start(now, days)).
    With a `dimension` the value is a dict dimension value -> number; events whose dimension
    field is empty are left out. A `ratio` divides two other insights of the same set and takes
    its events, window and dimension from them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="Identifier-like, at most 64 characters")
    description: str = ""
    measure: Measure
    field: InsightField | None = None
    interactions: list[str] = Field(
        default_factory=list, description="Interactions counted; empty means all"
    )
    window_days: int | None = Field(default=None, ge=1, le=3650)
    dimension: DimensionField | None = None
    numerator: str | None = Field(default=None, pattern=NAME_PATTERN)
    denominator: str | None = Field(default=None, pattern=NAME_PATTERN)

    @model_validator(mode="after")
    def _check_shape(self) -> InsightDefinition:
        if self.measure == "ratio":
            self._check_ratio()
            return self
        if self.numerator is not None or self.denominator is not None:
            raise ValueError("numerator and denominator are only for the 'ratio' measure")
        if self.measure == "count":
            if self.field is not None:
                raise ValueError(
                    "'count' counts every matching event and takes no field; use "
                    "'distinct_count' to count distinct values of a field"
                )
        elif self.field is None:
            raise ValueError(f"measure {self.measure!r} needs a field (an event field name)")
        elif self.measure in _NUMERIC_MEASURES and self.field not in NUMERIC_FIELDS:
            raise ValueError(
                f"measure {self.measure!r} needs a numeric field "
                f"({', '.join(sorted(NUMERIC_FIELDS))}), got {self.field!r}"
            )
        if any(not i.strip() for i in self.interactions):
            raise ValueError("interactions must be non-empty names such as 'Purchase'")
        return self

    def _check_ratio(self) -> None:
        if self.numerator is None or self.denominator is None:
            raise ValueError("a 'ratio' needs numerator and denominator: names of two insights")
        if self.numerator == self.name or self.denominator == self.name:
            raise ValueError("a 'ratio' cannot refer to itself")
        if (
            self.field is not None
            or self.interactions
            or self.window_days is not None
            or self.dimension is not None
        ):
            raise ValueError(
                "a 'ratio' takes no field, interactions, window_days or dimension: "
                "set them on its numerator and denominator insights"
            )


def validate_insight_set(definitions: Iterable[InsightDefinition]) -> None:
    """Names unique; each ratio names two non-ratio insights of the set with the same dimension."""
    by_name: dict[str, InsightDefinition] = {}
    for definition in definitions:
        if definition.name in by_name:
            raise InvalidInput(
                f"two insights are named {definition.name!r}.", hint="Give each a unique name."
            )
        by_name[definition.name] = definition
    for definition in by_name.values():
        if definition.measure != "ratio":
            continue
        operands = []
        for role, ref in (
            ("numerator", definition.numerator),
            ("denominator", definition.denominator),
        ):
            operand = by_name.get(ref or "")
            if operand is None:
                raise InvalidInput(
                    f"ratio {definition.name!r}: its {role} {ref!r} is not a defined insight.",
                    hint="Define that insight too, or name an existing one.",
                )
            if operand.measure == "ratio":
                raise InvalidInput(
                    f"ratio {definition.name!r}: its {role} {ref!r} is itself a ratio.",
                    hint="Point ratios at non-ratio insights (count, sum, avg...).",
                )
            if operand.measure == "last" and operand.field not in NUMERIC_FIELDS:
                raise InvalidInput(
                    f"ratio {definition.name!r}: its {role} {ref!r} is not numeric.",
                    hint="Use an insight over value, price, quantity or ts.",
                )
            operands.append(operand)
        if operands[0].dimension != operands[1].dimension:
            raise InvalidInput(
                f"ratio {definition.name!r}: numerator and denominator have different dimensions "
                f"({operands[0].dimension!r} and {operands[1].dimension!r}).",
                hint="Give both the same dimension, or none.",
            )


def fingerprint(definition: InsightDefinition) -> str:
    """What the running state depends on; a changed definition starts its state afresh."""
    interactions = "|".join(sorted(set(definition.interactions)))
    return (
        f"{definition.measure};{definition.field};{interactions};"
        f"{definition.window_days};{definition.dimension}"
    )


_PURCHASE = ["Purchase"]

BUILTIN_INSIGHTS: tuple[InsightDefinition, ...] = (
    InsightDefinition(
        name="order_count",
        description="Distinct orders purchased (flat senders send one event per order line).",
        measure="distinct_count",
        field="order_id",
        interactions=_PURCHASE,
    ),
    InsightDefinition(
        name="lifetime_revenue",
        description="Sum of purchase values.",
        measure="sum",
        field="value",
        interactions=_PURCHASE,
    ),
    InsightDefinition(
        name="average_order_value",
        description="Lifetime revenue over distinct orders.",
        measure="ratio",
        numerator="lifetime_revenue",
        denominator="order_count",
    ),
    InsightDefinition(
        name="last_purchase_at",
        description="UTC epoch seconds of the latest purchase.",
        measure="last",
        field="ts",
        interactions=_PURCHASE,
    ),
    InsightDefinition(
        name="views_7d",
        description="Catalog views in the last 7 UTC days, today included.",
        measure="count",
        interactions=list(VIEW_INTERACTIONS),
        window_days=7,
    ),
)


def finish_values(raw: dict[str, Any], definitions: Iterable[InsightDefinition]) -> dict[str, Any]:
    """Ratios from their operands, floats rounded to 6 decimals; both paths end here.

    `raw` maps the names of non-ratio insights that have data to unrounded values. Insights with
    no data are left out of the result (never None), and so is a ratio whose denominator is 0.
    """
    out: dict[str, Any] = {}
    for definition in definitions:
        if definition.measure == "ratio":
            value = _ratio(
                raw.get(definition.numerator or ""), raw.get(definition.denominator or "")
            )
        else:
            value = raw.get(definition.name)
        if value is not None and value != {}:
            out[definition.name] = _rounded(value)
    return out


def _ratio(numerator: Any, denominator: Any) -> Any:
    if isinstance(numerator, dict) and isinstance(denominator, dict):
        ratios = {k: _divide(v, denominator.get(k)) for k, v in numerator.items()}
        return {k: v for k, v in ratios.items() if v is not None}
    return _divide(numerator, denominator)


def _divide(numerator: Any, denominator: Any) -> float | None:
    if not isinstance(numerator, int | float) or not isinstance(denominator, int | float):
        return None
    if isinstance(numerator, bool) or isinstance(denominator, bool) or denominator == 0:
        return None
    return float(numerator) / float(denominator)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value
