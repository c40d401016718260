"""The compact form of a profile is exact, and the profile cache over it behaves like a cache of
the profiles themselves (each reader gets an equal copy; writes replace; LRU eviction)."""

from __future__ import annotations

import tracemalloc
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from p13n.domain.caches import ProfileCache
from p13n.domain.graphs import (
    ProfileGraph,
    compact_profile_json,
    decode_profile,
    encode_profile,
    new_profile,
    profile_id_of,
    profile_json,
)
from p13n.domain.graphs.profile import (
    CartLine,
    ConsentState,
    ContactPoint,
    EngagementEntry,
    Identity,
    Purchase,
    PurchaseLine,
    SegmentExit,
    SegmentMembership,
    ViewedItem,
)

# Strings any event can carry (orjson rejects lone surrogates on the way in, so does the store).
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
# JSON cannot hold NaN or infinities; the store cannot either.
floats = st.floats(allow_nan=False, allow_infinity=False)
big_ints = st.integers(min_value=-(10**40), max_value=10**40)
ts = st.floats(min_value=0, max_value=4e9, allow_nan=False)
maybe = st.none

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | big_ints | floats | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)

profiles = st.builds(
    ProfileGraph,
    unified_id=text,
    created_at=ts,
    updated_at=ts,
    first_seen=maybe() | ts,
    last_seen=maybe() | ts,
    event_count=big_ints,
    attributes=st.dictionaries(text, json_values, max_size=5),
    identities=st.lists(st.builds(Identity, type=text, value=text, first_seen=ts), max_size=3),
    contact_points=st.lists(
        st.builds(ContactPoint, type=text, value=text, normalized=text, first_seen=ts), max_size=2
    ),
    consent=st.builds(
        ConsentState, status=maybe() | text, provider=maybe() | text, updated_at=maybe() | ts
    ),
    engagement=st.lists(
        st.builds(
            EngagementEntry,
            event_id=text,
            ts=ts,
            interaction=text,
            item_id=maybe() | text,
            category=maybe() | text,
            brand=maybe() | text,
            quantity=maybe() | floats,
            value=maybe() | floats,
            order_id=maybe() | text,
        ),
        max_size=6,
    ),
    cart=st.lists(
        st.builds(CartLine, item_id=text, quantity=floats, price=maybe() | floats, added_at=ts),
        max_size=3,
    ),
    recently_viewed=st.lists(st.builds(ViewedItem, item_id=text, ts=ts), max_size=4),
    purchases=st.lists(
        st.builds(
            Purchase,
            order_id=maybe() | text,
            ts=ts,
            value=maybe() | floats,
            lines=st.lists(
                st.builds(PurchaseLine, item_id=text, quantity=floats, price=maybe() | floats),
                max_size=3,
            ),
        ),
        max_size=2,
    ),
    insights=st.dictionaries(text, json_values, max_size=4),
    segments=st.dictionaries(text, st.builds(SegmentMembership, entered_at=ts), max_size=3),
    segment_exits=st.lists(
        st.builds(SegmentExit, segment=text, entered_at=ts, exited_at=ts), max_size=2
    ),
    affinities=st.dictionaries(text, st.dictionaries(text, floats, max_size=4), max_size=2),
    state=st.dictionaries(text, json_values, max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(profiles)
def test_a_decoded_profile_equals_the_encoded_one(profile: ProfileGraph) -> None:
    assert decode_profile(encode_profile(profile)) == profile


@settings(max_examples=100, deadline=None)
@given(profiles)
def test_the_compact_form_of_a_stored_document_decodes_to_what_the_store_reader_builds(
    profile: ProfileGraph,
) -> None:
    doc = profile.model_dump_json()  # what the store holds
    assert decode_profile(compact_profile_json(doc)) == ProfileGraph.model_validate_json(doc)
    assert compact_profile_json(doc) == compact_profile_json(doc.encode())
    assert profile_json(profile).decode() == doc
    assert profile_id_of(doc) == profile.unified_id


def test_integers_past_64_bits_and_unicode_come_back_exactly() -> None:
    profile = new_profile("u-ü€😀", 1.5)
    profile.attributes = {"big": 2**70 + 1, "neg": -(2**65), "name": "Zoë 東京 😀", "f": 0.1}
    profile.event_count = 2**64 + 3
    profile.state = {"deep": {"list": [1, [2, {"x": None, "y": True}]], "e": 1e-300}}
    back = decode_profile(encode_profile(profile))
    assert back == profile
    assert type(back.attributes["big"]) is int and back.attributes["big"] == 2**70 + 1
    assert back.event_count == 2**64 + 3


def test_a_typical_profile_is_several_times_smaller_compact_than_as_json() -> None:
    profile = new_profile("u-0123456789abcdef01234567", 1_790_000_000.0)
    profile.engagement = [
        EngagementEntry(
            event_id=f"flat-5-{k}",
            ts=1_790_000_000.0 + 37.5 * k,
            interaction="View Catalog Object",
            item_id=f"it-{k * 7}",
            category=f"Top{k % 10}/Leaf{k * 3}",
            brand="Acme",
        )
        for k in range(40)
    ]
    doc = profile_json(profile)
    assert len(encode_profile(profile)) * 3 < len(doc)


def test_a_cached_form_holds_about_its_own_length_of_memory() -> None:
    """zstandard's output buffer is allocated at the input's size and only its reported length
    shortened; the cache must not keep that buffer (issue 14: 3.7 kB held per 0.7 kB form)."""
    docs = []
    for n in range(300):
        profile = new_profile(f"u-{n:024d}", 1_790_000_000.0)
        profile.engagement = [
            EngagementEntry(
                event_id=f"e-{n}-{k}",
                ts=1_790_000_000.0 + 11.0 * k,
                interaction="View Catalog Object",
                item_id=f"it-{(n * 31 + k) % 997}",
                category=f"Top{k % 7}/Leaf{(n + k) % 13}",
            )
            for k in range(30)
        ]
        docs.append(profile_json(profile))
    cache = ProfileCache(len(docs))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n, doc in enumerate(docs):
            cache.put_doc(f"u{n}", doc)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    content = cache.nbytes()
    assert content * 3 < sum(map(len, docs))
    # the forms' bytes, plus per entry its key, a bytes header and the LRU's link (~250 B)
    assert held < content + 300 * len(docs), (held, content)


def _profile(uid: str, count: int = 0) -> ProfileGraph:
    profile = new_profile(uid, 10.0)
    profile.event_count = count
    return profile


def test_each_read_of_the_compact_cache_is_an_equal_copy_that_the_reader_may_change() -> None:
    cache = ProfileCache(10)
    cache.put("u1", _profile("u1", 3))
    first = cache.get("u1")
    assert first == _profile("u1", 3)
    assert first is not None
    first.event_count = 99
    first.attributes["x"] = 1
    again = cache.get("u1")
    assert again == _profile("u1", 3) and again is not first


def test_a_cache_of_objects_hands_out_the_cached_object_itself() -> None:
    cache = ProfileCache(10, compact=False)
    profile = _profile("u1", 3)
    cache.put("u1", profile)
    assert cache.get("u1") is profile
    assert cache.nbytes() == 0


def test_put_replaces_refresh_replaces_only_what_is_cached_and_put_doc_parses_nothing() -> None:
    for compact in (True, False):
        cache = ProfileCache(10, compact=compact)
        cache.put("u1", _profile("u1", 1))
        cache.put("u1", _profile("u1", 2))
        assert cache.get("u1") == _profile("u1", 2)
        cache.refresh("u1", _profile("u1", 3), doc=profile_json(_profile("u1", 3)))
        assert cache.get("u1") == _profile("u1", 3)
        cache.refresh("u2", _profile("u2", 1))
        assert "u2" not in cache and cache.get("u2") is None
        cache.put_doc("u3", _profile("u3", 7).model_dump_json())
        assert cache.get("u3") == _profile("u3", 7)
        assert len(cache) == 2


def test_the_least_recently_read_profile_goes_first_and_a_membership_test_is_no_read() -> None:
    cache = ProfileCache(2)
    cache.put("u1", _profile("u1"))
    cache.put("u2", _profile("u2"))
    assert "u1" in cache  # no read: u1 stays the least recently used
    cache.put("u3", _profile("u3"))
    assert "u1" not in cache and "u2" in cache
    assert cache.get("u2") is not None  # a read: u3 is now the oldest
    cache.put("u4", _profile("u4"))
    assert "u3" not in cache and "u2" in cache and "u4" in cache
    cache.discard("u2")
    assert "u2" not in cache and len(cache) == 1
    cache.clear()
    assert len(cache) == 0 and cache.nbytes() == 0


def test_the_compact_cache_counts_its_bytes() -> None:
    cache = ProfileCache(10)
    cache.put("u1", _profile("u1"))
    assert cache.nbytes() == len(encode_profile(_profile("u1")))
