"""Source records: what an input says about a person, as given and in normalized form.

A record is kept as it arrived (`IndividualRecord`); resolution reads its normalized form
(`NormRecord`). A malformed email, phone or birth date is kept raw, not normalized, and
flagged (`email_malformed`, ...), so it never links anybody and never gets lost.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from p13n.domain.errors import InvalidInput
from p13n.domain.identity.normalize import (
    clean_birth_date,
    clean_email,
    exact_text,
    normalize_address,
    normalized_text,
    phone_e164,
)
from p13n.domain.timeutil import to_ts

__all__ = [
    "PartyIdentifier",
    "IndividualRecord",
    "NormRecord",
    "RECORD_FIELDS",
    "IDENTIFYING_FIELDS",
    "record_from_row",
    "normalize_record",
    "record_key",
]

RECORD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "street",
    "city",
    "postal_code",
    "state",
    "country",
    "birth_date",
)
IDENTIFYING_FIELDS = ("email", "phone", "street", "birth_date", "party_identifiers", "last_name")


class PartyIdentifier(BaseModel):
    """A party identifier: ID name (e.g. 'Loyalty'), ID type (e.g. 'Member number'), number."""

    model_config = ConfigDict(extra="forbid")
    id_name: str = ""
    id_type: str = ""
    number: str = Field(min_length=1)

    @field_validator("id_name", "id_type", "number", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    def key(self) -> str:
        return f"{exact_text(self.id_name)}|{exact_text(self.id_type)}|{exact_text(self.number)}"


class IndividualRecord(BaseModel):
    """One source record about a person, as imported (`p13n import individuals`) or built from
    identity events. Columns that are not fields are kept in `attributes`."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1)
    source_record_id: str = Field(min_length=1)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None
    birth_date: str | None = None
    party_identifiers: list[PartyIdentifier] = Field(default_factory=list)
    updated_at: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator(*RECORD_FIELDS, "source", "source_record_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        return text or None

    @field_validator("updated_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return to_ts(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return to_ts(datetime.fromisoformat(value.replace("Z", "+00:00")))
        return value

    @field_validator("party_identifiers", mode="before")
    @classmethod
    def _parties(cls, value: Any) -> Any:
        if value is None or value == "":
            return []
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return orjson.loads(text)
            parts = [p.split("|") for p in text.split(";") if p.strip()]
            return [
                {"id_name": p[0], "id_type": p[1], "number": p[2]}
                if len(p) == 3
                else {"number": p[-1]}
                for p in parts
            ]
        return value

    @property
    def key(self) -> str:
        return record_key(self.source, self.source_record_id)


def record_key(source: str, source_record_id: str) -> str:
    return f"{source}:{source_record_id}"


_KNOWN = set(IndividualRecord.model_fields)


def record_from_row(row: Any, *, default_source: str = "import") -> IndividualRecord:
    """An import row -> IndividualRecord; unknown columns become `attributes`."""
    if not isinstance(row, dict):
        raise InvalidInput(
            str(row) if isinstance(row, str) else "an individual row must be an object"
        )
    fields = {k: v for k, v in row.items() if k in _KNOWN and k != "attributes"}
    attrs = dict(row["attributes"]) if isinstance(row.get("attributes"), dict) else {}
    attrs.update({k: v for k, v in row.items() if k not in _KNOWN and v is not None})
    if not fields.get("source"):
        fields["source"] = default_source
    try:
        return IndividualRecord.model_validate({**fields, "attributes": attrs})
    except (ValidationError, orjson.JSONDecodeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "row"
            raise InvalidInput(f"{where}: {first['msg']}") from None
        raise InvalidInput(f"unreadable value: {exc}") from None


@dataclass(slots=True)
class NormRecord:
    """The comparable form of a source record. `*_x` is what `Exact` compares, `*_n` what
    `Exact Normalized` compares (None: missing, or malformed and flagged)."""

    key: str
    updated_at: float
    first_x: str | None = None
    first_n: str | None = None
    last_x: str | None = None
    last_n: str | None = None
    emails_x: tuple[str, ...] = ()
    emails_n: tuple[str, ...] = ()
    phones_x: tuple[str, ...] = ()
    phones_n: tuple[str, ...] = ()
    street_x: str | None = None
    street_n: str | None = None
    city_x: str | None = None
    city_n: str | None = None
    postal_x: str | None = None
    state_x: str | None = None
    country_x: str | None = None
    address_x: str | None = None
    address_n: str | None = None
    birth_date: str | None = None
    party: tuple[str, ...] = ()
    party_numbers: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _NORM_FIELDS}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NormRecord:
        data = dict(data)
        for name in (
            "emails_x",
            "emails_n",
            "phones_x",
            "phones_n",
            "party",
            "party_numbers",
            "flags",
        ):
            data[name] = tuple(data.get(name) or ())
        return cls(**data)

    def has_identifying_value(self) -> bool:
        return bool(
            self.emails_x
            or self.phones_x
            or self.street_x
            or self.birth_date
            or self.party
            or (self.first_x and self.last_x)
        )


_NORM_FIELDS = tuple(f.name for f in fields(NormRecord))


def _opt(fn: Any, value: str | None) -> str | None:
    return fn(value) if value else None


def _shared(value: str | None) -> str | None:
    """One string object per distinct value of a low-cardinality field (names, cities, postal
    codes, states, birth dates): a million records then hold a few thousand strings, not
    millions of copies. Empty -> None."""
    return sys.intern(value) if value else None


def _same(exact: str | None, norm: str | None) -> str | None:
    """The normalized value, sharing the exact one's string object when they are equal."""
    return exact if norm == exact else norm or None


def normalize_record(
    rec: IndividualRecord, *, default_region: str = "US", now: float = 0.0
) -> NormRecord:
    """Normalize every field; malformed emails, phones and birth dates are flagged, not linked."""
    flags: list[str] = []
    emails_n: tuple[str, ...] = ()
    phones_n: tuple[str, ...] = ()
    if rec.email:
        norm = clean_email(rec.email)
        emails_n = (norm,) if norm else ()
        if norm is None:
            flags.append("email_malformed")
    if rec.phone:
        e164 = phone_e164(rec.phone, default_region=default_region)
        phones_n = (e164,) if e164 else ()
        if e164 is None:
            flags.append("phone_malformed")
    birth: str | None = None
    if rec.birth_date:
        birth = clean_birth_date(rec.birth_date)
        if birth is None:
            flags.append("birth_date_malformed")
            birth = exact_text(rec.birth_date)
    street_x = _opt(exact_text, rec.street)
    street_n = _same(street_x, _opt(normalize_address, rec.street))
    city_x = _shared(_opt(exact_text, rec.city))
    city_n = _shared(_opt(normalize_address, rec.city))
    postal = _shared(_opt(exact_text, rec.postal_code))
    address_x = (
        "|".join(exact_text(v or "") for v in (rec.street, rec.city, rec.postal_code))
        if rec.street
        else None
    )
    address_n = f"{street_n}|{city_n or ''}|{postal or ''}" if street_n else None
    out = NormRecord(
        key=rec.key,
        updated_at=rec.updated_at if rec.updated_at is not None else now,
        first_x=_shared(_opt(exact_text, rec.first_name)),
        first_n=_shared(_opt(normalized_text, rec.first_name)),
        last_x=_shared(_opt(exact_text, rec.last_name)),
        last_n=_shared(_opt(normalized_text, rec.last_name)),
        emails_x=(exact_text(rec.email),) if rec.email else (),
        emails_n=emails_n,
        phones_x=(exact_text(rec.phone),) if rec.phone else (),
        phones_n=phones_n,
        street_x=street_x,
        street_n=street_n,
        city_x=city_x,
        city_n=city_n,
        postal_x=postal,
        state_x=_shared(_opt(exact_text, rec.state)),
        country_x=_shared(_opt(exact_text, rec.country)),
        address_x=address_x,
        address_n=_same(address_x, address_n),
        birth_date=_shared(birth),
        party=tuple(dict.fromkeys(p.key() for p in rec.party_identifiers)),
        party_numbers=tuple(dict.fromkeys(exact_text(p.number) for p in rec.party_identifiers)),
    )
    if not out.has_identifying_value():
        flags.append("no_identifying_field")
    out.flags = tuple(flags)
    return out
