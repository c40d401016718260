"""How credentials reach the server: bearer and X-API-Key headers, revoked and unknown keys,
JWTs from a configured issuer, and JWT settings that cannot work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from _database import Database
from fastapi.testclient import TestClient

from p13n.domain.errors import InvalidInput
from p13n.server.app import create_app
from p13n.server.settings import Settings

SECRET = "an-hs256-secret-long-enough-for-tests-0123456789"
ISS = "https://idp.example.com/"
AUD = "p13n"


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    settings = e2e_db.settings(tmp_path, jwt_issuer=ISS, jwt_audience=AUD, jwt_secret=SECRET)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def _mint(client: TestClient, *scopes: str) -> tuple[str, str]:
    app: Any = client.app
    created = app.state.services.keys.create(list(scopes), label="t")
    return created.id, created.key


def _token(**over: Any) -> str:
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "svc-1",
        "exp": int(time.time()) + 300,
        "scope": "decide",
    }
    claims.update(over)
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_a_key_works_as_a_bearer_token_and_as_x_api_key(client: TestClient) -> None:
    _, k = _mint(client, "decide")
    assert (
        client.get("/profiles/nobody", headers={"Authorization": f"Bearer {k}"}).status_code == 404
    )
    assert (
        client.get("/profiles/nobody", headers={"authorization": f"bearer {k}"}).status_code == 404
    )
    assert client.get("/profiles/nobody", headers={"X-API-Key": k}).status_code == 404


def test_an_event_is_accepted_with_a_public_key(client: TestClient) -> None:
    _, k = _mint(client, "public")
    event = {"eventId": "e1", "deviceId": "d1", "interaction": "view", "itemId": "i1"}
    r = client.post("/events", json=event, headers={"X-API-Key": k})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    assert client.get("/profiles/d1", headers={"X-API-Key": k}).status_code == 403


def test_a_revoked_key_is_refused_at_once_with_invalid_token(client: TestClient) -> None:
    key_id, k = _mint(client, "admin")
    headers = {"Authorization": f"Bearer {k}"}
    assert client.get("/admin/segments", headers=headers).status_code == 200
    app: Any = client.app
    app.state.services.keys.revoke(key_id)
    r = client.get("/admin/segments", headers=headers)
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    assert "unknown, revoked or expired" in r.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer p13n_made-up"},
        {"X-API-Key": "hunter2"},
    ],
    ids=["basic auth", "empty bearer", "unknown key", "not a key"],
)
def test_anything_but_a_valid_credential_is_401(
    client: TestClient, headers: dict[str, str]
) -> None:
    r = client.get("/admin/segments", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert "p13n keys create" in r.json()["error"]


def test_a_jwt_from_the_configured_issuer_carries_its_scopes(client: TestClient) -> None:
    assert (
        client.get("/profiles/x", headers={"Authorization": f"Bearer {_token()}"}).status_code
        == 404
    )
    r = client.get("/admin/segments", headers={"Authorization": f"Bearer {_token()}"})
    assert r.status_code == 403 and "`admin` scope" in r.json()["error"]
    scp = _token(scope=None, scp=["admin"])
    assert (
        client.get("/admin/segments", headers={"Authorization": f"Bearer {scp}"}).status_code == 200
    )


@pytest.mark.parametrize(
    "over",
    [
        {"aud": "another-api"},
        {"iss": "https://other.example.com/"},
        {"exp": int(time.time()) - 600},
    ],
    ids=["wrong audience", "wrong issuer", "expired"],
)
def test_a_jwt_for_another_audience_or_issuer_or_expired_is_401(
    client: TestClient, over: dict[str, Any]
) -> None:
    r = client.get("/profiles/x", headers={"Authorization": f"Bearer {_token(**over)}"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_jwts_are_refused_when_no_issuer_is_configured(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(home=tmp_path)), raise_server_exceptions=False) as c:
        assert (
            c.get("/profiles/x", headers={"Authorization": f"Bearer {_token()}"}).status_code == 401
        )


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"jwt_secret": SECRET}, "issuer and audience"),
        ({"jwt_issuer": ISS, "jwt_audience": AUD}, "exactly one key source"),
        ({"jwt_issuer": ISS, "jwt_audience": AUD, "jwt_secret": "short"}, "too short"),
        ({"jwt_issuer": ISS, "jwt_audience": AUD, "jwt_jwks_file": "/nonexistent"}, "cannot read"),
    ],
)
def test_jwt_settings_that_cannot_work_stop_the_app_from_being_built(
    tmp_path: Path, settings: dict[str, Any], needle: str
) -> None:
    with pytest.raises(InvalidInput, match=needle):
        create_app(Settings(home=tmp_path, **settings))
