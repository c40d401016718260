"""record_interaction: the agent reports what happened, and the profile changes at once.

Each report becomes one flat event through `Engine.ingest` (channel `agent`), exactly like an
event sent to `POST /events`: item shown → `personalization-view`, item clicked →
`personalization-click`, added to cart → `Add To Cart`, stated preference → a custom
`Stated Preference` interaction that appends the text to the profile attribute
`statedPreferences` (kept to the 20 most recent).

One call takes one interaction (its fields at the top level, as before) or several
(`interactions`, up to `MAX_INTERACTIONS`): every one is checked first and the call is refused
as a whole if one is wrong, then all go in one `ingest` batch. The events are sent under the
person's individual id when they have one, else a device id; an identifier never seen before is
a new visitor's device id, and the first event creates their anonymous profile — unless the
tenant requires consent for server-side events (`require_consent_flat`) and none is known, in
which case nothing is tracked and the answer says how to pass `consent`.

`personalizationId` / `personalizationContentId` are checked against the personalization log
(`PersonalizationLog.content_of`, which sees an answer logged a moment ago): an id no answer had
is refused, as is a content id naming another item than `item_id`. Without a log (a context
without the decision service) only their shape is checked.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.services import PersonalizationLog
from p13n.tools.context import ToolContext
from p13n.tools.people import recording_subject

__all__ = [
    "Interaction",
    "RecordInteractionInput",
    "RecordInteractionOutput",
    "RecordedInteraction",
    "record_interaction",
    "MAX_INTERACTIONS",
]

Kind = Literal["item_shown", "item_clicked", "item_added_to_cart", "stated_preference"]
_INTERACTIONS: dict[str, str] = {
    "item_shown": "personalization-view",
    "item_clicked": "personalization-click",
    "item_added_to_cart": "Add To Cart",
    "stated_preference": "Stated Preference",
}
_MAX_PREFERENCES = 20
MAX_INTERACTIONS = 30
_ONE = (
    "kind",
    "item_id",
    "quantity",
    "preference",
    "personalizationId",
    "personalizationContentId",
    "interaction_id",
)


class _Details(BaseModel):
    """The fields of one interaction besides its kind."""

    model_config = ConfigDict(extra="forbid")

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


def _needs(kind: str | None, item_id: str | None, preference: str | None) -> None:
    if kind == "stated_preference":
        if not preference:
            raise ValueError("stated_preference needs `preference`")
    elif not item_id:
        raise ValueError(f"{kind} needs `item_id`")


class _KindFirst(BaseModel):
    kind: Kind = Field(
        description="What happened: item_shown, item_clicked, item_added_to_cart, or "
        "stated_preference (the person said what they like or need)."
    )


class Interaction(_Details, _KindFirst):  # bases in this order list `kind` first in the schema
    """One thing that happened."""

    @model_validator(mode="after")
    def _complete(self) -> Interaction:
        _needs(self.kind, self.item_id, self.preference)
        return self


class _PersonFirst(BaseModel):
    individual: str = Field(
        min_length=1,
        max_length=256,
        description="The person: a device id, individual id, unified id, email or phone. An id "
        "never seen before is taken as a new visitor's device id and gets an anonymous profile.",
    )
    kind: Kind | None = Field(
        default=None,
        description="One interaction: item_shown, item_clicked, item_added_to_cart, or "
        "stated_preference (the person said what they like or need). Omit when you pass "
        "`interactions`.",
    )


class RecordInteractionInput(_Details, _PersonFirst):
    # One interaction as top-level fields, or several as `interactions` (no docstring: it
    # would become the schema's description, which LangChain's strict conversion drops).

    interactions: list[Interaction] = Field(
        default_factory=list,
        max_length=MAX_INTERACTIONS,
        description=f"Several interactions at once (up to {MAX_INTERACTIONS}), e.g. every item "
        "you showed; each has the fields of one interaction (kind, item_id, ...). Leave the "
        "top-level kind and item fields out when you use it.",
    )
    consent: Literal["Opt In", "Opt Out"] | None = Field(
        default=None,
        description="The person's tracking consent, only when they stated it in this "
        "conversation ('Opt In' or 'Opt Out').",
    )

    @model_validator(mode="after")
    def _one_form(self) -> RecordInteractionInput:
        if self.interactions:  # an empty list is the single form (strict clients send one)
            given = [f for f in _ONE if f in self.model_fields_set and getattr(self, f)]
            if given:
                raise ValueError(
                    f"give either `interactions` or one interaction's fields, not both "
                    f"(also given: {', '.join(given)})"
                )
        elif self.kind is None:
            raise ValueError(
                "give `kind` (one interaction) or `interactions` (several); neither was given"
            )
        else:
            _needs(self.kind, self.item_id, self.preference)
        return self

    def reports(self) -> list[Interaction]:
        """The interactions of this call, in order."""
        if self.interactions:
            return self.interactions
        fields = {f: getattr(self, f) for f in _ONE}
        return [Interaction.model_validate(fields)]


class RecordedInteraction(BaseModel):
    event_id: str = Field(description="The id of the recorded event.")
    status: Literal["accepted", "duplicate"] = Field(
        description="accepted, or duplicate when its `interaction_id` was recorded before."
    )
    interaction: str = Field(description="The interaction name recorded.")
    item_id: str | None = Field(description="The item it was about, if any.")


class RecordInteractionOutput(BaseModel):
    individual: str | None = Field(
        description="The person's unified id; null when nothing was tracked for a new visitor."
    )
    new_profile: bool = Field(
        description="True when this call created an anonymous profile for an identifier never "
        "seen before."
    )
    tracked: bool = Field(
        description="False when the person's consent does not allow tracking: nothing changed."
    )
    recorded: list[RecordedInteraction] = Field(
        description="One per interaction, in the order given."
    )
    stated_preferences: list[str] = Field(
        description="The person's stated preferences after this call, oldest first."
    )
    consent_needed: bool = Field(
        default=False,
        description="True when nothing was tracked because the person's tracking consent is "
        "not known: ask them, and call again with consent 'Opt In' if they agree.",
    )
    note: str | None = Field(default=None, description="Anything the agent should know.")


def _content_check(
    log: PersonalizationLog | None, report: Interaction, seen: dict[str, dict[str, str | None]]
) -> None:
    """Refuse attribution ids no logged answer had (`seen` caches the answers looked up)."""
    pid, cid = report.personalizationId, report.personalizationContentId
    if cid is not None:
        prefix, sep, index = cid.rpartition(":")
        if not sep or not prefix or not index.isdigit():
            raise InvalidInput(
                f"'{cid}' is not a personalizationContentId p13n gave out (they look like "
                "'<personalizationId>:<n>').",
                hint="Pass the item's personalizationContentId exactly as get_recommendations "
                "returned it, or leave it out.",
            )
        if pid is not None and pid != prefix:
            raise InvalidInput(
                f"personalizationContentId '{cid}' belongs to answer '{prefix}', not to "
                f"personalizationId '{pid}'.",
                hint="Pass both from the same get_recommendations answer.",
            )
        pid = prefix
    if pid is None or log is None:
        return
    if pid not in seen:
        content = log.content_of(pid)
        if content is None:
            raise InvalidInput(
                f"no answer with personalizationId '{pid}' was given out.",
                hint="Pass personalizationId and personalizationContentId exactly as "
                "get_recommendations or get_personalization_decisions returned them, or leave "
                "them out.",
            )
        seen[pid] = content
    content = seen[pid]
    if cid is None:
        return
    if cid not in content:
        raise InvalidInput(
            f"answer '{pid}' has no item '{cid}' (it had {len(content)} item(s)).",
            hint="Use the personalizationContentId of the item as that answer listed it.",
        )
    logged_item = content[cid]
    if report.item_id is not None and logged_item is not None and logged_item != report.item_id:
        raise InvalidInput(
            f"personalizationContentId '{cid}' is item '{logged_item}', not '{report.item_id}'.",
            hint="Pass the item_id and personalizationContentId of the same item.",
        )


def _event(
    ctx: ToolContext, report: Interaction, subject: dict[str, str], extra: dict[str, Any]
) -> dict[str, Any]:
    event_id = (
        f"agent-{report.interaction_id}" if report.interaction_id else f"agent-{uuid.uuid4()}"
    )
    event: dict[str, Any] = {
        "eventId": event_id,
        **subject,
        "interaction": _INTERACTIONS[report.kind],
        "channel": ctx.channel,
        **extra,
    }
    if report.kind != "stated_preference":
        event["itemId"] = report.item_id
    if report.kind == "item_added_to_cart":
        item = ctx.engine.state.items[str(report.item_id)]
        event["quantity"] = report.quantity
        if item.price is not None:
            event["price"] = item.price
    if report.personalizationId:
        event["personalizationId"] = report.personalizationId
    if report.personalizationContentId:
        event["personalizationContentId"] = report.personalizationContentId
    return event


def _checked_events(
    ctx: ToolContext,
    reports: list[Interaction],
    subject: dict[str, str],
    uid: str | None,
    consent: str | None,
) -> list[dict[str, Any]]:
    """Every report as an event, or `InvalidInput`/`NotFound` naming the first one that is wrong."""
    log = ctx.decisions.log if ctx.decisions is not None else None
    profile = ctx.engine.load_profile(uid) if uid is not None else None
    preferences = list(profile.attributes.get("statedPreferences") or []) if profile else []
    seen: dict[str, dict[str, str | None]] = {}
    events = []
    for k, report in enumerate(reports):
        where = f"interactions[{k}]: " if len(reports) > 1 else ""
        try:
            if report.item_id is not None and report.item_id not in ctx.engine.state.items:
                raise NotFound(
                    f"no item '{report.item_id}'.",
                    hint="Use the id of an item returned by get_recommendations or search_catalog.",
                )
            _content_check(log, report, seen)
        except (InvalidInput, NotFound) as exc:
            raise type(exc)(where + str(exc) + " Nothing was recorded.") from None
        extra: dict[str, Any] = {}
        if consent is not None:
            extra["consents"] = [{"purpose": "Tracking", "status": consent, "provider": "agent"}]
        if report.kind == "stated_preference":
            assert report.preference is not None
            text = report.preference.strip()
            preferences = [p for p in preferences if str(p).casefold() != text.casefold()]
            preferences = [*preferences, text][-_MAX_PREFERENCES:]
            extra["attributes"] = {"statedPreferences": list(preferences)}
        events.append(_event(ctx, report, subject, extra))
    return events


def record_interaction(ctx: ToolContext, data: RecordInteractionInput) -> RecordInteractionOutput:
    uid, subject = recording_subject(ctx, data.individual)
    reports = data.reports()
    events = _checked_events(ctx, reports, subject, uid, data.consent)
    report = ctx.engine.ingest(events)
    rejected = [r for r in report.results if r.status == "rejected"]
    if rejected:  # the checks above should make this unreachable; say so if not
        raise InvalidInput(f"the interaction was not recorded: {rejected[0].reason}.")
    tracked = all(r.tracked is not False for r in report.results if r.status == "accepted")
    after_uid = uid or next(
        (r.unifiedIndividualId for r in report.results if r.unifiedIndividualId), None
    )
    after = ctx.engine.load_profile(after_uid) if after_uid is not None else None
    stored = after.attributes.get("statedPreferences") if after is not None else None
    note = None
    opted_out = False
    if not tracked:
        opted_out = "Opt Out" in (
            data.consent,
            *(ctx.engine.state.consent.get(v) for v in subject.values()),
        )
        note = (
            "nothing was tracked: the person opted out of tracking."
            if opted_out
            else "nothing was tracked: this store records a person only with their tracking "
            "consent. If they agree, call again with consent 'Opt In'."
        )
    return RecordInteractionOutput(
        individual=after_uid,
        new_profile=uid is None and after is not None,
        tracked=tracked,
        recorded=[
            RecordedInteraction(
                event_id=str(e["eventId"]),
                status="duplicate" if r.status == "duplicate" else "accepted",
                interaction=str(e["interaction"]),
                item_id=e.get("itemId"),
            )
            for e, r in zip(events, report.results, strict=True)
        ],
        stated_preferences=[str(p) for p in stored or []],
        consent_needed=not tracked and not opted_out,
        note=note,
    )
