"""Ingest: event shapes, validation, consent policy inputs, import files."""

from p13n.domain.ingest.events import Event, Line
from p13n.domain.ingest.items import ITEM_CONTENT_FIELDS, ITEM_FIELDS, Item, category_prefixes
from p13n.domain.ingest.report import EventResult, ImportSummary, IngestReport
from p13n.domain.ingest.validate import parse_event

__all__ = [
    "Event",
    "Line",
    "Item",
    "ITEM_FIELDS",
    "ITEM_CONTENT_FIELDS",
    "category_prefixes",
    "parse_event",
    "EventResult",
    "IngestReport",
    "ImportSummary",
]
