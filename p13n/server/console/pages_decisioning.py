"""Points and decisions (admin, as `/admin/points` and `/admin/decisions`): list, create, edit,
delete, and a point's priority order with up/down arrows.

Forms are validated by the API's own models (`PersonalizationPoint`, `Decision`) and saved by
the same calls as `PUT /admin/...` (`DecisionService.change`), so a form accepts exactly what
the API accepts: a model error comes back next to its field with the model's message, a
cross-object refusal (the point does not exist, content that does not fit the point, a
running experiment) above the form, and nothing is saved in either case. Targeting is edited
with the rule builder or as its JSON; the builder's edits, the merge-field preview and the
drag reorder are in `pages_targeting.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from p13n.domain.access import Scope
from p13n.domain.decisions import Decision, PersonalizationPoint
from p13n.domain.errors import NotFound, P13nError
from p13n.domain.services import DecisionService
from p13n.server.console import targeting_form
from p13n.server.console.pages_targeting import builder_mode, content_lines, targeting_context
from p13n.server.console.web import (
    ConsoleError,
    ConsoleUser,
    PostUserDep,
    UserDep,
    need,
    render,
)

__all__ = ["decision_from_form", "field_errors", "point_from_form", "router"]

router = APIRouter(include_in_schema=False)
_UNION_TAGS = {"Recommendations", "ManualContent"}


def _service(user: ConsoleUser) -> DecisionService:
    need(user, Scope.ADMIN)
    return user.services.decisions


def field_errors(exc: ValidationError, fields: set[str]) -> tuple[dict[str, str], list[str]]:
    """(errors by form field, errors no field names): each problem goes to the longest form
    field its location starts with (`contentSchema.itemFields`, else `contentSchema`)."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for err in exc.errors():
        parts = [str(p) for p in err["loc"] if str(p) not in _UNION_TAGS]
        message = err["msg"].removeprefix("Value error, ")
        target = None
        for n in range(len(parts), 0, -1):
            if ".".join(parts[:n]) in fields:
                target = ".".join(parts[:n])
                break
        if target is None:
            general.append(f"{'.'.join(parts) or 'form'}: {message}")
        elif target in by_field:
            by_field[target] += f"; {message}"
        else:
            by_field[target] = message if len(parts) == 1 else f"{'.'.join(parts[1:])}: {message}"
    return by_field, general


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]


DECISION_FIELDS = {
    "name",
    "point",
    "label",
    "priority",
    "state",
    "recommender",
    "attributes",
    "targeting",
}
POINT_FIELDS = {
    "name",
    "label",
    "description",
    "contentSchema",
    "contentSchema.type",
    "contentSchema.attributes",
    "contentSchema.itemFields",
    "maxItems",
    "authenticationRequired",
    "status",
}


def decision_from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as the API's JSON body, and the errors of fields that are not even JSON."""
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "point": form.get("point", "").strip(),
        "label": form.get("label", "").strip(),
        "state": form.get("state", "Draft"),
        "attributes": content_lines(form.get("attributes", "")),
    }
    errors: dict[str, str] = {}
    if form.get("priority", "").strip():
        data["priority"] = form["priority"].strip()
    if form.get("recommender", "").strip():
        data["recommender"] = form["recommender"].strip()
    targeting = form.get("targeting", "").strip()
    if builder_mode(form):
        data["targeting"] = targeting_form.tree_from_form(form)
    elif targeting:
        try:
            data["targeting"] = json.loads(targeting)
        except ValueError as exc:
            errors["targeting"] = f"not valid JSON ({exc})"
    return data, errors


def point_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    kind = form.get("contentSchema.type", "")
    schema: dict[str, Any] = {"type": kind}
    if form.get("contentSchema.attributes", "").strip():
        schema["attributes"] = _words(form["contentSchema.attributes"])
    if kind == "Recommendations" and form.get("contentSchema.itemFields", "").strip():
        schema["itemFields"] = _words(form["contentSchema.itemFields"])
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "label": form.get("label", "").strip(),
        "description": form.get("description", "").strip(),
        "contentSchema": schema,
        "authenticationRequired": form.get("authenticationRequired") == "true",
        "status": form.get("status", "Active"),
    }
    if form.get("maxItems", "").strip():
        data["maxItems"] = form["maxItems"].strip()
    return data


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


def _decision_values(d: Decision) -> dict[str, str]:
    return {
        "name": d.name,
        "point": d.point,
        "label": d.label,
        "priority": str(d.priority or ""),
        "state": d.state,
        "recommender": d.recommender or "",
        "attributes": "\n".join(f"{k}: {v}" for k, v in d.attributes.items()),
        "targeting": json.dumps(d.targeting.model_dump(mode="json", by_alias=True), indent=2),
    }


def _point_values(p: PersonalizationPoint) -> dict[str, str]:
    schema = p.content_schema
    return {
        "name": p.name,
        "label": p.label,
        "description": p.description,
        "contentSchema.type": schema.type,
        "contentSchema.attributes": ", ".join(schema.attributes),
        "contentSchema.itemFields": ", ".join(getattr(schema, "item_fields", [])),
        "maxItems": str(p.max_items),
        "authenticationRequired": "true" if p.authentication_required else "false",
        "status": p.status,
    }


# -- lists and one point ----------------------------------------------------------------------
@router.get("/console/decisioning")
def decisioning(request: Request, user: UserDep) -> Response:
    configs = _service(user).configs
    points = sorted(configs.points.values(), key=lambda p: p.name)
    return render(
        request,
        "decisioning.html",
        {"points": points, "by_point": configs.decisions_by_point},
        user=user,
    )


@router.get("/console/decisioning/points/{name}")
def point_page(request: Request, name: str, user: UserDep) -> Response:
    configs = _service(user).configs
    try:
        point = configs.get_point(name)
    except NotFound as exc:
        raise ConsoleError(404, "No such point", str(exc)) from None
    return _point_form(request, user, _point_values(point), existing=point.name)


def _point_form(
    request: Request,
    user: ConsoleUser,
    values: Mapping[str, str],
    *,
    existing: str | None,
    errors: Mapping[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    configs = user.services.decisions.configs
    decisions = configs.decisions_by_point.get(existing, []) if existing else []
    return render(
        request,
        "point_form.html",
        {
            "values": values,
            "existing": existing,
            "errors": errors or {},
            "general": general or [],
            "decisions": decisions,
        },
        status_code=status,
        user=user,
    )


@router.get("/console/decisioning/points:new")
def new_point(request: Request, user: UserDep) -> Response:
    _service(user)
    values = {"contentSchema.type": "Recommendations", "status": "Active", "maxItems": "12"}
    return _point_form(request, user, values, existing=None)


@router.post("/console/decisioning/points")
async def save_point(request: Request, user: PostUserDep) -> Response:
    service = _service(user)
    form = await _form(request)
    existing = form.get("existing") or None
    try:
        point = PersonalizationPoint.model_validate(point_from_form(form))
    except ValidationError as exc:
        errors, general = field_errors(exc, POINT_FIELDS)
        return _point_form(
            request, user, form, existing=existing, errors=errors, general=general, status=422
        )
    if existing and existing != point.name:
        general = [f"A point's name cannot change ('{existing}'): create a new point instead."]
        return _point_form(request, user, form, existing=existing, general=general, status=422)
    try:
        service.change(lambda c: c.put_point(point))
    except P13nError as exc:
        return _point_form(request, user, form, existing=existing, general=[str(exc)], status=422)
    return RedirectResponse(f"/console/decisioning/points/{quote(point.name)}", status_code=303)


@router.post("/console/decisioning/points/{name}:delete")
def delete_point(request: Request, name: str, user: PostUserDep) -> Response:
    service = _service(user)
    try:
        service.change(lambda c: c.delete_point(name))
    except NotFound as exc:
        raise ConsoleError(404, "No such point", str(exc)) from None
    except P13nError as exc:
        raise ConsoleError(409, "The point was not deleted", str(exc)) from None
    return RedirectResponse("/console/decisioning", status_code=303)


# -- decisions --------------------------------------------------------------------------------
def _decision_form(
    request: Request,
    user: ConsoleUser,
    values: Mapping[str, str],
    *,
    existing: str | None,
    errors: Mapping[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    configs = user.services.decisions.configs
    return render(
        request,
        "decision_form.html",
        {
            "values": values,
            "existing": existing,
            "errors": errors or {},
            "general": general or [],
            "points": sorted(configs.points),
            "recommenders": sorted(user.services.recommend.configs),
            **targeting_context(user, values, errors or {}),
        },
        status_code=status,
        user=user,
    )


@router.get("/console/decisioning/decisions:new")
def new_decision(request: Request, user: UserDep, point: str = "") -> Response:
    _service(user)
    values = {"point": point, "state": "Draft", "targeting": '{"type": "Always"}'}
    return _decision_form(request, user, values, existing=None)


@router.get("/console/decisioning/decisions/{name}")
def decision_page(request: Request, name: str, user: UserDep) -> Response:
    configs = _service(user).configs
    try:
        decision = configs.get_decision(name)
    except NotFound as exc:
        raise ConsoleError(404, "No such decision", str(exc)) from None
    return _decision_form(request, user, _decision_values(decision), existing=decision.name)


@router.post("/console/decisioning/decisions")
async def save_decision(request: Request, user: PostUserDep) -> Response:
    service = _service(user)
    form = await _form(request)
    existing = form.get("existing") or None
    data, errors = decision_from_form(form)
    decision: Decision | None = None
    general: list[str] = []
    try:
        decision = Decision.model_validate(data)
    except ValidationError as exc:
        more, general = field_errors(exc, DECISION_FIELDS)
        if builder_mode(form):
            more.pop("targeting", None)
            more.update(targeting_form.builder_errors(exc))
        errors = {**more, **errors}
    if decision is not None and existing and existing != decision.name:
        general.append(f"A decision's name cannot change ('{existing}'): create a new one.")
    if errors or general or decision is None:
        return _decision_form(
            request, user, form, existing=existing, errors=errors, general=general, status=422
        )
    chosen = decision
    try:
        service.change(lambda c: c.put_decision(chosen))
    except P13nError as exc:
        return _decision_form(
            request, user, form, existing=existing, general=[str(exc)], status=422
        )
    return RedirectResponse(
        f"/console/decisioning/points/{quote(chosen.point)}#decisions", status_code=303
    )


@router.post("/console/decisioning/decisions/{name}:delete")
def delete_decision(request: Request, name: str, user: PostUserDep) -> Response:
    service = _service(user)
    try:
        point = service.configs.get_decision(name).point
        service.change(lambda c: c.delete_decision(name))
    except NotFound as exc:
        raise ConsoleError(404, "No such decision", str(exc)) from None
    except P13nError as exc:
        raise ConsoleError(409, "The decision was not deleted", str(exc)) from None
    return RedirectResponse(f"/console/decisioning/points/{quote(point)}", status_code=303)


@router.post("/console/decisioning/decisions/{name}:move")
async def move_decision(request: Request, name: str, user: PostUserDep) -> Response:
    """Swap the decision's priority with its neighbour's (`direction` up: evaluated earlier)."""
    service = _service(user)
    direction = (await _form(request)).get("direction", "up")
    try:
        decision = service.configs.get_decision(name)
    except NotFound as exc:
        raise ConsoleError(404, "No such decision", str(exc)) from None

    def move(configs: Any) -> None:
        order = list(configs.decisions_by_point.get(decision.point, []))
        at = [d.name for d in order].index(name)
        other = at - 1 if direction == "up" else at + 1
        if not 0 <= other < len(order):
            return
        mine, theirs = order[at], order[other]
        a, b = mine.priority or at + 1, theirs.priority or other + 1
        if a == b:
            a, b = (b + 1, b) if direction == "down" else (b, b + 1)
        configs.put_decision(_with(mine, priority=b))
        configs.put_decision(_with(theirs, priority=a))

    try:
        service.change(move)
    except P13nError as exc:
        raise ConsoleError(409, "The order was not changed", str(exc)) from None
    return RedirectResponse(
        f"/console/decisioning/points/{quote(decision.point)}#decisions", status_code=303
    )


def _with(model: Decision, **update: Any) -> Decision:
    """A validated copy (model_copy would skip the model's checks)."""
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True)
    data.update(update)
    validated: BaseModel = Decision.model_validate(data)
    assert isinstance(validated, Decision)
    return validated
