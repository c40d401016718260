"""Identify: map every event and source record to one unified individual.

Pure logic: no store, no engine. The seam (`Identifier`, `IdentityLinks`, `LinkChange`) is
used by ingest; the rest is imported by module: `records` (source records), `rules`
(rulesets), `batch` (batch resolution), `realtime` (blocking indexes), `fellegi_sunter`,
`reconcile`. Orchestration over the store (imports, resolve, export, lineage, split, rulesets)
is in `domain/services` (`IdentityService`, `IdentityControl`).
"""

from p13n.domain.identity.batch import EVENT_IDENTIFIER, resolve_records
from p13n.domain.identity.fellegi_sunter import FSParams
from p13n.domain.identity.identify import (
    EVENTS_SOURCE,
    Identifier,
    IdentityLinks,
    LinkChange,
    new_unified_id,
    source_row,
)
from p13n.domain.identity.normalize import (
    clean_email,
    normalize_contact_point,
    normalize_email,
    normalize_phone,
    phone_e164,
)
from p13n.domain.identity.realtime import RecordIndex, event_links
from p13n.domain.identity.reconcile import SourceValues, contact_points, reconcile
from p13n.domain.identity.records import (
    IndividualRecord,
    NormRecord,
    PartyIdentifier,
    normalize_record,
    record_from_row,
    record_key,
)
from p13n.domain.identity.rules import (
    DEFAULT_RULESET,
    MatchCriterion,
    MatchRule,
    Ruleset,
    parse_ruleset,
)

__all__ = [
    "DEFAULT_RULESET",
    "EVENTS_SOURCE",
    "EVENT_IDENTIFIER",
    "FSParams",
    "Identifier",
    "IdentityLinks",
    "IndividualRecord",
    "LinkChange",
    "MatchCriterion",
    "MatchRule",
    "NormRecord",
    "PartyIdentifier",
    "RecordIndex",
    "Ruleset",
    "SourceValues",
    "clean_email",
    "contact_points",
    "event_links",
    "new_unified_id",
    "normalize_contact_point",
    "normalize_email",
    "normalize_phone",
    "normalize_record",
    "parse_ruleset",
    "phone_e164",
    "reconcile",
    "record_from_row",
    "record_key",
    "resolve_records",
    "source_row",
]
