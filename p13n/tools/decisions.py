"""get_personalization_decisions: the decisions for named points, in the agent channel.

The same pipeline as `POST /personalization/authenticated/decisions` (targeting, experiments,
recommenders or manual content, the personalization log with source `agent`), with the
context the agent knows: who, which points, the item in view, the page type and any custom
variables the points' recommender filters read (`{!name}`). Items come as the one `ItemCard`
shape of every tool (whatever item fields the point's content schema lists for the website), and
a point that is not an active point of this store is an error naming the closest ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator

from p13n.domain.decisions import DecisionContext, DecisionRequest, PointRequest
from p13n.domain.errors import InvalidInput
from p13n.domain.ingest import ITEM_CONTENT_FIELDS
from p13n.tools.context import ToolContext
from p13n.tools.models import ItemCard, PointName, card_fields
from p13n.tools.people import resolve_person
from p13n.tools.registry import describe_errors

__all__ = [
    "GetDecisionsInput",
    "GetDecisionsOutput",
    "PointDecision",
    "ContextVariable",
    "get_personalization_decisions",
]


# Variables are a list of pairs, not a map: strict tool schemas cannot say "an object with any
# keys" (OpenAI's strict mode turns such a map into an object that can only be `{}`).
_SCALAR = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}


class ContextVariable(BaseModel):
    """A custom context variable."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="The variable's name.")
    value: Annotated[str | int | float | bool, WithJsonSchema(_SCALAR)] = Field(
        description="Its value: text, a number or true/false."
    )


class GetDecisionsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: list[PointName] = Field(
        min_length=1,
        max_length=10,
        description="Personalization point names to decide (e.g. 'home_recommendations'); "
        "list_catalog_facets lists the store's points.",
    )
    individual: str | None = Field(
        default=None,
        description="The person: a device id, individual id, unified id, email or phone. Omit "
        "for an anonymous visitor.",
    )
    anchor_item_id: str | None = Field(
        default=None, max_length=256, description="The item the person is looking at, if any."
    )
    page_type: str | None = Field(
        default=None, max_length=200, description="Where the person is (e.g. 'chat', 'cart')."
    )
    variables: list[ContextVariable] = Field(
        default_factory=list,
        max_length=20,
        description="Custom context variables the points' filters may read as {!name}.",
    )

    @field_validator("variables", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """A `{name: value}` map is read as its pairs (what the tool took before)."""
        if isinstance(value, dict):
            return [{"name": k, "value": v} for k, v in value.items()]
        return value


class PointDecision(BaseModel):
    point: str | None = Field(description="The point's API name.")
    personalizationId: str = Field(  # noqa: N815 - the contract's field name
        description="Id of this decision; pass it to record_interaction for what you show."
    )
    items: list[ItemCard] = Field(
        description="Recommended items, each with its personalizationContentId ([] for manual "
        "content)."
    )
    attributes: dict[str, str] = Field(description="Manual content texts, merge fields resolved.")
    diagnostics: list[dict[str, Any]] = Field(
        description="{code, name, description}: 200 content, 201 no decision qualified, ..."
    )


class GetDecisionsOutput(BaseModel):
    request_id: str = Field(description="Id of this request.")
    decisions: list[PointDecision] = Field(description="One per requested point, in order.")


def get_personalization_decisions(ctx: ToolContext, data: GetDecisionsInput) -> GetDecisionsOutput:
    if ctx.decisions is None:
        raise InvalidInput(
            "decisions are not configured in this server.",
            hint="Use get_recommendations instead.",
        )
    uid = resolve_person(ctx, data.individual) if data.individual else None
    try:  # a variable may name a context field (`locale`) with a value it does not take
        context = DecisionContext.model_validate(
            {
                **{v.name: v.value for v in data.variables},
                "individualId": uid,
                "anchorId": data.anchor_item_id,
                "pageType": data.page_type,
                "channel": ctx.channel,
            }
        )
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid context for get_personalization_decisions: {describe_errors(exc)}.",
            hint="Fix those variables (or leave them out) and call again.",
        ) from None
    response = ctx.decisions.decide(
        DecisionRequest(
            context=context, personalizationPoints=[PointRequest(name=p) for p in data.points]
        ),
        authenticated=True,
        source="agent",
    )
    return GetDecisionsOutput(
        request_id=response.requestId,
        decisions=[
            PointDecision(
                point=p.personalizationPointName,
                personalizationId=p.personalizationId,
                items=[_card(ctx, d) for d in p.data],
                attributes=p.attributes,
                diagnostics=[d.model_dump() for d in p.diagnostics or []],
            )
            for p in response.personalizations
        ],
    )


def _card(ctx: ToolContext, data: dict[str, Any]) -> ItemCard:
    """A decision's item as the one item card: from the catalog when the point's fields name the
    id, else from the fields the point's content schema returned."""
    item = ctx.engine.state.items.get(str(data.get("id")))
    content_id = data.get("personalizationContentId")
    if item is not None:
        return ItemCard(**card_fields(item), personalizationContentId=content_id)
    known = {ITEM_CONTENT_FIELDS[k]: v for k, v in data.items() if k in ITEM_CONTENT_FIELDS}
    fields = {name: known.get(name) for name in ItemCard.model_fields}
    fields.update(
        id=str(data.get("id") or ""),
        in_stock=bool(known.get("in_stock", True)),
        personalizationContentId=content_id,
    )
    return ItemCard.model_validate(fields)
