"""Output schemas in the shape that is cheapest for a client to check, with the same meaning.

MCP clients validate every structured result against the tool's output schema (the Python
SDK's `Client` does, with `jsonschema`). Pydantic's schemas put nested models under `$defs`
behind `$ref`s and spell `str | None` as `anyOf: [{type: string}, {type: null}]`; resolving
references and trying branches is most of that check's cost. Here references are inlined and
such an `anyOf` of bare types becomes one `type: [string, null]`: the same documents pass and
fail (tested), and checking a `get_recommendations` answer took 1.4 instead of 2.3 ms.

`inline_refs` is the same inlining alone: the one `$ref` inliner, also used by the server to put
a request model's schema inside an OpenAPI operation.

Input schemas come in two forms of the same arguments. `input_schema` (MCP, REST) is flattened
too, keeps defaults and bounds, and lets every optional field be `null` (models send it for
"absent"). `strict_schema` is the subset both OpenAI's strict mode and Anthropic's strict tool use
accept: every property required, `additionalProperties: false`, no `default`, no numeric, length
or item-count bounds (moved into the description), and no union types at all, because Anthropic
allows only 16 union-typed parameters across all strict tools of a request: an optional field is
"not given" when it is empty ("", 0, [] or an object of empties), which `Action.parse` reads as
absent. A map (free keys, such as UCP's `attribution`) is a list of `{name, value}` pairs in the
strict form, read back as the map. Fields marked with `VOCABULARY_KEY` get the store's names (recommenders, points) as `enum`.

Models generated from other specifications (the UCP SDK's) document each field with a docstring
under its annotation, which pydantic's schemas leave out; both forms take such a docstring as the
field's description when it has none (`field_docs`), so a model reads the spec's words.
"""

from __future__ import annotations

import ast
import copy
import inspect
import textwrap
import types
import typing
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import orjson
from pydantic import BaseModel

__all__ = [
    "output_schema",
    "flatten_schema",
    "inline_refs",
    "input_schema",
    "strict_schema",
    "VOCABULARY_KEY",
    "field_docs",
]

_REF = "#/$defs/"


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's serialization JSON schema, flattened unless that makes it half as big again; a
    union of objects at the root (an answer or an error answer) is said to be an object, as
    MCP asks of an output schema."""
    schema = model.model_json_schema(mode="serialization")
    flat = flatten_schema(schema)
    if len(orjson.dumps(flat)) > 1.5 * len(orjson.dumps(schema)):
        flat = schema  # shared parts (the UCP answers' prices, variants) stay references
    branches = flat.get("anyOf")
    defs = flat.get("$defs", {})

    def is_object(branch: Any) -> bool:
        ref = branch.get("$ref") if isinstance(branch, dict) else None
        if isinstance(ref, str) and ref.startswith(_REF):
            branch = defs.get(ref[len(_REF) :])
        return isinstance(branch, dict) and branch.get("type") == "object"

    if "type" not in flat and isinstance(branches, list) and all(map(is_object, branches)):
        flat["type"] = "object"
    return flat


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring right under its annotation in `cls`'s own source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    first = tree.body[0] if tree.body else None
    body = first.body if isinstance(first, ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _models_in(model: type[BaseModel]) -> list[type[BaseModel]]:
    """`model` and every model its fields reach (through unions, lists and dicts)."""
    seen: dict[type[BaseModel], None] = {}

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen[annotation] = None
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        origin = typing.get_origin(annotation)
        if origin is not None or isinstance(annotation, types.UnionType):
            for arg in typing.get_args(annotation):
                visit(arg)
            return
        value = getattr(annotation, "__value__", None)  # typing_extensions.TypeAliasType
        if value is not None:
            visit(value)

    visit(model)
    return list(seen)


def _doc_of(cls: type[BaseModel], name: str) -> str | None:
    """The docstring of field `name` (python name) from `cls` or the class defining it."""
    for klass in cls.__mro__:
        if isinstance(klass, type) and issubclass(klass, BaseModel) and klass is not BaseModel:
            doc = field_docs(klass).get(name)
            if doc:
                return doc
    return None


def _described(model: type[BaseModel], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with field docstrings as the descriptions of properties that have none."""
    by_title: dict[str, list[type[BaseModel]]] = {}
    for cls in _models_in(model):
        by_title.setdefault(cls.model_config.get("title") or cls.__name__, []).append(cls)

    def fill(node: dict[str, Any]) -> None:
        props = node.get("properties")
        if not isinstance(props, dict):
            return
        for cls in by_title.get(str(node.get("title")), []):
            names = {(f.alias or n): n for n, f in cls.model_fields.items()}
            if not set(props) <= set(names):
                continue
            for key, prop in props.items():
                if isinstance(prop, dict) and "description" not in prop:
                    doc = _doc_of(cls, names[key])
                    if doc:
                        prop["description"] = doc
            return

    out = copy.deepcopy(schema)
    fill(out)
    for node in out.get("$defs", {}).values():
        if isinstance(node, dict):
            fill(node)
    return out


def flatten_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline `$defs` references (a recursive one stays a reference) and merge `anyOf`s of
    bare types into a `type` list."""
    return inline_refs(schema, merge_types=True)


def inline_refs(schema: dict[str, Any], *, merge_types: bool = False) -> dict[str, Any]:
    """The schema with its `$defs` references substituted in place; a recursive reference stays
    a reference (with the definitions it needs kept). `merge_types`: also merge `anyOf`s of
    bare types into a `type` list. The input is not changed."""
    defs: dict[str, Any] = schema.get("$defs", {})
    used: set[str] = set()

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(x, stack) for x in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF) and ref[len(_REF) :] in defs:
            name = ref[len(_REF) :]
            if name in stack:
                used.add(name)
                return node
            target = walk(defs[name], (*stack, name))
            rest = {k: walk(v, stack) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        out = {k: walk(v, stack) for k, v in node.items() if k != "$defs"}
        options = out.get("anyOf")
        if merge_types and isinstance(options, list) and _merge(options) and "type" not in out:
            del out["anyOf"]
            out["type"] = [o["type"] for o in options]
        return out

    flat: dict[str, Any] = walk(schema, ())
    if used:  # recursive models keep the definitions their references need
        flat["$defs"] = {name: walk(defs[name], (name,)) for name in sorted(used)}
    return flat


def _merge(options: list[Any]) -> bool:
    """True for a non-empty list of `{"type": <one name>}` with no name twice."""
    names = [o["type"] for o in options if isinstance(o, dict) and set(o) == {"type"}]
    ok = len(names) == len(options) and all(isinstance(n, str) for n in names)
    return bool(options) and ok and len(set(names)) == len(names)


VOCABULARY_KEY = "x-p13n-vocabulary"
# Bounds neither vendor's strict subset takes (Anthropic: no numeric, length or item-count bounds
# but minItems 0/1; OpenAI: no length or property-count bounds); said in the description instead.
_BOUNDS = {
    "minimum": "at least {}",
    "exclusiveMinimum": "above {}",
    "maximum": "at most {}",
    "exclusiveMaximum": "below {}",
    "multipleOf": "a multiple of {}",
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "minItems": "at least {} entries",
    "maxItems": "at most {} entries",
    "minProperties": "at least {} entries",
    "maxProperties": "at most {} entries",
    "pattern": "matching {}",
}
_DROPPED = {"default", "title", "uniqueItems", "examples"}
# String formats both vendors document.
_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}


def input_schema(
    model: type[BaseModel], vocabularies: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """The lenient input schema: flattened, defaults and bounds kept, optional fields nullable,
    vocabulary fields with their names as `enum` (when `vocabularies` has them)."""
    schema = flatten_schema(_described(model, model.model_json_schema(mode="validation")))
    out: dict[str, Any] = _lenient(schema, vocabularies or {})
    return out


def _lenient(node: Any, vocabularies: Mapping[str, Sequence[str]]) -> Any:
    if isinstance(node, list):
        return [_lenient(x, vocabularies) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _lenient(v, vocabularies) for k, v in node.items() if k != VOCABULARY_KEY}
    kind = node.get(VOCABULARY_KEY)
    if isinstance(kind, str) and vocabularies.get(kind):
        out["enum"] = list(vocabularies[kind])
    props = out.get("properties")
    if isinstance(props, dict) and out.get("type") == "object":
        required = set(out.get("required", []))
        for name, prop in props.items():
            if name not in required and isinstance(prop, dict):
                _allow_null(prop)
    return out


def _allow_null(prop: dict[str, Any]) -> None:
    """`prop` also accepts null (the tools read a null optional field as absent)."""
    kind = prop.get("type")
    if isinstance(kind, str) and kind != "null":
        prop["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        prop["type"] = [*kind, "null"]
    elif "anyOf" in prop and {"type": "null"} not in prop["anyOf"]:
        prop["anyOf"] = [*prop["anyOf"], {"type": "null"}]
    if "enum" in prop and None not in prop["enum"]:
        prop["enum"] = [*prop["enum"], None]


def strict_schema(lenient: dict[str, Any]) -> dict[str, Any]:
    """The strict form of a lenient input schema (see the module docstring)."""
    out = _strict(copy.deepcopy(lenient), optional=False)
    if not isinstance(out, dict):  # pragma: no cover - an input schema is an object
        raise TypeError("an input schema is an object")
    return out


def _strict(node: dict[str, Any], *, optional: bool) -> dict[str, Any]:
    notes: list[str] = []
    default = node.get("default")
    if optional:
        _drop_null(node)
    _map_as_pairs(node)
    kind = node.get("type")
    said = str(node.get("description", ""))
    for key, phrase in _BOUNDS.items():
        if key in node:
            value = node.pop(key)
            if isinstance(value, int | float) and f"{value:g}" in said:
                continue  # the description says it already ("1-24")
            if key == "minItems" and value <= 1 and not optional:
                node["minItems"] = value  # both vendors take minItems 0 and 1
            elif key == "minLength" and value == 1:
                notes.append("not empty")
            elif not (key == "minimum" and value == 0 and kind in ("number", "integer")):
                notes.append(phrase.format(value))
    if node.get("format") not in _FORMATS:
        node.pop("format", None)
    for key in _DROPPED:
        node.pop(key, None)
    if optional:
        if kind in ("integer", "number"):
            given = f"default {default:g}" if isinstance(default, int | float) else "not given"
            notes.append(f"0 = {given}")
        elif kind == "string" or "enum" in node:
            notes.append("empty = " + (f"default {default!r}" if default else "not given"))
        elif kind == "boolean" and isinstance(default, bool):
            notes.append(f"usually {orjson.dumps(default).decode()}")
    if notes:
        text = str(node.get("description", "")).rstrip().removesuffix(".")
        extra = "; ".join(notes)
        node["description"] = f"{text} ({extra})." if text else extra[0].upper() + extra[1:] + "."
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        required = set(node.get("required", []))
        node["properties"] = {
            name: _strict(prop, optional=name not in required) for name, prop in props.items()
        }
        node["required"] = list(props)
        node["additionalProperties"] = False
    if isinstance(kind, list) and len(kind) > 1:  # one type per branch reads the same everywhere
        node["anyOf"] = [{"type": k} for k in node.pop("type")]
    if isinstance(node.get("items"), dict):
        node["items"] = _strict(node["items"], optional=False)
    if isinstance(node.get("anyOf"), list):
        node["anyOf"] = [_strict(x, optional=False) for x in node["anyOf"]]
    return node


def _map_as_pairs(node: dict[str, Any]) -> None:
    """A map (an object of free keys, which neither strict subset takes) as a list of
    `{name, value}` pairs, which `Action.parse` reads back as the map."""
    values = node.get("additionalProperties")
    if node.get("type") != "object" or "properties" in node or not isinstance(values, dict):
        return
    del node["additionalProperties"]
    node["type"] = "array"
    node["items"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "value": values},
        "required": ["name", "value"],
        "additionalProperties": False,
    }
    text = str(node.get("description", "")).rstrip().removesuffix(".")
    node["description"] = f"{text} (as name/value pairs)." if text else "Name/value pairs."


def _drop_null(node: dict[str, Any]) -> None:
    """An optional field without its null: empty means absent in the strict form."""
    kind = node.get("type")
    if isinstance(kind, list):
        rest = [k for k in kind if k != "null"]
        node["type"] = rest[0] if len(rest) == 1 else rest
    options = node.get("anyOf")
    if isinstance(options, list):
        rest_options = [o for o in options if o != {"type": "null"}]
        if len(rest_options) == 1:
            del node["anyOf"]
            node.update(rest_options[0])
        else:
            node["anyOf"] = rest_options
    if "enum" in node:
        values = [v for v in node["enum"] if v is not None]
        if all(isinstance(v, str) for v in values) and "" not in values:
            values.append("")
        node["enum"] = values
