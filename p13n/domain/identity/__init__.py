"""Identify: map every event and source record to one unified individual.

Pure logic: no store, no engine. The seam (`Identifier`, `IdentityLinks`, `LinkChange`) is
used by ingest; the rest is imported by module: `records` (source records), `rules`
(rulesets), `batch` (batch resolution), `realtime` (blocking indexes), `fellegi_sunter`,
`reconcile`. Orchestration over the store (imports, resolve, export, lineage, split, rulesets)
is in `domain/services` (`IdentityService`, `IdentityControl`).
"""

from p13n.domain.identity.identify import Identifier, IdentityLinks, LinkChange
from p13n.domain.identity.normalize import normalize_contact_point, normalize_email, normalize_phone
from p13n.domain.identity.records import IndividualRecord, NormRecord, PartyIdentifier
from p13n.domain.identity.rules import DEFAULT_RULESET, MatchCriterion, MatchRule, Ruleset

__all__ = [
    "Identifier",
    "IdentityLinks",
    "LinkChange",
    "normalize_contact_point",
    "normalize_email",
    "normalize_phone",
    "IndividualRecord",
    "NormRecord",
    "PartyIdentifier",
    "DEFAULT_RULESET",
    "MatchCriterion",
    "MatchRule",
    "Ruleset",
]
