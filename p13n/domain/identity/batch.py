"""Batch resolution: every rule (fuzzy and probabilistic too) over blocked candidate pairs.

Pure and vectorized: records in, a cluster label per record and the links that made each
cluster out (which rule, what score). Survivor ids and storage are the service's job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from p13n.domain.identity.blocking import I64, block_pairs, decode_pairs, explode, factorize
from p13n.domain.identity.clusters import components
from p13n.domain.identity.compare import Frame, feature_levels, rule_scores
from p13n.domain.identity.fellegi_sunter import FSParams, estimate, posterior
from p13n.domain.identity.records import NormRecord
from p13n.domain.identity.rules import EXACT_ATTR, NORM_ATTR, MatchRule, Ruleset

__all__ = ["BatchOutcome", "resolve_records", "PROBABILISTIC", "EVENT_IDENTIFIER", "FS_BLOCKS"]

PROBABILISTIC = "Probabilistic (Fellegi-Sunter)"
EVENT_IDENTIFIER = "Event identifier"
# Candidate keys of the probabilistic matcher: each catches the duplicates whose typos fall
# elsewhere; blocks over the ruleset's max_block_size are skipped. No key is a field whose
# values stay few as records grow: birth dates span ~30,000 days, so a birth-date block alone
# holds n / 30,000 records and its pairs grow with n^2 (16M at 1M records). "initials" makes
# it birth date + an initial of either name: a record sits in the block of its first name's
# initial and in that of its last name's, so swapped names, one typo'd initial or one missing
# name still meet, and blocks hold about a tenth of the pairs.
FS_BLOCKS: tuple[tuple[str, ...], ...] = (
    ("party_numbers",),
    ("emails_n",),
    ("phones_n",),
    ("birth_date", "initials"),
    ("name_set",),  # first and last name in either order
    ("last_n", "postal_x"),
    ("first_n", "postal_x"),
    ("street_n", "postal_x"),
)
F64 = npt.NDArray[np.float64]
_CHUNK = 1_000_000  # pairs compared at a time: bounds the memory of the string columns
_MIN_CHUNK = 50_000  # ... and at least this many, so that progress reports stay cheap


@dataclass
class BatchOutcome:
    labels: I64
    link_i: I64
    link_j: I64
    link_rule: list[str]
    link_score: F64
    params: FSParams | None
    candidate_pairs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _keys(frame: Frame, attrs: tuple[str, ...]) -> tuple[I64, I64]:
    if attrs[-1] == "initials":
        return _initial_keys(frame, attrs[:-1])
    if len(attrs) == 1 and isinstance(getattr(frame.records[0], attrs[0], None), tuple):
        return explode([getattr(r, attrs[0]) for r in frame.records])
    combined = np.zeros(frame.n, dtype=np.int64)
    missing = np.zeros(frame.n, dtype=bool)
    for attr in attrs:
        codes = frame.codes(attr)
        missing |= codes < 0
        combined = combined * np.int64(int(codes.max(initial=0)) + 2) + codes + 1
    combined[missing] = -1
    return np.arange(frame.n, dtype=np.int64), combined


def _initial_keys(frame: Frame, attrs: tuple[str, ...]) -> tuple[I64, I64]:
    """(row, key) pairs of `attrs` + first-name initial and of `attrs` + last-name initial,
    both initials in one code space (one row when they are the same letter). `attrs` are
    single-valued."""
    rows, base = _keys(frame, attrs)
    letters = factorize(np.concatenate((frame.col("first_initial"), frame.col("last_initial"))))
    width = np.int64(int(letters.max(initial=0)) + 1)
    keys = [
        np.where((base >= 0) & (code >= 0), base * width + code, -1)
        for code in (letters[: frame.n], letters[frame.n :])
    ]
    keys[1][keys[1] == keys[0]] = -1
    return np.concatenate((rows, rows)), np.concatenate(keys)


def _rule_attr(rule: MatchRule) -> str:
    crit = rule.blocking_criterion
    assert crit is not None
    return (EXACT_ATTR if crit.method == "Exact" else NORM_ATTR)[crit.field]


def resolve_records(
    records: Sequence[NormRecord],
    ruleset: Ruleset,
    *,
    anchors: Sequence[tuple[int, int]] = (),
    apart: Sequence[tuple[int, int]] = (),
    params: FSParams | None = None,
    fit: bool = True,
    focus: npt.NDArray[np.bool_] | None = None,
    on_step: Callable[[str], None] | None = None,
    on_records: Callable[[int], None] | None = None,
) -> BatchOutcome:
    """Cluster `records`. `anchors` ties a record to an outside node (an individual known from
    events: (record index, anchor number)); `apart` lists record pairs kept apart by splits;
    `focus` (incremental runs) limits the pairs examined to those touching a focused record.
    `on_step(name)` follows each step; `on_records(k)` says that the first k records are
    compared with all their candidates (it reaches len(records) at the end)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now
        if on_step is not None:
            on_step(name)

    n = len(records)
    frame = Frame(records)
    cap = ruleset.max_block_size
    found: list[tuple[I64, str, F64]] = []  # (pair codes, rule, scores), in priority order
    rule_codes: dict[str, I64] = {}
    for rule in ruleset.rules:
        if not rule.realtime or n < 2:
            continue
        rows, keys = _keys(frame, (_rule_attr(rule),))
        codes = _focused(block_pairs(rows, keys, n, max_block=cap), focus, n)
        i, j = decode_pairs(codes, n)
        scores = rule_scores(frame, rule, i, j, blocked=True)
        ok = ~np.isnan(scores)
        rule_codes[rule.name] = codes[ok]
        found.append((codes[ok], rule.name, scores[ok]))
    step("rules")
    fs = ruleset.probabilistic
    prob_codes = np.zeros(0, dtype=np.int64)
    prob_scores = np.zeros(0, dtype=np.float64)
    candidates = 0
    if (fs.enabled or any(not r.realtime for r in ruleset.rules)) and n >= 2:
        blocks = [block_pairs(*_keys(frame, attrs), n, max_block=cap) for attrs in FS_BLOCKS]
        cand = _focused(np.unique(np.concatenate([*blocks, *rule_codes.values()])), focus, n)
        candidates = len(cand)
        ci, cj = decode_pairs(cand, n)
        step("blocking")
        for rule in ruleset.rules:
            if not rule.realtime:
                scores = rule_scores(frame, rule, ci, cj, blocked=False)
                ok = ~np.isnan(scores)
                found.append((cand[ok], rule.name, scores[ok]))
        if fs.enabled:
            levels = _compare(frame, ci, cj, on_records)
            step("compare")
            if fit or params is None:
                params = estimate(levels, iterations=fs.em_iterations, start=params)
            post = posterior(levels, params)
            step("em")
            keep = post >= fs.threshold
            prob_codes, prob_scores = cand[keep], post[keep]
            found = _veto(found, ruleset, cand, post)
    found.append((prob_codes, PROBABILISTIC, prob_scores))
    link_i, link_j, link_rule, link_score = _first_reason(found, n)
    anchor_i = np.asarray([a for a, _ in anchors], dtype=np.int64)
    anchor_j = np.asarray([n + b for _, b in anchors], dtype=np.int64)
    n_nodes = n + (int(anchor_j.max()) - n + 1 if len(anchor_j) else 0)
    all_i = np.concatenate((link_i, anchor_i))
    all_j = np.concatenate((link_j, anchor_j))
    all_s = np.concatenate((link_score, np.full(len(anchor_i), np.inf)))
    labels = components(n_nodes, all_i, all_j, all_s, apart=apart)
    step("cluster")
    if on_records is not None:
        on_records(n)
    return BatchOutcome(
        labels=labels,
        link_i=link_i,
        link_j=link_j,
        link_rule=link_rule,
        link_score=link_score,
        params=params,
        candidate_pairs=candidates,
        seconds=timings,
    )


def _compare(
    frame: Frame, ci: I64, cj: I64, on_records: Callable[[int], None] | None
) -> npt.NDArray[np.int8]:
    """`feature_levels` of the candidate pairs, a chunk at a time. Pairs are sorted by their
    first record, so after a chunk every record before the next pair's first one is done."""
    if not len(ci):
        return feature_levels(frame, ci, cj)
    chunk = min(_CHUNK, max(_MIN_CHUNK, len(ci) // 50))
    parts = []
    for start in range(0, len(ci), chunk):
        end = start + chunk
        parts.append(feature_levels(frame, ci[start:end], cj[start:end]))
        if on_records is not None:
            on_records(int(ci[end]) if end < len(ci) else frame.n)
    return np.concatenate(parts)


def _focused(codes: I64, focus: npt.NDArray[np.bool_] | None, n: int) -> I64:
    if focus is None:
        return codes
    i, j = decode_pairs(codes, n)
    return codes[focus[i] | focus[j]]


def _veto(
    found: list[tuple[I64, str, F64]], ruleset: Ruleset, cand: I64, post: F64
) -> list[tuple[I64, str, F64]]:
    """Drop links of `confirm_with_model` rules that the probabilistic score contradicts."""
    confirm = {r.name for r in ruleset.rules if r.confirm_with_model}
    out = []
    for codes, name, scores in found:
        if name in confirm and len(codes):
            where = np.searchsorted(cand, codes)
            where = np.minimum(where, len(cand) - 1)
            p = np.where(cand[where] == codes, post[where], 1.0)
            ok = p >= ruleset.probabilistic.confirm_threshold
            codes, scores = codes[ok], scores[ok]
        out.append((codes, name, scores))
    return out


def _first_reason(found: list[tuple[I64, str, F64]], n: int) -> tuple[I64, I64, list[str], F64]:
    """One link per pair: the first rule (in ruleset order) that matched, else probabilistic."""
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, [], np.zeros(0, dtype=np.float64)
    codes = np.concatenate([c for c, _, _ in found])
    scores = np.concatenate([s for _, _, s in found])
    which = np.concatenate(
        [np.full(len(c), k, dtype=np.int64) for k, (c, _, _) in enumerate(found)]
    )
    uniq, first = np.unique(codes, return_index=True)
    names = [name for _, name, _ in found]
    i, j = decode_pairs(uniq, n)
    return i, j, [names[k] for k in which[first]], scores[first]
