"""Reconciliation: the unified individual's value of each field, from its source records.

Rules per field: `Last Updated` (the newest record's value), `Most Frequent` (ties go to the
newest), `Source Priority` (the first listed source that has a value; unlisted sources after
it, newest first); `ignore_empty` skips records without a value. Contact points are not
reconciled: every distinct email, phone, address and party identifier is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from p13n.domain.identity.normalize import clean_email, normalize_address, phone_e164
from p13n.domain.identity.rules import FieldReconciliation, Reconciliation

__all__ = ["SourceValues", "reconcile_field", "reconcile", "contact_points", "RECONCILED_FIELDS"]

RECONCILED_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "street",
    "city",
    "postal_code",
    "state",
    "country",
)


@dataclass(frozen=True)
class SourceValues:
    """One source record's raw fields, with its source and last update time."""

    source: str
    updated_at: float
    fields: dict[str, Any]


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def reconcile_field(name: str, records: Sequence[SourceValues], how: FieldReconciliation) -> Any:
    newest = sorted(records, key=lambda r: r.updated_at, reverse=True)
    if how.ignore_empty:
        newest = [r for r in newest if not _empty(r.fields.get(name))]
    if not newest:
        return None
    if how.rule == "Last Updated":
        return newest[0].fields.get(name)
    if how.rule == "Most Frequent":
        counts = Counter(newest[k].fields.get(name) for k in range(len(newest)))
        top = max(counts.values())
        return next(r.fields.get(name) for r in newest if counts[r.fields.get(name)] == top)
    rank = {s: k for k, s in enumerate(how.source_priority)}
    ordered = sorted(newest, key=lambda r: rank.get(r.source, len(rank)))  # stable: newest first
    return ordered[0].fields.get(name)


def reconcile(
    records: Sequence[SourceValues],
    config: Reconciliation,
    *,
    fields: Sequence[str] = RECONCILED_FIELDS,
) -> dict[str, Any]:
    """Field -> reconciled value (absent when no record has one)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = reconcile_field(name, records, config.for_field(name))
        if not _empty(value):
            out[name] = value
    return out


def contact_points(
    records: Sequence[SourceValues], *, default_region: str = "US"
) -> dict[str, list[dict[str, Any]]]:
    """Every distinct contact point, newest first, with its sources; malformed ones flagged."""
    emails: dict[str, dict[str, Any]] = {}
    phones: dict[str, dict[str, Any]] = {}
    addresses: dict[str, dict[str, Any]] = {}
    parties: dict[str, dict[str, Any]] = {}

    def add(bucket: dict[str, dict[str, Any]], key: str, entry: dict[str, Any], src: str) -> None:
        slot = bucket.setdefault(key, {**entry, "sources": []})
        if src not in slot["sources"]:
            slot["sources"].append(src)

    for rec in sorted(records, key=lambda r: r.updated_at, reverse=True):
        f = rec.fields
        if not _empty(f.get("email")):
            norm = clean_email(str(f["email"]))
            add(
                emails,
                norm or f"raw:{f['email']}",
                {"value": f["email"], "normalized": norm, "malformed": norm is None},
                rec.source,
            )
        if not _empty(f.get("phone")):
            e164 = phone_e164(str(f["phone"]), default_region=default_region)
            add(
                phones,
                e164 or f"raw:{f['phone']}",
                {"value": f["phone"], "normalized": e164, "malformed": e164 is None},
                rec.source,
            )
        if not _empty(f.get("street")):
            parts = {k: f.get(k) for k in ("street", "city", "postal_code", "state", "country")}
            key = normalize_address(" ".join(str(v) for v in parts.values() if v))
            add(addresses, key, {k: v for k, v in parts.items() if v}, rec.source)
        for party in f.get("party_identifiers") or []:
            key = f"{party.get('id_name', '')}|{party.get('id_type', '')}|{party.get('number')}"
            add(parties, key.casefold(), dict(party), rec.source)
    return {
        "emails": list(emails.values()),
        "phones": list(phones.values()),
        "addresses": list(addresses.values()),
        "party_identifiers": list(parties.values()),
    }
