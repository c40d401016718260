"""The JSON Schema subsets of the two vendors' strict tool calling, as checks that list problems.

OpenAI, "Structured Outputs: supported schemas" (function calling with `strict: true`): the root
is an object (not `anyOf`); every object sets `additionalProperties: false` and lists every
property in `required` (optional means nullable); supported keywords: type, description, enum,
const, anyOf, properties, required, additionalProperties, items, $ref/$defs, and the bounds
pattern, format, minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minItems,
maxItems; not `default`, minLength/maxLength, min/maxProperties, uniqueItems, allOf, oneOf, not,
if/then/else, patternProperties; at most 5000 properties, 10 levels of nesting, 1000 enum values.

Anthropic, "Structured outputs: JSON Schema limitations" (strict tool use): basic types, enum of
primitives, const, anyOf, allOf, $ref/$defs (no recursion), required, `additionalProperties:
false` on every object, the string formats below, minItems 0 or 1; no minimum/maximum/
multipleOf, no minLength/maxLength, no other array bounds. Per request, across all strict tools:
at most 20 strict tools, 24 optional parameters and 16 parameters with union types (`anyOf` or a
list of types).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
_SHARED = {"type", "description", "title", "enum", "const", "anyOf", "$ref", "$defs"}
_OBJECT = {"properties", "required", "additionalProperties"}
OPENAI_KEYWORDS = (
    _SHARED
    | _OBJECT
    | {
        "items",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)
ANTHROPIC_KEYWORDS = _SHARED | _OBJECT | {"allOf", "items", "minItems", "format", "pattern"}
ANTHROPIC_FORMATS = {
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "uri",
    "ipv4",
    "ipv6",
    "uuid",
}
OPENAI_FORMATS = ANTHROPIC_FORMATS - {"uri"}


def _nodes(
    schema: Any, path: str = "$", depth: int = 0
) -> Iterator[tuple[str, dict[str, Any], int]]:
    """Every subschema with its path and object-nesting depth."""
    if not isinstance(schema, dict):
        return
    yield path, schema, depth
    inner = depth + (1 if "properties" in schema else 0)
    for name, prop in (schema.get("properties") or {}).items():
        yield from _nodes(prop, f"{path}.{name}", inner)
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]", depth)
    for key in ("anyOf", "allOf"):
        for k, branch in enumerate(schema.get(key) or []):
            yield from _nodes(branch, f"{path}|{k}", depth)
    for name, sub in (schema.get("$defs") or {}).items():
        yield from _nodes(sub, f"$defs.{name}", 0)


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    return [kind] if isinstance(kind, str) else list(kind or [])


def _is_object(node: dict[str, Any]) -> bool:
    return "object" in _types(node) or "properties" in node


def openai_problems(schema: dict[str, Any]) -> list[str]:
    """What OpenAI's strict mode would refuse in one tool's parameters schema."""
    problems = []
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("$: the root must be an object, not anyOf")
    properties = enums = 0
    for path, node, depth in _nodes(schema):
        for key in set(node) - OPENAI_KEYWORDS:
            problems.append(f"{path}: keyword {key!r} is not supported")
        for kind in _types(node):
            if kind not in TYPES:
                problems.append(f"{path}: type {kind!r}")
        if node.get("format") is not None and node["format"] not in OPENAI_FORMATS:
            problems.append(f"{path}: format {node['format']!r}")
        if _is_object(node):
            props = node.get("properties") or {}
            if not props:
                problems.append(f"{path}: an object needs properties")
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: additionalProperties must be false")
            if set(node.get("required", [])) != set(props):
                problems.append(f"{path}: every property must be required")
            properties += len(props)
        enums += len(node.get("enum") or [])
        if depth > 10:
            problems.append(f"{path}: nested deeper than 10 levels")
    if properties > 5000:
        problems.append(f"{properties} properties (at most 5000)")
    if enums > 1000:
        problems.append(f"{enums} enum values (at most 1000)")
    return problems


def anthropic_problems(schema: dict[str, Any]) -> list[str]:
    """What Anthropic's strict tool use would refuse in one tool's input schema."""
    problems = []
    for path, node, _ in _nodes(schema):
        for key in set(node) - ANTHROPIC_KEYWORDS:
            problems.append(f"{path}: keyword {key!r} is not supported")
        for kind in _types(node):
            if kind not in TYPES:
                problems.append(f"{path}: type {kind!r}")
        if node.get("format") is not None and node["format"] not in ANTHROPIC_FORMATS:
            problems.append(f"{path}: format {node['format']!r}")
        if "minItems" in node and node["minItems"] not in (0, 1):
            problems.append(f"{path}: minItems must be 0 or 1")
        if any(isinstance(v, dict | list) for v in node.get("enum") or []):
            problems.append(f"{path}: enum values must be primitives")
        if _is_object(node) and node.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties must be false")
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#/"):
            problems.append(f"{path}: external $ref")
    if "$defs" in schema:
        problems.append("$: $defs left (a recursive schema)")
    return problems


def optional_parameters(schema: dict[str, Any]) -> int:
    """Properties that are not required, at every level."""
    return sum(
        len(set(node.get("properties") or {}) - set(node.get("required", [])))
        for _, node, _ in _nodes(schema)
        if _is_object(node)
    )


def union_parameters(schema: dict[str, Any]) -> int:
    """Subschemas with `anyOf` or more than one type (`["string", "null"]` counts)."""
    return sum(1 for _, node, _ in _nodes(schema) if "anyOf" in node or len(_types(node)) > 1)


def anthropic_request_problems(schemas: list[dict[str, Any]]) -> list[str]:
    """Anthropic's per-request limits over every strict tool sent together."""
    problems = []
    if len(schemas) > 20:
        problems.append(f"{len(schemas)} strict tools (at most 20)")
    optional = sum(optional_parameters(s) for s in schemas)
    if optional > 24:
        problems.append(f"{optional} optional parameters across the tools (at most 24)")
    unions = sum(union_parameters(s) for s in schemas)
    if unions > 16:
        problems.append(f"{unions} union-typed parameters across the tools (at most 16)")
    return problems
