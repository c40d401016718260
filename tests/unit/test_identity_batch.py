"""Batch resolution at scale: blocking keys that stay small, progress per record, and
normalization that shares repeated values."""

from __future__ import annotations

from typing import Any

from p13n.domain.identity.batch import resolve_records
from p13n.domain.identity.normalize import clean_birth_date, exact_text, normalized_text
from p13n.domain.identity.records import NormRecord, normalize_record, record_from_row
from p13n.domain.identity.rules import DEFAULT_RULESET


def rec(srid: str, **fields: Any) -> NormRecord:
    return normalize_record(record_from_row({"source": "crm", "source_record_id": srid, **fields}))


def test_a_shared_birth_date_alone_does_not_make_candidates() -> None:
    a = rec("a", first_name="john", last_name="smith", birth_date="19700101", postal_code="2000")
    b = rec("b", first_name="mary", last_name="brown", birth_date="19700101", postal_code="3000")
    assert resolve_records([a, b], DEFAULT_RULESET).candidate_pairs == 0


def test_birth_date_candidates_survive_swapped_names_and_a_typo_in_an_initial() -> None:
    a = rec("a", first_name="john", last_name="smith", birth_date="19700101", postal_code="2000")
    swapped = rec("b", first_name="smiht", last_name="jonh", birth_date="19700101")
    typo = rec("c", first_name="kohn", last_name="smyth", birth_date="19700101")
    for other in (swapped, typo):
        assert resolve_records([a, other], DEFAULT_RULESET).candidate_pairs == 1


def test_batch_progress_counts_records_up_to_all_of_them() -> None:
    records = [
        rec(f"p{k}", first_name=name, last_name="smith", birth_date="19700101", street="1 high st")
        for k, name in enumerate(["john", "jon", "johnny", "mary", "marie"])
    ]
    seen: list[int] = []
    resolve_records(records, DEFAULT_RULESET, on_records=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == len(records)


def test_repeated_values_share_one_string_object() -> None:
    a = rec("a", first_name="John", last_name="Smith", city="Springfield", birth_date="19700101")
    b = rec("b", first_name="john", last_name="SMITH", city="springfield", birth_date="1970-01-01")
    assert a.first_n is b.first_n and a.last_x is b.last_x and a.city_x is b.city_x
    assert a.birth_date is b.birth_date and a.first_x is a.first_n


def test_fast_text_paths_keep_accents_spaces_and_dates_right() -> None:
    assert normalized_text("  José  O'Brien ") == "jose o brien"
    assert normalized_text("Zoë\u00a0Smith") == "zoe smith"
    assert exact_text(" Anne\t\nMarie ") == "anne marie"
    assert clean_birth_date("1964-01-05") == "19640105"
    assert clean_birth_date("19640231") is None and clean_birth_date("00000101") is None
