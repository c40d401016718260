"""Personalization points, content schemas and decisions as data (stored as config objects).

Limits of REFERENCE.md: API names of at most 40 characters, max items 12 by default and 24 at
most, 25 decisions per point, 50 targeting conditions and 10 merge fields per decision.
Checks that need more than one object (the point of a decision exists, its content fits the
point's schema, its recommender exists) are in `services/decision_configs.py`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from p13n.domain.decisions.merge import MAX_MERGE_FIELDS, merge_fields
from p13n.domain.decisions.targeting import ALWAYS, TargetingGroup
from p13n.domain.ingest import ITEM_CONTENT_FIELDS

__all__ = [
    "API_NAME_PATTERN",
    "DEFAULT_MAX_ITEMS",
    "MAX_ITEMS",
    "MAX_DECISIONS_PER_POINT",
    "RecommendationsSchema",
    "ManualContentSchema",
    "ContentSchema",
    "PersonalizationPoint",
    "Decision",
    "stable_id",
]

API_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,39}$"
DEFAULT_MAX_ITEMS = 12
MAX_ITEMS = 24
MAX_DECISIONS_PER_POINT = 25
MAX_ATTRIBUTES = 20
_NAMESPACE = uuid.UUID("6f6e2a0e-5b1c-4a8e-9c1e-70e13a9d7a11")
ApiName = Annotated[
    str,
    Field(
        pattern=API_NAME_PATTERN,
        description="Letters, digits and _, starting with a letter, at most 40 characters.",
    ),
]


def stable_id(kind: str, name: str) -> str:
    """The default id of a named object: the same name gives the same id in every tenant, so
    exported configuration re-applies unchanged."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


class RecommendationsSchema(BaseModel):
    """Items from a recommender; `itemFields` are returned in this order for each item."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["Recommendations"]
    item_type: str = Field(default="Product", alias="itemType")
    item_fields: list[str] = Field(
        default_factory=lambda: ["id", "name", "price", "imageUrl", "url"],
        alias="itemFields",
        min_length=1,
        max_length=30,
    )
    attributes: list[str] = Field(
        default_factory=list,
        max_length=MAX_ATTRIBUTES,
        description="Header texts a decision may set (e.g. title).",
    )

    @model_validator(mode="after")
    def _check(self) -> RecommendationsSchema:
        for name in self.item_fields:
            if name not in ITEM_CONTENT_FIELDS and not name.startswith("attributes."):
                raise ValueError(
                    f"unknown item field {name!r}; use {', '.join(sorted(ITEM_CONTENT_FIELDS))} "
                    "or attributes.<key>"
                )
        if len(set(self.item_fields)) != len(self.item_fields):
            raise ValueError("itemFields lists a field twice")
        return self


class ManualContentSchema(BaseModel):
    """Text attributes a decision fills in (header, body, imageUrl, callToAction, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ManualContent"]
    attributes: list[str] = Field(
        default_factory=lambda: ["header", "body", "imageUrl", "callToAction"],
        min_length=1,
        max_length=MAX_ATTRIBUTES,
    )


ContentSchema = Annotated[
    Annotated[RecommendationsSchema, Tag("Recommendations")]
    | Annotated[ManualContentSchema, Tag("ManualContent")],
    Discriminator(lambda v: v.get("type") if isinstance(v, dict) else getattr(v, "type", None)),
]


class PersonalizationPoint(BaseModel):
    """A place on a page, screen, email or agent answer that asks for a decision."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: ApiName
    id: str = Field(default="", max_length=64, description="Defaults to a stable id from the name.")
    label: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=1000)
    content_schema: ContentSchema = Field(alias="contentSchema")
    max_items: int = Field(default=DEFAULT_MAX_ITEMS, ge=1, le=MAX_ITEMS, alias="maxItems")
    authentication_required: bool = Field(default=False, alias="authenticationRequired")
    status: Literal["Active", "Inactive"] = "Active"

    @model_validator(mode="after")
    def _default_id(self) -> PersonalizationPoint:
        if not self.id:
            object.__setattr__(self, "id", stable_id("point", self.name))
        return self


class Decision(BaseModel):
    """Who sees what at one point: targeting, then manual content or a recommender.

    `priority`: 1 is evaluated first; left out, a new decision goes after the point's others
    (the first created is the highest), and an update keeps the stored one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: ApiName
    id: str = Field(default="", max_length=64)
    point: ApiName
    label: str = Field(default="", max_length=200)
    priority: int | None = Field(default=None, ge=1, le=10_000)
    state: Literal["Draft", "Live"] = "Draft"
    targeting: TargetingGroup = ALWAYS
    attributes: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_ATTRIBUTES,
        description="Manual content values, or header texts of a recommendations point.",
    )
    recommender: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _check(self) -> Decision:
        if not self.id:
            object.__setattr__(self, "id", stable_id("decision", self.name))
        fields = merge_fields(self.attributes)
        if len(fields) > MAX_MERGE_FIELDS:
            raise ValueError(
                f"a decision uses at most {MAX_MERGE_FIELDS} merge fields, found {len(fields)}"
            )
        return self

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
