"""Structured parts of a natural-language query: price bounds, brands and categories.

"waterproof hiking boots under 150" -> price <= 150 and the text "waterproof hiking boots".
Brands and category names are recognized when a run of 1-4 words equals a catalog brand or a
category level name (case-insensitive); they become filters and stay in the text for the
semantic match. Returned as a row mask over the snapshot, computed with numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from p13n.domain.recommend.snapshot import BoolArray, CatalogSnapshot

__all__ = ["ParsedQuery", "parse_query", "QueryVocabulary"]

_NUM = r"\$?\s*(\d+(?:[.,]\d+)?)"
_BETWEEN = re.compile(rf"\b(?:between|from)\s+{_NUM}\s+(?:and|to)\s+{_NUM}", re.I)
_RANGE = re.compile(rf"{_NUM}\s*(?:-|–|to)\s*{_NUM}\s*(?:\$|dollars?|usd)?", re.I)
_UNDER = re.compile(
    rf"\b(?:under|below|less than|cheaper than|max(?:imum)?|up to|<=?)\s*{_NUM}", re.I
)
_OVER = re.compile(rf"\b(?:over|above|more than|at least|min(?:imum)?|>=?)\s*{_NUM}", re.I)
_WORD = re.compile(r"[\w'&]+")


@dataclass
class ParsedQuery:
    text: str
    min_price: float | None = None
    max_price: float | None = None
    brands: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def mask(self, snap: CatalogSnapshot, vocab: QueryVocabulary) -> BoolArray | None:
        ok: BoolArray | None = None

        def both(m: BoolArray) -> None:
            nonlocal ok
            ok = m if ok is None else ok & m

        with np.errstate(invalid="ignore"):
            if self.min_price is not None:
                both(snap.price >= self.min_price)
            if self.max_price is not None:
                both(snap.price <= self.max_price)
        if self.brands:
            both(np.isin(vocab.brand_codes, [vocab.brands[b.casefold()] for b in self.brands]))
        if self.categories:
            m = np.zeros(len(snap), dtype=np.bool_)
            for c in self.categories:
                m[vocab.category_rows[c.casefold()]] = True
            both(m)
        return ok


class QueryVocabulary:
    """Brand and category-level names of one snapshot, for recognizing them in queries."""

    def __init__(self, snap: CatalogSnapshot) -> None:
        self.brands: dict[str, int] = {}
        codes = np.full(len(snap), -1, dtype=np.int64)
        for r, b in enumerate(snap.brand):
            if b and len(b) >= 3:
                codes[r] = self.brands.setdefault(b.casefold(), len(self.brands))
        self.brand_codes = codes
        self.brand_names = {b.casefold(): b for b in snap.brand if b}
        rows: dict[str, list[int]] = {}
        self.category_names: dict[str, str] = {}
        for r, c in enumerate(snap.category):
            for part in c.split("/") if c else ():
                key = part.casefold()
                if len(key) >= 4:
                    rows.setdefault(key, []).append(r)
                    self.category_names.setdefault(key, part)
        self.category_rows = {k: np.asarray(v, dtype=np.int64) for k, v in rows.items()}


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def parse_query(text: str, vocab: QueryVocabulary | None) -> ParsedQuery:
    q = ParsedQuery(text=text.strip())
    rest = text
    if m := _BETWEEN.search(rest) or _RANGE.search(rest):
        low, high = sorted((_num(m.group(1)), _num(m.group(2))))
        q.min_price, q.max_price = low, high
        rest = rest.replace(m.group(0), " ")
    else:
        if m := _UNDER.search(rest):
            q.max_price = _num(m.group(1))
            rest = rest.replace(m.group(0), " ")
        if m := _OVER.search(rest):
            q.min_price = _num(m.group(1))
            rest = rest.replace(m.group(0), " ")
    q.text = " ".join(rest.split()) or text.strip()
    if vocab is not None:
        words = _WORD.findall(q.text)
        for size in (4, 3, 2, 1):
            for i in range(len(words) - size + 1):
                gram = " ".join(words[i : i + size]).casefold()
                if gram in vocab.brands and vocab.brand_names[gram] not in q.brands:
                    q.brands.append(vocab.brand_names[gram])
                elif gram in vocab.category_rows and vocab.category_names[gram] not in q.categories:
                    q.categories.append(vocab.category_names[gram])
    return q
