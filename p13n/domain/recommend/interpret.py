"""Reading a shopper's words: price, currency, brand, category, colour, size, audience and "not".

"lululemon leggings under 40" -> brand Lululemon (soft), category 'Pants, Tights, Leggings'
(soft), price at most 40 (hard: the shopper said "under"). Constraints are soft, they rank,
unless the shopper hardened them: "only" before or right after a brand, category, colour,
size or audience, and a price bound word ("under", "below", "less than", "over", ...). A
negation ("not red", "no Nike", "without ...") turns a constraint into one to avoid. What was
read, and how each part is applied, is the `Interpreted` model every answer carries.
(Just past 400 lines: most of it is the vocabulary of prices, colours and audiences.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend.vocabulary import CatalogVocabulary, CategoryMatch, MatchedBy, _words

__all__ = [
    "Constraint",
    "Interpreted",
    "Reading",
    "interpret",
    "check_currency",
    "COLOURS",
    "SIZE_PATTERN",
]

Field_ = Literal["price", "brand", "category", "color", "size", "audience", "age"]
Op = Literal["is", "is_not", "at_most", "at_least", "around"]
Source = Literal["query", "stated_preference"]

COLOURS = frozenset(
    _words(
        "black white grey gray red blue navy green olive pink purple lavender lilac "
        "violet yellow orange brown tan beige cream ivory gold silver rose burgundy "
        "maroon teal turquoise mint coral nude khaki camo charcoal denim"
    )
)
_GREY = {"gray": "grey"}
_NEGATIONS = frozenset(_words("not no without except excluding avoid non never nothing"))
_FILLER = frozenset(_words("in any a an the of with wearing made from by"))
_ONLY = frozenset({"only", "exclusively", "strictly"})
_STOP = frozenset(
    _words(
        "a an the for of to in on with and or my me i im i'm some something anything "
        "thing things who that which is are be wants want need needs looking look like "
        "likes love loves loving please show find get buy gift gifts present her his "
        "him she he they them their new good nice best great cool cute year years old "
        "yo wears wear wearing prefer prefers"
    )
)
_AUDIENCE_WORDS: dict[str, str] = {
    **dict.fromkeys(
        _words("women woman womens women's ladies lady female her she wife girlfriend  mom mother"),
        "women",
    ),
    **dict.fromkeys(
        _words("men man mens men's male him he husband boyfriend dad father"),
        "men",
    ),
    **dict.fromkeys(
        _words(
            "kid kids kid's children child childrens children's boy boys girl "
            "girls toddler toddlers baby babies infant son daughter nephew niece "
            "grandson granddaughter"
        ),
        "kids",
    ),
}
_AGE = re.compile(
    r"\b(\d{1,2})[\s-]*(?:(year|yr)|(month|mo))s?[\s-]*olds?\b|\b(\d{1,2})\s*(?:yo|y/o)\b", re.I
)
_CHILD_AGE = 14
_CUR = r"(\$|€|£|¥|us\$|usd|eur|euros?|gbp|cad|aud|jpy|yen|dollars?|bucks)"
_AMOUNT = rf"{_CUR}?\s*(\d+(?:[.,]\d{{1,2}})?)\s*{_CUR}?"
_BETWEEN = re.compile(rf"\b(?:between|from)\s+{_AMOUNT}\s+(?:and|to)\s+{_AMOUNT}", re.I)
_UNDER = re.compile(
    rf"(?:\b(?:under|below|less than|cheaper than|at most|no more than|max(?:imum)?|up to)|<=?)"
    rf"\s*{_AMOUNT}",
    re.I,
)
_OVER = re.compile(
    rf"(?:\b(?:over|above|more than|at least|min(?:imum)?|starting at)|>=?)\s*{_AMOUNT}", re.I
)
_AROUND = re.compile(rf"\b(?:around|about|roughly|approximately|~)\s*{_AMOUNT}", re.I)
_BARE = re.compile(r"(\$|€|£|¥)\s*(\d+(?:[.,]\d{1,2})?)|(\d+(?:[.,]\d{1,2})?)\s*(€|£)", re.I)
SIZE_PATTERN = re.compile(
    r"\b(?:size|sz)\s*[:#]?\s*(xxs|xs|s|m|l|xl|xxl|xxxl|\d{1,2}(?:\.5)?)\b"
    r"|\b(xxs|xs|xl|xxl|xxxl)\b",
    re.I,
)
_WORD = re.compile(r"[\w'&.]+")
_CURRENCIES = {
    "$": "$",
    "dollar": "$",
    "dollars": "$",
    "bucks": "$",
    "us$": "USD",
    "usd": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "yen": "JPY",
    "cad": "CAD",
    "aud": "AUD",
}
_DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN"})


class Constraint(BaseModel):
    """One thing read from the shopper's words (or a stated preference) and how it is used."""

    field: Field_ = Field(description="What the constraint is about.")
    operator: Op = Field(description="is / is_not (a negation: 'no Nike'), or a price bound.")
    value: float | str | list[str] = Field(
        description="The catalog's value: a price, a brand as spelled, category paths, a "
        "colour, a size, an audience (Women, Men, Kids) or a child's age in years."
    )
    words: str = Field(description="The words it was read from.")
    applied: Literal["hard", "soft"] = Field(
        description="hard: only items that meet it (the shopper said 'only' or a price bound "
        "word); soft: items that meet it rank higher."
    )
    source: Source = Field(description="The query, or a preference the person stated earlier.")
    matched_by: MatchedBy = Field(description="How the words were matched to the catalog's values.")
    relaxed: bool = Field(
        default=False, description="True when too few items met it and it was loosened."
    )
    matches: int | None = Field(default=None, description="How many of the returned items meet it.")

    def label(self) -> str:
        """The constraint in a shopper's words ('under $50', 'not Nike', 'in black')."""
        v = self.value
        if self.field == "price":
            amount = f"${v:g}" if isinstance(v, float | int) else str(v)
            return {"at_most": f"under {amount}", "at_least": f"over {amount}"}.get(
                self.operator, f"around {amount}"
            )
        text = ", ".join(v) if isinstance(v, list) else str(v)
        if self.field == "category" and isinstance(v, list):
            text = self.words
        if self.field == "age" and isinstance(v, float | int):
            text = f"for a {round(v * 12)}-month-old" if v < 1 else f"for a {v:g}-year-old"
            return text
        if self.field == "color":
            text = f"in {text}"
        elif self.field == "size":
            text = f"size {text}"
        elif self.field == "audience":
            text = f"for {text.lower()}"
        return f"not {text}" if self.operator == "is_not" else text


class Interpreted(BaseModel):
    """What p13n understood from a request and how it applied it: every answer carries it."""

    query: str | None = Field(description="The query as given (null without one).")
    search_text: str | None = Field(
        description="The words matched against item names, brands and categories, once "
        "prices were read out of the query."
    )
    currency: str | None = Field(
        description="The catalog's currency, in which every price is read and shown."
    )
    constraints: list[Constraint] = Field(
        default_factory=list, description="Everything read from the query and preferences."
    )
    personalized: bool = Field(
        default=False, description="True when the person's tastes re-ranked the items."
    )
    semantic: bool | None = Field(
        default=None,
        description="Whether the query was also matched by meaning (embeddings); false for the "
        "few seconds after start while the model loads, when words alone match. Null without "
        "query words.",
    )
    relaxed: list[str] = Field(
        default_factory=list, description="Constraints loosened because too few items met them."
    )
    clamped: list[str] = Field(
        default_factory=list, description="Arguments corrected to their allowed range."
    )


@dataclass
class Reading:
    """An interpretation with the query vector it was matched with (None without one)."""

    interpreted: Interpreted
    vector: npt.NDArray[np.float32] | None = None
    hard: list[Constraint] = field(default_factory=list)
    soft: list[Constraint] = field(default_factory=list)


def _amount(text: str) -> float:
    return float(text.replace(",", "."))


def _currency(*symbols: str | None) -> str | None:
    for s in symbols:
        if s:
            return _CURRENCIES.get(s.casefold(), s.upper())
    return None


def check_currency(asked: str | None, catalog: str | None, words: str) -> None:
    """Refuse a price in another currency than the catalog's (no conversion is configured)."""
    if asked is None or catalog is None:
        return
    if asked == catalog or (asked == "$" and catalog in _DOLLARS):
        return
    raise InvalidInput(
        f"prices in this catalog are in {catalog}, and '{words.strip()}' is in {asked}; "
        "p13n does not convert currencies.",
        hint=f"Restate the price in {catalog}, or leave the price out.",
    )


def _prices(text: str, source: Source) -> tuple[list[Constraint], str, list[tuple[str, str]]]:
    """Price constraints, the text without them, and the currencies named (symbol, words)."""
    out: list[Constraint] = []
    named: list[tuple[str, str]] = []
    soft = source != "query"
    applied: Literal["hard", "soft"] = "soft" if soft else "hard"

    def add(op: Op, value: float, words: str, how: Literal["hard", "soft"]) -> None:
        out.append(
            Constraint(
                field="price",
                operator=op,
                value=value,
                words=words.strip(),
                applied=how,
                source=source,
                matched_by="pattern",
            )
        )

    def currency_of(m: re.Match[str], groups: tuple[int, ...]) -> None:
        cur = _currency(*(m.group(g) for g in groups))
        if cur is not None:
            named.append((cur, m.group(0)))

    if m := _BETWEEN.search(text):
        low, high = sorted((_amount(m.group(2)), _amount(m.group(5))))
        currency_of(m, (1, 3, 4, 6))
        add("at_least", low, m.group(0), applied)
        add("at_most", high, m.group(0), applied)
        text = text.replace(m.group(0), " ")
    else:
        bounds: tuple[tuple[re.Pattern[str], Op], ...] = (
            (_UNDER, "at_most"),
            (_OVER, "at_least"),
            (_AROUND, "around"),
        )
        for pattern, op in bounds:
            if m := pattern.search(text):
                currency_of(m, (1, 3))
                add(op, _amount(m.group(2)), m.group(0), "soft" if op == "around" else applied)
                text = text.replace(m.group(0), " ")
    if not out and (m := _BARE.search(text)):  # "$30 leggings": about that price
        currency_of(m, (1, 4))
        add("around", _amount(m.group(2) or m.group(3)), m.group(0), "soft")
        text = text.replace(m.group(0), " ")
    return out, text, named


def _age(
    text: str, vocab: CatalogVocabulary | None, source: Source
) -> tuple[list[Constraint], str]:
    """A child's age ('a 5 year old', '6-month-old', '3yo'): the kids' audience and the age,
    both soft, and the text without the phrase (its number would match 'Sz 5' by words)."""
    m = _AGE.search(text)
    top = vocab.audience("kids") if vocab is not None else None
    if m is None or top is None:
        return [], text
    number = int(m.group(1) or m.group(4))
    years = number / 12 if m.group(3) else float(number)
    if years > _CHILD_AGE:
        return [], text
    said = m.group(0).strip()
    out = [
        Constraint(
            field=f,
            operator="is",
            value=value,
            words=said,
            applied="soft",
            source=source,
            matched_by="pattern",
        )
        for f, value in (("audience", top), ("age", years))
    ]
    return out, text.replace(m.group(0), " ")


def _negated(words: list[str], start: int) -> bool:
    k = start - 1
    while k >= 0 and words[k] in _FILLER and start - k <= 3:
        k -= 1
    return k >= 0 and words[k] in _NEGATIONS


def _only(words: list[str], start: int, end: int) -> bool:
    before = [w for w in words[max(0, start - 3) : start] if w not in _FILLER]
    return (
        (bool(before) and before[-1] in _ONLY)
        or any(w in _ONLY for w in before[-2:])
        or (end < len(words) and words[end] in _ONLY)
    )


def _brands_and_categories(
    words: list[str],
    used: list[bool],
    vocab: CatalogVocabulary,
    vector: npt.NDArray[np.float32] | None,
    add: Callable[[Field_, float | str | list[str], int, int, MatchedBy], None],
) -> None:
    """Runs of 3, 2 and 1 unused words that name a brand or a category level. Of adjacent
    category words only the last counts, the head of the phrase ('yoga pants' is pants that
    are for yoga, not the category Yoga & Pilates)."""
    found: list[tuple[int, int, CategoryMatch]] = []
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            if any(used[i : i + size]) or words[i + size - 1] in _STOP or words[i] in _STOP:
                continue
            gram = " ".join(words[i : i + size])
            if brand := vocab.brand(gram):
                add("brand", brand[0], i, i + size, brand[1])
            elif cat := vocab.category(gram):
                found.append((i, i + size, vocab.refine(cat, vector)))
                for k in range(i, i + size):
                    used[k] = True
    found.sort(key=lambda f: f[0])
    for k, (start, end, cat) in enumerate(found):
        if k + 1 < len(found) and found[k + 1][0] == end:
            continue  # a modifier of the next category word
        add("category", list(cat.paths), start, end, cat.how)


def interpret(
    text: str | None,
    vocab: CatalogVocabulary | None,
    *,
    source: Source = "query",
    embed: Callable[[str], npt.NDArray[np.float32]] | None = None,
) -> Reading:
    """Read one query (or stated preference). `embed` gives the query's vector, used to match
    categories by meaning and returned for retrieval. Raises `InvalidInput` for a price in a
    currency the catalog does not use."""
    raw = (text or "").strip()
    catalog_currency = vocab.currency if vocab is not None else None
    constraints, rest, named = _prices(raw, source)
    for cur, said in named:
        check_currency(cur, catalog_currency, said)
    ages, rest = _age(rest, vocab, source)
    constraints += ages
    rest = " ".join(rest.split())
    search_text = rest or None
    lowered = rest.casefold()
    words = [w for w in (t.strip(".") for t in _WORD.findall(lowered)) if w]
    used = [False] * len(words)
    vector = embed(search_text) if embed is not None and search_text else None

    def add(
        f: Field_, value: float | str | list[str], start: int, end: int, how: MatchedBy
    ) -> None:
        negated = _negated(words, start)
        hard = source == "query" and not negated and _only(words, start, end)
        constraints.append(
            Constraint(
                field=f,
                operator="is_not" if negated else "is",
                value=value,
                words=" ".join(words[start:end]),
                applied="hard" if hard else "soft",
                source=source,
                matched_by=how,
            )
        )
        for k in range(start, end):
            used[k] = True

    for m in SIZE_PATTERN.finditer(lowered):
        size = (m.group(1) or m.group(2)).upper()
        span = [k for k, w in enumerate(words) if w in m.group(0).split()]
        if span:
            add("size", size, span[0], span[-1] + 1, "pattern")
    for k, w in enumerate(words):
        if used[k]:
            continue
        if w in COLOURS:
            add("color", _GREY.get(w, w), k, k + 1, "exact")
        elif w in _AUDIENCE_WORDS and vocab is not None:
            top = vocab.audience(_AUDIENCE_WORDS[w])
            if top and not any(c.field == "audience" and c.value == top for c in constraints):
                add("audience", top, k, k + 1, "exact")
            used[k] = True
    if vocab is not None:
        _brands_and_categories(words, used, vocab, vector, add)
        if source == "query" and not any(c.field == "category" for c in constraints):
            meant: CategoryMatch | None = vocab.categories_by_meaning(vector)
            if meant is not None:
                constraints.append(
                    Constraint(
                        field="category",
                        operator="is",
                        value=list(meant.paths),
                        words=search_text or "",
                        applied="soft",
                        source=source,
                        matched_by="meaning",
                    )
                )
    interpreted = Interpreted(
        query=raw or None,
        search_text=search_text,
        currency=catalog_currency,
        constraints=constraints,
    )
    return Reading(
        interpreted,
        vector,
        hard=[c for c in constraints if c.applied == "hard"],
        soft=[c for c in constraints if c.applied == "soft"],
    )
