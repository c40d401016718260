"""Keeping `get_context` under its byte bound, cutting the least useful parts first.

Lists are halved in order of usefulness, each down to a floor before anything more useful is
touched: recently viewed items, then all but the top affinity, segments, older stated
preferences, older orders, order lines, cart lines, then deeper; attributes go whole. Halving
overshoots, so whatever was cut is then given back one element at a time, round-robin in order
of usefulness (orders and their lines first), while the answer still fits. `omitted` says, for
each list that ended shorter, how much was kept; the notes count against the bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from p13n.tools.profile_shapes import GetContextOutput

__all__ = ["fit"]

_ORDER_LINES = "recent_orders[{k}].items"
_GROW_ORDER = (
    "recent_orders",
    "recent_orders[",  # every order's lines
    "stated_preferences",
    "cart",
    "top_categories",
    "top_brands",
    "segments",
    "engagement.recently_viewed",
    "contact.emails",
    "contact.phones",
)


def _size(out: GetContextOutput) -> int:
    return len(orjson.dumps(out.model_dump(mode="json")))


@dataclass
class _Cut:
    original: list[Any]  # the list before any cut
    live: list[Any]  # the list in the answer
    newest_last: bool  # the newest are at the end (cut from the front)


class _Fitter:
    def __init__(self, out: GetContextOutput, max_bytes: int) -> None:
        self.out, self.max_bytes = out, max_bytes
        self.cuts: dict[str, _Cut] = {}
        self.attributes: dict[str, Any] | None = None  # set when dropped

    # -- cutting -----------------------------------------------------------------------------
    def halve(
        self, label: str, values: list[Any], keep: int = 0, *, newest_last: bool = False
    ) -> bool:
        """Halve `values`, never below `keep`, dropping the oldest (or weakest) half."""
        if len(values) <= keep:
            return False
        self.cuts.setdefault(label, _Cut(list(values), values, newest_last))
        half = max(len(values) // 2, keep)
        if newest_last:
            del values[: len(values) - half]
        else:
            del values[half:]
        return True

    def lines(self, keep: int) -> bool:
        return any(
            [
                self.halve(_ORDER_LINES.format(k=k), o.items, keep)
                for k, o in enumerate(self.out.recent_orders)
            ]
        )

    def drop_attributes(self) -> bool:
        if not self.out.attributes:
            return False
        self.attributes, self.out.attributes = self.out.attributes, {}
        return True

    def too_big(self) -> bool:
        """The size with the notes of what is cut (they count against the bound)."""
        out = self.out
        notes = []
        for label, cut in self.cuts.items():
            if label.startswith("recent_orders[") and not self._order_shown(label):
                continue
            if len(cut.live) < len(cut.original):
                notes.append(f"{label}: kept {len(cut.live)} of {len(cut.original)}")
        if self.attributes is not None:
            notes.append(f"attributes: all {len(self.attributes)} left out")
        out.omitted = notes
        return _size(out) > self.max_bytes

    def _order_shown(self, label: str) -> bool:
        index = int(label[len("recent_orders[") : label.index("]")])
        return index < len(self.out.recent_orders)

    # -- giving back -------------------------------------------------------------------------
    def grow(self, label: str) -> bool:
        """Give one element back to a cut list if the answer still fits."""
        cut = self.cuts[label]
        have, total = len(cut.live), len(cut.original)
        if have >= total:
            return False
        if cut.newest_last:
            cut.live.insert(0, cut.original[total - have - 1])
        else:
            cut.live.append(cut.original[have])
        if label == "recent_orders":
            self._trim_lines(have)
        if not self.too_big():
            return True
        if cut.newest_last:
            del cut.live[0]
        else:
            cut.live.pop()
        self.too_big()  # the notes as they were
        return False

    def _trim_lines(self, k: int) -> None:
        """An order given back brings as many lines as its neighbour kept (at least one)."""
        order = self.out.recent_orders[k]
        keep = max(1, len(self.out.recent_orders[k - 1].items)) if k else 1
        if len(order.items) > keep:
            self.cuts.setdefault(
                _ORDER_LINES.format(k=k), _Cut(list(order.items), order.items, False)
            )
            del order.items[keep:]

    def give_back(self) -> None:
        grown = True
        while grown:
            grown = False
            for prefix in _GROW_ORDER:
                for label in self._labels(prefix):
                    grown = self.grow(label) or grown
        if self.attributes is not None:  # all or nothing
            attributes, self.attributes = self.attributes, None
            self.out.attributes = attributes
            if self.too_big():
                self.out.attributes, self.attributes = {}, attributes
        self.too_big()

    def _labels(self, prefix: str) -> list[str]:
        """The cut lists `prefix` names ('recent_orders[' names the shown orders' lines)."""
        if not prefix.endswith("["):
            return [prefix] if prefix in self.cuts else []
        return [k for k in self.cuts if k.startswith(prefix) and self._order_shown(k)]


def fit(out: GetContextOutput, max_bytes: int) -> GetContextOutput:
    """`out` cut to fit `max_bytes` of JSON, with `omitted` saying what was cut."""
    if _size(out) <= max_bytes:  # the usual case: one measurement
        return out
    f = _Fitter(out, max_bytes)
    steps: list[Callable[[], bool]] = [
        lambda: f.halve("engagement.recently_viewed", out.engagement.recently_viewed),
        lambda: (
            f.halve("top_categories", out.top_categories, 1)
            | f.halve("top_brands", out.top_brands, 1)
        ),
        lambda: f.halve("segments", out.segments),
        lambda: f.halve("stated_preferences", out.stated_preferences, 5, newest_last=True),
        lambda: f.halve("recent_orders", out.recent_orders, 2),
        lambda: f.lines(2),
        lambda: f.halve("cart", out.cart, 3),
        lambda: f.halve("stated_preferences", out.stated_preferences, 1, newest_last=True),
        lambda: f.halve("recent_orders", out.recent_orders, 1),
        lambda: f.lines(1),
        lambda: f.halve("cart", out.cart, 1),
        lambda: f.halve("contact.emails", out.contact.emails),
        lambda: f.halve("contact.phones", out.contact.phones),
        f.drop_attributes,
        lambda: (
            f.halve("top_categories", out.top_categories) | f.halve("top_brands", out.top_brands)
        ),
        lambda: f.halve("cart", out.cart),
        lambda: f.halve("recent_orders", out.recent_orders),
        lambda: f.halve("stated_preferences", out.stated_preferences, newest_last=True),
    ]
    for step in steps:
        while f.too_big() and step():
            pass
    f.give_back()
    return out
