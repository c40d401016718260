"""Bearer JWTs from an identity provider, verified offline with PyJWT.

The token must carry `sub`, `exp`, the configured `iss` and `aud`. It is verified with a PEM
public key (RS256 for RSA keys, ES256/384/512 for EC keys by curve), a JWKS file (keys picked by
`kid`), or a shared secret (HS256, at least 32 bytes). No key is fetched over the network at
request time. Scopes come from the space-separated `scope` claim or from `scp` (a list or a
string); names that are not p13n scopes (`openid`, `email`, ...) are ignored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.access.principal import Principal
from p13n.domain.access.scopes import Scope
from p13n.domain.errors import InvalidInput
from p13n.domain.timeutil import now_ts

__all__ = ["JwtConfig", "JwtVerifier", "looks_like_jwt", "scopes_from_claims"]

_MIN_SECRET_BYTES = 32
_MAX_CACHE = 10_000
_EC_ALGS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class JwtConfig(BaseModel):
    """Where JWTs come from and how to check them; exactly one key source is needed."""

    model_config = ConfigDict(frozen=True)

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    public_key_pem: str | None = None
    secret: str | None = None
    jwks_json: str | None = Field(default=None, description="A JWKS document ({'keys': [...]}).")
    leeway_seconds: float = Field(default=30.0, ge=0, description="Clock skew allowed.")


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


def scopes_from_claims(claims: dict[str, Any]) -> frozenset[Scope]:
    names: list[str] = []
    raw = claims.get("scope")
    if isinstance(raw, str):
        names.extend(raw.split())
    scp = claims.get("scp")
    if isinstance(scp, str):
        names.extend(scp.split())
    elif isinstance(scp, list):
        names.extend(s for s in scp if isinstance(s, str))
    known = {s.value for s in Scope}
    return frozenset(Scope(n) for n in names if n in known)


def _pem_key(pem: str) -> tuple[Any, list[str]]:
    try:
        key = load_pem_public_key(pem.encode("utf-8"))
    except ValueError as exc:
        raise InvalidInput(
            "the JWT public key is not a PEM public key.",
            hint="Give the issuer's public key as '-----BEGIN PUBLIC KEY-----…'.",
        ) from exc
    if isinstance(key, rsa.RSAPublicKey):
        return key, ["RS256"]
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _EC_ALGS:
        return key, [_EC_ALGS[key.curve.name]]
    raise InvalidInput(
        "the JWT public key is neither RSA nor a P-256/384/521 EC key.",
        hint="Use an RS256 or ES256 signing key at the identity provider.",
    )


class JwtVerifier:
    def __init__(self, config: JwtConfig, *, clock: Callable[[], float] = now_ts) -> None:
        sources = [config.public_key_pem, config.secret, config.jwks_json]
        if sum(s is not None for s in sources) != 1:
            raise InvalidInput(
                "JWT verification needs exactly one key source.",
                hint="Configure one of: a PEM public key, a JWKS file, or a shared secret.",
            )
        self.config = config
        self.now = clock
        self._key: Any = None
        self._algorithms: list[str] = []
        self._jwks: dict[str, jwt.PyJWK] = {}
        if config.public_key_pem is not None:
            self._key, self._algorithms = _pem_key(config.public_key_pem)
        elif config.secret is not None:
            if len(config.secret.encode("utf-8")) < _MIN_SECRET_BYTES:
                raise InvalidInput(
                    "the JWT secret is too short.",
                    hint=f"Use at least {_MIN_SECRET_BYTES} random bytes (HS256).",
                )
            self._key, self._algorithms = config.secret, ["HS256"]
        else:
            self._jwks = self._load_jwks(config.jwks_json or "")
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[Principal, float]] = {}

    @staticmethod
    def _load_jwks(text: str) -> dict[str, jwt.PyJWK]:
        try:
            keys = jwt.PyJWKSet.from_json(text).keys
        except (jwt.PyJWTError, json.JSONDecodeError, ValueError) as exc:
            raise InvalidInput(
                f"the JWKS document has no usable key ({exc}).",
                hint="Save the identity provider's JWKS (its jwks_uri document) to the file.",
            ) from exc
        return {k.key_id or "": k for k in keys}

    def _key_for(self, token: str) -> tuple[Any, list[str]]:
        if not self._jwks:
            return self._key, self._algorithms
        kid = jwt.get_unverified_header(token).get("kid") or ""
        jwk = self._jwks.get(kid) or (
            next(iter(self._jwks.values())) if len(self._jwks) == 1 else None
        )
        if jwk is None:
            raise jwt.InvalidKeyError(f"no key with kid {kid!r}")
        return jwk.key, [jwk.algorithm_name]

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid token; None for anything invalid (never raises)."""
        now = self.now()
        hit = self._cache.get(token)
        if hit is not None and now < hit[1]:
            return hit[0]
        try:
            key, algorithms = self._key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            return None
        principal = Principal(kind="jwt", subject=sub, scopes=scopes_from_claims(claims))
        with self._lock:
            if len(self._cache) >= _MAX_CACHE:
                self._cache.clear()
            self._cache[token] = (principal, float(claims["exp"]))
        return principal
