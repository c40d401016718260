"""Reading queries against a catalog's real values, and the blend that re-ranks by the person.

Rules over outputs on a small hand-built catalog; vectors are an explicit test double
(`ExactVectors` with hand-set directions), BM25 is the real `bm25s` index.
"""

from __future__ import annotations

import numpy as np
import pytest

from p13n.domain.errors import InvalidInput
from p13n.domain.ingest.items import Item
from p13n.domain.recommend import (
    CatalogSnapshot,
    CatalogVocabulary,
    Constraint,
    ExactVectors,
    LexicalIndex,
    PreferenceTilt,
    QueryBlend,
    Scored,
    Slot,
    Tastes,
    age_range,
    build_snapshot,
    constraint_rows,
    explore,
    interpret,
    query_reason,
    request_rng,
)

NOW = 1_780_000_000.0
LEGGINGS = "Women/Athletic Apparel/Pants, Tights, Leggings"
CATALOG = [
    ("lulu-1", "Lululemon align leggings black", "Lululemon", LEGGINGS, 34.0),
    ("lulu-2", "Wunder under high rise tights", "Lululemon", LEGGINGS, 78.0),
    ("lulu-3", "Swiftly tech tank pink", "Lululemon", "Women/Athletic Apparel/Shirts & Tops", 26.0),
    ("vs-1", "Yoga leggings red", "PINK", LEGGINGS, 22.0),
    ("vs-2", "Black yoga pants", "Old Navy", LEGGINGS, 18.0),
    ("jean-1", "Denim leggings", "Levi's", "Women/Jeans/Leggings", 30.0),
    ("jog-1", "Men's joggers grey", "Nike", "Men/Athletic Apparel/Pants", 40.0),
    ("mat-1", "Cork yoga mat", "Gaiam", "Sports & Outdoors/Exercise/Yoga & Pilates", 45.0),
    ("dino-1", "Dinosaur plush toy", "Disney", "Kids/Toys/Stuffed Animals & Plush", 15.0),
    ("game-1", "Zelda Switch game", "Nintendo", "Electronics/Video Games & Consoles/Games", 50.0),
    ("shoe-1", "Running shoes sz 8", "Nike", "Women/Shoes/Athletic", 60.0),
]
# Hand-set directions: athletic wear near each other, the rest apart.
DIRECTIONS = {
    "lulu-1": [1.0, 0.1, 0.0, 0.0],
    "lulu-2": [0.95, 0.15, 0.0, 0.0],
    "lulu-3": [0.7, 0.3, 0.0, 0.0],
    "vs-1": [1.0, 0.0, 0.05, 0.0],
    "vs-2": [1.0, 0.0, 0.1, 0.0],
    "jean-1": [0.8, 0.0, 0.4, 0.0],
    "jog-1": [0.6, 0.0, 0.6, 0.0],
    "mat-1": [0.5, 0.5, 0.0, 0.0],
    "dino-1": [0.0, 0.0, 0.0, 1.0],
    "game-1": [0.0, 0.0, 1.0, 0.2],
    "shoe-1": [0.5, 0.0, 0.5, 0.1],
}


def catalog() -> tuple[CatalogSnapshot, CatalogVocabulary, LexicalIndex, ExactVectors]:
    items = {
        i: Item(id=i, name=n, brand=b, category=c, price=p, currency="USD")
        for i, n, b, c, p in CATALOG
    }
    snap = build_snapshot(items, {}, NOW)
    m = np.array([DIRECTIONS[i] for i in snap.ids], dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return snap, CatalogVocabulary(snap), LexicalIndex(snap), ExactVectors(m, np.ones(len(m), bool))


def read(text: str) -> dict[str, Constraint]:
    _, vocab, _, _ = catalog()
    return {c.field: c for c in interpret(text, vocab).interpreted.constraints}


def test_brand_and_category_words_are_soft_and_a_price_bound_is_hard() -> None:
    got = read("lululemon leggings under 40")
    assert (got["brand"].value, got["brand"].applied) == ("Lululemon", "soft")
    assert got["category"].applied == "soft" and LEGGINGS in got["category"].value
    assert "Women/Jeans/Leggings" in got["category"].value  # every level named 'Leggings'
    assert (got["price"].operator, got["price"].value, got["price"].applied) == (
        "at_most",
        40.0,
        "hard",
    )
    _, vocab, _, _ = catalog()
    assert interpret("lululemon leggings under 40", vocab).interpreted.search_text == (
        "lululemon leggings"
    )


@pytest.mark.parametrize("text", ["only lululemon tops", "lululemon only", "only from Lululemon"])
def test_only_hardens_what_it_names(text: str) -> None:
    assert read(text)["brand"].applied == "hard"


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [("leggings not red", "color", "red"), ("no Nike shoes", "brand", "Nike")],
)
def test_negations_are_values_to_avoid(text: str, field: str, value: str) -> None:
    c = read(text)[field]
    assert (c.operator, c.value, c.applied) == ("is_not", value, "soft")


def test_words_match_the_catalog_by_plural_and_by_fuzzy_spelling() -> None:
    assert read("legging")["category"].matched_by == "exact"
    assert LEGGINGS in read("legging")["category"].value
    fuzzy = read("lulemon tank")["brand"]
    assert (fuzzy.value, fuzzy.matched_by) == ("Lululemon", "fuzzy")


def test_the_head_word_of_a_phrase_names_the_category() -> None:
    """'yoga pants' are pants; the Yoga & Pilates category (mats) is not what was meant."""
    category = read("yoga pants")["category"]
    assert "Sports & Outdoors/Exercise/Yoga & Pilates" not in category.value
    assert "Men/Athletic Apparel/Pants" in category.value


def test_audience_size_and_colour_are_read() -> None:
    assert read("a gift for a 5 year old who loves dinosaurs")["audience"].value == "Kids"
    assert read("running shoes for men")["audience"].value == "Men"
    assert read("running shoes size 8")["size"].value == "8"
    assert read("black leggings")["color"].value == "black"


def test_a_price_in_another_currency_is_refused_naming_the_catalogs() -> None:
    _, vocab, _, _ = catalog()
    with pytest.raises(InvalidInput, match="USD") as err:
        interpret("leggings under €30", vocab)
    assert "EUR" in str(err.value)
    for ok in ("leggings under $30", "leggings under 30 usd", "leggings below 30 dollars"):
        assert interpret(ok, vocab).interpreted.constraints[0].value == 30.0


def test_a_stated_preference_is_soft_even_with_only() -> None:
    _, vocab, _, _ = catalog()
    got = interpret("only wears black", vocab, source="stated_preference").interpreted
    [colour] = got.constraints
    assert (colour.field, colour.value, colour.applied, colour.source) == (
        "color",
        "black",
        "soft",
        "stated_preference",
    )


def _blend(text: str, tastes: Tastes, *, by_meaning: bool = True) -> list[str]:
    snap, vocab, lexical, vectors = catalog()
    reading = interpret(text, vocab)
    query = vectors.matrix[snap.row["lulu-1"]] + vectors.matrix[snap.row["vs-2"]]
    query /= np.linalg.norm(query)
    rows = np.arange(len(snap), dtype=np.int64)
    hard = np.ones(len(snap), dtype=np.bool_)
    for c in reading.hard:
        hard &= constraint_rows(c, snap, vocab, lexical)
    rows = rows[hard[rows]]
    blend = QueryBlend(
        snap,
        vocab,
        rows,
        vectors.similarity(query, rows) if by_meaning else None,
        lexical.scores(reading.interpreted.search_text)[rows],
        search_text=reading.interpreted.search_text,
        soft=[(c, constraint_rows(c, snap, vocab, lexical)) for c in reading.soft],
        hard=reading.hard,
        tastes=tastes,
        preferences=[(c, constraint_rows(c, snap, vocab, lexical)) for c in tastes.preferences],
    )
    scored = blend.apply(Scored(np.full(len(snap), -np.inf), lambda r: ""))
    order = rows[np.argsort(-scored.scores[rows], kind="stable")]
    return [snap.ids[r] for r in order]


AVA = Tastes(brands={"lululemon": 1.0}, categories={"Women": 1.0})
BEN = Tastes(brands={"nintendo": 1.0}, categories={"Electronics": 1.0})


def test_the_same_query_ranks_differently_for_different_tastes() -> None:
    ava, ben = _blend("leggings", AVA), _blend("leggings", BEN)
    assert ava != ben and ava[0].startswith("lulu-")
    lulu = ("lulu-1", "lulu-2", "lulu-3")
    assert sum(ava.index(i) for i in lulu) < sum(ben.index(i) for i in lulu)


def test_a_loved_brand_never_lifts_an_unrelated_item_above_what_was_asked_for() -> None:
    fan = Tastes(brands={"disney": 1.0, "nintendo": 1.0})
    got = _blend("leggings", fan)
    assert got.index("dino-1") > got.index("vs-2") and got.index("game-1") > got.index("vs-2")


def test_avoided_values_rank_below_everything_else() -> None:
    got = _blend("leggings not red", Tastes())
    assert got.index("vs-1") > max(got.index(i) for i in ("lulu-1", "vs-2", "jean-1"))


def test_a_hard_price_bound_and_the_reason_say_so() -> None:
    got = _blend("leggings under 40", AVA)
    assert got[0] == "lulu-1"  # Lululemon, under $40
    assert "lulu-2" not in got  # $78
    snap, vocab, lexical, _ = catalog()
    reading = interpret("leggings under 40", vocab)
    rows = np.array([snap.row["lulu-1"]], dtype=np.int64)
    blend = QueryBlend(
        snap,
        vocab,
        rows,
        np.array([0.9]),
        np.array([1.0]),
        search_text="leggings",
        soft=[],
        hard=reading.hard,
        tastes=Tastes(brands={"lululemon": 1.0}, bought_brands={"lululemon": 2}),
    )
    reason = blend.apply(Scored(np.full(len(snap), -np.inf), lambda r: "")).reason(rows[0])
    assert reason == "Lululemon, which you buy often; matches 'leggings', under $40"


def test_stated_preferences_lift_matching_items_without_a_query() -> None:
    snap, vocab, lexical, _ = catalog()
    [black] = interpret("only wears black", vocab, source="stated_preference").soft
    scores = np.linspace(1.0, 2.0, len(snap))  # the recommender's own order: last row best
    base = Scored(scores, lambda r: "popular in Women's Athletic Apparel")
    tilt = PreferenceTilt([(black, constraint_rows(black, snap, vocab, lexical))], Tastes())
    out = tilt.apply(base)
    order = [snap.ids[r] for r in np.argsort(-out.scores)]
    blacks = {"lulu-1", "vs-2"}
    assert set(order[:2]) == blacks
    assert out.reason(snap.row["vs-2"]).endswith("in black, as you prefer")


def test_exploration_never_takes_the_top_slots_and_speaks_like_a_shop_assistant() -> None:
    slots = [Slot(r, 1.0 - r / 10, f"reason {r}", "x") for r in range(6)]
    for k in range(50):
        got = explore(
            [Slot(s.row, s.score, s.reason, s.source) for s in slots],
            [6, 7, 8],
            None,
            1.0,
            request_rng(1, f"r{k}"),
            lambda r: f"popular in row {r}",
            first_slot=3,
        )
        assert [s.row for s in got[:3]] == [0, 1, 2]
        assert all(not s.explore and s.propensity == 1.0 for s in got[:3])
        assert all(s.explore for s in got[3:])
        assert all("exploring" not in s.reason for s in got)


def test_a_childs_age_is_read_out_of_the_words() -> None:
    """'5 year old' is an age (soft), not words to match: its '5' found 'Sz 5' shoes."""
    _, vocab, _, _ = catalog()
    reading = interpret("a gift for a 5 year old who loves dinosaurs", vocab)
    got = {c.field: c for c in reading.interpreted.constraints}
    assert (got["age"].value, got["age"].applied, got["audience"].value) == (5.0, "soft", "Kids")
    assert got["age"].label() == "for a 5-year-old"
    assert "5" not in (reading.interpreted.search_text or "")
    assert read("toys for my 6-month-old")["age"].label() == "for a 6-month-old"
    assert "age" not in read("a 40 year old whisky")


@pytest.mark.parametrize(
    ("path", "ages"),
    [
        ("Kids/Girls 0-24 Mos/One-Pieces", (0.0, 2.0)),
        ("Kids/Boys 2T-5T/Shoes", (2.0, 5.0)),
        ("Kids/Girls (4+)/Dresses", (4.0, 14.0)),
        ("Kids/Feeding/Bottle-Feeding", (0.0, 2.0)),
        ("Kids/Car Seats & Accessories/Car Seats", (0.0, 2.0)),
        ("Kids/Toys/Baby & Toddler Toys", (0.0, 3.0)),
        ("Kids/Toys/Action Figures & Statues", None),
    ],
)
def test_category_levels_say_the_ages_they_are_for(
    path: str, ages: tuple[float, float] | None
) -> None:
    assert age_range(path) == ages


def test_a_reason_quotes_the_query_words_the_item_has() -> None:
    snap, _, _, _ = catalog()
    mat, tights = snap.items[snap.row["mat-1"]], snap.items[snap.row["lulu-2"]]
    assert query_reason("something for yoga", [], "", mat) == "matches 'yoga'"
    assert query_reason("something for yoga", [], "", tights) == "close to 'yoga'"
    assert query_reason(None, [], "", mat) == "matches your request"


def test_by_words_alone_a_loved_brand_never_outranks_what_the_words_match() -> None:
    """While the model loads there are no similarities: relevance is BM25 alone (it was 0.6
    for every row, so Ben's Nintendo items led a dinosaur query)."""
    got = _blend("dinosaur", BEN, by_meaning=False)
    assert got[0] == "dino-1"
    assert got.index("game-1") > 0
