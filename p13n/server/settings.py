"""All settings, read from the environment (prefix P13N_) here and nowhere else."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="P13N_", extra="ignore")

    home: Path = Field(default=Path(".p13n"), description="Where the embedded store lives.")
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; SQLite under home when unset."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    require_consent_sdk: bool = Field(
        default=True, description="SDK-shaped events need a Tracking opt-in."
    )
    require_consent_flat: bool = Field(
        default=False, description="Flat (server-side) events need a Tracking opt-in."
    )
    profile_cache_size: int = 100_000
    compact_profiles: bool = Field(
        default=True,
        description="Cached profiles kept compressed (about a twentieth of the memory; tens of microseconds to decode each read); false keeps them as objects.",
    )
    pipeline_aggregates: bool = Field(
        default=True,
        description="The log writer keeps the hourly pipeline aggregates (GET /analytics/pipeline, the console's Overview); false leaves them and their ingest counts unwritten.",
    )
    warm_profiles: int = Field(
        default=100_000,
        description="Profiles loaded into the cache when the server starts (most recent first).",
    )
    sqlite_synchronous: str = Field(
        default="FULL", description="FULL: a 2xx means the event is on disk."
    )
    # Bearer JWTs (besides API keys): all off unless issuer, audience and one key source are set.
    jwt_issuer: str | None = Field(default=None, description="Required `iss` of accepted JWTs.")
    jwt_audience: str | None = Field(default=None, description="Required `aud` of accepted JWTs.")
    jwt_public_key: str | None = Field(
        default=None, description="PEM public key of the issuer (RS256 or ES256)."
    )
    jwt_secret: str | None = Field(default=None, description="Shared HS256 secret (≥ 32 bytes).")
    jwt_jwks_file: Path | None = Field(
        default=None, description="A JWKS document saved from the issuer (keys chosen by kid)."
    )
    # Decisions: a time budget per request (502 TIMEOUT for points past it, HTTP 503 when no
    # point was answered in time) and a rate per credential (406 TOO_MANY_REQUESTS, HTTP 429).
    decision_budget_ms: float | None = Field(
        default=None,
        gt=0,
        description="Milliseconds a decision request may take before its remaining points answer 502 TIMEOUT; unset: no budget.",
    )
    decisions_per_second: float | None = Field(
        default=None,
        gt=0,
        description="Decision requests per second per API key or JWT subject (bursts of one second's worth); unset: no limit.",
    )
    # Limits for every caller (p13n/server/limits.py; README "Limits").
    public_key_per_second: float = Field(
        default=1000.0,
        ge=0,
        description="Requests per second per public-scope key on the public routes (POST /events, the unauthenticated decisions), bursts of two seconds' worth; past it 429 with Retry-After. 0: no limit.",
    )
    public_address_per_second: float = Field(
        default=100.0,
        ge=0,
        description="Requests per second per client address on the public routes, bursts of two seconds' worth; past it 429 with Retry-After. 0: no limit.",
    )
    request_timeout_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds a request may take before it is answered 503 with Retry-After (/mcp streams exempt). 0: no limit.",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has to send a request's headers, from connecting or from the request's first byte, before `p13n serve` closes the connection (slowloris).",
    )
    keep_alive_s: int = Field(
        default=5, ge=1, description="Seconds an idle keep-alive connection stays open."
    )
    max_connections: int = Field(
        default=2000,
        ge=0,
        description="Connections and requests in flight past which `p13n serve` answers 503 at once. 0: no limit.",
    )
    device_events_per_minute: int = Field(
        default=600,
        ge=0,
        description="Events per device (or individual) per minute that POST /events stores; the rest are answered rejected (`flood`) and counted, not stored. 0: no bound.",
    )
    quiet_channels: str = Field(
        default="agent",
        description="Comma-separated channels whose recommendations never carry exploration slots (the agent channel by default); empty: exploration in every channel, in the lower slots only.",
    )
    # MCP over HTTP at /mcp (p13n/server/mcp_http.py).
    public_url: str | None = Field(
        default=None,
        description="How clients reach this server (e.g. https://p13n.example.com): names the /mcp resource in its OAuth metadata and allows that Host. Default: from each request.",
    )
    mcp_allowed_hosts: str = Field(
        default="",
        description="Comma-separated Host values /mcp accepts besides loopback (`name:*` for any port).",
    )
    mcp_allowed_origins: str = Field(
        default="",
        description="Comma-separated Origin values /mcp accepts besides loopback (`https://name:*`).",
    )
    # The UCP catalog (p13n/tools/ucp_shapes.py, p13n/server/routes/ucp.py).
    cursor_secret: str | None = Field(
        default=None,
        min_length=32,
        description="Secret (32+ characters) signing the UCP search's pagination cursors; several API processes behind one balancer share it. Unset: made once and kept in `cursor.key` under home.",
    )
    merchant_name: str = Field(
        default="p13n demo store",
        description="The business name the UCP profile at /.well-known/ucp gives.",
    )
    mcp_stateless: bool = Field(
        default=False,
        description="Serve /mcp without sessions, so any of several API processes can answer.",
    )
    consent_url: str | None = Field(
        default=None,
        description="The store's page where a person gives tracking consent; `{individual}` "
        "in it becomes their identifier. When set, record_interaction for a person without "
        "consent sends MCP clients that support URL-mode elicitation there.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / 'p13n.db').resolve()}"
