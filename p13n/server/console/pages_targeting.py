"""The decision form's live parts (admin): the targeting-rule builder's edits, the merge-field
preview, and a point's decisions reordered by drag.

The builder is re-rendered by the server on every structural edit (add, remove, change a
rule's kind, switch to JSON and back), so the page needs no script of its own for it; the
saved targeting is validated by `Decision` like any other field. The preview renders the
content with `decisions.merge.render`, the function the decision path uses, for the profile
`Engine.get_profile` gives (the one `GET /profiles/{id}` answers).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.domain.decisions import Decision, render
from p13n.domain.errors import NotFound, P13nError
from p13n.server.console import targeting_form as tf
from p13n.server.console.web import ConsoleError, ConsoleUser, PostUserDep, need
from p13n.server.console.web import render as render_page

__all__ = ["builder_mode", "content_lines", "router", "rule_label", "targeting_context"]

router = APIRouter(include_in_schema=False)
KIND_LABELS = {
    "attribute": "Profile attribute",
    "insight": "Calculated insight",
    "engagement": "Engagement count",
    "affinity": "Affinity score",
    "segment": "Segment membership",
    "context": "Context variable",
    "pageType": "Page type",
    "channel": "Channel",
    "locale": "Locale",
    "requestUrl": "Request URL",
    "urlParameter": "URL parameter",
    "utm": "UTM parameter",
    "schedule": "Schedule",
    "group": "Group (All / Any)",
}


def rule_label(at: str) -> str:
    """`t.0.2` as people count it: `Rule 1.3`."""
    return "Rule " + ".".join(str(int(p) + 1) for p in at.split(".")[1:])


def builder_mode(form: Mapping[str, str]) -> bool:
    """Whether a posted decision form carries its targeting in the builder's controls."""
    mode = form.get("targeting_mode")
    return mode == "builder" or (mode is None and f"{tf.ROOT}.type" in form)


def _pretty(tree: Any) -> str:
    return json.dumps(tree, indent=2)


def targeting_context(
    user: ConsoleUser, values: Mapping[str, str], errors: Mapping[str, str]
) -> dict[str, Any]:
    """What `_targeting.html` needs: the mode, the rule tree, its JSON, and the errors by
    builder control."""
    terrors = {k: v for k, v in errors.items() if k == tf.ROOT or k.startswith(f"{tf.ROOT}.")}
    mode, tree, text = "builder", {"type": "Always"}, values.get("targeting", "")
    if builder_mode(values):
        tree = tf.tree_from_form(values)
        text = _pretty(tree)
    elif values.get("targeting_mode") == "json":
        mode = "json"
    else:
        try:
            parsed = json.loads(text) if text.strip() else {"type": "Always"}
            tree = parsed if isinstance(parsed, dict) else {}
        except ValueError:
            mode = "json"
        if not isinstance(tree, dict) or "type" not in tree:
            mode = "json"
    return {
        "mode": mode,
        "tree": tree,
        "targeting_json": text,
        "terrors": terrors,
        "kinds": tf.KINDS,
        "kind_labels": KIND_LABELS,
        "kind_of": tf.kind_of,
        "operand_text": tf.operand_text,
        "operators": tf.OPERATORS,
        "rule_label": rule_label,
        "segment_names": [s.name for s in user.services.engine.state.segments],
    }


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


@router.post("/console/decisioning/targeting:edit")
async def edit_targeting(request: Request, user: PostUserDep) -> Response:
    """The builder re-rendered after one edit (`op`), or switched between builder and JSON."""
    need(user, Scope.ADMIN)
    form = await _form(request)
    values: dict[str, str] = dict(form)
    errors: dict[str, str] = {}
    if form.get("targeting_mode") == "json" and f"{tf.ROOT}.type" in form:
        values["targeting"] = _pretty(tf.tree_from_form(form))  # builder → JSON
    elif form.get("targeting_mode") == "builder" and f"{tf.ROOT}.type" not in form:
        values = {k: v for k, v in form.items() if k != "targeting_mode"}  # JSON → builder
        try:
            json.loads(values.get("targeting") or "{}")
        except ValueError as exc:
            values["targeting_mode"] = "json"
            errors["targeting"] = f"not valid JSON ({exc}); fix it before using the builder"
    elif builder_mode(form) and form.get("op"):
        tree = tf.tree_from_form(form)
        # a stale button (the page changed underneath) leaves the tree as it is
        with contextlib.suppress(ValueError, IndexError, KeyError, TypeError):
            tree = tf.edit_tree(tree, form["op"])
        values = {"targeting": _pretty(tree)}
    elif builder_mode(form):
        tree = tf.edit_tree(tf.tree_from_form(form), "none:t")  # `Always` → `All` adds a row
        values = {"targeting": _pretty(tree)}
    context = targeting_context(user, values, errors)
    return render_page(request, "targeting_fragment.html", {**context, "errors": errors}, user=user)


def content_lines(text: str) -> dict[str, str]:
    """`key: value` lines (a decision's content attributes); blank lines are skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        out[key.strip()] = value.strip() if sep else ""
    return out


@router.post("/console/decisioning/decisions:preview")
async def preview_content(request: Request, user: PostUserDep) -> Response:
    """The content's texts with merge fields filled in for one person (a person nobody knows
    is shown as an anonymous visitor: every merge field takes its default)."""
    need(user, Scope.ADMIN)
    form = await _form(request)
    texts = content_lines(form.get("attributes", ""))
    who = form.get("preview_person", "").strip()
    problem, unknown, profile = None, None, None
    try:  # the model's own check of the merge fields (malformed, too many)
        Decision.model_validate({"name": "preview", "point": "preview", "attributes": texts})
    except ValidationError as exc:
        problem = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
    if who:
        try:
            profile = await run_in_threadpool(user.services.engine.get_profile, who)
        except NotFound as exc:
            unknown = str(exc)
    rendered = {k: render(v, profile, {}) for k, v in texts.items()} if problem is None else {}
    context = {
        "who": who,
        "profile": profile,
        "rendered": rendered,
        "problem": problem,
        "unknown": unknown,
    }
    return render_page(request, "merge_preview.html", context, user=user)


@router.post("/console/decisioning/points/{name}:order")
async def order_decisions(request: Request, name: str, user: PostUserDep) -> Response:
    """Set a point's decisions to priorities 1..n in the order given (`order`, the names
    comma-separated; every decision of the point exactly once)."""
    need(user, Scope.ADMIN)
    service = user.services.decisions
    if name not in service.configs.points:
        raise ConsoleError(404, "No such point", f"There is no point '{name}'.")
    order = [n.strip() for n in (await _form(request)).get("order", "").split(",") if n.strip()]
    current = [d.name for d in service.configs.decisions_by_point.get(name, [])]
    if sorted(order) != sorted(current):
        raise ConsoleError(
            409,
            "The order was not changed",
            "The list names other decisions than the point has (someone changed it): reload "
            "the page and drag again.",
        )

    def reorder(configs: Any) -> None:
        for priority, decision_name in enumerate(order, start=1):
            data = configs.get_decision(decision_name).model_dump(mode="json", by_alias=True)
            configs.put_decision(Decision.model_validate({**data, "priority": priority}))

    try:
        service.change(reorder)
    except P13nError as exc:
        raise ConsoleError(409, "The order was not changed", str(exc)) from None
    return RedirectResponse(f"/console/decisioning/points/{quote(name)}#decisions", 303)
