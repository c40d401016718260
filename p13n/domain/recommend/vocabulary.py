"""The catalog's own words: brands, category levels, audiences and currency, for reading queries.

Built once per catalog snapshot (pure code over its arrays). A query word is matched against
these real values, exactly, by plural form or fuzzily (RapidFuzz), so "lululemon", "legging"
and "lulemon" all find what the catalog calls them; category paths can also carry embedding
vectors (set by the service, which owns the embedder) for matching by meaning.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from p13n.domain.recommend.snapshot import BoolArray, CatalogSnapshot, IntArray

__all__ = [
    "CatalogVocabulary",
    "CategoryMatch",
    "MatchedBy",
    "AUDIENCES",
    "singular",
    "category_words",
    "age_range",
    "catalog_currency",
]

MatchedBy = Literal["exact", "fuzzy", "meaning", "pattern"]


def _words(text: str) -> list[str]:
    """A word list written as one string (keeps long vocabularies readable)."""
    return text.split()


# Words that are catalog brands somewhere but mean something else in a shopper's sentence.
_NOT_BRANDS = frozenset(
    _words(
        "all any other vintage secret timing attention avenue express machine target "
        "independent freestyle quantum stamped delta angels justice supreme divided "
        "origins presto aroma monster mecca angie blair windsor cannon majestic rue "
        "apt. avery franklin flexi something gift gifts"
    )
)
_NOT_TERMS = frozenset(_words("other others all and the for misc miscellaneous"))
# Audiences and the catalog top levels they name, when the catalog has such a level.
AUDIENCES: dict[str, str] = {"women": "Women", "men": "Men", "kids": "Kids"}
# Category levels that say an age range: '0-24 Mos', '2T-5T', 'Boys (4+)', 'Baby & Toddler Toys'.
_MONTHS = re.compile(r"(\d+)\s*-\s*(\d+)\s*(?:mos|months)\b", re.I)
_TODDLER_SIZES = re.compile(r"(\d+)t\s*-\s*(\d+)t\b", re.I)
_AND_UP = re.compile(r"\((\d+)\s*\+\)")
_BABY_LEVELS = frozenset(
    _words("baby babies infant newborn nursery diapering feeding breastfeeding pregnancy strollers")
)
_CHILDHOOD_ENDS = 14.0
_SPLIT_LEVEL = re.compile(r"\s*(?:,|&|\band\b|/)\s*", re.I)
_FUZZY_CUTOFF = 85.0  # 'lulemon' finds Lululemon (87.5); words of 6 letters or more only


def singular(word: str) -> str:
    """A crude English singular: 'leggings' -> 'legging', 'dresses' -> 'dress'."""
    w = word.casefold()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us")):
        return w[:-1]
    return w


def category_words(path: str | None) -> str:
    """A category path as a shop assistant says it: 'Women/Athletic Apparel/Tops' ->
    "Women's Athletic Apparel"; 'Electronics/Video Games & Consoles' -> 'Video Games & Consoles'."""
    if not path:
        return "the shop"
    parts = path.split("/")
    top = parts[0]
    if len(parts) == 1:
        return top
    owner = {"Women": "Women's", "Men": "Men's", "Kids": "Kids'"}.get(top)
    return f"{owner} {parts[1]}" if owner else parts[1]


def catalog_currency(snap: CatalogSnapshot) -> str | None:
    """The catalog's currency: the one most items are priced in (upper case); every price an
    agent reads or sends is taken to be in it."""
    currencies = Counter(i.currency.upper() for i in snap.items if i.currency)
    return currencies.most_common(1)[0][0] if currencies else None


def age_range(path: str) -> tuple[float, float] | None:
    """The ages in years a category path is for, when one of its levels says ('Kids/Girls
    0-24 Mos/Shoes' -> 0-2, 'Kids/Boys 2T-5T' -> 2-5, 'Kids/Girls (4+)' -> 4-14, 'Kids/Feeding'
    -> 0-2); None when no level does."""
    for level in path.split("/")[1:]:
        if m := _MONTHS.search(level):
            return int(m.group(1)) / 12, int(m.group(2)) / 12
        if m := _TODDLER_SIZES.search(level):
            return float(m.group(1)), float(m.group(2))
        if m := _AND_UP.search(level):
            return float(m.group(1)), _CHILDHOOD_ENDS
        baby = {w.casefold() for w in re.findall(r"\w+", level)} & _BABY_LEVELS
        if baby or "car seat" in level.casefold():
            return 0.0, 2.0 if "toddler" not in level.casefold() else 3.0
    return None


@dataclass(frozen=True)
class CategoryMatch:
    """Catalog category paths a query word found, and how."""

    paths: tuple[str, ...]
    label: str  # the category level as the catalog spells it
    how: MatchedBy


class CatalogVocabulary:
    """Brand, category and audience values of one snapshot, with row lookups."""

    def __init__(self, snap: CatalogSnapshot) -> None:
        self.size = len(snap)
        self.brands: dict[str, str] = {}  # casefolded -> as spelled
        codes = np.full(len(snap), -1, dtype=np.int64)
        index: dict[str, int] = {}
        for r, b in enumerate(snap.brand):
            if b:
                key = b.casefold()
                codes[r] = index.setdefault(key, len(index))
                self.brands.setdefault(key, b)
        self.brand_index = index
        self.brand_codes: IntArray = codes
        self._brand_keys = [k for k in self.brands if len(k) >= 3 and k not in _NOT_BRANDS]
        path_codes, paths = snap.column_codes("category")
        self.path_codes: IntArray = path_codes
        self.paths: list[str] = [p if isinstance(p, str) else "" for p in paths]
        self._path_index = {p: k for k, p in enumerate(self.paths)}
        # category terms: every level's name and its parts ('Pants, Tights, Leggings' gives
        # 'pants', 'tights', 'leggings'), singular, mapped to (level label, paths under it).
        terms: dict[str, dict[str, set[str]]] = {}
        for path in self.paths:
            parts = path.split("/") if path else []
            for depth, level in enumerate(parts):
                if depth == 0 and level.casefold() in AUDIENCES:
                    continue  # 'Women' is an audience, read as such
                pieces = {level, *(p for p in _SPLIT_LEVEL.split(level) if p)}
                for piece in pieces:
                    key = " ".join(singular(w) for w in piece.split())
                    if len(key) < 3 or key in _NOT_TERMS:
                        continue
                    terms.setdefault(key, {}).setdefault(level, set()).add(path)
        self.terms = terms
        self._term_keys = list(terms)
        # every prefix of every path -> (path indexes, depth weight): a person's affinity to
        # 'Women/Athletic Apparel' reaches the paths under it, weighed by how deep it is
        prefixes: dict[str, tuple[list[int], list[float]]] = {}
        for k, path in enumerate(self.paths):
            parts = path.split("/") if path else []
            for depth in range(len(parts)):
                at, weight = prefixes.setdefault("/".join(parts[: depth + 1]), ([], []))
                at.append(k)
                weight.append(0.5 + 0.5 * (depth + 1) / len(parts))
        self.prefixes: dict[str, tuple[IntArray, npt.NDArray[np.float64]]] = {
            p: (np.asarray(at, dtype=np.int64), np.asarray(w)) for p, (at, w) in prefixes.items()
        }
        self.tops = {p.split("/")[0] for p in self.paths if p}
        top_of = np.array([p.split("/")[0] if p else "" for p in self.paths], dtype=object)
        self._top_codes = top_of[path_codes] if len(path_codes) else np.zeros(0, dtype=object)
        self.currency = catalog_currency(snap)
        self.category_vectors: npt.NDArray[np.float32] | None = None

    # -- matching words ----------------------------------------------------------------------
    def brand(self, gram: str) -> tuple[str, MatchedBy] | None:
        """The catalog brand a word run names (as spelled, how), or None."""
        key = gram.casefold()
        if key in _NOT_BRANDS or len(key) < 3:
            return None
        if key in self.brands and key in self._brand_keys:
            return self.brands[key], "exact"
        if len(key) >= 6 and self._brand_keys:
            hit = process.extractOne(
                key, self._brand_keys, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF
            )
            if hit is not None:
                return self.brands[hit[0]], "fuzzy"
        return None

    def category(self, gram: str) -> CategoryMatch | None:
        """The category level a word run names, or None."""
        key = " ".join(singular(w) for w in gram.split())
        if len(key) < 3 or key in _NOT_TERMS:
            return None
        how: MatchedBy = "exact"
        found = self.terms.get(key)
        if found is None and len(key) >= 6 and self._term_keys:
            hit = process.extractOne(
                key, self._term_keys, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF
            )
            if hit is not None:
                found, how = self.terms[hit[0]], "fuzzy"
        if not found:
            return None
        # The most specific level wins for the label ('Pants, Tights, Leggings' over 'Pants').
        label = max(found, key=lambda lv: (len(found[lv]) > 0, -len(found[lv]), lv))
        paths = tuple(sorted({p for ps in found.values() for p in ps}))
        return CategoryMatch(paths, label, how)

    def categories_by_meaning(
        self, vector: npt.NDArray[np.float32] | None, *, threshold: float = 0.5, top: int = 3
    ) -> CategoryMatch | None:
        """The category paths nearest to a query vector, when near enough."""
        if vector is None or self.category_vectors is None or not len(self.paths):
            return None
        sims = self.category_vectors @ vector.astype(np.float32)
        best = float(sims.max())
        if best < threshold:
            return None
        order = np.argsort(-sims)[:top]
        paths = tuple(self.paths[k] for k in order if sims[k] >= max(threshold, best - 0.05))
        return CategoryMatch(paths, paths[0], "meaning")

    def refine(
        self, match: CategoryMatch, vector: npt.NDArray[np.float32] | None, *, margin: float = 0.08
    ) -> CategoryMatch:
        """Of many paths under one word ('pants' is under 30 paths), keep those nearest in
        meaning to the whole query ('yoga pants' keeps the women's athletic ones)."""
        if vector is None or self.category_vectors is None or len(match.paths) <= 3:
            return match
        ks = [self._path_index[p] for p in match.paths if p in self._path_index]
        sims = self.category_vectors[ks] @ vector.astype(np.float32)
        best = float(sims.max())
        kept = tuple(
            self.paths[k] for k, s in zip(ks, sims.tolist(), strict=True) if s >= best - margin
        )
        return CategoryMatch(kept, match.label, match.how)

    def audience(self, name: str) -> str | None:
        """The catalog top level of an audience ('kids' -> 'Kids'), if the catalog has it."""
        top = AUDIENCES.get(name)
        return top if top in self.tops else None

    # -- rows --------------------------------------------------------------------------------
    def brand_rows(self, brand: str) -> BoolArray:
        code = self.brand_index.get(brand.casefold())
        if code is None:
            return np.zeros(self.size, dtype=np.bool_)
        out: BoolArray = self.brand_codes == code
        return out

    def path_rows(self, paths: tuple[str, ...] | list[str]) -> BoolArray:
        ks = [self._path_index[p] for p in paths if p in self._path_index]
        out: BoolArray = np.isin(self.path_codes, ks) if ks else np.zeros(self.size, np.bool_)
        return out

    def age_rows(self, years: float, top: str | None) -> BoolArray:
        """Rows for a child of this age: under the audience's top level (`top`, e.g. 'Kids'),
        in a category whose age range includes it or that says no age (toys, games)."""
        fits = np.zeros(len(self.paths) + 1, dtype=np.bool_)
        for k, path in enumerate(self.paths):
            if top is not None and path.split("/")[0] != top:
                continue
            ages = age_range(path)
            fits[k] = ages is None or ages[0] <= years <= ages[1]
        out: BoolArray = fits[self.path_codes]
        return out

    def top_rows(self, top: str) -> BoolArray:
        out: BoolArray = self._top_codes == top
        return out

    def category_texts(self) -> list[str]:
        """Each path as text for the embedder, in `paths` order."""
        return [p.replace("/", " > ") for p in self.paths]
