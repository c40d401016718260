"""`p13n keys`: create, list and revoke API keys; `keys demo` mints the pair `make run` prints.

A key's secret is printed once, when it is created, and never stored (only its hash is), so it
cannot be shown again: `create` prints the key alone on its last line (`| tail -1` captures it),
and `demo` mints a fresh labelled public + admin pair on every call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer

from p13n.domain.access import ApiKeyInfo, CreatedKey, Scope
from p13n.domain.services import ApiKeys, AuditTrail
from p13n.domain.store import AuditStore, KeysStore, open_engine
from p13n.server.cli_common import one_line_errors, print_json
from p13n.server.settings import Settings

__all__ = ["keys_app"]

_SCOPES = ", ".join(s.value for s in Scope)

keys_app = typer.Typer(help=f"API keys with scopes: {_SCOPES}.", no_args_is_help=True)


@contextmanager
def _keys() -> Iterator[ApiKeys]:
    """The keys of the configured store, without loading the tenant (no engine, no caches)."""
    settings = Settings()
    db = open_engine(settings.resolved_database_url(), synchronous=settings.sqlite_synchronous)
    try:
        yield ApiKeys(KeysStore(db), audit=AuditTrail(AuditStore(db)))
    finally:
        db.dispose()


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _describe(key: ApiKeyInfo) -> str:
    scopes = " ".join(s.value for s in key.scopes)
    state = f"revoked {_when(key.revoked_at)}" if key.revoked and key.revoked_at else "active"
    label = f"  {key.label}" if key.label else ""
    return f"{key.id}  [{scopes}]  created {_when(key.created_at)}  {state}{label}"


def _base_url() -> str:
    s = Settings()
    return f"http://{s.host}:{s.port}"


@keys_app.command("create")
@one_line_errors
def create(
    scope: Annotated[
        list[str],
        typer.Option("--scope", help=f"A scope to grant (repeat for several): {_SCOPES}."),
    ],
    label: Annotated[str, typer.Option(help="What the key is for (shown by `keys list`).")] = "",
) -> None:
    """Create a key; it is printed alone on the last line, once (only its hash is stored)."""
    with _keys() as keys:
        key = keys.create(scope, label=label)
    print(f"created {_describe(key)}")
    print("the key is shown only now; store it (send it as `Authorization: Bearer <key>`):")
    print(key.key)


@keys_app.command("list")
@one_line_errors
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every key, oldest first, without secrets (they are not stored)."""
    with _keys() as keys:
        listed = keys.list()
    if as_json:
        print_json([k.model_dump(mode="json") for k in listed])
        return
    if not listed:
        print("no API keys yet; create one with `p13n keys create --scope SCOPE`")
    for key in listed:
        print(_describe(key))


@keys_app.command("revoke")
@one_line_errors
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (`key_…`).")]) -> None:
    """Revoke a key: a server refuses it at once if it revoked it itself, else within 30 s."""
    with _keys() as keys:
        key = keys.revoke(key_id)
    print(f"revoked {_describe(key)}")


def _demo_pair() -> tuple[CreatedKey, CreatedKey]:
    with _keys() as keys:
        public = keys.create([Scope.PUBLIC.value], label="demo public (make run)")
        admin = keys.create([Scope.ADMIN.value], label="demo admin (make run)")
    return public, admin


@keys_app.command("demo")
@one_line_errors
def demo() -> None:
    """Mint a fresh, labelled public and admin key for the demo and print them with a curl
    example (earlier demo keys stay valid until revoked; `keys list` shows them)."""
    public, admin = _demo_pair()
    base = _base_url()
    print("")
    print("Demo API keys (new on every `make run`; revoke old ones with `p13n keys revoke ID`):")
    print(f"  public ({public.id}, events and decisions, safe in a web page):")
    print(f"    {public.key}")
    print(f"  admin  ({admin.id}, every scope except pii):")
    print(f"    {admin.key}")
    print("Try:")
    print(f"  curl -s -H 'Authorization: Bearer {admin.key}' {base}/profiles/shopper1@example.com")
    print("")
