"""The shapes of a recommendation request and answer, and the output limit rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from p13n.domain.errors import InvalidInput
from p13n.domain.graphs import ProfileGraph
from p13n.domain.recommend.config import MAX_LIMIT
from p13n.domain.recommend.interpret import Interpreted
from p13n.domain.recommend.item_filter import ItemFilter

__all__ = [
    "RecommendRequest",
    "RecommendedItem",
    "Recommendations",
    "diagnostic",
    "effective_limit",
    "DIAGNOSTICS",
]

DIAGNOSTICS = {
    200: ("OK", "Recommendations returned."),
    512: (
        "QUERY_SERVICE_MISSING_PROFILE",
        "No profile for this individual; treated as a first-time anonymous visitor.",
    ),
    533: (
        "RECOMMENDER_CONTENT_SIZE_EXCEEDED",
        f"More than {MAX_LIMIT} items were asked for; the answer was truncated to {MAX_LIMIT}.",
    ),
}


def diagnostic(code: int) -> dict[str, Any]:
    name, description = DIAGNOSTICS[code]
    return {"code": code, "name": name, "description": description}


def effective_limit(asked: int | None, default: int) -> tuple[int, list[dict[str, Any]]]:
    """The number of items to return: the config's default, at most MAX_LIMIT (with 533)."""
    if asked is None:
        return default, []
    if isinstance(asked, bool) or not isinstance(asked, int) or asked < 1:
        raise InvalidInput(
            f"limit must be a whole number of at least 1, got {asked!r}.",
            hint=f"Ask for 1 to {MAX_LIMIT} items.",
        )
    if asked > MAX_LIMIT:
        return MAX_LIMIT, [diagnostic(533)]
    return asked, []


@dataclass(frozen=True)
class RecommendRequest:
    recommender: str
    individual: str | None = None
    anchor: str | None = None
    query: str | None = None
    limit: int | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    exclude_seen: bool = False
    exclude_items: Sequence[str] = ()
    item_filter: ItemFilter | None = None  # AND-ed with the recommender's own filters
    request_id: str | None = None
    channel: str | None = None  # where the answer is shown (no exploration in quiet channels)
    # The individual's stored profile when the caller has just read it (a decision's augment
    # stage): not read again, which with the compact profile cache would decode it again.
    profile: ProfileGraph | None = None


@dataclass
class RecommendedItem:
    id: str
    rank: int
    score: float | None
    reason: str
    recommender: str
    explore: bool = False
    propensity: float | None = None
    name: str | None = None
    price: float | None = None
    category: str | None = None
    brand: str | None = None


@dataclass
class Recommendations:
    recommender: str
    individual: str | None
    items: list[RecommendedItem]
    diagnostics: list[dict[str, Any]]
    request_id: str
    interpreted: Interpreted | None = None  # what the query and preferences were read as

    def ids(self) -> list[str]:
        return [i.id for i in self.items]

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommender": self.recommender,
            "individual": self.individual,
            "requestId": self.request_id,
            "items": [asdict(i) for i in self.items],
            "diagnostics": self.diagnostics,
            "interpreted": (
                None if self.interpreted is None else self.interpreted.model_dump(mode="json")
            ),
        }
