"""The actions an agent can call, in the order they are listed to it."""

from __future__ import annotations

from typing import Any

from p13n.tools.decisions import (
    GetDecisionsInput,
    GetDecisionsOutput,
    get_personalization_decisions,
)
from p13n.tools.interactions import (
    RecordInteractionInput,
    RecordInteractionOutput,
    record_interaction,
)
from p13n.tools.profile_context import GetContextInput, GetContextOutput, get_context
from p13n.tools.recommendations import (
    GetRecommendationsInput,
    GetRecommendationsOutput,
    get_recommendations,
)
from p13n.tools.registry import Action, ToolHints, unknown_action
from p13n.tools.search_catalog import SearchCatalogInput, SearchCatalogOutput, search_catalog

__all__ = ["ACTIONS", "get_action", "action_names"]

_READ = ToolHints(read_only=True, idempotent=True)

ACTIONS: tuple[Action[Any, Any], ...] = (
    Action(
        name="get_recommendations",
        title="Get recommendations",
        description=(
            "Recommend catalog items for one person (or for nobody in particular). Use it when "
            "the person wants ideas, asks for something ('a gift under $50', 'boots like these'), "
            "or when you want to show items next to an answer. Pass their identifier (device id, "
            "individual id, unified id, email or phone), optionally their request as `query`, an "
            "item they look at as `anchor_item_id`, and filters. Returns items with id, name, "
            "price, currency, url, image URL and a one-line reason, plus `personalizationId` and "
            "per item `personalizationContentId`: pass those to record_interaction when you "
            "show an item or the person clicks or carts it."
        ),
        input_model=GetRecommendationsInput,
        output_model=GetRecommendationsOutput,
        run=get_recommendations,
        hints=_READ.model_copy(update={"idempotent": False}),
    ),
    Action(
        name="get_context",
        title="Get person context",
        description=(
            "Brief yourself on a person before you answer them: known or anonymous, first name, "
            "segments, orders and lifetime revenue, last purchase, strongest category and brand "
            "affinities, cart, a summary of recent activity, and consent. Use it at the start "
            "of a conversation or when you need to know what they like. Personal data is masked "
            "unless your credential has the `pii` scope; the answer stays under about 4 KB and "
            "`omitted` says what was left out."
        ),
        input_model=GetContextInput,
        output_model=GetContextOutput,
        run=get_context,
        hints=_READ,
    ),
    Action(
        name="search_catalog",
        title="Search the catalog",
        description=(
            "Search the catalog by meaning and filters, the same for everyone (not "
            "personalized). Use it to look up items the person names, to check what exists "
            "(brands, price ranges), or to find an item id. Returns a page of items with id, "
            "name, price, url, image URL and similarity score; pass `next_cursor` back as "
            "`cursor` for the next page."
        ),
        input_model=SearchCatalogInput,
        output_model=SearchCatalogOutput,
        run=search_catalog,
        hints=_READ,
    ),
    Action(
        name="get_personalization_decisions",
        title="Get personalization decisions",
        description=(
            "Decide what to show at named personalization points in the agent channel, exactly "
            "as the website's decisioning does (targeting rules, experiments, recommenders, "
            "manual content). Use it when the store has configured points for the agent (e.g. "
            "a greeting offer or a featured list); for free-form item suggestions use "
            "get_recommendations. Returns per point the items (each with "
            "personalizationContentId), manual content attributes, and diagnostics "
            "(201 = nothing qualified, 401 = no such point)."
        ),
        input_model=GetDecisionsInput,
        output_model=GetDecisionsOutput,
        run=get_personalization_decisions,
        hints=ToolHints(read_only=True, idempotent=False),
    ),
    Action(
        name="record_interaction",
        title="Record an interaction",
        description=(
            "Tell the engine what happened in the conversation so the person's profile updates "
            "at once: an item was shown, clicked or added to the cart, or the person stated a "
            "preference ('prefers vegan products'). Use it after showing recommendations and "
            "whenever the person says what they like or need. Returns the recorded event id and "
            "the person's stated preferences."
        ),
        input_model=RecordInteractionInput,
        output_model=RecordInteractionOutput,
        run=record_interaction,
        hints=ToolHints(read_only=False, idempotent=False, destructive=False),
    ),
)

_BY_NAME = {a.name: a for a in ACTIONS}


def action_names() -> list[str]:
    return [a.name for a in ACTIONS]


def get_action(name: str) -> Action[Any, Any]:
    action = _BY_NAME.get(name)
    if action is None:
        raise unknown_action(name, action_names())
    return action
