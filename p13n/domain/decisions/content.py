"""Shapes the pipeline reads and writes: a profile given in the request, and a recommended
item rendered in the point's content schema."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from p13n.domain.decisions.config import RecommendationsSchema
from p13n.domain.errors import InvalidInput
from p13n.domain.graphs import ProfileGraph, SegmentMembership
from p13n.domain.ingest import ITEM_CONTENT_FIELDS, Item

__all__ = ["profile_from_document", "data_item"]


def profile_from_document(doc: dict[str, Any], now: float) -> ProfileGraph:
    """A profile given in the request: the profile graph's public shape (`GET /profiles/{id}`),
    every part optional; `segments` may also be a list of segment names."""
    doc = dict(doc)
    doc.setdefault("unified_id", str(doc.get("unifiedIndividualId") or ""))
    doc.pop("unifiedIndividualId", None)
    doc.setdefault("created_at", now)
    doc.setdefault("updated_at", now)
    if isinstance(doc.get("segments"), list):
        names = doc["segments"]
        if not all(isinstance(n, str) for n in names):
            raise InvalidInput(
                "profile.segments must be a list of segment names or an object of memberships."
            )
        doc["segments"] = {n: SegmentMembership(entered_at=now) for n in names}
    try:
        return ProfileGraph.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"the request's profile has the wrong shape at '{where}': {first['msg']}.",
            hint="Send the shape of GET /profiles/{id} (attributes, insights, segments, "
            "affinities, engagement), or no profile.",
        ) from None


def data_item(
    content_id: str, item: Item | None, item_id: str, schema: RecommendationsSchema
) -> dict[str, Any]:
    """One `data` entry: the content id, then the schema's item fields in order."""
    out: dict[str, Any] = {"personalizationContentId": content_id}
    for name in schema.item_fields:
        if item is None:
            out[name] = item_id if name == "id" else None
        elif name.startswith("attributes."):
            out[name] = item.attributes.get(name.split(".", 1)[1])
        else:
            out[name] = getattr(item, ITEM_CONTENT_FIELDS[name])
    return out
