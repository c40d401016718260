"""Merge fields in manual content: `{{{name}}}` or `{{{name|default text}}}`.

`name` is `source.field` with source `attribute` (profile attributes), `insight` (calculated
insight values), `segment` (renders `true` for a member, else the default) or `context` (request
context variables); a bare `field` looks in attributes, then insights, then context. A missing
value renders the default text ("" without one). Values are rendered as text: whole numbers
without a decimal point, other numbers with at most two decimals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from p13n.domain.graphs import ProfileGraph
from p13n.domain.operators import has_value

__all__ = ["MergeField", "MAX_MERGE_FIELDS", "merge_fields", "render", "MERGE_PATTERN"]

MAX_MERGE_FIELDS = 10
MERGE_PATTERN = re.compile(r"\{\{\{\s*([^{}|]+?)\s*(?:\|([^{}]*))?\}\}\}")
_SOURCES = ("attribute", "insight", "segment", "context")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class MergeField:
    source: str | None
    field: str
    default: str

    @property
    def name(self) -> str:
        return self.field if self.source is None else f"{self.source}.{self.field}"


def _parse(name: str, default: str | None) -> MergeField:
    source, _, field = name.rpartition(".")
    if source and source not in _SOURCES:
        raise ValueError(
            f"merge field {{{{{{{name}}}}}}}: unknown source {source!r}; use one of "
            f"{', '.join(_SOURCES)} or a bare field name"
        )
    if not _FIELD.match(field):
        raise ValueError(f"merge field {{{{{{{name}}}}}}}: {field!r} is not a field name")
    return MergeField(source or None, field, default or "")


def merge_fields(texts: Mapping[str, str]) -> list[MergeField]:
    """The distinct merge fields of some texts; ValueError for a malformed one."""
    found: dict[str, MergeField] = {}
    for text in texts.values():
        if "{{{" not in text:
            continue
        for match in MERGE_PATTERN.finditer(text):
            merge = _parse(match.group(1), match.group(2))
            found.setdefault(merge.name, merge)
        leftover = MERGE_PATTERN.sub("", text)
        if "{{{" in leftover or "}}}" in leftover:
            raise ValueError(
                f"malformed merge field in {text!r}; write {{{{{{name}}}}}} or "
                "{{{name|default text}}}"
            )
    return list(found.values())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0")
    return str(value)


def _lookup(merge: MergeField, profile: ProfileGraph | None, variables: Mapping[str, Any]) -> Any:
    source, field = merge.source, merge.field
    if source == "segment":
        return True if profile is not None and field in profile.segments else None
    if source == "context":
        return variables.get(field)
    attributes = profile.attributes if profile is not None else {}
    insights = profile.insights if profile is not None else {}
    if source == "attribute":
        return attributes.get(field)
    if source == "insight":
        return insights.get(field)
    for candidate in (attributes.get(field), insights.get(field), variables.get(field)):
        if has_value(candidate) and not isinstance(candidate, dict | list):
            return candidate
    return None


def render(text: str, profile: ProfileGraph | None, variables: Mapping[str, Any]) -> str:
    """`text` with every merge field replaced by its value or default."""
    if "{{{" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        merge = _parse(match.group(1), match.group(2))
        value = _lookup(merge, profile, variables)
        if not has_value(value) or isinstance(value, dict | list):
            return merge.default
        return _text(value)

    return MERGE_PATTERN.sub(replace, text)
