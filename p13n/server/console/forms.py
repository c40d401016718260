"""Forms generated from a tool's JSON input schema, and the form's values back as arguments.

Each top-level property becomes one control (nested objects, such as `filters`, one level
deep: `filters.max_price`): text for strings, a select for enums and booleans, a number input
for numbers, comma-separated text for lists of strings, and a JSON textarea for anything else
(lists of objects). Empty controls are left out of the arguments, so the tool's defaults apply
— the same "not given" an MCP client sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FormField", "arguments_from_form", "fields_from_schema"]


@dataclass(frozen=True)
class FormField:
    name: str  # the form control's name: `query`, `filters.max_price`
    label: str
    kind: str  # text | number | integer | select | boolean | list | json
    description: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    children: tuple[FormField, ...] = field(default=())

    @property
    def dom_id(self) -> str:
        return "arg-" + self.name.replace(".", "-").replace("_", "-")


def _variants(prop: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The non-null alternatives of a property (`type: [x, null]`, `anyOf: [..., null]`)."""
    if "anyOf" in prop:
        return [v for v in prop["anyOf"] if v.get("type") != "null"]
    kind = prop.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) == 1:
            return [{**prop, "type": kinds[0]}]
        return [{**prop, "type": kinds}]
    return [prop]


def _field(name: str, prop: Mapping[str, Any], required: bool, *, depth: int) -> FormField:
    label = str(prop.get("title") or name.rsplit(".", 1)[-1].replace("_", " ").capitalize())
    description = str(prop.get("description") or "")
    variants = _variants(prop)
    chosen = variants[0] if len(variants) == 1 else {}
    kind = chosen.get("type")
    default = prop.get("default")
    common: dict[str, Any] = {
        "name": name,
        "label": label,
        "description": description,
        "required": required,
    }
    if "enum" in chosen:
        return FormField(
            kind="select", choices=tuple(map(str, chosen["enum"])), default=default, **common
        )
    if kind == "string":
        return FormField(kind="text", default=default, **common)
    if kind in ("number", "integer"):
        return FormField(kind=kind, default=default, **common)
    if kind == "boolean":
        return FormField(kind="boolean", choices=("true", "false"), default=default, **common)
    if kind == "array":
        items = chosen.get("items") or {}
        if items.get("type") == "string" and "enum" not in items:
            return FormField(kind="list", default=default, **common)
    if kind == "object" and depth == 0 and "properties" in chosen:
        needed = set(chosen.get("required") or [])
        children = tuple(
            _field(f"{name}.{key}", sub, key in needed, depth=depth + 1)
            for key, sub in chosen["properties"].items()
        )
        return FormField(kind="group", children=children, **common)
    return FormField(kind="json", default=default, **common)


def fields_from_schema(schema: Mapping[str, Any]) -> list[FormField]:
    needed = set(schema.get("required") or [])
    return [
        _field(name, prop, name in needed, depth=0)
        for name, prop in (schema.get("properties") or {}).items()
    ]


def _value(f: FormField, raw: str) -> Any:
    """A control's text as the JSON value the schema asks for; text that does not parse is
    passed through, so the tool's own validation names the field and the problem."""
    text = raw.strip()
    if f.kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    if f.kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if f.kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if f.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if f.kind == "json":
        return json.loads(text)  # ValueError: reported next to the field
    return raw


def arguments_from_form(
    fields: list[FormField], form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(arguments, errors by control name): empty controls are left out."""
    args: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        if f.kind == "group":
            inner, inner_errors = arguments_from_form(list(f.children), form)
            errors.update(inner_errors)
            if inner:
                args[f.name] = {k.split(".", 1)[1]: v for k, v in inner.items()}
            continue
        raw = form.get(f.name, "")
        if not raw.strip():
            continue
        try:
            args[f.name] = _value(f, raw)
        except ValueError as exc:
            errors[f.name] = f"not valid JSON ({exc})"
    return args, errors
