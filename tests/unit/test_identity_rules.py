"""Normalization, rule methods, rulesets as data, reconciliation: small hand-built cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from p13n.domain.errors import InvalidInput
from p13n.domain.identity.batch import PROBABILISTIC, resolve_records
from p13n.domain.identity.compare import Frame, feature_levels, pair_levels
from p13n.domain.identity.normalize import clean_email, normalize_address, phone_e164
from p13n.domain.identity.realtime import evaluate_rule
from p13n.domain.identity.reconcile import SourceValues, contact_points, reconcile
from p13n.domain.identity.records import NormRecord, normalize_record, record_from_row
from p13n.domain.identity.rules import DEFAULT_RULESET, MatchRule, Reconciliation, parse_ruleset


def rec(srid: str, **fields: Any) -> NormRecord:
    return normalize_record(record_from_row({"source": "crm", "source_record_id": srid, **fields}))


def rule(*criteria: dict[str, Any], confirm: bool = False) -> MatchRule:
    return MatchRule.model_validate(
        {"name": "r", "criteria": list(criteria), "confirm_with_model": confirm}
    )


def test_email_normalization_folds_case_whitespace_gmail_dots_and_tags() -> None:
    assert clean_email("  Jane.Doe+news@GMail.com ") == "janedoe@gmail.com"
    assert clean_email("jane.doe+x@example.com") == "jane.doe+x@example.com"
    assert clean_email("not-an-email") is None and clean_email("a@b") is None


def test_phones_become_e164_in_the_configured_region_and_junk_is_refused() -> None:
    assert phone_e164("(415) 555-2671") == "+14155552671"
    assert phone_e164("020 7946 0958", default_region="GB") == "+442079460958"
    assert phone_e164("12") is None and phone_e164("call me") is None


def test_addresses_fold_case_punctuation_and_abbreviations() -> None:
    assert normalize_address("12, North Main Street.") == normalize_address("12 n main st")


def test_malformed_email_and_phone_are_kept_raw_flagged_and_never_normalized() -> None:
    r = rec("1", first_name="Ann", email="ann(at)example", phone="12")
    assert r.emails_x == ("ann(at)example",) and r.emails_n == ()
    assert r.phones_x == ("12",) and r.phones_n == ()
    assert set(r.flags) == {"email_malformed", "phone_malformed"}


def test_a_record_without_any_identifying_field_is_flagged() -> None:
    assert "no_identifying_field" in rec("1", first_name="Ann").flags
    assert rec("2", email="a@example.com").flags == ()


def test_exact_is_case_insensitive_but_not_normalized() -> None:
    r = rule({"field": "email", "method": "Exact"})
    assert evaluate_rule(r, rec("1", email="A@x.com"), rec("2", email="a@X.COM")) == 1.0
    assert evaluate_rule(r, rec("1", email="a.b@gmail.com"), rec("2", email="ab@gmail.com")) is None


def test_exact_normalized_matches_gmail_variants_phones_and_addresses() -> None:
    email = rule({"field": "email", "method": "Exact Normalized"})
    phone = rule({"field": "phone", "method": "Exact Normalized"})
    addr = rule({"field": "address", "method": "Exact Normalized"})
    assert (
        evaluate_rule(email, rec("1", email="a.b+x@gmail.com"), rec("2", email="AB@gmail.com"))
        == 1.0
    )
    assert (
        evaluate_rule(phone, rec("1", phone="415-555-2671"), rec("2", phone="+1 (415) 5552671"))
        == 1.0
    )
    a = rec("1", street="12 North Main Street", city="Springfield", postal_code="01101")
    b = rec("2", street="12 N. Main St", city="SPRINGFIELD", postal_code="01101")
    assert evaluate_rule(addr, a, b) == 1.0


@pytest.mark.parametrize(
    ("precision", "other", "matches"),
    [
        ("High", "Jonathn", True),
        ("High", "Jonah", False),
        ("Medium", "Johnathan", True),
        ("Medium", "Jon", False),
        ("Low", "Jon", True),
        ("Low", "Mary", False),
    ],
)
def test_fuzzy_precision_levels_on_names(precision: str, other: str, matches: bool) -> None:
    r = rule({"field": "first_name", "method": "Fuzzy", "precision": precision})
    score = evaluate_rule(r, rec("1", first_name="Jonathan"), rec("2", first_name=other))
    assert (score is not None) == matches
    assert score is None or 0.8 <= score < 1.0


def test_party_identifier_needs_name_type_and_number_to_agree() -> None:
    r = rule({"field": "party_identifier", "method": "Party Identifier"})
    p = {"id_name": "Loyalty", "id_type": "Member", "number": "77"}
    assert evaluate_rule(r, rec("1", party_identifiers=[p]), rec("2", party_identifiers=[p])) == 1.0
    other_type = {**p, "id_type": "Card"}
    assert (
        evaluate_rule(r, rec("1", party_identifiers=[p]), rec("2", party_identifiers=[other_type]))
        is None
    )


def test_criteria_are_and_and_rules_are_or() -> None:
    both = rule(
        {"field": "email", "method": "Exact Normalized"}, {"field": "last_name", "method": "Exact"}
    )
    a, b = rec("1", email="a@x.com", last_name="Lee"), rec("2", email="a@x.com", last_name="Kim")
    assert evaluate_rule(both, a, b) is None
    ruleset = parse_ruleset(
        {
            "name": "t",
            "probabilistic": {"enabled": False},
            "rules": [
                {"name": "email", "criteria": [{"field": "email", "method": "Exact Normalized"}]},
                {"name": "phone", "criteria": [{"field": "phone", "method": "Exact Normalized"}]},
            ],
        }
    )
    records = [
        rec("1", email="a@x.com"),
        rec("2", email="a@x.com", phone="4155552671"),
        rec("3", phone="415 555 2671"),
    ]
    out = resolve_records(records, ruleset)
    assert len(set(out.labels[:3].tolist())) == 1 and set(out.link_rule) == {"email", "phone"}


def test_a_shared_identifier_with_different_names_and_birth_dates_does_not_merge() -> None:
    party = [{"id_name": "ssn", "id_type": "SSN", "number": "1234567"}]
    same = dict(street="5 Oak St", city="Perth", postal_code="6000", party_identifiers=party)
    people = [
        rec("a", first_name="Ann", last_name="Lee", birth_date="19800101", **same),
        rec("b", first_name="Ann", last_name="Lee", birth_date="19800101", **same),
        rec(
            "c", first_name="Bob", last_name="Stone", birth_date="19551231", party_identifiers=party
        ),
    ]
    filler = [
        rec(
            f"f{k}",
            first_name=f"N{k}",
            last_name="Kay",
            birth_date=f"19{k:02d}0101",
            street=f"{k} Elm St",
            postal_code="6000",
        )
        for k in range(30)
    ]
    out = resolve_records(people + filler, DEFAULT_RULESET)
    assert out.labels[0] == out.labels[1] != out.labels[2]


def test_the_probabilistic_matcher_links_typos_no_rule_catches() -> None:
    base = [
        rec(f"p{k}", first_name=n, last_name=s, birth_date=d, postal_code=pc, street=st)
        for k, (n, s, d, pc, st) in enumerate(
            [
                ("john", "smith", "19700101", "2000", "1 high st"),
                ("mary", "jones", "19810203", "3000", "2 low rd"),
                ("peter", "brown", "19920304", "4000", "3 mid ave"),
                ("sue", "white", "19630405", "5000", "4 top ln"),
            ]
        )
    ]
    dups = [
        rec(
            "d0",
            first_name="jon",
            last_name="smyth",
            birth_date="19700101",
            postal_code="2000",
            street="1 hihg st",
        )
    ]
    out = resolve_records(base * 1 + dups, DEFAULT_RULESET)
    assert out.labels[0] == out.labels[4]
    assert PROBABILISTIC in out.link_rule


def test_frame_and_single_pair_comparisons_agree() -> None:
    a = rec("1", first_name="smith", last_name="john", birth_date="19700101", postal_code="2000")
    b = rec("2", first_name="john", last_name="smiht", birth_date="19700110", postal_code="2001")
    levels = feature_levels(Frame([a, b]), np.array([0]), np.array([1]))
    assert (levels == pair_levels(a, b)).all()


@pytest.mark.parametrize(
    "bad",
    [
        "rules: []\nname: x",
        "name: x\nrules:\n- name: r\n  criteria: [{field: email, method: Fuzzy, precision: High}]",
        "name: x\nrules:\n- name: r\n  criteria: [{field: first_name, method: Fuzzy}]",
        "name: x\ndefault_region: ZZ\nrules:\n- name: r\n  criteria: [{field: email, method: Exact}]",
        "name: [unclosed",
    ],
)
def test_a_ruleset_that_does_not_validate_is_refused_with_a_clear_error(bad: str) -> None:
    with pytest.raises(InvalidInput, match="ruleset"):
        parse_ruleset(bad)


def test_rulesets_load_from_yaml() -> None:
    r = parse_ruleset(
        "name: mine\nrules:\n- name: email\n  criteria:\n  - {field: email, method: Exact Normalized}\n"
    )
    assert r.rules[0].realtime and r.probabilistic.enabled


def sv(source: str, ts: float, **fields: Any) -> SourceValues:
    return SourceValues(source, ts, fields)


RECORDS = [
    sv("web", 1.0, first_name="Jon", city="Paris", email="j@x.com"),
    sv("crm", 2.0, first_name="John", city="Paris", email="J@X.com", phone="4155552671"),
    sv("pos", 3.0, first_name=None, city="Lyon", email="bad-email"),
]


def test_last_updated_takes_the_newest_value_and_can_ignore_empty() -> None:
    assert reconcile(RECORDS, Reconciliation())["first_name"] == "John"
    keep_empty = Reconciliation.model_validate(
        {"default": {"rule": "Last Updated", "ignore_empty": False}}
    )
    assert "first_name" not in reconcile(RECORDS, keep_empty)


def test_most_frequent_and_source_priority() -> None:
    config = Reconciliation.model_validate(
        {
            "fields": {
                "city": {"rule": "Most Frequent"},
                "first_name": {"rule": "Source Priority", "source_priority": ["web", "crm"]},
            }
        }
    )
    out = reconcile(RECORDS, config)
    assert out["city"] == "Paris" and out["first_name"] == "Jon"


def test_contact_points_are_all_kept_deduplicated_and_flagged() -> None:
    points = contact_points(RECORDS)
    emails = {e["normalized"]: e for e in points["emails"]}
    assert set(emails) == {"j@x.com", None}
    assert sorted(emails["j@x.com"]["sources"]) == ["crm", "web"] and emails[None]["malformed"]
    assert points["phones"][0]["normalized"] == "+14155552671"
