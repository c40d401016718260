"""Identify: map every event to one unified individual (the identify seam)."""

from p13n.domain.identity.identify import Identifier, IdentityLinks, LinkChange
from p13n.domain.identity.normalize import normalize_contact_point, normalize_email, normalize_phone

__all__ = [
    "Identifier",
    "IdentityLinks",
    "LinkChange",
    "normalize_contact_point",
    "normalize_email",
    "normalize_phone",
]
