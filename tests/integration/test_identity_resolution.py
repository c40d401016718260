"""Identity resolution over a real store (SQLite, and PostgreSQL when configured): imports,
real-time links, stitching, merges, aliases, batch runs, splits, lineage, bad input."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from p13n.domain.errors import Conflict, InvalidInput
from p13n.domain.identity.rules import parse_ruleset
from p13n.domain.services import Engine, IdentityControl, IdentityService

NOW = 1_800_000_000.0


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = Engine.open(database_url, clock=lambda: NOW)
    try:
        yield eng
    finally:
        eng.close()


def person(srid: str, **fields: Any) -> dict[str, Any]:
    return {"source": "crm", "source_record_id": srid, **fields}


def view(event_id: str, device: str, item: str = "a") -> dict[str, Any]:
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2027-01-15T09:00:00Z",
        "interaction": {"name": "View Catalog Object", "catalogObject": {"id": item}},
        "consents": [{"purpose": "Tracking", "status": "Opt In"}],
    }


def contact(event_id: str, device: str, **attrs: str) -> dict[str, Any]:
    kind = "contactPointEmail" if "email" in attrs else "contactPointPhone"
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2027-01-15T10:00:00Z",
        "user": {"attributes": {"eventType": kind, **attrs}},
        "consents": [{"purpose": "Tracking", "status": "Opt In"}],
    }


def owner(engine: Engine, srid: str, source: str = "crm") -> str | None:
    return engine.state.identity.owner(f"{source}:{srid}")


def test_records_sharing_a_normalized_email_and_name_link_in_real_time_with_lineage(
    engine: Engine,
) -> None:
    service = IdentityService(engine)
    summary = service.import_records(
        [
            person("1", first_name="Jonathan", last_name="Lee", email="Jon.Lee+shop@gmail.com"),
            person("2", first_name="Jonathon", last_name="lee", email="jonlee@gmail.com"),
            person("3", first_name="Mary", last_name="Lee", email="jonlee@gmail.com"),
        ]
    )
    assert summary.accepted == 3 and summary.rejected == 0
    assert owner(engine, "1") == owner(engine, "2") != owner(engine, "3")
    lineage = IdentityControl(engine).lineage("crm:2")
    assert {r["id"] for r in lineage.source_records} == {"crm:1", "crm:2"}
    (link,) = lineage.links
    assert link["rule"] == "Name and email" and 0.9 <= link["score"] <= 1.0
    assert lineage.individual["first_name"] in ("Jonathan", "Jonathon")
    assert [e["normalized"] for e in lineage.contact_points["emails"]] == ["jonlee@gmail.com"]


def test_a_bridging_record_merges_two_individuals_the_oldest_survives_the_other_is_an_alias(
    engine: Engine,
) -> None:
    service = IdentityService(engine)
    service.import_records([person("a", first_name="Ann", last_name="Kay", email="ann@x.com")])
    engine.now = lambda: NOW + 10
    service.import_records([person("b", first_name="Ann", last_name="Kay", phone="415 555 2671")])
    first, second = owner(engine, "a"), owner(engine, "b")
    assert first != second
    summary = service.import_records(
        [person("c", first_name="Anne", last_name="Kay", email="ann@x.com", phone="+14155552671")]
    )
    assert summary.merges == 1
    assert owner(engine, "b") == owner(engine, "c") == first
    assert second is not None and IdentityControl(engine).unified_id_of(second) == first
    engine.reload()  # persisted: aliases, owners
    assert owner(engine, "b") == first and engine.state.identity.resolve(second) == first


def test_an_anonymous_device_that_logs_in_joins_the_known_person_with_its_history(
    engine: Engine,
) -> None:
    service = IdentityService(engine)
    service.import_records([person("9", first_name="Eve", last_name="Ng", email="eve@x.com")])
    known = owner(engine, "9")
    engine.ingest([view("v1", "dev-1"), view("v2", "dev-1", "b")])
    anonymous = engine.resolve("dev-1")
    assert anonymous is not None and anonymous != known
    engine.ingest([contact("login", "dev-1", email="EVE@x.com")])
    survivor = engine.resolve("dev-1")
    assert survivor in (known, anonymous) and engine.resolve("eve@x.com") == survivor
    assert owner(engine, "9") == survivor
    profile = engine.get_profile("dev-1")
    assert {e.item_id for e in profile.engagement} >= {"a", "b"}  # the anonymous views count


def test_a_record_carrying_two_devices_contact_points_merges_their_profiles(engine: Engine) -> None:
    engine.ingest([view("v1", "d1"), contact("c1", "d1", email="kim@x.com")])
    engine.ingest([view("v2", "d2", "b"), contact("c2", "d2", phoneNumber="415-555-0100")])
    a, b = engine.resolve("d1"), engine.resolve("d2")
    assert a != b
    summary = IdentityService(engine).import_records(
        [person("k", first_name="Kim", last_name="Ro", email="kim@x.com", phone="4155550100")]
    )
    assert summary.merges == 1
    assert engine.resolve("d1") == engine.resolve("d2") == owner(engine, "k")
    profile = engine.get_profile("d2")
    assert {e.item_id for e in profile.engagement} >= {"a", "b"}
    lineage = IdentityControl(engine).lineage("d1")
    assert {ln["rule"] for ln in lineage.links} == {"Event identifier"}
    assert {i["kind"] for i in lineage.identifiers} >= {"device", "email", "phone"}


def test_identity_events_become_source_records(engine: Engine) -> None:
    engine.ingest(
        [
            {
                "eventId": "i1",
                "deviceId": "d7",
                "dateTime": "2027-01-15T10:00:00Z",
                "user": {
                    "attributes": {"eventType": "identity", "firstName": "Zoe", "lastName": "Park"}
                },
                "consents": [{"purpose": "Tracking", "status": "Opt In"}],
            }
        ]
    )
    lineage = IdentityControl(engine).lineage("d7")
    (record,) = lineage.source_records
    assert record["id"] == "events:d7" and lineage.individual["first_name"] == "Zoe"
    engine.reload()
    assert "events:d7" in engine.state.identity.index.records


def test_duplicated_source_record_ids_last_update_wins_and_both_stay_in_history(
    engine: Engine,
) -> None:
    service = IdentityService(engine)
    service.import_records(
        [
            person("7", first_name="Old", email="old@x.com", updated_at="2026-01-02T00:00:00Z"),
            person("7", first_name="New", email="new@x.com", updated_at="2026-03-01T00:00:00Z"),
        ]
    )
    summary = service.import_records(
        [person("7", first_name="Stale", updated_at="2026-02-01T00:00:00Z")]
    )
    assert summary.superseded == 1
    lineage = IdentityControl(engine).lineage("crm:7")
    assert lineage.source_records[0]["record"]["first_name"] == "New"
    assert len(service.store.history("crm:7")) == 3


def test_bad_rows_are_rejected_or_kept_flagged(engine: Engine) -> None:
    summary = IdentityService(engine).import_records(
        [
            {"source": "crm", "first_name": "No id"},
            person("m", first_name="Bad", email="bad(at)x", phone="12"),
            person("n", favourite_color="blue"),
            person("o", party_identifiers=[{"id_name": "loyalty"}]),
            {"source": "device", "source_record_id": "x"},
            "not an object",
        ]
    )
    assert summary.accepted == 2 and summary.rejected == 4 and summary.flagged == 2
    reasons = " ".join(r for _, r in summary.rejections)
    assert "source_record_id" in reasons and "reserved" in reasons
    flags = IdentityControl(engine).lineage("crm:m").source_records[0]["flags"]
    assert set(flags) == {"email_malformed", "phone_malformed"}
    n = IdentityControl(engine).lineage("crm:n").source_records[0]
    assert n["flags"] == ["no_identifying_field"] and n["record"]["attributes"] == {
        "favourite_color": "blue"
    }


def test_batch_links_fuzzy_duplicates_and_exports_every_record(
    engine: Engine, tmp_path: Path
) -> None:
    service = IdentityService(engine)
    rows = [
        person(str(k), first_name=f, last_name=ln, birth_date=d, street=s, postal_code=pc)
        for k, (f, ln, d, s, pc) in enumerate(
            [
                ("john", "smith", "19700101", "1 high st", "2000"),
                ("mary", "jones", "19810203", "2 low rd", "3000"),
                ("peter", "brown", "19920304", "3 mid ave", "4000"),
                ("sue", "white", "19630405", "4 top ln", "5000"),
                ("jon", "smyth", "19700101", "1 hihg st", "2000"),
            ]
        )
    ]
    service.import_records(rows)
    assert owner(engine, "0") != owner(engine, "4")
    summary = service.resolve()
    assert summary.records == 5 and summary.clusters == 4
    assert owner(engine, "0") == owner(engine, "4")
    out = tmp_path / "ids.csv"
    assert service.export(out) == 5
    table = list(csv.DictReader(out.open()))
    assert {r["source_record_id"] for r in table} == {"0", "1", "2", "3", "4"}
    assert len({r["unified_individual_id"] for r in table}) == 4
    engine.reload()
    assert owner(engine, "0") == owner(engine, "4")


EXACT = parse_ruleset(
    {
        "name": "exact",
        "probabilistic": {"enabled": False},
        "rules": [
            {
                "name": "email",
                "criteria": [
                    {"field": "email", "method": "Exact Normalized"},
                    {"field": "last_name", "method": "Exact"},
                ],
            },
            {"name": "phone", "criteria": [{"field": "phone", "method": "Exact Normalized"}]},
            {
                "name": "party",
                "criteria": [{"field": "party_identifier", "method": "Party Identifier"}],
            },
        ],
    }
)


def test_on_exact_rules_batch_and_real_time_give_the_same_clusters(engine: Engine) -> None:
    control, service = IdentityControl(engine), IdentityService(engine)
    control.put_ruleset(EXACT)
    control.activate("exact")
    rows = []
    for k in range(60):
        rows.append(
            person(
                f"r{k}",
                last_name=f"L{k % 7}",
                email=f"p{k % 11}@x.com" if k % 3 else None,
                phone=f"415555{k % 13:04d}" if k % 4 else None,
                party_identifiers=[{"id_name": "loyalty", "number": str(k % 17)}]
                if k % 5 == 0
                else [],
            )
        )
    service.import_records(rows, chunk=7)

    def partition() -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for key in engine.state.identity.index.records:
            groups.setdefault(engine.state.identity.owner(key) or "", set()).add(key)
        return {frozenset(g) for g in groups.values()}

    real_time = partition()
    assert len(real_time) < 60
    summary = service.resolve()
    assert partition() == real_time and summary.merges == 0 and summary.moved == 0


def test_a_split_record_gets_its_own_id_stays_apart_in_later_runs_and_is_logged(
    engine: Engine,
) -> None:
    service, control = IdentityService(engine), IdentityControl(engine)
    service.import_records(
        [
            person("s1", first_name="Sam", last_name="Cole", email="sam@x.com"),
            person("s2", first_name="Sam", last_name="Cole", email="sam@x.com"),
            person("s3", first_name="Sam", last_name="Cole", email="sam@x.com"),
        ]
    )
    cluster = owner(engine, "s1")
    done = control.split("crm:s2", reason="family members")
    assert done.from_unified_id == cluster and done.unified_id != cluster
    assert done.kept_apart_from == ["crm:s1", "crm:s3"]
    service.resolve()
    assert owner(engine, "s1") == owner(engine, "s3") == cluster != owner(engine, "s2")
    service.import_records(
        [person("s2", first_name="Sam", last_name="Cole", email="sam@x.com", updated_at=NOW + 5)]
    )
    assert owner(engine, "s2") != cluster
    engine.reload()
    service = IdentityService(engine)
    service.resolve()
    assert owner(engine, "s2") != owner(engine, "s1")
    assert [s["reason"] for s in IdentityControl(engine).lineage("crm:s2").splits] == [
        "family members"
    ]
    with pytest.raises(Conflict):
        IdentityControl(engine).split("crm:s2")


def test_incremental_resolution_examines_only_changed_records(engine: Engine) -> None:
    service = IdentityService(engine)
    people = [
        ("john", "smith", "19700101", "2000"),
        ("mary", "jones", "19810203", "3000"),
        ("mary", "jones", "19810203", "3000"),  # a pair that has nothing to do with the change
        ("peter", "brown", "19920304", "4000"),
        ("petra", "brown", "19920304", "4000"),
    ]
    service.import_records(
        [
            person(str(k), first_name=f, last_name=ln, birth_date=d, postal_code=pc)
            for k, (f, ln, d, pc) in enumerate(people)
        ]
    )
    service.resolve()
    engine.now = lambda: NOW + 100
    service.import_records(
        [
            person(
                "new",
                first_name="jon",
                last_name="smith",
                birth_date="19700101",
                postal_code="2000",
            )
        ]
    )
    incremental = service.resolve(incremental=True)
    assert incremental.incremental and owner(engine, "new") == owner(engine, "0")
    engine.now = lambda: NOW + 200
    unchanged = service.resolve(incremental=True)
    assert unchanged.incremental and unchanged.candidate_pairs == 0  # nothing changed since
    full = service.resolve()
    assert not full.incremental and full.records == incremental.records == len(people) + 1
    # Only the pairs touching the one new record were examined, not the population's pairs.
    assert 0 < incremental.candidate_pairs < full.candidate_pairs
    assert owner(engine, "1") == owner(engine, "2") and owner(engine, "new") == owner(engine, "0")


def test_an_invalid_ruleset_changes_nothing(engine: Engine) -> None:
    control = IdentityControl(engine)
    with pytest.raises(InvalidInput, match="does not validate"):
        parse_ruleset(
            {
                "name": "bad",
                "rules": [{"name": "r", "criteria": [{"field": "email", "method": "Fuzzy"}]}],
            }
        )
    assert [r.name for r in control.rulesets()] == [
        "default"
    ] and control.active().name == "default"
    with pytest.raises(Conflict):
        control.delete_ruleset("default")
