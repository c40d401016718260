"""Privacy requests end to end: erasure leaves no trace of the person in any table of the
database (enumerated from its own catalog) or any file under P13N_HOME, touches nobody else,
and export returns what is held. On SQLite and PostgreSQL (the `e2e_db` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from _client import api_client, mint_key
from _database import Database
from fastapi.testclient import TestClient
from sqlalchemy import column, create_engine, inspect, select, table
from typer.testing import CliRunner

from p13n.server.app import create_app
from p13n.server.cli_privacy import privacy_app

# The erased person's identifiers, unusual enough that a hit can only be theirs.
VICTIM = {
    "devices": ["dev-vq7x-phone", "dev-vq7x-laptop"],
    "email": "Quorra.Vexley@example.org",
    "phone": "+1 415 555 0199",
    "first": "Quorra",
    "last": "Vexley",
    "crm": "crm-vq-7781",
    "order": "ord-vq-5521",
    "session": "sess-vq-88",
}
OTHER = {
    "devices": ["dev-kb3z-phone"],
    "email": "kestrel.brandt@example.org",
    "phone": "+1 415 555 0142",
    "first": "Kestrel",
    "last": "Brandt",
    "crm": "crm-kb-3310",
    "order": "ord-kb-9902",
    "session": "sess-kb-11",
}
OPT_IN = [{"purpose": "Tracking", "status": "Opt In"}]


def needles(person: dict[str, Any]) -> list[str]:
    """Lower-case strings whose presence anywhere means the person is still held."""
    found = [d.lower() for d in person["devices"]]
    found += [person["email"].lower(), person["first"].lower(), person["last"].lower()]
    found += [
        person["crm"],
        person["order"],
        person["session"],
        "5550199" if person is VICTIM else "5550142",
    ]
    return found


def _event(event_id: str, device: str, person: dict[str, Any], **fields: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "eventId": event_id,
        "deviceId": device,
        "sessionId": person["session"],
        "consents": OPT_IN,
    }
    raw.update(fields)
    return raw


def history(person: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    """Untracked first (a consent record), then views, identity events, a cart and an order."""
    first, second = (person["devices"] * 2)[:2]
    view = {"name": "View Catalog Object", "catalogObject": {"id": "i1"}}
    return [
        {
            "eventId": f"{tag}-0",
            "deviceId": first,
            "interaction": view,
        },  # no consent: kept as a consent record only
        _event(f"{tag}-1", first, person, interaction=view),
        _event(
            f"{tag}-2",
            first,
            person,
            user={
                "attributes": {
                    "eventType": "identity",
                    "firstName": person["first"],
                    "lastName": person["last"],
                }
            },
        ),
        _event(
            f"{tag}-3",
            first,
            person,
            user={"attributes": {"eventType": "contactPointEmail", "email": person["email"]}},
        ),
        _event(
            f"{tag}-4",
            second,
            person,
            user={"attributes": {"eventType": "contactPointEmail", "email": person["email"]}},
        ),
        _event(
            f"{tag}-5",
            second,
            person,
            user={"attributes": {"eventType": "contactPointPhone", "phoneNumber": person["phone"]}},
        ),
        _event(
            f"{tag}-6",
            second,
            person,
            interaction={"name": "View Catalog Object", "catalogObject": {"id": "i2"}},
        ),
        _event(
            f"{tag}-7",
            second,
            person,
            interaction={
                "name": "Purchase",
                "order": {
                    "id": person["order"],
                    "totalValue": 30,
                    "currency": "USD",
                    "lineItems": [
                        {
                            "catalogObjectType": "Product",
                            "catalogObjectId": "i2",
                            "quantity": 1,
                            "price": 30,
                        }
                    ],
                },
            },
        ),
    ]


POINT = {"name": "home", "contentSchema": {"type": "ManualContent"}}
DECISION = {
    "name": "hello",
    "point": "home",
    "state": "Live",
    "attributes": {"header": "Hello {{{firstName|there}}}"},
}


def load_person(client: TestClient, person: dict[str, Any], tag: str) -> None:
    answer = client.post("/events", json=history(person, tag))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 8, answer.text
    services = client.app.state.services  # type: ignore[attr-defined]
    summary = services.identity.import_records(
        [
            {
                "source": "crm",
                "source_record_id": person["crm"],
                "first_name": person["first"],
                "last_name": person["last"],
                "email": person["email"],
            }
        ]
    )
    assert summary.accepted == 1
    for device in person["devices"]:
        request = {
            "context": {"individualId": device, "channel": "web"},
            "personalizationPoints": [{"name": "home"}],
        }
        assert client.post("/personalization/decisions", json=request).status_code == 200


@pytest.fixture
def client(tmp_path: Path, e2e_db: Database) -> Iterator[TestClient]:
    with api_client(create_app(e2e_db.settings(tmp_path))) as c:
        for item in ("i1", "i2", "i3"):
            assert (
                c.put(
                    f"/items/{item}", json={"id": item, "name": f"Item {item}", "price": 10}
                ).status_code
                == 200
            )
        assert c.put("/admin/points/home", json=POINT).status_code == 200
        assert c.put("/admin/decisions/hello", json=DECISION).status_code == 200
        load_person(c, VICTIM, "v")
        load_person(c, OTHER, "o")
        services = c.app.state.services  # type: ignore[attr-defined]
        services.decisions.log.flush()
        services.recommend.train()
        yield c


def rows_of_every_table(url: str) -> dict[str, list[str]]:
    """Every row of every table the database's catalog lists, each row as one lower-case text."""
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    db = create_engine(url)
    out: dict[str, list[str]] = {}
    try:
        names = inspect(db).get_table_names()
        with db.connect() as conn:
            for name in names:
                columns = [c["name"] for c in inspect(db).get_columns(name)]
                stmt = select(*(column(c) for c in columns)).select_from(table(name))
                out[name] = [
                    " ".join(
                        v.hex() + " " + v.decode("latin-1") if isinstance(v, bytes) else str(v)
                        for v in row
                    ).lower()
                    for row in conn.execute(stmt)
                ]
    finally:
        db.dispose()
    return out


def hits_in_tables(url: str, words: list[str]) -> list[tuple[str, str]]:
    return [
        (name, word)
        for name, rows in rows_of_every_table(url).items()
        for row in rows
        for word in words
        if word in row
    ]


def hits_in_files(home: Path, words: list[str]) -> list[tuple[str, str]]:
    """Every file under the home, read as bytes (SQLite's database and WAL, Chroma's files,
    the model), searched for each word in lower case."""
    found = []
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes().lower()
        found += [(str(path.relative_to(home)), w) for w in words if w.encode() in data]
    return found


def test_erasure_leaves_nothing_of_the_person_in_any_table_or_file(
    client: TestClient, tmp_path: Path, e2e_db: Database
) -> None:
    url = e2e_db.url_for(tmp_path)
    assert hits_in_tables(url, needles(VICTIM)), "the setup must have stored the person"
    uid = client.get(f"/identity/{VICTIM['devices'][0]}").json()["unified_id"]
    assert client.get(f"/identity/{VICTIM['devices'][1]}").json()["unified_id"] == uid
    other_uid = client.get(f"/identity/{OTHER['devices'][0]}").json()["unified_id"]
    services = client.app.state.services  # type: ignore[attr-defined]
    assert uid in services.recommend.model.user_history
    # the file scan covers the saved model and Chroma's files, which exist by now
    assert (tmp_path / "models" / "objective.npz").is_file()
    assert any(p.is_file() for p in (tmp_path / "vectors").rglob("*"))

    # an export first: the audit trail then names the person, until the erasure scrubs it
    assert client.get(f"/privacy/individuals/{VICTIM['crm']}/export").status_code == 200
    answer = client.delete(f"/privacy/individuals/{VICTIM['email']}")
    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    assert receipt["unified_id"] == uid and receipt["requested_id"] == VICTIM["email"]
    assert receipt["rows"]["events"] == 7 and receipt["rows"]["consent_records"] == 1
    assert receipt["rows"]["personalization_log"] == 2 and receipt["rows"]["profiles"] >= 1
    assert receipt["model_histories"] == 1

    words = needles(VICTIM) + [uid.lower()]
    assert hits_in_tables(url, words) == []
    assert hits_in_files(tmp_path, words) == []
    # nobody else was touched: the other person is whole, in the store and in memory
    other_words = needles(OTHER) + [other_uid.lower()]
    held = {w for _, w in hits_in_tables(url, other_words)}
    assert held == set(other_words)
    other = client.get(f"/profiles/{OTHER['devices'][0]}").json()
    assert other_uid in (other.get("unifiedId"), other.get("unified_id")), other
    assert other_uid in services.recommend.model.user_history
    # the erased person is unknown everywhere a caller could look
    for any_id in (*VICTIM["devices"], VICTIM["email"], uid, f"crm:{VICTIM['crm']}"):
        assert client.get(f"/profiles/{any_id}").status_code == 404
        assert client.get(f"/identity/{any_id}").status_code == 404
    assert uid not in services.recommend.model.user_history


def test_a_second_erasure_and_an_unknown_id_are_404_with_a_clear_message(
    client: TestClient,
) -> None:
    assert client.delete(f"/privacy/individuals/{VICTIM['devices'][1]}").status_code == 200
    again = client.delete(f"/privacy/individuals/{VICTIM['devices'][1]}")
    assert again.status_code == 404 and "nobody is known" in again.json()["error"]
    unknown = client.delete("/privacy/individuals/never-seen-device")
    assert unknown.status_code == 404 and "never-seen-device" in unknown.json()["error"]
    assert client.get("/privacy/individuals/never-seen-device/export").status_code == 404


def test_export_returns_everything_held_about_the_person(client: TestClient) -> None:
    answer = client.get(f"/privacy/individuals/{VICTIM['devices'][0]}/export")
    assert answer.status_code == 200, answer.text
    data = answer.json()
    uid = data["unified_id"]
    assert data["profile"]["unified_id"] == uid
    assert {e["event_id"] for e in data["events"]} == {f"v-{k}" for k in range(1, 8)}
    assert data["events"][0]["payload"]["deviceId"] == VICTIM["devices"][0]  # parsed JSON
    assert [r["event_id"] for r in data["consent_records"]] == ["v-0"]
    assert {c["subject"] for c in data["consent"]} >= set(VICTIM["devices"])
    assert {(link["kind"], link["value"]) for link in data["identity_links"]} >= {
        ("device", d) for d in VICTIM["devices"]
    }
    assert f"crm:{VICTIM['crm']}" in {r["id"] for r in data["source_records"]}
    assert data["identity"]["individual"]["first_name"] == VICTIM["first"]
    assert len(data["personalization_log"]) == 2
    assert all(isinstance(r["content"], list) for r in data["personalization_log"])
    # nothing of the other person is in it
    text = answer.text.lower()
    assert not [w for w in needles(OTHER) if w in text]


def test_the_privacy_routes_need_an_admin_key(client: TestClient) -> None:
    app = client.app
    paths = [
        ("DELETE", f"/privacy/individuals/{VICTIM['devices'][0]}"),
        ("GET", f"/privacy/individuals/{VICTIM['devices'][0]}/export"),
    ]
    with TestClient(app) as bare:
        for method, path in paths:
            assert bare.request(method, path).status_code == 401
            for scope in ("public", "decide", "agent", "analyst", "pii"):
                key = mint_key(app, scope)  # type: ignore[arg-type]
                got = bare.request(method, path, headers={"Authorization": f"Bearer {key}"})
                assert got.status_code == 403, (scope, path)
    # nothing was erased by the refused requests
    assert client.get(f"/profiles/{VICTIM['devices'][0]}").status_code == 200


def privacy_cli() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(privacy_app, name="privacy")
    return root


def test_the_cli_exports_and_forgets_and_says_one_line_for_an_unknown_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, e2e_db: Database
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("P13N_HOME", str(home))
    with api_client(create_app(e2e_db.settings(home))) as c:
        assert c.post("/events", json=history(VICTIM, "v")).status_code == 200
    runner = CliRunner()
    out = tmp_path / "export.json"
    r = runner.invoke(privacy_cli(), ["privacy", "export", VICTIM["devices"][0], "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert len(orjson.loads(out.read_text())["events"]) == 7
    r = runner.invoke(privacy_cli(), ["privacy", "forget", VICTIM["email"]])
    assert r.exit_code == 0, r.output
    assert orjson.loads(r.stdout)["rows"]["events"] == 7
    bad = runner.invoke(privacy_cli(), ["privacy", "forget", VICTIM["email"]])
    assert bad.exit_code == 1
    (line,) = bad.stderr.strip().splitlines()
    assert line.startswith("error: nobody is known by")
    bad = runner.invoke(
        privacy_cli(), ["privacy", "export", "x", "--out", str(tmp_path / "no" / "f.json")]
    )
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1


def test_after_erasure_the_hot_state_is_what_a_fresh_load_of_the_store_gives(
    client: TestClient, tmp_path: Path, e2e_db: Database
) -> None:
    """The erasure edits the running process's identity and consent state in place rather
    than reloading it; a second engine opened on the store afterwards must see the same."""
    from p13n.domain.services import Engine

    assert client.delete(f"/privacy/individuals/{VICTIM['devices'][0]}").status_code == 200
    live = client.app.state.services.engine.state  # type: ignore[attr-defined]
    fresh_engine = Engine.open(e2e_db.url_for(tmp_path))
    try:
        fresh = fresh_engine.state
        for name in ("links", "aliases", "created", "subjects"):
            assert getattr(live.identity, name) == getattr(fresh.identity, name), name
        li, fi = live.identity.index, fresh.identity.index
        assert set(li.records) == set(fi.records) and li.owner == fi.owner
        assert {k: sorted(v) for k, v in li.members.items()} == {
            k: sorted(v) for k, v in fi.members.items()
        }
        assert {k: sorted(v) for k, v in li.blocks.items()} == {
            k: sorted(v) for k, v in fi.blocks.items()
        }
        assert li.apart == fi.apart
        assert live.consent == fresh.consent
    finally:
        fresh_engine.close()
