"""Real-time resolution: one new or changed record against everything indexed, in place.

Blocking indexes map (attribute, normalized value) to record keys: the blocking criterion of
each real-time rule (one with an Exact / Exact Normalized / Party Identifier criterion), and
the event identifiers (email, phone, party identifier, source record id = individual id). A
new record is compared only with the records sharing one of those values; every criterion of
the rule (fuzzy ones too) is then checked on those few candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from p13n.domain.identity.batch import EVENT_IDENTIFIER
from p13n.domain.identity.compare import jaro_winkler, pair_levels
from p13n.domain.identity.fellegi_sunter import FSParams, default_params
from p13n.domain.identity.records import NormRecord
from p13n.domain.identity.rules import (
    EXACT_ATTR,
    FUZZY_THRESHOLDS,
    NORM_ATTR,
    MatchRule,
    Ruleset,
    criterion_values,
    fuzzy_value,
)

__all__ = ["RecordIndex", "RecordLink", "evaluate_rule", "EVENT_KEYS", "source_record_id"]

_DEFAULT = default_params()
# event identifier kind -> record attribute holding the same normalized values
EVENT_KEYS = {"email": "emails_n", "phone": "phones_n", "party": "party", "individual": "srid"}


def source_record_id(key: str) -> str:
    return key.split(":", 1)[1]


def _values(rec: NormRecord, attr: str) -> tuple[str, ...]:
    if attr == "srid":
        return (source_record_id(rec.key),)
    value = getattr(rec, attr)
    if isinstance(value, tuple):
        return value
    return (value,) if value else ()


def evaluate_rule(
    rule: MatchRule,
    a: NormRecord,
    b: NormRecord,
    *,
    params: FSParams | None = None,
    confirm_threshold: float = 0.0,
) -> float | None:
    """The rule's score for the pair (lowest criterion score), or None when it does not match."""
    score = 1.0
    for crit in rule.criteria:
        if crit.method == "Fuzzy":
            va, vb = fuzzy_value(a, crit.field), fuzzy_value(b, crit.field)
            if not va or not vb:
                return None
            sim = 1.0 if va == vb else float(jaro_winkler([va], [vb])[0])
            if sim < FUZZY_THRESHOLDS[crit.precision or "High"]:
                return None
            score = min(score, sim)
        elif not set(criterion_values(a, crit)) & set(criterion_values(b, crit)):
            return None
    if rule.confirm_with_model and (
        (params or _DEFAULT).pair_posterior(pair_levels(a, b)[0].tolist()) < confirm_threshold
    ):
        return None
    return score


@dataclass
class RecordLink:
    """What linking one record did: its unified id, merges, and why it linked to whom."""

    unified_id: str
    new_individual: bool = False
    merged: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str, float]] = field(default_factory=list)  # (other, rule, score)


@dataclass
class RecordIndex:
    """Source records by key, their unified ids, and the blocking indexes."""

    records: dict[str, NormRecord] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    blocks: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    apart: dict[str, set[str]] = field(default_factory=dict)
    attrs: tuple[str, ...] = tuple(EVENT_KEYS.values())

    def configure(self, ruleset: Ruleset) -> None:
        """Index the blocking attributes of `ruleset` (re-indexes when they change)."""
        attrs = set(EVENT_KEYS.values())
        for rule in ruleset.rules:
            crit = rule.blocking_criterion
            if crit is not None:
                attrs.add((EXACT_ATTR if crit.method == "Exact" else NORM_ATTR)[crit.field])
        if set(self.attrs) != attrs:
            self.attrs = tuple(sorted(attrs))
            self.blocks.clear()
            for rec in self.records.values():
                self._index(rec)

    def _index(self, rec: NormRecord) -> None:
        for attr in self.attrs:
            for value in _values(rec, attr):
                self.blocks.setdefault((attr, value), []).append(rec.key)

    def _unindex(self, rec: NormRecord) -> None:
        for attr in self.attrs:
            for value in _values(rec, attr):
                keys = self.blocks.get((attr, value))
                if keys is not None and rec.key in keys:
                    keys.remove(rec.key)
                    if not keys:
                        del self.blocks[(attr, value)]

    def put(self, rec: NormRecord, uid: str) -> None:
        """Store (or replace) a record as a member of `uid` (a survivor id)."""
        old = self.records.get(rec.key)
        if old is not None:
            self._unindex(old)
            previous = self.owner.get(rec.key)
            if (
                previous is not None
                and previous != uid
                and rec.key in self.members.get(previous, [])
            ):
                self.members[previous].remove(rec.key)
        self.records[rec.key] = rec
        self._index(rec)
        if self.owner.get(rec.key) != uid or rec.key not in self.members.get(uid, []):
            self.members.setdefault(uid, []).append(rec.key)
        self.owner[rec.key] = uid

    def lookup(self, attr: str, value: str) -> list[str]:
        return self.blocks.get((attr, value), [])

    def remove(self, keys: Iterable[str]) -> None:
        """Forget records (an erased person's): their blocking entries, owner, membership and
        apartness, leaving the index as a fresh build from the remaining records would be."""
        for key in set(keys):
            rec = self.records.pop(key, None)
            if rec is not None:
                self._unindex(rec)
            owner = self.owner.pop(key, None)
            members = self.members.get(owner or "")
            if members is not None and key in members:
                members.remove(key)
                if not members:
                    del self.members[owner or ""]
            for other in self.apart.pop(key, set()):
                kept = self.apart.get(other)
                if kept is not None:
                    kept.discard(key)
                    if not kept:
                        del self.apart[other]

    def absorb(self, survivor: str, losers: list[str]) -> None:
        """Clusters merged: move the losers' members to the survivor."""
        target = self.members.setdefault(survivor, [])
        for loser in losers:
            for key in self.members.pop(loser, []):
                self.owner[key] = survivor
                target.append(key)

    def candidates(
        self, rec: NormRecord, ruleset: Ruleset, params: FSParams | None
    ) -> dict[str, tuple[str, float]]:
        """Existing records that a real-time rule links to `rec`: key -> (rule, score)."""
        found: dict[str, tuple[str, float]] = {}
        cap = ruleset.max_block_size
        apart = self.apart.get(rec.key, set())
        for rule in ruleset.rules:
            crit = rule.blocking_criterion
            if crit is None:
                continue
            attr = (EXACT_ATTR if crit.method == "Exact" else NORM_ATTR)[crit.field]
            for value in _values(rec, attr):
                keys = self.blocks.get((attr, value), [])
                if len(keys) + (rec.key not in keys) > cap:
                    continue
                for key in keys:
                    if key == rec.key or key in found or key in apart:
                        continue
                    score = evaluate_rule(
                        rule,
                        rec,
                        self.records[key],
                        params=params,
                        confirm_threshold=ruleset.probabilistic.confirm_threshold,
                    )
                    if score is not None:
                        found[key] = (rule.name, score)
        return found


def event_links(rec: NormRecord, links: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """(event identifier 'kind:value', unified id) of the event identifiers `rec` carries."""
    out = []
    for kind, attr in EVENT_KEYS.items():
        for value in _values(rec, attr):
            uid = links.get((kind, value))
            if uid is not None:
                out.append((f"{kind}:{value}", uid))
    return out


__all__ += ["event_links", "EVENT_IDENTIFIER"]
