"""Signed UCP search cursors: a cursor round-trips for its own search, and is refused as forged
(altered, malformed, another secret) or stale (another search, expired) with a hint; the home's
secret is made once, owner-only, and reused; a short one is refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from p13n.domain.errors import InvalidInput
from p13n.tools.ucp_cursor import (
    CURSOR_TTL_SECONDS,
    CursorRejected,
    CursorSigner,
    load_or_create_secret,
)

SECRET = b"s" * 32
NOW = 1_800_000_000.0


def test_a_cursor_gives_back_its_offset_for_the_same_search() -> None:
    signer = CursorSigner(SECRET)
    cursor = signer.encode(20, "search-a", now=NOW)
    assert signer.decode(cursor, "search-a", now=NOW + 5) == 20
    assert "=" not in cursor and " " not in cursor  # URL-safe, as platforms pass it on


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # signature altered
        lambda c: "eyJvIjo5OTk5LCJmIjoic2VhcmNoLWEiLCJ0IjoxODAwMDAwMDAwfQ" + c[c.index(".") :],
        lambda c: c.replace(".", ""),  # not two parts
        lambda c: "%%.%%",
        lambda c: "",
    ],
)
def test_an_altered_or_malformed_cursor_is_forged(tamper: object) -> None:
    signer = CursorSigner(SECRET)
    cursor = signer.encode(20, "search-a", now=NOW)
    with pytest.raises(CursorRejected) as caught:
        signer.decode(tamper(cursor), "search-a", now=NOW)  # type: ignore[operator]
    assert caught.value.reason == "forged" and "signature" in str(caught.value)
    assert isinstance(caught.value, InvalidInput) and caught.value.hint


def test_a_cursor_of_another_server_is_forged() -> None:
    cursor = CursorSigner(b"t" * 32).encode(10, "search-a", now=NOW)
    with pytest.raises(CursorRejected) as caught:
        CursorSigner(SECRET).decode(cursor, "search-a", now=NOW)
    assert caught.value.reason == "forged"


def test_a_cursor_of_another_search_or_past_its_lifetime_is_stale() -> None:
    signer = CursorSigner(SECRET)
    cursor = signer.encode(10, "search-a", now=NOW)
    with pytest.raises(CursorRejected, match="different search") as other:
        signer.decode(cursor, "search-b", now=NOW)
    assert other.value.reason == "stale"
    assert signer.decode(cursor, "search-a", now=NOW + CURSOR_TTL_SECONDS) == 10
    with pytest.raises(CursorRejected, match="expired") as old:
        signer.decode(cursor, "search-a", now=NOW + CURSOR_TTL_SECONDS + 1)
    assert old.value.reason == "stale" and "without a cursor" in (old.value.hint or "")


def test_the_homes_secret_is_made_once_owner_only_and_reused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = load_or_create_secret(home)
    assert len(first) >= 32
    path = home / "cursor.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(home) == first
    assert [p.name for p in home.iterdir()] == ["cursor.key"]  # no temporary file left
    cursor = CursorSigner(first).encode(3, "f", now=NOW)
    assert CursorSigner(load_or_create_secret(home)).decode(cursor, "f", now=NOW) == 3


def test_a_short_secret_in_the_home_is_refused_saying_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "cursor.key").write_bytes(b"short")
    with pytest.raises(InvalidInput, match="too short") as caught:
        load_or_create_secret(tmp_path)
    assert "P13N_CURSOR_SECRET" in (caught.value.hint or "")
