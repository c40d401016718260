"""One way to open the app in e2e tests, so that every test client carries credentials.

Tests that are not about access control open the app through `api_client`: it starts the app
(lifespan run), mints an API key holding every scope (`pii` included) through the domain API on
the app's engine, and sends it as the client's default `Authorization` header. Tests about
access control build their own `TestClient` and send (or omit) keys themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient

from p13n.domain.access import ALL_SCOPES

__all__ = ["api_client", "mint_key"]


def mint_key(app: FastAPI, *scopes: str, label: str = "test") -> str:
    """A new API key with `scopes` (every scope when none given) on a started app's store."""
    names = list(scopes) or [s.value for s in ALL_SCOPES]
    return app.state.services.keys.create(names, label=label).key


@contextmanager
def api_client(app: FastAPI) -> Iterator[TestClient]:
    """A started test client carrying a full-scope key; it never raises server exceptions."""
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {mint_key(app, label='e2e full access')}"
        yield client
