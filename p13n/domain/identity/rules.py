"""Match rules and rulesets as data: criteria inside a rule are AND, rules are OR.

Methods (REFERENCE.md): `Exact` (case-insensitive), `Exact Normalized` (email: case,
whitespace, Gmail dots and +tags; phone: E.164; address: case, punctuation, abbreviations;
names: accents and punctuation), `Fuzzy` (High / Medium / Low precision, Jaro-Winkler on the
normalized value; names and address fields), `Party Identifier` (ID name + type + number).
A ruleset also carries the probabilistic matcher's settings and the reconciliation rules.
"""

from __future__ import annotations

from typing import Any, Literal

import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from p13n.domain.errors import InvalidInput
from p13n.domain.identity.records import NormRecord

__all__ = [
    "Method",
    "Precision",
    "MatchField",
    "MatchCriterion",
    "MatchRule",
    "ProbabilisticMatcher",
    "FieldReconciliation",
    "Reconciliation",
    "Ruleset",
    "DEFAULT_RULESET",
    "FUZZY_THRESHOLDS",
    "parse_ruleset",
    "criterion_values",
    "fuzzy_value",
    "EXACT_ATTR",
    "NORM_ATTR",
    "BLOCKING_METHODS",
]

Method = Literal["Exact", "Exact Normalized", "Fuzzy", "Party Identifier"]
Precision = Literal["High", "Medium", "Low"]
MatchField = Literal[
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "street",
    "city",
    "postal_code",
    "state",
    "country",
    "birth_date",
    "party_identifier",
]
FUZZY_THRESHOLDS: dict[str, float] = {"High": 0.95, "Medium": 0.9, "Low": 0.8}
_FUZZY_FIELDS = {"first_name", "last_name", "street", "city", "address"}
BLOCKING_METHODS = ("Exact", "Exact Normalized", "Party Identifier")

EXACT_ATTR = {
    "first_name": "first_x",
    "last_name": "last_x",
    "email": "emails_x",
    "phone": "phones_x",
    "address": "address_x",
    "street": "street_x",
    "city": "city_x",
    "postal_code": "postal_x",
    "state": "state_x",
    "country": "country_x",
    "birth_date": "birth_date",
    "party_identifier": "party",
}
NORM_ATTR = {
    **EXACT_ATTR,
    "first_name": "first_n",
    "last_name": "last_n",
    "email": "emails_n",
    "phone": "phones_n",
    "address": "address_n",
    "street": "street_n",
    "city": "city_n",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MatchCriterion(_Strict):
    field: MatchField
    method: Method
    precision: Precision | None = Field(default=None, description="Fuzzy only.")

    @model_validator(mode="after")
    def _compatible(self) -> MatchCriterion:
        if self.method == "Fuzzy":
            if self.field not in _FUZZY_FIELDS:
                raise ValueError(
                    f"Fuzzy works on {sorted(_FUZZY_FIELDS)}, not '{self.field}'; use Exact "
                    "Normalized for it"
                )
            if self.precision is None:
                raise ValueError("a Fuzzy criterion needs precision High, Medium or Low")
        elif self.precision is not None:
            raise ValueError("precision applies to Fuzzy criteria only")
        if (self.method == "Party Identifier") != (self.field == "party_identifier"):
            raise ValueError("field party_identifier goes with method 'Party Identifier'")
        return self

    @property
    def blocking(self) -> bool:
        return self.method in BLOCKING_METHODS

    @property
    def label(self) -> str:
        tail = f" ({self.precision})" if self.precision else ""
        return f"{self.method}{tail} {self.field}"


class MatchRule(_Strict):
    name: str = Field(min_length=1, max_length=80)
    criteria: list[MatchCriterion] = Field(min_length=1, max_length=10)
    confirm_with_model: bool = Field(
        default=False,
        description="Link only when the probabilistic score does not contradict the rule "
        "(e.g. a shared identifier with different names and birth dates).",
    )

    @property
    def realtime(self) -> bool:
        """Usable in real time: has an exact / normalized / party criterion to block on."""
        return any(c.blocking for c in self.criteria)

    @property
    def blocking_criterion(self) -> MatchCriterion | None:
        return next((c for c in self.criteria if c.blocking), None)


class ProbabilisticMatcher(_Strict):
    """Fellegi-Sunter weights estimated by EM without labels, over blocked candidate pairs."""

    enabled: bool = True
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0, description="Posterior to link.")
    confirm_threshold: float = Field(
        default=0.01, gt=0.0, lt=1.0, description="Posterior below which a rule is vetoed."
    )
    em_iterations: int = Field(default=40, ge=1, le=500)


class FieldReconciliation(_Strict):
    rule: Literal["Last Updated", "Most Frequent", "Source Priority"] = "Last Updated"
    ignore_empty: bool = True
    source_priority: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _priority(self) -> FieldReconciliation:
        if self.rule == "Source Priority" and not self.source_priority:
            raise ValueError("Source Priority needs source_priority: a list of source names")
        return self


class Reconciliation(_Strict):
    default: FieldReconciliation = Field(default_factory=FieldReconciliation)
    fields: dict[str, FieldReconciliation] = Field(default_factory=dict)

    def for_field(self, name: str) -> FieldReconciliation:
        return self.fields.get(name, self.default)


class Ruleset(_Strict):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    rules: list[MatchRule] = Field(min_length=1, max_length=25)
    probabilistic: ProbabilisticMatcher = Field(default_factory=ProbabilisticMatcher)
    reconciliation: Reconciliation = Field(default_factory=Reconciliation)
    default_region: str = Field(default="US", description="Phone numbers without +country.")
    max_block_size: int = Field(
        default=1000, ge=2, description="Blocks holding more records are skipped (too common)."
    )

    @model_validator(mode="after")
    def _check(self) -> Ruleset:
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique")
        if self.default_region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"default_region '{self.default_region}' is not a region code")
        return self


def _crit(field: str, method: str, precision: str | None = None) -> MatchCriterion:
    return MatchCriterion.model_validate({"field": field, "method": method, "precision": precision})


def _name_rule(name: str, field: str) -> MatchRule:
    return MatchRule(
        name=name,
        criteria=[
            _crit(field, "Exact Normalized"),
            _crit("first_name", "Fuzzy", "Medium"),
            _crit("last_name", "Exact"),
        ],
    )


DEFAULT_RULESET = Ruleset(
    name="default",
    description="Fuzzy first name + exact last name + one of normalized email, phone or "
    "address; party identifiers (confirmed by the probabilistic matcher); probabilistic "
    "Fellegi-Sunter matching in batch.",
    rules=[
        _name_rule("Name and email", "email"),
        _name_rule("Name and phone", "phone"),
        _name_rule("Name and address", "address"),
        MatchRule(
            name="Party identifier",
            criteria=[_crit("party_identifier", "Party Identifier")],
            confirm_with_model=True,
        ),
    ],
)


def parse_ruleset(text: str | bytes | dict[str, Any]) -> Ruleset:
    """A ruleset from YAML or JSON text (or a mapping); InvalidInput says what is wrong."""
    data: Any = text
    if not isinstance(text, dict):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"the ruleset is not valid YAML or JSON: {exc}") from None
    try:
        return Ruleset.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err["loc"]) or "ruleset"
            parts.append(f"{where}: {err['msg']}")
        raise InvalidInput(
            "the ruleset does not validate, nothing was changed: " + "; ".join(parts)
        ) from None


def criterion_values(rec: NormRecord, crit: MatchCriterion) -> tuple[str, ...]:
    """The values a blocking criterion compares (several for multi-valued fields)."""
    attr = (EXACT_ATTR if crit.method == "Exact" else NORM_ATTR)[crit.field]
    value = getattr(rec, attr)
    if isinstance(value, tuple):
        return value
    return (value,) if value else ()


def fuzzy_value(rec: NormRecord, field: str) -> str | None:
    value: str | None = getattr(rec, NORM_ATTR[field])
    return value
