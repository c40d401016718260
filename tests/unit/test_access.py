"""Scopes, principals and JWT verification: pure logic, no store."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from p13n.domain.access import (
    Authenticator,
    JwtConfig,
    JwtVerifier,
    Principal,
    Scope,
    effective_scopes,
    parse_scopes,
)
from p13n.domain.errors import InvalidInput

SECRET = "s" * 40
ISS = "https://idp.example.com/"
AUD = "p13n-api"


def _claims(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "agent-7",
        "exp": int(time.time()) + 600,
        "scope": "decide agent",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _hs(**over: Any) -> str:
    return jwt.encode(_claims(**over), SECRET, algorithm="HS256")


@pytest.fixture
def hs_verifier() -> JwtVerifier:
    return JwtVerifier(JwtConfig(issuer=ISS, audience=AUD, secret=SECRET))


def test_admin_implies_every_scope_except_pii() -> None:
    held = effective_scopes({Scope.ADMIN})
    assert held == {Scope.ADMIN, Scope.DECIDE, Scope.PUBLIC, Scope.AGENT, Scope.ANALYST}
    assert Scope.PII not in held


def test_analyst_reads_analytics_only_and_implies_nothing_more() -> None:
    assert effective_scopes({Scope.ANALYST}) == {Scope.ANALYST}


def test_decide_implies_public_but_public_implies_nothing_more() -> None:
    assert effective_scopes({Scope.DECIDE}) == {Scope.DECIDE, Scope.PUBLIC}
    assert effective_scopes({Scope.PUBLIC}) == {Scope.PUBLIC}
    assert effective_scopes({Scope.AGENT}) == {Scope.AGENT}


def test_a_principal_allows_implied_scopes_and_sees_pii_only_when_granted() -> None:
    admin = Principal(kind="api_key", subject="key_1", scopes=frozenset({Scope.ADMIN}))
    assert admin.allows("decide") and admin.allows(Scope.AGENT)
    assert not admin.can_see_pii and not admin.allows(Scope.PII)
    agent = Principal(kind="jwt", subject="x", scopes=frozenset({Scope.AGENT, Scope.PII}))
    assert agent.can_see_pii and not agent.allows(Scope.DECIDE)


def test_scope_names_are_parsed_from_repeats_commas_and_any_case() -> None:
    assert parse_scopes(["Admin", "public,pii"]) == {Scope.ADMIN, Scope.PUBLIC, Scope.PII}


@pytest.mark.parametrize(("names", "needle"), [(["admin", "root"], "'root'"), ([], "at least one")])
def test_unknown_or_missing_scopes_are_refused_with_the_list_of_valid_ones(
    names: list[str], needle: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_scopes(names)
    assert needle in str(exc.value) and "public, decide, admin, agent, pii" in str(exc.value)


def test_a_valid_hs256_token_gives_its_subject_and_scopes(hs_verifier: JwtVerifier) -> None:
    p = hs_verifier.verify(_hs())
    assert p is not None and p.kind == "jwt" and p.subject == "agent-7"
    assert p.scopes == {Scope.DECIDE, Scope.AGENT}


def test_scopes_also_come_from_scp_and_unknown_names_are_ignored(hs_verifier: JwtVerifier) -> None:
    p = hs_verifier.verify(_hs(scope=None, scp=["openid", "pii", "agent"]))
    assert p is not None and p.scopes == {Scope.PII, Scope.AGENT}
    p = hs_verifier.verify(_hs(scope="openid email"))
    assert p is not None and p.scopes == frozenset()


@pytest.mark.parametrize(
    "bad",
    [
        {"iss": "https://evil.example.com/"},
        {"aud": "someone-else"},
        {"exp": int(time.time()) - 3600},
        {"exp": None},
        {"sub": None},
    ],
    ids=["wrong issuer", "wrong audience", "expired", "no exp", "no sub"],
)
def test_tokens_with_wrong_or_missing_claims_are_refused(
    hs_verifier: JwtVerifier, bad: dict[str, Any]
) -> None:
    assert hs_verifier.verify(_hs(**bad)) is None


def test_a_token_signed_with_another_secret_or_tampered_is_refused(
    hs_verifier: JwtVerifier,
) -> None:
    forged = jwt.encode(_claims(), "x" * 40, algorithm="HS256")
    assert hs_verifier.verify(forged) is None
    head, body, sig = _hs().split(".")
    assert hs_verifier.verify(f"{head}.{body}x.{sig}") is None
    assert hs_verifier.verify("not.a.jwt") is None


def test_an_unsigned_token_is_refused(hs_verifier: JwtVerifier) -> None:
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    assert hs_verifier.verify(unsigned) is None


def _pem(public_key: Any) -> str:
    return public_key.public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_rs256_and_es256_tokens_are_verified_with_a_pem_public_key() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    for private, alg in ((rsa_key, "RS256"), (ec_key, "ES256")):
        verifier = JwtVerifier(
            JwtConfig(issuer=ISS, audience=AUD, public_key_pem=_pem(private.public_key()))
        )
        token = jwt.encode(_claims(), private, algorithm=alg)
        assert verifier.verify(token) is not None, alg
        assert verifier.verify(_hs()) is None, "an HS256 token must not pass a public-key setup"


def test_a_jwks_document_picks_the_key_by_kid() -> None:
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]
    jwks = {
        "keys": [
            {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": f"k{i}"}
            for i, k in enumerate(keys)
        ]
    }
    verifier = JwtVerifier(JwtConfig(issuer=ISS, audience=AUD, jwks_json=json.dumps(jwks)))
    good = jwt.encode(_claims(), keys[1], algorithm="RS256", headers={"kid": "k1"})
    wrong = jwt.encode(_claims(), keys[1], algorithm="RS256", headers={"kid": "k0"})
    unknown = jwt.encode(_claims(), keys[1], algorithm="RS256", headers={"kid": "k9"})
    assert verifier.verify(good) is not None
    assert verifier.verify(wrong) is None and verifier.verify(unknown) is None


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"secret": "short"}, "too short"),
        ({}, "exactly one key source"),
        ({"secret": SECRET, "public_key_pem": "x"}, "exactly one key source"),
        ({"public_key_pem": "not a pem"}, "not a PEM public key"),
        ({"jwks_json": "{}"}, "no usable key"),
    ],
)
def test_a_bad_jwt_configuration_is_refused_with_what_to_fix(
    config: dict[str, str], needle: str
) -> None:
    with pytest.raises(InvalidInput, match=needle):
        JwtVerifier(JwtConfig(issuer=ISS, audience=AUD, **config))


class _NoKeys:
    """Stands in for the key store where only JWT routing is under test."""

    def peek(self, secret: str) -> Principal | None:
        return None

    def verify(self, secret: str) -> Principal | None:
        return None


def test_the_authenticator_sends_keys_and_jwts_to_their_verifier(hs_verifier: JwtVerifier) -> None:
    auth = Authenticator(_NoKeys(), hs_verifier)  # type: ignore[arg-type]
    assert auth.authenticate(_hs()) is not None
    assert auth.peek(_hs()) is not None
    assert auth.authenticate(None) is None and auth.authenticate("") is None
    assert auth.authenticate("p13n_unknown") is None
    assert Authenticator(_NoKeys(), None).authenticate(_hs()) is None  # type: ignore[arg-type]
