"""The registry of agent actions: each defined once, adapted by `mcp.py`, `langchain.py` and REST.

An action is a pydantic input model, a pydantic output model and one function over the domain.
`Action.invoke` validates raw arguments with the input model, so every adapter rejects bad input
the same way: `InvalidInput` naming the fields, the problem and the closest allowed value.

Arguments are read the way models send them: a `null`, blank string or (for an optional number)
0 in an optional field means "not given" (the strict schema form asks for exactly that), and the
call's `ToolContext` is pydantic's validation context, so validators can check names against the
store's vocabulary.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from p13n.domain.errors import Forbidden, InvalidInput, NotFound
from p13n.tools.catalog_words import closest, point_names
from p13n.tools.context import ToolContext
from p13n.tools.schema import input_schema, strict_schema
from p13n.tools.untrusted import clean_answer

__all__ = ["Action", "ToolHints", "describe_errors", "vocabularies"]

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)
_QUOTED = re.compile(r"'([^']*)'")


class ToolHints(BaseModel):
    """The MCP tool annotations, protocol-neutral (`readOnlyHint` and friends)."""

    model_config = ConfigDict(frozen=True)

    read_only: bool = Field(description="The tool changes nothing.")
    idempotent: bool = Field(
        description="Calling again with the same arguments changes nothing more."
    )
    destructive: bool = Field(default=False, description="The tool may delete or overwrite data.")
    open_world: bool = Field(default=False, description="The tool reaches outside this tenant.")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `annotation` (`M`, `M | None`, `list[M]`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found at `loc` inside `model` (list indices skipped)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        current = _model_of(field.annotation) if field is not None else None
    return list(current.model_fields) if current is not None else []


def describe_errors(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """`field: problem; ...` for the first few problems, as a model would want to read them:
    an unknown field names the allowed ones, a misspelled choice the closest allowed value."""
    parts = []
    for err in exc.errors()[:5]:
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "arguments"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("model_type", "model_attributes_type", "dict_type") and model:
            fields = _fields_at(model, loc)
            if fields:
                message = f"should be an object with the fields {', '.join(fields)}"
        if err["type"] == "extra_forbidden" and model is not None:
            allowed = _fields_at(model, loc[:-1])
            near = closest(str(loc[-1]), allowed, limit=1)
            message = "unknown field" + (f" (did you mean '{near[0]}'?)" if near else "")
            message += f"; allowed: {', '.join(allowed)}"
        elif err["type"] == "literal_error":
            expected = _QUOTED.findall(str((err.get("ctx") or {}).get("expected", "")))
            near = closest(str(err.get("input")), expected, limit=1)
            message = f"'{err.get('input')}' is not one of {', '.join(map(repr, expected))}"
            if near:
                message += f"; did you mean '{near[0]}'?"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _empty(value: Any, annotation: Any) -> bool:
    """A value that means "not given" in an optional field."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        # an empty list or map, where the field takes one: a `{}` where a text is asked for is
        # a wrong type, which validation must name, not "not given"
        return not value and _container(annotation)
    if type(value) in (int, float) and value == 0:
        return _numeric(annotation)
    return False


def _container(annotation: Any) -> bool:
    """Whether `annotation` takes a list, a map or an object (any member of a union)."""
    alias = getattr(annotation, "__value__", None)
    if alias is not None:
        return _container(alias)
    if annotation is Any:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel | list | dict):
        return True
    origin = typing.get_origin(annotation)
    if origin in (list, dict, tuple, set):
        return True
    if origin is typing.Annotated:
        return _container(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        return any(_container(a) for a in typing.get_args(annotation))
    return False


def _numeric(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    alias = getattr(annotation, "__value__", None)  # a type alias (generated models use them)
    if alias is not None:
        return _numeric(alias)
    if typing.get_origin(annotation) is typing.Annotated:
        return _numeric(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(_numeric(a) for a in args)
    return False


def _base(annotation: Any) -> Any:
    """`X` of `X`, `X | None` and `Annotated[X, ...]`; the annotation itself for other unions."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _base(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base(args[0]) if len(args) == 1 else annotation
    return annotation


def _is_map(annotation: Any) -> bool:
    """`dict[str, X]` (also behind a type alias, as generated models write it)."""
    alias = getattr(annotation, "__value__", None)
    if alias is not None:
        return _is_map(alias)
    return typing.get_origin(annotation) is dict


def _pairs_to_map(value: list[Any]) -> dict[str, Any] | None:
    """`[{name, value}, ...]` (the strict schema's form of a map) as the map; None when empty."""
    if not all(isinstance(v, Mapping) and set(v) == {"name", "value"} for v in value):
        return None if not value else {}
    out = {str(v["name"]): v["value"] for v in value if str(v["name"]).strip()}
    return out or None


def _lenient_value(value: Any, annotation: Any) -> Any:
    """Slips models make: one text where a list of texts is asked ('Women' for ['Women']), a
    number where a text is (an id or phone sent as a number); and a map sent as name/value
    pairs, as the strict schema asks for one."""
    base = _base(annotation)
    if isinstance(value, list) and _is_map(base):
        converted = _pairs_to_map(value)
        return value if converted == {} else converted
    if isinstance(value, str) and typing.get_origin(base) is list:
        (inner,) = typing.get_args(base) or (Any,)
        return [value] if _base(inner) is str else value
    if base is str and type(value) is int:
        return str(value)
    return value


def _says_nothing(model: type[BaseModel], value: Mapping[str, Any]) -> bool:
    """A normalized object whose members are all empty or their field's default."""
    by_alias = {f.alias: f for f in model.model_fields.values() if f.alias}
    for key, member in value.items():
        field = model.model_fields.get(key) or by_alias.get(key)
        if field is None:
            return False
        if not _empty(member, field.annotation) and (
            field.is_required() or member != field.default
        ):
            return False
    return True


def normalize(model: type[BaseModel], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`arguments` with "not given" optional fields dropped, nested models too, and the slips
    `_lenient_value` forgives."""
    out: dict[str, Any] = {}
    by_alias = {f.alias: f for f in model.model_fields.values() if f.alias}
    for key, value in arguments.items():
        field = model.model_fields.get(key) or by_alias.get(key)
        if field is None:
            out[key] = value  # extra=forbid names it
            continue
        if not field.is_required() and _empty(value, field.annotation):
            continue
        value = _lenient_value(value, field.annotation)
        if value is None and not field.is_required():
            continue
        nested = _model_of(field.annotation)
        if nested is not None and isinstance(value, Mapping):
            value = normalize(nested, value)
            if not field.is_required() and _says_nothing(nested, value):
                continue  # an object of empties (a strict-mode model's "nothing") is not given
        elif nested is not None and isinstance(value, list):
            value = [normalize(nested, v) if isinstance(v, Mapping) else v for v in value]
        out[key] = value
    return out


def vocabularies(ctx: ToolContext | None) -> dict[str, list[str]]:
    """The names the input schemas offer as `enum` (configured recommenders, active points)."""
    if ctx is None:
        return {}
    names = {"recommenders": sorted(ctx.recommend.configs)}
    points = point_names(ctx)
    if points:
        names["points"] = points
    return names


@dataclass(frozen=True)
class Action(Generic[In, Out]):
    name: str
    title: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    run: Callable[[ToolContext, In], Out]
    hints: ToolHints
    scope: str | None = None
    """A scope the caller needs beyond the transport's (`agent` for `/mcp` and `/actions`):
    `analyst` for the analytics actions; None for the shopper-facing ones."""

    def parse(self, arguments: Mapping[str, Any] | None, ctx: ToolContext | None = None) -> In:
        """The validated input; `ctx` lets validators check names against the store's."""
        raw = dict(arguments or {})
        try:
            return self.input_model.model_validate(
                normalize(self.input_model, raw), context={"tool_context": ctx}
            )
        except ValidationError as exc:
            problems = describe_errors(exc, self.input_model).rstrip(".")
            end = "" if problems.endswith("?") else "."
            raise InvalidInput(
                f"invalid arguments for {self.name}: {problems}{end}",
                hint="Fix those fields (the tool's input schema describes each) and call again.",
            ) from None

    def invoke(self, ctx: ToolContext, arguments: Mapping[str, Any] | None) -> Out:
        """Validate `arguments` and run; raises `P13nError` for what the caller can fix
        (`Forbidden` when the caller lacks the action's scope)."""
        if not ctx.caller.may_call(self.name):
            raise Forbidden(
                f"this key is limited to other tools than {self.name}.",
                hint="Call one of the tools tools/list shows, or use a key allowed this one"
                f" (p13n keys create --scope agent --tool {self.name}).",
            )
        if self.scope is not None and not ctx.caller.allows(self.scope):
            raise Forbidden(
                f"{self.name} needs the `{self.scope}` scope, which this credential lacks.",
                hint=f"Use a key with it (p13n keys create --scope agent --scope {self.scope}).",
            )
        return self.run(ctx, self.parse(arguments, ctx))

    def answer(self, ctx: ToolContext, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """`invoke`, as the JSON-ready data every adapter sends: catalog and profile text
        cleaned and bounded per field (`tools.untrusted`), so it reaches agents as data."""
        data: dict[str, Any] = clean_answer(self.invoke(ctx, arguments).model_dump(mode="json"))
        return data

    def input_schema(
        self, ctx: ToolContext | None = None, *, strict: bool = False
    ) -> dict[str, Any]:
        """The lenient (MCP, REST) or strict (OpenAI / Anthropic strict mode) input schema, with
        the names configured in `ctx`'s store as enums."""
        lenient = input_schema(self.input_model, vocabularies(ctx))
        return strict_schema(lenient) if strict else lenient


def unknown_action(name: str, known: list[str]) -> NotFound:
    near = closest(name, known, limit=1, cutoff=80)
    guess = f"Did you mean '{near[0]}'? " if near else ""
    return NotFound(f"no action '{name}'.", hint=f"{guess}Known actions: {', '.join(known)}.")
