"""record_interaction: the agent reports what happened, and the profile changes at once.

Each report becomes one flat event through `Engine.ingest` (channel `agent`), exactly like an
event sent to `POST /events`: item shown → `personalization-view`, item clicked →
`personalization-click`, added to cart → `Add To Cart`, stated preference → a custom
`Stated Preference` interaction that appends the text to the profile attribute
`statedPreferences` (kept to the 20 most recent). The event is sent under the person's
individual id when they have one, else their device id.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.graphs import ProfileGraph
from p13n.tools.context import ToolContext
from p13n.tools.people import resolve_person

__all__ = ["RecordInteractionInput", "RecordInteractionOutput", "record_interaction"]

Kind = Literal["item_shown", "item_clicked", "item_added_to_cart", "stated_preference"]
_INTERACTIONS: dict[str, str] = {
    "item_shown": "personalization-view",
    "item_clicked": "personalization-click",
    "item_added_to_cart": "Add To Cart",
    "stated_preference": "Stated Preference",
}
_MAX_PREFERENCES = 20


class RecordInteractionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    individual: str = Field(
        min_length=1,
        description="The person: a device id, individual id, unified id, email or phone.",
    )
    kind: Kind = Field(
        description="What happened: item_shown, item_clicked, item_added_to_cart, or "
        "stated_preference (the person said what they like or need)."
    )
    item_id: str | None = Field(
        default=None, description="The catalog item (required for the item_* kinds)."
    )
    quantity: float = Field(
        default=1, gt=0, le=1000, description="Units added (item_added_to_cart only)."
    )
    preference: str | None = Field(
        default=None,
        min_length=2,
        max_length=200,
        description="The stated preference in a few words, e.g. 'prefers vegan products' "
        "(required for stated_preference).",
    )
    personalizationId: str | None = Field(  # noqa: N815 - the contract's field name
        default=None, description="From get_recommendations, when the item came from there."
    )
    personalizationContentId: str | None = Field(  # noqa: N815 - the contract's field name
        default=None, description="The item's personalizationContentId from get_recommendations."
    )
    interaction_id: str | None = Field(
        default=None,
        max_length=200,
        description="An idempotency key: a second report with the same id is not counted again.",
    )

    @model_validator(mode="after")
    def _needs(self) -> RecordInteractionInput:
        if self.kind == "stated_preference":
            if not self.preference:
                raise ValueError("stated_preference needs `preference`")
        elif not self.item_id:
            raise ValueError(f"{self.kind} needs `item_id`")
        return self


class RecordInteractionOutput(BaseModel):
    event_id: str = Field(description="The id of the recorded event.")
    status: Literal["accepted", "duplicate"] = Field(
        description="accepted, or duplicate when `interaction_id` was recorded before."
    )
    tracked: bool = Field(
        description="False when the person's consent does not allow tracking: nothing changed."
    )
    individual: str = Field(description="The person's unified id.")
    interaction: str = Field(description="The interaction name recorded.")
    stated_preferences: list[str] = Field(
        description="The person's stated preferences after this call."
    )


def _subject(profile: ProfileGraph) -> dict[str, str]:
    for kind, key in (("individualId", "individualId"), ("deviceId", "deviceId")):
        for identity in profile.identities:
            if identity.type == kind:
                return {key: identity.value}
    return {"individualId": profile.unified_id}


def record_interaction(ctx: ToolContext, data: RecordInteractionInput) -> RecordInteractionOutput:
    uid = resolve_person(ctx, data.individual)
    profile = ctx.engine.get_profile(uid)
    interaction = _INTERACTIONS[data.kind]
    if data.item_id is not None and data.item_id not in ctx.engine.state.items:
        raise NotFound(
            f"no item '{data.item_id}'.",
            hint="Use the id of an item returned by get_recommendations or search_catalog.",
        )
    event_id = f"agent-{data.interaction_id}" if data.interaction_id else f"agent-{uuid.uuid4()}"
    event: dict[str, object] = {
        "eventId": event_id,
        **_subject(profile),
        "interaction": interaction,
        "channel": ctx.channel,
    }
    preferences = list(profile.attributes.get("statedPreferences") or [])
    if data.kind == "stated_preference":
        assert data.preference is not None
        text = data.preference.strip()
        preferences = [p for p in preferences if str(p).casefold() != text.casefold()]
        preferences = [*preferences, text][-_MAX_PREFERENCES:]
        event["attributes"] = {"statedPreferences": preferences}
    else:
        event["itemId"] = data.item_id
        if data.kind == "item_added_to_cart":
            item = ctx.engine.state.items[str(data.item_id)]
            event["quantity"] = data.quantity
            if item.price is not None:
                event["price"] = item.price
    if data.personalizationId:
        event["personalizationId"] = data.personalizationId
    if data.personalizationContentId:
        event["personalizationContentId"] = data.personalizationContentId
    report = ctx.engine.ingest([event])
    result = report.results[0]
    if result.status == "rejected":
        raise InvalidInput(f"the interaction was not recorded: {result.reason}.")
    after = ctx.engine.load_profile(uid)
    stored = after.attributes.get("statedPreferences") if after is not None else None
    return RecordInteractionOutput(
        event_id=event_id,
        status="duplicate" if result.status == "duplicate" else "accepted",
        tracked=result.tracked is not False,
        individual=uid,
        interaction=interaction,
        stated_preferences=[str(p) for p in stored or []],
    )
