"""Signed pagination cursors for the UCP catalog search.

A cursor is opaque to the platform (UCP: "Cursors are opaque strings") but must not be
trusted blindly: it carries the next offset, a fingerprint of the search it belongs to and the
time it was issued, signed with HMAC-SHA256. A cursor whose signature does not verify is
*forged* (or from another server: each p13n home has its own secret); one older than
`CURSOR_TTL_SECONDS`, or issued for a different search, is *stale*. Both are refused with
`CursorRejected`, which the tools answer in the UCP error shape (`invalid_cursor`).

The secret comes from `P13N_CURSOR_SECRET` when set (several API processes behind one balancer
share it), else from `cursor.key` in the home, made on first use (`load_or_create_secret`).
Code that builds a `ToolContext` without one (tests, scripts) gets a per-process secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import orjson

from p13n.domain.errors import InvalidInput

__all__ = [
    "CURSOR_TTL_SECONDS",
    "CursorRejected",
    "CursorSigner",
    "load_or_create_secret",
    "process_secret",
]

CURSOR_TTL_SECONDS = 3600.0
_KEY_FILE = "cursor.key"
_SIG_BYTES = 16  # 128 bits of HMAC-SHA256: forging one is out of reach, the cursor stays short
_PROCESS_SECRET = secrets.token_bytes(32)


class CursorRejected(InvalidInput):
    """A cursor that is forged (`reason="forged"`) or stale (`reason="stale"`)."""

    def __init__(self, message: str, *, reason: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


def process_secret() -> bytes:
    """The secret of this process, for contexts built without a configured one."""
    return _PROCESS_SECRET


def load_or_create_secret(home: Path) -> bytes:
    """The home's cursor secret, made (32 random bytes, owner-only file) when missing."""
    path = home / _KEY_FILE
    try:
        raw = path.read_bytes().strip()
    except FileNotFoundError:
        home.mkdir(parents=True, exist_ok=True)
        raw = secrets.token_hex(32).encode()
        tmp = home / f".{_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        try:
            os.link(tmp, path)  # atomic: the file appears whole, and only once
        except FileExistsError:  # another process of this home made it a moment ago
            raw = path.read_bytes().strip()
        finally:
            tmp.unlink()
    if len(raw) < 32:
        raise InvalidInput(
            f"the cursor secret in {path} is too short ({len(raw)} characters).",
            hint="Delete the file to have a new one made, or set P13N_CURSOR_SECRET (32+ characters).",
        )
    return raw


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class CursorSigner:
    """Makes and checks cursors with one secret; `now` is the caller's clock (epoch seconds)."""

    secret: bytes
    ttl: float = CURSOR_TTL_SECONDS

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).digest()[:_SIG_BYTES]

    def encode(self, offset: int, fingerprint: str, *, now: float) -> str:
        body = orjson.dumps({"o": offset, "f": fingerprint, "t": int(now)})
        return f"{_b64(body)}.{_b64(self._sign(body))}"

    def decode(self, cursor: str, fingerprint: str, *, now: float) -> int:
        """The offset a cursor of this search points at; `CursorRejected` otherwise."""
        try:
            body_text, sig_text = cursor.strip().split(".")
            body, sig = _unb64(body_text), _unb64(sig_text)
        except (ValueError, TypeError):
            raise _forged() from None
        if not hmac.compare_digest(sig, self._sign(body)):
            raise _forged()
        data = orjson.loads(body)
        offset, seen, issued = int(data["o"]), str(data["f"]), float(data["t"])
        if seen != fingerprint:
            raise CursorRejected(
                "pagination.cursor belongs to a different search (query, context or filters "
                "changed).",
                reason="stale",
                hint="Omit pagination.cursor to start this search at its first page.",
            )
        if now - issued > self.ttl:
            raise CursorRejected(
                f"pagination.cursor expired: it was issued {int(now - issued)} s ago and "
                f"cursors last {int(self.ttl)} s.",
                reason="stale",
                hint="Run the search again without a cursor and page from there.",
            )
        return offset


def _forged() -> CursorRejected:
    return CursorRejected(
        "pagination.cursor is not one this catalog issued (its signature does not verify).",
        reason="forged",
        hint="Pass `pagination.cursor` of the previous response unchanged, or omit it for the "
        "first page.",
    )
