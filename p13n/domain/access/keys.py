"""API keys: `p13n_<random>`, shown once when created, stored only as a SHA-256 hash.

Why a plain SHA-256 and not bcrypt/argon2: those slow hashes protect low-entropy secrets that
people choose (passwords) against guessing. Our secrets are 256 random bits from `secrets`, so
guessing is hopeless whatever the hash, and a fast hash keeps a cache miss at microseconds
instead of the ~100 ms per request a password hash would add. What a leaked table gives an
attacker is the hashes, from which no key can be recovered.

The keys themselves (create, list, revoke, verify with a cache) are the service
`p13n.domain.services.ApiKeys`, which holds the store; this module is the pure part.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field

from p13n.domain.access.scopes import Scope

__all__ = ["ApiKeyInfo", "CreatedKey", "KEY_PREFIX", "MAX_LABEL", "hash_key"]

KEY_PREFIX = "p13n_"
MAX_LABEL = 200


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiKeyInfo(BaseModel):
    """A key as listed: everything but the secret (which is not stored)."""

    id: str
    label: str
    scopes: list[Scope]
    created_at: float = Field(description="UTC epoch seconds.")
    revoked: bool
    revoked_at: float | None = None
    tools: list[str] | None = Field(
        default=None,
        description="The agent tools the key may call; null: every tool its scopes allow.",
    )


class CreatedKey(ApiKeyInfo):
    """A new key, with its secret: the only time the secret exists outside the caller."""

    key: str = Field(description="The secret to send as `Authorization: Bearer <key>`.")
