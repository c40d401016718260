"""Ingest: event shapes, validation, consent policy inputs, import files."""

from p13n.domain.ingest.events import IDENTITY_EVENT_TYPES, Event, Line
from p13n.domain.ingest.files import (
    count_rows,
    flat_event_from_csv_row,
    item_from_row,
    parse_mapping,
    read_rows,
)
from p13n.domain.ingest.flood import FLOOD_CODE, FloodGuard
from p13n.domain.ingest.items import ITEM_CONTENT_FIELDS, ITEM_FIELDS, Item, category_prefixes
from p13n.domain.ingest.report import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    EventResult,
    ImportSummary,
    IngestReport,
)
from p13n.domain.ingest.validate import REJECTION_REASONS, parse_event

__all__ = [
    "Event",
    "EventResult",
    "FLOOD_CODE",
    "FloodGuard",
    "IDENTITY_EVENT_TYPES",
    "ITEM_CONTENT_FIELDS",
    "ITEM_FIELDS",
    "ImportSummary",
    "IngestReport",
    "Item",
    "Line",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "REJECTION_REASONS",
    "category_prefixes",
    "count_rows",
    "flat_event_from_csv_row",
    "item_from_row",
    "parse_event",
    "parse_mapping",
    "read_rows",
]
