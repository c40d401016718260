"""Recommenders (admin, as `/admin/recommenders`): list, edit and create, and a preview for any
person and anchor item.

The form is the recommender model's fields: label, limit, fallback, the switches and the
diversity as controls; the recipe, the include / exclude filter groups and the boosters as
their JSON (each a nested model of its own). `RecommenderConfig` validates the whole and
`RecommendService.put_config` saves it (the fallback's existence and loops are checked there),
so the form accepts what `PUT /admin/recommenders/{name}` accepts. The preview calls
`RecommendService.recommend`, the function behind `POST /recommendations`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.domain.errors import NotFound, P13nError
from p13n.domain.recommend import RecommenderConfig, RecommendRequest
from p13n.domain.services import RecommendService
from p13n.server.console.pages_decisioning import field_errors
from p13n.server.console.web import ConsoleError, ConsoleUser, PostUserDep, UserDep, need, render

__all__ = ["recommender_from_form", "recommender_values", "router"]

router = APIRouter(include_in_schema=False)
_JSON_FIELDS = ("recipe", "include", "exclude", "boosters")
_SWITCHES = ("exclude_purchased", "in_stock_only", "exclude_in_cart")
FIELDS = {
    "name",
    "label",
    "limit",
    "fallback",
    *_JSON_FIELDS,
    "switches",
    *(f"switches.{s}" for s in (*_SWITCHES, "exclude_viewed_days")),
    "diversity",
    "diversity.field",
    "diversity.max_per_value",
    "diversity.weight",
}


def _service(user: ConsoleUser) -> RecommendService:
    need(user, Scope.ADMIN)
    return user.services.recommend


def recommender_values(config: RecommenderConfig) -> dict[str, str]:
    """A stored recommender as the form's control values."""
    data = config.model_dump(mode="json")
    values = {
        "name": config.name,
        "label": config.label or "",
        "limit": str(config.limit),
        "fallback": config.fallback or "",
        "recipe": json.dumps(data["recipe"], indent=2),
        "include": json.dumps(data["include"], indent=2) if config.include else "",
        "exclude": json.dumps(data["exclude"], indent=2) if config.exclude else "",
        "boosters": json.dumps(data["boosters"], indent=2) if config.boosters else "",
        "switches.exclude_viewed_days": str(config.switches.exclude_viewed_days or ""),
        "diversity.field": config.diversity.field if config.diversity else "",
        "diversity.max_per_value": str(config.diversity.max_per_value) if config.diversity else "",
        "diversity.weight": f"{config.diversity.weight:g}" if config.diversity else "",
    }
    for name in _SWITCHES:
        values[f"switches.{name}"] = "true" if getattr(config.switches, name) else "false"
    return values


def recommender_from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as the API's JSON body, and the errors of the JSON fields that do not parse."""
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "label": form.get("label", "").strip() or None,
        "fallback": form.get("fallback", "").strip() or None,
        "switches": {name: form.get(f"switches.{name}") == "true" for name in _SWITCHES},
    }
    errors: dict[str, str] = {}
    if form.get("limit", "").strip():
        data["limit"] = form["limit"].strip()
    days = form.get("switches.exclude_viewed_days", "").strip()
    data["switches"]["exclude_viewed_days"] = days or None
    if form.get("diversity.field", "").strip():
        data["diversity"] = {"field": form["diversity.field"]}
        if form.get("diversity.max_per_value", "").strip():
            data["diversity"]["max_per_value"] = form["diversity.max_per_value"].strip()
        if form.get("diversity.weight", "").strip():
            data["diversity"]["weight"] = form["diversity.weight"].strip()
    for name in _JSON_FIELDS:
        text = form.get(name, "").strip()
        if not text:
            continue
        try:
            data[name] = json.loads(text)
        except ValueError as exc:
            errors[name] = f"not valid JSON ({exc})"
    return data, errors


@router.get("/console/recommenders")
def recommenders(request: Request, user: UserDep) -> Response:
    configs = sorted(_service(user).configs.values(), key=lambda c: c.name)
    return render(request, "recommenders.html", {"configs": configs}, user=user)


def _form_page(
    request: Request,
    user: ConsoleUser,
    values: Mapping[str, str],
    *,
    existing: str | None,
    errors: Mapping[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    names = sorted(user.services.recommend.configs)
    context = {
        "values": values,
        "existing": existing,
        "errors": errors or {},
        "general": general or [],
        "fallbacks": [n for n in names if n != existing],
    }
    return render(request, "recommender_form.html", context, status_code=status, user=user)


@router.get("/console/recommenders:new")
def new_recommender(request: Request, user: UserDep) -> Response:
    _service(user)
    values = {
        "recipe": '{"algorithm": "top-sellers"}',
        "limit": "12",
        "fallback": "top-sellers",
        **{f"switches.{s}": "true" for s in ("exclude_purchased", "in_stock_only")},
    }
    return _form_page(request, user, values, existing=None)


@router.get("/console/recommenders/{name}")
def recommender_page(request: Request, name: str, user: UserDep) -> Response:
    try:
        config = _service(user).get_config(name)
    except NotFound as exc:
        raise ConsoleError(404, "No such recommender", str(exc)) from None
    return _form_page(request, user, recommender_values(config), existing=config.name)


@router.post("/console/recommenders")
async def save_recommender(request: Request, user: PostUserDep) -> Response:
    service = _service(user)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    existing = form.get("existing") or None
    data, errors = recommender_from_form(form)
    general: list[str] = []
    config: RecommenderConfig | None = None
    try:
        config = RecommenderConfig.model_validate(data)
    except ValidationError as exc:
        more, general = field_errors(exc, FIELDS)
        errors = {**more, **errors}
    if config is not None and existing and existing != config.name:
        general.append(f"A recommender's name cannot change ('{existing}'): create a new one.")
    if errors or general or config is None:
        return _form_page(
            request, user, form, existing=existing, errors=errors, general=general, status=422
        )
    try:
        await run_in_threadpool(service.put_config, config)
    except P13nError as exc:
        return _form_page(request, user, form, existing=existing, general=[str(exc)], status=422)
    return RedirectResponse(f"/console/recommenders/{quote(config.name)}", status_code=303)


@router.post("/console/recommenders/{name}:preview")
async def preview(request: Request, name: str, user: PostUserDep) -> Response:
    """Item cards (image, name, price, reason) for a person and an anchor, as the API serves."""
    service = _service(user)
    if name not in service.configs:
        raise ConsoleError(404, "No such recommender", f"There is no recommender '{name}'.")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    who = form.get("person", "").strip() or None
    anchor = form.get("anchor", "").strip() or None
    asked = RecommendRequest(recommender=name, individual=who, anchor=anchor)
    problem, cards, answer = None, [], None
    try:
        answer = await run_in_threadpool(service.recommend, asked)
    except P13nError as exc:
        problem = str(exc)
    if answer is not None:
        items = user.services.engine.state.items
        for rec in answer.items:
            item = items.get(rec.id)
            cards.append(
                {
                    "rec": rec,
                    "name": rec.name or (item.name if item else None) or rec.id,
                    "image": item.image_url if item else None,
                    "price": rec.price if rec.price is not None else (item.price if item else None),
                    "currency": item.currency if item else None,
                }
            )
    context = {"cards": cards, "problem": problem, "answer": answer, "who": who, "anchor": anchor}
    return render(request, "recommender_preview.html", context, user=user)
