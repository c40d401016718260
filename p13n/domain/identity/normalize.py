"""Normalized forms of identifying values, so that the same person's values compare equal.

Two kinds of function: the lenient ones of the identify seam (`normalize_email`,
`normalize_phone`: always return a string) and the strict ones of source records
(`clean_email`, `phone_e164`, `clean_birth_date`: return None for a malformed value, which the
caller keeps raw and flags, never normalizes).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

import phonenumbers

__all__ = [
    "normalize_email",
    "normalize_phone",
    "normalize_contact_point",
    "clean_email",
    "phone_e164",
    "normalize_address",
    "exact_text",
    "normalized_text",
    "clean_birth_date",
    "ADDRESS_ABBREVIATIONS",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_PUNCT = re.compile(r"[^\w\s]")

ADDRESS_ABBREVIATIONS = {
    "street": "st",
    "str": "st",
    "road": "rd",
    "avenue": "ave",
    "av": "ave",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "crescent": "cres",
    "circuit": "cct",
    "terrace": "tce",
    "highway": "hwy",
    "parade": "pde",
    "close": "cl",
    "square": "sq",
    "parkway": "pkwy",
    "way": "wy",
    "apartment": "apt",
    "suite": "ste",
    "unit": "u",
    "floor": "fl",
    "building": "bldg",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "mount": "mt",
    "saint": "st",
}


def normalize_email(value: str) -> str:
    """Lower case, trimmed; Gmail dots and +tags removed (they reach the same mailbox)."""
    email = value.strip().lower()
    local, sep, domain = email.partition("@")
    if not sep:
        return email
    if domain in ("gmail.com", "googlemail.com"):
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def clean_email(value: str) -> str | None:
    """The normalized email, or None when it is not an address (then it is kept raw, flagged)."""
    email = value.strip()
    if not _EMAIL.match(email):
        return None
    return normalize_email(email)


def phone_e164(value: str, *, default_region: str = "US") -> str | None:
    """E.164 when the number parses and is possible in `default_region` (or has a +country);
    None otherwise."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_phone(value: str, *, default_region: str = "US") -> str:
    """E.164 when the number parses and is possible; otherwise the digits as given."""
    e164 = phone_e164(value, default_region=default_region)
    if e164 is None:
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    return e164


def normalize_contact_point(kind: str, value: str) -> str:
    if kind == "email":
        return normalize_email(value)
    if kind == "phone":
        return normalize_phone(value)
    return value.strip()


def exact_text(value: str) -> str:
    """What `Exact` compares: case-folded, trimmed, inner whitespace collapsed."""
    return " ".join(value.casefold().split())


@lru_cache(maxsize=1 << 16)
def normalized_text(value: str) -> str:
    """What `Exact Normalized` compares for names and free text: accents and punctuation
    removed, whitespace collapsed, case-folded. (Cached: names and places repeat.)"""
    text = value.casefold()
    if not text.isascii():  # ASCII has no accents to strip: NFKD would leave it unchanged
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_PUNCT.sub(" ", text).split())


@lru_cache(maxsize=1 << 16)
def normalize_address(value: str) -> str:
    """Case, punctuation and common abbreviations (street -> st, north -> n, ...)."""
    words = normalized_text(value).split()
    return " ".join([ADDRESS_ABBREVIATIONS.get(w, w) for w in words])


def clean_birth_date(value: object) -> str | None:
    """YYYYMMDD for a real date (date, datetime, 'YYYY-MM-DD', 'YYYYMMDD', 'YYYY/MM/DD');
    None when it is not one."""
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    text = str(value).strip()
    if "T" in text:
        text = text.split("T", 1)[0]
    digits = text.replace("-", "").replace("/", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    return digits
