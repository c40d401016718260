"""People: find a person by any identifier; one page with their profile graph (attributes,
identities, insights, segments, affinities, cart, orders), a timeline of their recent events
and, for admin keys (as `GET /identity/{id}` asks), the identity lineage.

Finding posts the identifier (an email or phone stays out of URLs and access logs) and
redirects to the person's unified id. Reads go through `Engine.get_profile` and
`IdentityControl.lineage`, the functions behind `GET /profiles/{id}` and `GET /identity/{id}`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.domain.errors import NotFound
from p13n.domain.graphs import ProfileGraph
from p13n.domain.services import Engine
from p13n.server.console.web import ConsoleError, PostUserDep, UserDep, need, render, when

__all__ = ["affinity_bars", "router", "timeline"]

router = APIRouter(include_in_schema=False)
_TOP_AFFINITIES = 6


def _item_name(engine: Engine, item_id: str | None) -> str:
    if not item_id:
        return ""
    item = engine.state.items.get(item_id)
    return (item.name or item_id) if item is not None else item_id


def timeline(profile: ProfileGraph, engine: Engine) -> list[dict[str, Any]]:
    """The profile's recent events and orders, newest first."""
    rows: list[dict[str, Any]] = [
        {
            "ts": e.ts,
            "when": when(e.ts),
            "what": e.interaction,
            "item_id": e.item_id,
            "item": _item_name(engine, e.item_id),
            "detail": " / ".join(x for x in (e.category, e.brand) if x),
            "value": e.value,
        }
        for e in profile.engagement
    ]
    seen = {(r["ts"], r["what"]) for r in rows}
    for order in profile.purchases:
        if (order.ts, "Purchase") in seen:
            continue
        rows.append(
            {
                "ts": order.ts,
                "when": when(order.ts),
                "what": "Order",
                "item_id": None,
                "item": ", ".join(_item_name(engine, line.item_id) for line in order.lines),
                "detail": order.order_id or "",
                "value": order.value,
            }
        )
    return sorted(rows, key=lambda r: r["ts"], reverse=True)


def affinity_bars(affinities: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """Per dimension (category, brand, ...) the top values with their share of the largest,
    for the page's bars (drawn as inline SVG by the template, no script)."""
    out = []
    for dimension, scores in sorted(affinities.items()):
        top = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:_TOP_AFFINITIES]
        peak = max((v for _, v in top), default=0.0) or 1.0
        out.append(
            {
                "dimension": dimension,
                "values": [
                    {"name": name, "score": score, "share": max(score, 0.0) / peak}
                    for name, score in top
                ],
            }
        )
    return out


@router.get("/console/people")
def people(request: Request, user: UserDep) -> Response:
    need(user, Scope.DECIDE)
    stats = user.services.engine.stats()
    return render(request, "people.html", {"stats": stats, "error": None, "q": ""}, user=user)


@router.post("/console/people:find")
async def find_person(
    request: Request, user: PostUserDep, q: Annotated[str, Form()] = ""
) -> Response:
    need(user, Scope.DECIDE)
    identifier = q.strip()
    uid = user.services.engine.resolve(identifier) if identifier else None
    if uid is None or user.services.engine.load_profile(uid) is None:
        error = (
            f"Nobody is known as '{identifier}'. Try a device id, individual id, unified id, "
            "email or phone that has sent a tracked event."
            if identifier
            else "Type an identifier to look up."
        )
        stats = await run_in_threadpool(user.services.engine.stats)
        return render(
            request,
            "people.html",
            {"stats": stats, "error": error, "q": identifier},
            status_code=404 if identifier else 422,
            user=user,
        )
    return RedirectResponse(f"/console/people/{quote(uid, safe='')}", status_code=303)


@router.get("/console/people/{unified_id}")
async def person(request: Request, unified_id: str, user: UserDep) -> Response:
    need(user, Scope.DECIDE)
    engine = user.services.engine
    try:
        profile = await run_in_threadpool(engine.get_profile, unified_id)
    except NotFound as exc:
        raise ConsoleError(404, "No such person", str(exc)) from None
    lineage = None
    if user.allows(Scope.ADMIN):
        try:
            lineage = await run_in_threadpool(
                user.services.identity_control.lineage, profile.unified_id
            )
        except NotFound:
            lineage = None
    return render(
        request,
        "person.html",
        {
            "p": profile,
            "when": when,
            "timeline": timeline(profile, engine),
            "affinities": affinity_bars(profile.affinities),
            "cart": [
                {"line": line, "item": _item_name(engine, line.item_id)} for line in profile.cart
            ],
            "lineage": lineage,
        },
        user=user,
    )
