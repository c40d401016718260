"""API keys on a real store (SQLite and PostgreSQL): hashed at rest, verified, cached, revoked."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from p13n.domain.access import KEY_PREFIX, Scope, hash_key
from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.services import ApiKeys
from p13n.domain.store import KeysStore, open_engine


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(database_url: str) -> KeysStore:
    return KeysStore(open_engine(database_url))


def test_a_new_key_is_returned_once_and_only_its_hash_is_stored(store: KeysStore) -> None:
    created = ApiKeys(store).create(["admin", "pii"], label="ops laptop")
    assert created.key.startswith(KEY_PREFIX) and len(created.key) > 40
    assert created.scopes == [Scope.ADMIN, Scope.PII] and created.label == "ops laptop"
    with store.db.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM api_keys")) for v in row)
    assert created.key not in dump and created.key[len(KEY_PREFIX) :] not in dump
    assert hash_key(created.key) in dump


def test_a_key_verifies_to_a_principal_with_its_id_label_and_scopes(store: KeysStore) -> None:
    keys = ApiKeys(store)
    created = keys.create(["decide"], label="web")
    p = keys.verify(created.key)
    assert p is not None and p.kind == "api_key" and p.subject == created.id
    assert p.scopes == {Scope.DECIDE} and p.label == "web" and p.allows("public")
    assert ApiKeys(store).verify(created.key) == p, "another process sees the same key"


@pytest.mark.parametrize(
    "token", ["", "p13n_", "p13n_not-a-key", "not-prefixed", "Bearer p13n_x", "p13n_" + "a" * 43]
)
def test_anything_but_a_stored_key_verifies_to_none(store: KeysStore, token: str) -> None:
    keys = ApiKeys(store)
    keys.create(["public"])
    assert keys.verify(token) is None


def test_two_keys_never_share_an_id_or_a_secret(store: KeysStore) -> None:
    keys = ApiKeys(store)
    made = [keys.create(["public"]) for _ in range(20)]
    assert len({k.id for k in made}) == 20 and len({k.key for k in made}) == 20


def test_keys_are_listed_oldest_first_without_secrets(store: KeysStore) -> None:
    clock = _Clock()
    keys = ApiKeys(store, clock=clock)
    first = keys.create(["public"], label="first")
    clock.t += 5
    second = keys.create(["admin"], label="second")
    listed = keys.list()
    assert [k.id for k in listed] == [first.id, second.id]
    assert all(not hasattr(k, "key") for k in listed)
    assert listed[0].created_at == 1000.0 and listed[1].created_at == 1005.0


def test_revoking_refuses_the_key_at_once_in_this_process_even_when_cached(
    store: KeysStore,
) -> None:
    keys = ApiKeys(store, recheck_seconds=3600)
    created = keys.create(["admin"])
    assert keys.verify(created.key) is not None and keys.peek(created.key) is not None
    info = keys.revoke(created.id)
    assert info.revoked and info.revoked_at is not None
    assert keys.verify(created.key) is None and keys.peek(created.key) is None
    assert [k.revoked for k in keys.list()] == [True]


def test_a_revocation_by_another_process_is_seen_once_the_cache_entry_is_rechecked(
    store: KeysStore,
) -> None:
    tick = _Clock()
    server = ApiKeys(store, recheck_seconds=30, monotonic=tick)
    created = server.create(["decide"])
    assert server.verify(created.key) is not None
    ApiKeys(store).revoke(created.id)  # the CLI, in another process
    tick.t += 10
    assert server.verify(created.key) is not None, "still within the recheck interval"
    tick.t += 25
    assert server.verify(created.key) is None


def test_a_key_created_by_another_process_works_at_once(store: KeysStore) -> None:
    server = ApiKeys(store)
    assert server.verify("p13n_" + "b" * 43) is None
    created = ApiKeys(store).create(["public"])
    assert server.verify(created.key) is not None


def test_revoking_an_unknown_key_says_how_to_find_the_ids(store: KeysStore) -> None:
    with pytest.raises(NotFound, match="p13n keys list"):
        ApiKeys(store).revoke("key_nope")


def test_revoking_twice_keeps_the_first_revocation_time(store: KeysStore) -> None:
    clock = _Clock()
    keys = ApiKeys(store, clock=clock)
    created = keys.create(["public"])
    first = keys.revoke(created.id)
    clock.t += 100
    assert keys.revoke(created.id).revoked_at == first.revoked_at


def test_bad_scopes_and_overlong_labels_store_nothing(store: KeysStore) -> None:
    keys = ApiKeys(store)
    with pytest.raises(InvalidInput, match="unknown scope 'superuser'"):
        keys.create(["superuser"])
    with pytest.raises(InvalidInput, match="at most 200"):
        keys.create(["public"], label="x" * 201)
    assert keys.list() == []


def test_the_keys_table_is_added_to_a_store_created_before_keys_existed(database_url: str) -> None:
    engine = open_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE api_keys"))
    keys = ApiKeys(KeysStore(engine))
    assert keys.verify(keys.create(["public"]).key) is not None
