"""One entry point for every face (HTTP routes, MCP over HTTP): a bearer token to a principal."""

from __future__ import annotations

from typing import Protocol

from p13n.domain.access.keys import KEY_PREFIX
from p13n.domain.access.principal import Principal
from p13n.domain.access.tokens import JwtVerifier, looks_like_jwt

__all__ = ["Authenticator", "KeyVerifier"]


class KeyVerifier(Protocol):
    """What the authenticator needs of the API keys (`p13n.domain.services.ApiKeys`)."""

    def peek(self, secret: str) -> Principal | None: ...

    def verify(self, secret: str) -> Principal | None: ...


class Authenticator:
    """Accepts an API key (`p13n_…`) or, when a `JwtVerifier` is configured, a JWT."""

    def __init__(self, keys: KeyVerifier, jwt: JwtVerifier | None = None) -> None:
        self.keys = keys
        self.jwt = jwt

    def peek(self, token: str) -> Principal | None:
        """What can be answered without I/O: a recently verified key, or a JWT (checked in
        memory). None means "call `authenticate`" (which may read the store)."""
        token = token.strip()
        if token.startswith(KEY_PREFIX):
            return self.keys.peek(token)
        if self.jwt is not None and looks_like_jwt(token):
            return self.jwt.verify(token)
        return None

    def authenticate(self, token: str | None) -> Principal | None:
        """The caller behind `token`; None when it is missing, unknown, revoked, expired or
        badly signed. Never raises, so that callers answer 401 and not 500."""
        if not token:
            return None
        token = token.strip()
        if token.startswith(KEY_PREFIX):
            return self.keys.verify(token)
        if self.jwt is not None and looks_like_jwt(token):
            return self.jwt.verify(token)
        return None
