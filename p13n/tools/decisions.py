"""get_personalization_decisions: the decisions for named points, in the agent channel.

The same pipeline as `POST /personalization/authenticated/decisions` (targeting, experiments,
recommenders or manual content, the personalization log with source `agent`), with the
context the agent knows: who, which points, the item in view, the page type and any custom
variables the points' recommender filters read (`{!name}`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.decisions import DecisionContext, DecisionRequest, PointRequest
from p13n.domain.errors import InvalidInput
from p13n.tools.context import ToolContext
from p13n.tools.people import resolve_person

__all__ = [
    "GetDecisionsInput",
    "GetDecisionsOutput",
    "PointDecision",
    "get_personalization_decisions",
]


class GetDecisionsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: list[str] = Field(
        min_length=1,
        max_length=10,
        description="Personalization point API names to decide (e.g. 'agent_greeting').",
    )
    individual: str | None = Field(
        default=None,
        description="The person: a device id, individual id, unified id, email or phone. Omit "
        "for an anonymous visitor.",
    )
    anchor_item_id: str | None = Field(
        default=None, description="The item the person is looking at, if any."
    )
    page_type: str | None = Field(
        default=None, max_length=200, description="Where the person is (e.g. 'chat', 'cart')."
    )
    variables: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        max_length=20,
        description="Custom context variables the points' filters may read as {!name}.",
    )


class PointDecision(BaseModel):
    point: str | None = Field(description="The point's API name.")
    personalizationId: str = Field(  # noqa: N815 - the contract's field name
        description="Id of this decision; pass it to record_interaction for what you show."
    )
    items: list[dict[str, Any]] = Field(
        description="Recommended items, each with its personalizationContentId ([] for manual "
        "content)."
    )
    attributes: dict[str, str] = Field(description="Manual content texts, merge fields resolved.")
    diagnostics: list[dict[str, Any]] = Field(
        description="{code, name, description}: 200 content, 201 no decision qualified, 401 "
        "point not configured, ..."
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
    context = DecisionContext.model_validate(
        {
            **data.variables,
            "individualId": uid,
            "anchorId": data.anchor_item_id,
            "pageType": data.page_type,
            "channel": ctx.channel,
        }
    )
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
                items=p.data,
                attributes=p.attributes,
                diagnostics=[d.model_dump() for d in p.diagnostics or []],
            )
            for p in response.personalizations
        ],
    )
