"""The identify seam: devices, individual ids and contact points map to one unified id."""

from __future__ import annotations

from p13n.domain.identity import Identifier, IdentityLinks
from p13n.domain.ingest.events import Event, kind_of

T0 = 1_800_000_000.0


def ev(
    ts: float, *, device: str | None = None, individual: str | None = None, email: str | None = None
) -> Event:
    name = "contactPointEmail" if email else "View Catalog Object"
    return Event(
        event_id=f"e{ts}",
        ts=ts,
        interaction=name,
        kind=kind_of(name),
        shape="sdk",
        device_id=device,
        individual_id=individual,
        identity={"email": email} if email else {},
    )


def test_the_same_device_always_maps_to_the_same_unified_id() -> None:
    ident = Identifier(IdentityLinks())
    first = ident.identify(ev(T0, device="d1"))
    again = ident.identify(ev(T0 + 1, device="d1"))
    assert first.new_individual and not again.new_individual
    assert first.unified_id == again.unified_id
    assert first.new_links == [("device", "d1")] and again.new_links == []


def test_unified_ids_are_deterministic_across_fresh_states() -> None:
    a = Identifier(IdentityLinks()).identify(ev(T0, device="d1")).unified_id
    b = Identifier(IdentityLinks()).identify(ev(T0, device="d1")).unified_id
    assert a == b and a.startswith("u-")


def test_a_second_device_logging_in_with_a_known_email_merges_into_the_older_person() -> None:
    state = IdentityLinks()
    ident = Identifier(state)
    u1 = ident.identify(ev(T0, device="d1")).unified_id
    ident.identify(ev(T0 + 1, device="d1", email="Shopper@Example.com"))
    u2 = ident.identify(ev(T0 + 2, device="d2")).unified_id
    assert u1 != u2
    change = ident.identify(ev(T0 + 3, device="d2", email="shopper@example.com"))
    assert change.unified_id == u1 and change.merged == [u2]
    assert state.resolve(u2) == u1
    assert ident.lookup("device", "d2") == u1


def test_an_event_with_device_and_individual_id_links_both() -> None:
    ident = Identifier(IdentityLinks())
    change = ident.identify(ev(T0, device="d1", individual="crm-1"))
    assert set(change.new_links) == {("device", "d1"), ("individual", "crm-1")}
    assert ident.lookup("individual", "crm-1") == change.unified_id
