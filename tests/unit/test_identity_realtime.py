"""Real-time linking through the identify seam, without a store: merges, aliases, kept-apart
records, and events meeting imported records."""

from __future__ import annotations

from typing import Any

from p13n.domain.identity import Identifier, IdentityLinks
from p13n.domain.identity.records import NormRecord, normalize_record, record_from_row
from p13n.domain.ingest.events import Event, kind_of

T0 = 1_800_000_000.0


def rec(srid: str, **fields: Any) -> NormRecord:
    return normalize_record(record_from_row({"source": "crm", "source_record_id": srid, **fields}))


def login(ts: float, device: str, email: str) -> Event:
    return Event(
        event_id=f"e{ts}",
        ts=ts,
        interaction="contactPointEmail",
        kind=kind_of("contactPointEmail"),
        shape="sdk",
        device_id=device,
        identity={"email": email},
    )


def test_a_record_joins_the_cluster_its_rule_matches_and_the_oldest_id_survives_merges() -> None:
    ident = Identifier(IdentityLinks())
    a = ident.link_record(rec("a", first_name="Ann", last_name="Kay", email="a@x.com"), now=T0)
    b = ident.link_record(
        rec("b", first_name="Ann", last_name="Kay", phone="4155552671"), now=T0 + 1
    )
    assert a.new_individual and b.new_individual and a.unified_id != b.unified_id
    c = ident.link_record(
        rec("c", first_name="Anne", last_name="Kay", email="a@x.com", phone="415 555 2671"),
        now=T0 + 2,
    )
    assert c.unified_id == a.unified_id and c.merged == [b.unified_id]
    assert {rule for _, rule, _ in c.pairs} == {"Name and email", "Name and phone"}
    assert ident.state.resolve(b.unified_id) == a.unified_id  # the alias stays resolvable
    assert ident.state.owner("crm:b") == a.unified_id


def test_a_login_on_a_device_stitches_to_the_imported_person_with_that_email() -> None:
    ident = Identifier(IdentityLinks())
    known = ident.link_record(rec("k", first_name="Eve", email="Eve@x.com"), now=T0).unified_id
    change = ident.identify(login(T0 + 5, "dev", "eve@X.com"))
    assert change.unified_id == known and ("device", "dev") in change.new_links


def test_a_new_record_with_an_event_identifier_joins_that_individual() -> None:
    ident = Identifier(IdentityLinks())
    uid = ident.identify(login(T0, "dev", "zed@x.com")).unified_id
    link = ident.link_record(rec("z", first_name="Zed", email="zed@x.com"), now=T0 + 1)
    assert link.unified_id == uid and link.pairs == [("email:zed@x.com", "Event identifier", 1.0)]


def test_records_kept_apart_do_not_link_again() -> None:
    ident = Identifier(IdentityLinks())
    first = ident.link_record(
        rec("1", first_name="Sam", last_name="Cole", email="s@x.com"), now=T0
    ).unified_id
    ident.state.index.apart = {"crm:2": {"crm:1"}, "crm:1": {"crm:2"}}
    second = ident.link_record(
        rec("2", first_name="Sam", last_name="Cole", email="s@x.com"), now=T0 + 1
    )
    assert second.unified_id != first and second.new_individual


def test_a_changed_record_is_reindexed_under_its_new_values() -> None:
    ident = Identifier(IdentityLinks())
    ident.link_record(rec("1", first_name="Al", last_name="Po", email="old@x.com"), now=T0)
    ident.link_record(rec("1", first_name="Al", last_name="Po", email="new@x.com"), now=T0 + 1)
    assert ident.state.index.lookup("emails_n", "old@x.com") == []
    assert ident.state.index.lookup("emails_n", "new@x.com") == ["crm:1"]
