"""Normalized forms of contact points, so that the same email or phone links to the same person."""

from __future__ import annotations

import phonenumbers

__all__ = ["normalize_email", "normalize_phone", "normalize_contact_point"]


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


def normalize_phone(value: str, *, default_region: str = "US") -> str:
    """E.164 when the number parses and is possible; otherwise the digits as given."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if not phonenumbers.is_possible_number(number):
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_contact_point(kind: str, value: str) -> str:
    if kind == "email":
        return normalize_email(value)
    if kind == "phone":
        return normalize_phone(value)
    return value.strip()
