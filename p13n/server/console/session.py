"""Console sessions: an API key signs in once; the browser then holds only a session id.

The key never reaches a URL, a page or the browser's storage: the sign-in form posts it, the
server keeps it in memory under a random session id, and the browser gets that id in an
HttpOnly, SameSite=Strict cookie (Secure on https) scoped to /console. Every request
re-checks the key through the app's `Authenticator` (memory first, the store every 30 s), so a
key revoked or expired since sign-in signs the person out with a message.

CSRF: every form carries the session's token (a hidden field, or the `X-CSRF-Token` header
htmx sends); a POST without the right one is refused with 403. The sign-in form, before any
session exists, uses a double-submit token (a cookie and the same value in the form).

Sessions live in the process: a restart, or another API process behind a load balancer, asks
for the key again (there is nothing to leak in a stolen cookie once the process is gone).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from p13n.domain.access import CreatedKey, Principal, Scope

__all__ = [
    "CONSOLE_SCOPES",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "ConsoleSession",
    "SessionStore",
    "same_token",
]

SESSION_COOKIE = "p13n_console"
CSRF_COOKIE = "p13n_console_csrf"  # the sign-in form's double-submit token
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# A key signs in if it can see at least one page: admin (everything), analyst (Overview),
# decide (People), agent (the playground). A `public` key is meant for web pages and cannot.
CONSOLE_SCOPES = (Scope.ADMIN, Scope.ANALYST, Scope.DECIDE, Scope.AGENT)
IDLE_SECONDS = 8 * 3600
MAX_SESSIONS = 10_000


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a CSRF token (None or empty never matches)."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


@dataclass
class ConsoleSession:
    """One signed-in browser: the key (server side only), its principal and its CSRF token."""

    id: str
    secret: str = field(repr=False)
    principal: Principal
    csrf: str
    last_seen: float
    flash_key: CreatedKey | None = field(default=None, repr=False)  # shown once, then gone

    def allows(self, scope: Scope) -> bool:
        return self.principal.allows(scope)

    @property
    def can_edit(self) -> bool:
        """Changes (keys, configuration) need `admin`; every other key reads only."""
        return self.principal.allows(Scope.ADMIN)


class SessionStore:
    """Sessions by id, in memory, expiring after `idle_seconds` without a request."""

    def __init__(
        self,
        *,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, ConsoleSession] = {}

    def create(self, secret: str, principal: Principal) -> ConsoleSession:
        now = self._clock()
        session = ConsoleSession(
            id=secrets.token_urlsafe(32),
            secret=secret,
            principal=principal,
            csrf=secrets.token_urlsafe(32),
            last_seen=now,
        )
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._drop_idle(now)
            if len(self._sessions) >= MAX_SESSIONS:  # still full: the oldest goes
                oldest = min(self._sessions.values(), key=lambda s: s.last_seen)
                del self._sessions[oldest.id]
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> ConsoleSession | None:
        """The live session for this id (its idle clock restarts); None if unknown or idle."""
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _drop_idle(self, now: float) -> None:
        for sid in [s.id for s in self._sessions.values() if now - s.last_seen > self.idle_seconds]:
            del self._sessions[sid]
