"""The one bounded body reader: 413 past a route's limit, whether the length is declared or
only found by reading; a hang-up mid-body is a 400; JSON errors name the position."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from p13n.domain.errors import InvalidInput, PayloadTooLarge
from p13n.server.routes.body import read_body, read_json


def _request(
    chunks: list[bytes], headers: dict[str, str] | None = None, *, hang_up: bool = False
) -> Request:
    """A request whose body arrives in `chunks`; `hang_up`: the client leaves after them."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": c, "more_body": hang_up or i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "headers": raw}, receive)


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    request = _request([b"x" * 5], {"content-length": "11"})
    with pytest.raises(PayloadTooLarge, match="11 bytes; at most 10") as refused:
        asyncio.run(read_body(request, limit=10, hint="Send less."))
    assert refused.value.hint == "Send less."


def test_an_undeclared_body_over_the_limit_is_refused_after_reading() -> None:
    request = _request([b"x" * 6, b"x" * 6])  # chunked: no content-length
    with pytest.raises(PayloadTooLarge, match="12 bytes; at most 10"):
        asyncio.run(read_body(request, limit=10, hint="Send less."))


def test_a_body_within_the_limit_is_returned_whole() -> None:
    assert asyncio.run(read_body(_request([b"ab", b"cd"]), limit=4, hint="")) == b"abcd"


def test_a_client_hanging_up_mid_body_is_invalid_input_not_a_crash() -> None:
    with pytest.raises(InvalidInput, match="disconnected"):
        asyncio.run(read_body(_request([b"{"], hang_up=True), limit=10, hint=""))


def test_json_errors_name_the_position_and_say_what_to_send() -> None:
    with pytest.raises(InvalidInput, match="not valid JSON .* at position") as bad:
        asyncio.run(read_json(_request([b"{oops"]), limit=100, hint="", shape="Send {}."))
    assert bad.value.hint == "Send {}."
    blank = _request([b"  "])
    assert asyncio.run(read_json(blank, limit=100, hint="", shape="", empty={})) == {}
    with pytest.raises(InvalidInput):
        asyncio.run(read_json(_request([b""]), limit=100, hint="", shape=""))
