"""Access control: API keys and JWTs to principals with scopes. No web code here; the faces
(`server/auth.py`, the MCP HTTP transport) turn a missing principal into 401 and a missing
scope into 403."""

from p13n.domain.access.authenticate import Authenticator, KeyVerifier
from p13n.domain.access.keys import KEY_PREFIX, MAX_LABEL, ApiKeyInfo, CreatedKey, hash_key
from p13n.domain.access.principal import Principal
from p13n.domain.access.rate_limit import RateLimiter
from p13n.domain.access.scopes import ALL_SCOPES, IMPLIED, Scope, effective_scopes, parse_scopes
from p13n.domain.access.tokens import JwtConfig, JwtVerifier, scopes_from_claims

__all__ = [
    "ALL_SCOPES",
    "IMPLIED",
    "KEY_PREFIX",
    "ApiKeyInfo",
    "Authenticator",
    "CreatedKey",
    "JwtConfig",
    "JwtVerifier",
    "KeyVerifier",
    "MAX_LABEL",
    "Principal",
    "RateLimiter",
    "Scope",
    "effective_scopes",
    "hash_key",
    "parse_scopes",
    "scopes_from_claims",
]
