"""The targeting-rule builder's form: a decision's targeting as named controls and back.

The builder edits the same dict the API takes (`Decision.targeting`), so the model validates
it and nothing else does. Controls are named by their path in the tree: `t.type` is the top
group's `Always` / `All` / `Any`; `t.0.kind` the first rule's kind (a condition source, or
`group` for a nested `All` / `Any` group); `t.0.operator`, `t.0.value`, `t.1.2.field` and so
on. The kinds are read from the condition models themselves (`KINDS`), so a source added to a
model appears in the builder.

Values are typed as text: a list operator (`Match Any`, ...) and `Is Between` take
comma-separated values; `42`, `4.5`, `true` and `false` are read as a number or a boolean,
anything else as text (the JSON view is there for a text that looks like a number).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, get_args

from pydantic import ValidationError

from p13n.domain.decisions import RequestCondition
from p13n.domain.operators import (
    LIST_OPERATORS,
    NO_VALUE_OPERATORS,
    Operator,
)
from p13n.domain.segments import Condition as ProfileCondition

__all__ = [
    "GROUP",
    "KINDS",
    "OPERATORS",
    "ROOT",
    "SCHEDULE",
    "builder_errors",
    "edit_tree",
    "kind_of",
    "operand_text",
    "tree_from_form",
]

ROOT = "t"
GROUP = "group"
SCHEDULE = "schedule"
PROFILE_KINDS: tuple[str, ...] = get_args(ProfileCondition.model_fields["source"].annotation)
REQUEST_KINDS: tuple[str, ...] = get_args(RequestCondition.model_fields["source"].annotation)
KINDS: tuple[str, ...] = (*PROFILE_KINDS, *REQUEST_KINDS, SCHEDULE, GROUP)
NAMED_KINDS = frozenset({"pageType", "channel", "locale"})  # request values with no `field`
OPERATORS: tuple[str, ...] = tuple(op.value for op in Operator)
_TAGS = {"profile", "request", "schedule", "group"}
_NEW_CONDITION: dict[str, Any] = {"source": "attribute", "field": "", "operator": "Has Value"}


def kind_of(node: Mapping[str, Any]) -> str:
    """A rule's builder kind: `group` for a nested group, else its condition source."""
    if "rules" in node or "type" in node:
        return GROUP
    return str(node.get("source") or "attribute")


def _scalar(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, bool | int | float) else text


def _operand(operator: str, text: str) -> Any:
    """The value control's text as the operand the operator takes (absent: None)."""
    text = text.strip()
    if operator in NO_VALUE_OPERATORS or (not text and operator not in LIST_OPERATORS):
        return None
    if operator in LIST_OPERATORS or operator == Operator.IS_BETWEEN:
        return [_scalar(part.strip()) for part in text.split(",") if part.strip()]
    return _scalar(text)  # day counts too: a whole number


def operand_text(value: Any) -> str:
    """An operand as the value control shows it (the inverse of `_operand`)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(operand_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _indices(form: Mapping[str, str], prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.kind$")
    found = {int(m.group(1)) for key in form if (m := pattern.match(key))}
    return sorted(found)


def _condition(form: Mapping[str, str], at: str, kind: str) -> dict[str, Any]:
    def get(name: str) -> str:
        return form.get(f"{at}.{name}", "").strip()

    if kind == SCHEDULE:
        node: dict[str, Any] = {"source": SCHEDULE, "timeZone": get("timeZone") or "UTC"}
        for name in ("startDate", "endDate"):
            if get(name):
                node[name] = get(name)
        days = [d.strip() for d in get("days").split(",") if d.strip()]
        if days:
            node["days"] = days
        if get("hours.start") or get("hours.end"):
            node["hours"] = {"start": get("hours.start"), "end": get("hours.end")}
        return node
    operator = get("operator")
    node = {"source": kind, "operator": operator}
    if kind not in NAMED_KINDS:
        node["field"] = get("field")
    if kind in ("insight", "affinity") and get("key"):
        node["key"] = get("key")
    if kind == "engagement" and get("window_days"):
        node["window_days"] = _scalar(get("window_days"))
    value = _operand(operator, form.get(f"{at}.value", ""))
    if value is not None:
        node["value"] = value
    return node


def _rules(form: Mapping[str, str], prefix: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for index in _indices(form, prefix):
        at = f"{prefix}.{index}"
        kind = form.get(f"{at}.kind", "attribute")
        if kind == GROUP:
            rules.append({"type": form.get(f"{at}.type") or "All", "rules": _rules(form, at)})
        else:
            rules.append(_condition(form, at, kind))
    return rules


def tree_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The builder's controls as the targeting dict the API takes (not validated here)."""
    kind = form.get(f"{ROOT}.type") or "Always"
    if kind == "Always":
        return {"type": "Always"}
    return {"type": kind, "rules": _rules(form, ROOT)}


def _node(tree: dict[str, Any], path: list[int]) -> dict[str, Any]:
    node = tree
    for index in path:
        node = node["rules"][index]
    return node


def _path(at: str) -> list[int]:
    parts = at.split(".")
    if parts[0] != ROOT or not all(p.isdigit() for p in parts[1:]):
        raise ValueError(f"not a builder path: {at!r}")
    return [int(p) for p in parts[1:]]


def edit_tree(tree: dict[str, Any], op: str) -> dict[str, Any]:
    """One builder edit, `action:path`: `add:t.1` appends a condition to the group at path,
    `group:t` a nested group (with one condition), `remove:t.1.0` drops that rule. A group
    left empty by a removal stays (the model then says it needs a rule); `Always` becomes
    `All` when a rule is added to it; any other edit gives an empty group one condition."""
    action, _, at = op.partition(":")
    path = _path(at)
    if action in ("add", "group"):
        group = _node(tree, path)
        if group.get("type", "Always") == "Always":
            group["type"] = "All"
        rule = dict(_NEW_CONDITION)
        if action == "group":  # past the model's nesting limit, saving says so
            rule = {"type": "Any", "rules": [dict(_NEW_CONDITION)]}
        group.setdefault("rules", []).append(rule)
    elif action == "remove" and path:
        parent = _node(tree, path[:-1])
        if 0 <= path[-1] < len(parent.get("rules", [])):
            del parent["rules"][path[-1]]
    if action != "remove":
        _fill_empty_groups(tree)
    return tree


def _fill_empty_groups(group: dict[str, Any]) -> None:
    """A group just made (`Always` turned `All`, a row turned into a group) gets one
    condition to fill in."""
    if group.get("type") not in ("All", "Any"):
        return
    if not group.get("rules"):
        group["rules"] = [dict(_NEW_CONDITION)]
    for rule in group["rules"]:
        if kind_of(rule) == GROUP:
            _fill_empty_groups(rule)


def builder_errors(exc: ValidationError) -> dict[str, str]:
    """The model's targeting errors by builder control or row: `t.0.operator` for a field,
    `t.1.0` for a whole condition, `t` for the top group."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if not loc or loc[0] != "targeting":
            continue
        key, rest = ROOT, loc[1:]
        while len(rest) >= 2 and rest[0] == "rules" and rest[1].isdigit():
            key, rest = f"{key}.{rest[1]}", rest[2:]
            if rest and rest[0] in _TAGS:
                rest = rest[1:]
        if rest and rest[0] != "rules":
            key = f"{key}.{rest[0]}"
        message = err["msg"].removeprefix("Value error, ")
        out[key] = f"{out[key]}; {message}" if key in out else message
    return out
