"""Vectorized comparison of candidate pairs: rule criteria and Fellegi-Sunter levels.

A `Frame` holds one column per normalized attribute of the records (object arrays, None for
missing) and their integer codes, so equality is an integer comparison and string similarity
(rapidfuzz `cpdist`, in C++) runs only on the pairs that are neither equal nor missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel, JaroWinkler

from p13n.domain.identity.blocking import I64, factorize
from p13n.domain.identity.records import NormRecord
from p13n.domain.identity.rules import EXACT_ATTR, FUZZY_THRESHOLDS, NORM_ATTR, MatchRule

__all__ = [
    "Frame",
    "FEATURES",
    "LEVELS",
    "feature_levels",
    "pair_levels",
    "rule_scores",
    "jaro_winkler",
]

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]
BoolArr = npt.NDArray[np.bool_]

_PRIMARY = {"emails_n": "email_n", "phones_n": "phone_n", "party_numbers": "party_number"}
_INITIAL = {"first_initial": "first_n", "last_initial": "last_n"}
_MULTI = {"emails_x", "emails_n", "phones_x", "phones_n", "party", "party_numbers"}

# (column, kind); kinds: name (Jaro-Winkler), text (Indel ratio), code (edit distance), exact.
FEATURES: tuple[tuple[str, str], ...] = (
    ("first_n", "name"),
    ("last_n", "name"),
    ("street_n", "text"),
    ("city_n", "name"),
    ("postal_x", "code"),
    ("state_x", "exact"),
    ("birth_date", "code"),
    ("party_number", "code"),
    ("email_n", "name"),
    ("phone_n", "code"),
)
LEVELS = {"name": 4, "text": 4, "code": 3, "exact": 2}


def _cpdist(a: Sequence[str], b: Sequence[str], scorer: Any) -> F64:
    """Element-wise scores; threads only pay off on large inputs."""
    if not len(a):
        return np.zeros(0, dtype=np.float64)
    workers = -1 if len(a) >= 20_000 else 1
    return np.asarray(process.cpdist(a, b, scorer=scorer, workers=workers), dtype=np.float64)


def jaro_winkler(a: Sequence[str], b: Sequence[str]) -> F64:
    return _cpdist(a, b, JaroWinkler.normalized_similarity)


@dataclass
class Frame:
    records: Sequence[NormRecord]
    _cols: dict[str, npt.NDArray[np.object_]] = field(default_factory=dict)
    _codes: dict[str, I64] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.records)

    def col(self, name: str) -> npt.NDArray[np.object_]:
        cached = self._cols.get(name)
        if cached is None:
            multi = next((m for m, p in _PRIMARY.items() if p == name), None)
            values: list[Any]
            if name == "name_set":
                values = [
                    " ".join(sorted((r.first_n, r.last_n))) if r.first_n and r.last_n else None
                    for r in self.records
                ]
            elif name in _INITIAL:
                values = [v[0] if v else None for v in self.col(_INITIAL[name]).tolist()]
            elif multi is not None:
                values = [v[0] if v else None for v in (getattr(r, multi) for r in self.records)]
            else:
                values = [getattr(r, name) for r in self.records]
            cached = np.empty(len(values), dtype=object)
            cached[:] = values
            self._cols[name] = cached
        return cached

    def codes(self, name: str) -> I64:
        cached = self._codes.get(name)
        if cached is None:
            cached = self._codes[name] = factorize(self.col(name))
        return cached


def _similarity(kind: str, a: list[str], b: list[str]) -> F64:
    if kind == "name":
        return jaro_winkler(a, b)
    if kind == "text":
        return _cpdist(a, b, Indel.normalized_similarity)
    return 1.0 - np.minimum(_cpdist(a, b, OSA.distance), 2.0) / 2.0  # 1 edit -> 0.5, 2+ -> 0


def _levels_from_similarity(kind: str, sim: F64) -> I8:
    if kind in ("name", "text"):
        hi, lo = (0.9, 0.75) if kind == "name" else (0.85, 0.7)
        return np.where(sim >= hi, 2, np.where(sim >= lo, 1, 0)).astype(np.int8)
    return np.where(sim >= 0.5, 1, 0).astype(np.int8)


def feature_levels(frame: Frame, i: I64, j: I64) -> I8:
    """(pairs x features) agreement levels: -1 missing, 0 disagree, ..., top = equal."""
    out = np.full((len(i), len(FEATURES)), -1, dtype=np.int8)
    swapped = _names_swapped(frame, i, j)
    for f, (name, kind) in enumerate(FEATURES):
        if name in _SWAP:
            _name_levels(frame, name, i, j, swapped, out[:, f])
            continue
        codes = frame.codes(name)
        ca, cb = codes[i], codes[j]
        present = (ca >= 0) & (cb >= 0)
        equal = present & (ca == cb)
        out[equal, f] = LEVELS[kind] - 1
        rest = np.flatnonzero(present & ~equal)
        if kind == "exact" or not len(rest):
            out[rest, f] = 0
            continue
        col = frame.col(name)
        sim = _similarity(kind, col[i[rest]].tolist(), col[j[rest]].tolist())
        out[rest, f] = _levels_from_similarity(kind, sim)
    return out


_SWAP = {"first_n": "last_n", "last_n": "first_n"}


def _pair_similarity(frame: Frame, a: str, b: str, i: I64, j: I64) -> F64:
    """Jaro-Winkler of column a of i with column b of j; NaN where either is missing."""
    ca, cb = frame.col(a)[i], frame.col(b)[j]
    codes_a, codes_b = frame.codes(a)[i], frame.codes(b)[j]
    present = np.flatnonzero((codes_a >= 0) & (codes_b >= 0))
    sim = np.full(len(i), np.nan)
    sim[present] = jaro_winkler(ca[present].tolist(), cb[present].tolist())
    return sim


def _names_swapped(frame: Frame, i: I64, j: I64) -> BoolArr:
    """Pairs whose first and last names agree better crossed (a data-entry swap)."""
    straight = np.nan_to_num(_pair_similarity(frame, "first_n", "first_n", i, j)) + np.nan_to_num(
        _pair_similarity(frame, "last_n", "last_n", i, j)
    )
    crossed = np.nan_to_num(_pair_similarity(frame, "first_n", "last_n", i, j)) + np.nan_to_num(
        _pair_similarity(frame, "last_n", "first_n", i, j)
    )
    return np.asarray(crossed > straight + 0.2, dtype=bool)


def _name_levels(frame: Frame, name: str, i: I64, j: I64, swapped: BoolArr, out: I8) -> None:
    sim = _pair_similarity(frame, name, name, i, j)
    if swapped.any():
        idx = np.flatnonzero(swapped)
        sim[idx] = _pair_similarity(frame, name, _SWAP[name], i[idx], j[idx])
    present = ~np.isnan(sim)
    out[present] = _levels_from_similarity("name", sim[present])
    out[present & (sim >= 1.0)] = LEVELS["name"] - 1


def _scalar_similarity(kind: str, x: str, y: str) -> float:
    if kind == "name":
        return float(JaroWinkler.normalized_similarity(x, y))
    if kind == "text":
        return float(Indel.normalized_similarity(x, y))
    return 1.0 - min(float(OSA.distance(x, y)), 2.0) / 2.0


_MULTI_OF = {primary: multi for multi, primary in _PRIMARY.items()}


def _scalar_value(rec: NormRecord, name: str) -> str | None:
    multi = _MULTI_OF.get(name)
    if multi is not None:
        values: tuple[str, ...] = getattr(rec, multi)
        return values[0] if values else None
    value: str | None = getattr(rec, name)
    return value or None


def _scalar_level(kind: str, sim: float) -> int:
    """`_levels_from_similarity` of one similarity, without building an array."""
    if kind in ("name", "text"):
        hi, lo = (0.9, 0.75) if kind == "name" else (0.85, 0.7)
        return 2 if sim >= hi else 1 if sim >= lo else 0
    return 1 if sim >= 0.5 else 0


def pair_levels(a: NormRecord, b: NormRecord) -> I8:
    """`feature_levels` of one pair without building a frame (the real-time path); the same
    thresholds, swap rule and scorers, so both paths give the same levels."""
    out = np.full((1, len(FEATURES)), -1, dtype=np.int8)

    def jw(x: str | None, y: str | None) -> float:
        return float(JaroWinkler.normalized_similarity(x, y)) if x and y else 0.0

    straight = jw(a.first_n, b.first_n) + jw(a.last_n, b.last_n)
    swapped = jw(a.first_n, b.last_n) + jw(a.last_n, b.first_n) > straight + 0.2
    for f, (name, kind) in enumerate(FEATURES):
        x = _scalar_value(a, name)
        y = _scalar_value(b, _SWAP[name] if swapped and name in _SWAP else name)
        if not x or not y:
            continue
        if x == y:
            out[0, f] = LEVELS[kind] - 1
        elif kind == "exact":
            out[0, f] = 0
        else:
            sim = _scalar_similarity(kind, x, y)
            level = _scalar_level(kind, sim)
            out[0, f] = LEVELS[kind] - 1 if name in _SWAP and sim >= 1.0 else level
    return out


def rule_scores(frame: Frame, rule: MatchRule, i: I64, j: I64, *, blocked: bool) -> F64:
    """Score of `rule` for each pair: NaN when it does not match, else the lowest criterion
    score (1.0 for exact criteria, the Jaro-Winkler similarity for fuzzy ones). With
    `blocked`, the pairs share the rule's blocking criterion already."""
    score = np.ones(len(i), dtype=np.float64)
    alive = np.ones(len(i), dtype=bool)
    first = rule.blocking_criterion if blocked else None
    for crit in rule.criteria:
        if crit is first:
            continue
        if crit.method == "Fuzzy":
            name = NORM_ATTR[crit.field]
            idx = np.flatnonzero(alive)
            col, codes = frame.col(name), frame.codes(name)
            ca, cb = codes[i[idx]], codes[j[idx]]
            present = (ca >= 0) & (cb >= 0)
            sim = np.where(ca == cb, 1.0, 0.0)
            todo = np.flatnonzero(present & (ca != cb))
            sim[todo] = jaro_winkler(col[i[idx[todo]]].tolist(), col[j[idx[todo]]].tolist())
            ok = present & (sim >= FUZZY_THRESHOLDS[crit.precision or "High"])
            alive[idx[~ok]] = False
            score[idx[ok]] = np.minimum(score[idx[ok]], sim[ok])
            continue
        attr = (EXACT_ATTR if crit.method == "Exact" else NORM_ATTR)[crit.field]
        if attr in _MULTI:
            _multi_equal(frame, attr, i, j, alive)
        else:
            codes = frame.codes(attr)
            ca, cb = codes[i], codes[j]
            alive &= (ca >= 0) & (ca == cb)
    score[~alive] = np.nan
    return score


def _multi_equal(frame: Frame, attr: str, i: I64, j: I64, alive: BoolArr) -> None:
    recs = frame.records
    get: Callable[[NormRecord], tuple[str, ...]] = lambda r: getattr(r, attr)  # noqa: E731
    for k in np.flatnonzero(alive):
        if not set(get(recs[i[k]])) & set(get(recs[j[k]])):
            alive[k] = False
