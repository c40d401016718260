"""The limits every caller meets (p13n/server/limits.py, README "Limits"): the public scope's
rates per key and per client address (429 with Retry-After; diagnostic 406 on decisions), the
bound on events per device per minute (counted, not stored), the time limit of a request, and
`p13n serve` closing connections that never finish their headers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from _client import api_client, mint_key
from _database import Database
from _mcp_http_server import ServerProcess, seed_tenant
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from p13n.domain.access import RateLimiter
from p13n.server.app import create_app
from p13n.server.limits import RequestTimeout


def _view(n: int, device: str = "dev-1") -> dict[str, Any]:
    return {
        "eventId": f"lim-{device}-{n}",
        "deviceId": device,
        "interaction": {
            "name": "View Catalog Object",
            "catalogObject": {"type": "Product", "id": "a"},
        },
        "consents": [{"provider": "site", "purpose": "Tracking", "status": "Opt In"}],
    }


@contextmanager
def _public_client(tmp_path: Path, db: Database, **limits: Any) -> Iterator[TestClient]:
    app = create_app(db.settings(tmp_path, **limits))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {mint_key(app, 'public')}"
        yield client


def _refused(answer: Any, why: str) -> None:
    assert answer.status_code == 429, answer.text
    assert why in answer.json()["error"]
    assert int(answer.headers["Retry-After"]) >= 1


def test_the_public_rate_per_client_address_is_429_with_retry_after(
    tmp_path: Path, e2e_db: Database
) -> None:
    with _public_client(tmp_path, e2e_db, public_address_per_second=2.0) as client:
        _address_limited(client)


def _address_limited(client: TestClient) -> None:
    answers = [client.post("/events", json=_view(n)) for n in range(8)]  # bursts of 4
    statuses = [a.status_code for a in answers]
    assert statuses[:4] == [200] * 4 and 429 in statuses, statuses
    _refused(answers[-1], "this client address")
    decided = client.post(
        "/personalization/decisions",
        json={"context": {"individualId": "x"}, "personalizationPoints": [{"name": "p"}]},
    )
    _refused(decided, "this client address")
    assert decided.json()["diagnostics"][0]["code"] == 406  # TOO_MANY_REQUESTS
    assert client.get("/health").status_code == 200  # only the public routes count


def test_the_public_rate_per_key_is_429_and_other_scopes_are_not_counted(
    tmp_path: Path, e2e_db: Database
) -> None:
    limits = {"public_key_per_second": 1.0, "public_address_per_second": 0.0}
    with _public_client(tmp_path, e2e_db, **limits) as client:
        statuses = [client.post("/events", json=_view(n)).status_code for n in range(5)]
        assert statuses[:2] == [200, 200] and statuses[-1] == 429, statuses
        _refused(client.post("/events", json=_view(9)), "this API key")


def test_events_past_a_devices_bound_per_minute_are_counted_not_stored(
    tmp_path: Path, e2e_db: Database
) -> None:
    app = create_app(e2e_db.settings(tmp_path, device_events_per_minute=5))
    with api_client(app) as client:
        first = client.post("/events", json={"events": [_view(n) for n in range(8)]}).json()
        assert (first["accepted"], first["rejected"]) == (5, 3)
        flooded = [r for r in first["results"] if r["status"] == "rejected"]
        assert {r["code"] for r in flooded} == {"flood"}
        again = client.post("/events", json={"events": [_view(n) for n in range(8, 10)]})
        if again.status_code == 200:  # the clock minute turned between the two calls
            pytest.skip("a minute boundary fell between the calls")
        assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1
        other = client.post("/events", json=_view(0, device="dev-2"))
        assert other.json()["accepted"] == 1  # a bound per device, not for everyone
        assert client.get("/profiles/dev-1").json()["event_count"] == 5
        counted = client.get("/metrics").text
        assert 'p13n_ingest_events_total{reason="flood",status="rejected"} 5.0' in counted


def test_a_request_past_the_time_limit_is_503_with_retry_after() -> None:
    async def slow(_: Any) -> PlainTextResponse:
        await asyncio.sleep(2)
        return PlainTextResponse("late")

    async def quick(_: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/slow", slow), Route("/quick", quick)])
    with TestClient(RequestTimeout(inner, seconds=0.2)) as client:
        started = time.monotonic()
        late = client.get("/slow")
        assert late.status_code == 503 and time.monotonic() - started < 1.5
        assert "longer than 0.2 s" in late.json()["error"]
        assert late.headers["Retry-After"] == "5"
        assert client.get("/quick").text == "ok"


def test_the_rate_limiters_memory_is_bounded_under_many_addresses() -> None:
    now = [0.0]
    limiter = RateLimiter(1.0, clock=lambda: now[0], max_callers=100)
    for n in range(1000):
        now[0] += 0.001
        limiter.allow(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) <= 100


def test_serve_closes_a_connection_that_never_sends_its_headers(tmp_path: Path) -> None:
    seed_tenant(tmp_path)
    server = ServerProcess(tmp_path, extra_env={"P13N_HEADER_TIMEOUT_S": "1"}).start()
    try:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as idle:
            idle.sendall(b"POST /events HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            started = time.monotonic()
            assert idle.recv(1024) == b""  # closed by the server
            assert time.monotonic() - started < 5
        with socket.create_connection((host, int(port)), timeout=10) as silent:
            assert silent.recv(1024) == b""
    finally:
        server.stop()
