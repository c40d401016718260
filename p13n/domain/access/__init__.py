"""Access control: API keys and JWTs to principals with scopes. No web code here; the faces
(`server/auth.py`, the MCP HTTP transport) turn a missing principal into 401 and a missing
scope into 403."""

from p13n.domain.access.authenticate import Authenticator
from p13n.domain.access.keys import (
    KEY_PREFIX,
    ApiKeyInfo,
    ApiKeys,
    CreatedKey,
    api_keys,
    hash_key,
)
from p13n.domain.access.principal import Principal
from p13n.domain.access.rate_limit import RateLimiter
from p13n.domain.access.scopes import ALL_SCOPES, IMPLIED, Scope, effective_scopes, parse_scopes
from p13n.domain.access.tokens import JwtConfig, JwtVerifier, scopes_from_claims
from p13n.domain.store.keys_store import KeysStore

__all__ = [
    "ALL_SCOPES",
    "IMPLIED",
    "KEY_PREFIX",
    "ApiKeyInfo",
    "ApiKeys",
    "Authenticator",
    "CreatedKey",
    "JwtConfig",
    "JwtVerifier",
    "KeysStore",
    "Principal",
    "RateLimiter",
    "Scope",
    "effective_scopes",
    "hash_key",
    "api_keys",
    "parse_scopes",
    "scopes_from_claims",
]
