"""Lexical retrieval: BM25 (the `bm25s` library) over item names, brands and category levels,
and the colour and size words items mention (name and description), as row sets.

Built once per catalog snapshot; a query costs one sparse score pass over the index. Tokens
are lower-cased words in a crude singular form (`vocabulary.singular`), so "leggings" finds
"legging" and a brand spelled "LULULEMON" finds "Lululemon".
"""

from __future__ import annotations

import logging
import re

import bm25s
import numpy as np

from p13n.domain.recommend.interpret import COLOURS, SIZE_PATTERN
from p13n.domain.recommend.snapshot import BoolArray, CatalogSnapshot, FloatArray
from p13n.domain.recommend.vocabulary import _words, singular

# bm25s sets its own logger to DEBUG on import, past the level the process chose: every index
# build then printed "Building index from tokens" on the MCP server's stderr.
logging.getLogger("bm25s").setLevel(logging.WARNING)

__all__ = ["LexicalIndex", "tokens", "query_words"]

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    _words(
        "a an the and or for of to in on with by from at is are this that these those "
        "it its my me i some something anything new nwt nwot euc size sz like one ones "
        "bought buy want wants need needs looking please show similar thing things who "
        "love loves year years old gift gifts present presents"
    )
)


def tokens(text: str | None) -> list[str]:
    """Search tokens of a text: lower-case words, singular, without stop words."""
    if not text:
        return []
    return [singular(w) for w in _TOKEN.findall(text.casefold()) if w not in _STOP]


def query_words(search_text: str | None, item_text: str) -> tuple[list[str], list[str]]:
    """The query's content words (no stop words, in the shopper's order) that the item's text
    has, and all of them: what a reason can quote ('yoga' of 'something for yoga')."""
    have = set(tokens(item_text))
    content = [w for w in _TOKEN.findall((search_text or "").casefold()) if w not in _STOP]
    content = list(dict.fromkeys(content))
    return [w for w in content if singular(w) in have], content


class LexicalIndex:
    """BM25 over name, brand and category of every row; colour and size words per row."""

    def __init__(self, snap: CatalogSnapshot) -> None:
        self.size = len(snap)
        corpus = []
        colour_rows: dict[str, list[int]] = {}
        size_rows: dict[str, list[int]] = {}
        for r, item in enumerate(snap.items):
            category = (item.category or "").replace("/", " ")
            corpus.append(tokens(f"{item.name or ''} {item.brand or ''} {category}") or [""])
            stated = " ".join(str(item.attributes.get(k) or "") for k in ("color", "colour"))
            text = f"{item.name or ''} {item.description or ''} {stated}".casefold()
            for w in set(_TOKEN.findall(text)) & COLOURS:
                colour_rows.setdefault("grey" if w == "gray" else w, []).append(r)
            for m in SIZE_PATTERN.finditer(text):
                size_rows.setdefault((m.group(1) or m.group(2)).upper(), []).append(r)
        self._bm25: bm25s.BM25 | None = None
        if self.size:
            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus, show_progress=False)
        self._colours = {
            k: np.unique(np.asarray(v, dtype=np.int64)) for k, v in colour_rows.items()
        }
        self._sizes = {k: np.unique(np.asarray(v, dtype=np.int64)) for k, v in size_rows.items()}

    def scores(self, text: str | None) -> FloatArray:
        """BM25 score of every row for the text (zeros when no word is in the index)."""
        out = np.zeros(self.size)
        words = tokens(text)
        if self._bm25 is None or not words:
            return out
        ids = self._bm25.get_tokens_ids(words)
        if not ids:
            return out
        return np.asarray(self._bm25.get_scores(ids), dtype=np.float64)

    def colour_rows(self, colour: str) -> BoolArray:
        out = np.zeros(self.size, dtype=np.bool_)
        rows = self._colours.get(colour)
        if rows is not None:
            out[rows] = True
        return out

    def size_rows(self, size: str) -> BoolArray:
        out = np.zeros(self.size, dtype=np.bool_)
        rows = self._sizes.get(size.upper())
        if rows is not None:
            out[rows] = True
        return out
