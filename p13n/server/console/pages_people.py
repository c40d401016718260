"""People: find a person by any identifier; one page with their profile graph (attributes,
identities, insights, segments, affinities, cart, orders), a timeline of their recent events,
what p13n showed them (their personalization log rows) and what they did with it (the events
carrying each personalizationId), "preview as this person" (the decision each point gives now,
with its trace) and, for admin keys (as `GET /identity/{id}` asks), the identity lineage with a
split button per source record.

The preview is `DecisionService.decide` in `TestMode` with `EnableDiagnostics`: TestMode logs
nothing, so it is no exposure, counts in no pipeline figure and no experiment result. One write
can remain: a bandit experiment stores a unit's first cohort when it draws one (sticky
assignment), as the person's next real request would.

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
from p13n.domain.decisions import MAX_POINTS_PER_REQUEST, DecisionRequest, DecisionResponse
from p13n.domain.errors import NotFound, P13nError
from p13n.domain.graphs import ProfileGraph
from p13n.domain.services import DecisionService, Engine
from p13n.server.console.web import ConsoleError, PostUserDep, UserDep, need, render, when

__all__ = ["affinity_bars", "preview_decisions", "router", "shown_to", "timeline"]

router = APIRouter(include_in_schema=False)
_TOP_AFFINITIES = 6
_SHOWN = 30  # log rows on the page, newest first


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


def _aliases(engine: Engine, uid: str) -> list[str]:
    ident = engine.state.identity
    return sorted(a for a in ident.aliases if a != uid and ident.resolve(a) == uid)


def shown_to(engine: Engine, decisions: DecisionService, uid: str) -> list[dict[str, Any]]:
    """What p13n showed the person (their latest log rows, under their id and every id merged
    into it), newest first, each with the items shown and the events that carried its
    personalizationId (views, clicks, carts, orders)."""
    if decisions.log is None:
        return []
    store = decisions.log.rows
    rows = store.of_units([uid, *_aliases(engine, uid)], limit=_SHOWN)
    by_pid: dict[str, list[dict[str, Any]]] = {}
    for e in store.events_naming([r["personalization_id"] for r in rows]):
        by_pid.setdefault(str(e["personalization_id"]), []).append(
            {**e, "when": when(e["ts"]), "item": _item_name(engine, e.get("item_id"))}
        )
    return [
        {
            "id": r["personalization_id"],
            "when": when(r["ts"]),
            "point": r["point"],
            "decision": r["decision"],
            "recommender": r["recommender"],
            "experiment": r["experiment"],
            "cohort": r["cohort"],
            "channel": r["channel"],
            "source": r["source"],
            "status": r["status"],
            "items": [_item_name(engine, c.get("id")) or c.get("contentId") for c in r["content"]],
            "did": by_pid.get(r["personalization_id"], []),
        }
        for r in rows
    ]


def preview_decisions(
    decisions: DecisionService, uid: str, *, channel: str | None, anchor: str | None
) -> list[DecisionResponse]:
    """Each point's decision for the person now, with its trace, logging nothing (TestMode)."""
    names = sorted(decisions.configs.points)
    answers = []
    for start in range(0, len(names), MAX_POINTS_PER_REQUEST):
        request = DecisionRequest.model_validate(
            {
                "context": {
                    "individualId": uid,
                    "unifiedIndividualId": uid,
                    "channel": channel or None,
                    "anchorId": anchor or None,
                },
                "personalizationPoints": [
                    {"name": n} for n in names[start : start + MAX_POINTS_PER_REQUEST]
                ],
                "executionFlags": ["TestMode", "EnableDiagnostics"],
            }
        )
        answers.append(decisions.decide(request, authenticated=True, source="console"))
    return answers


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
            "shown": await run_in_threadpool(
                shown_to, engine, user.services.decisions, profile.unified_id
            ),
        },
        user=user,
    )


@router.get("/console/people/{unified_id}/preview")
async def preview(
    request: Request, unified_id: str, user: UserDep, channel: str = "web", anchor: str = ""
) -> Response:
    """The decisions each point would give this person now (an htmx fragment)."""
    need(user, Scope.DECIDE)
    engine = user.services.engine
    if engine.load_profile(unified_id) is None:
        raise ConsoleError(404, "No such person", f"no individual '{unified_id}'.")
    problem = None
    answers: list[DecisionResponse] = []
    try:
        answers = await run_in_threadpool(
            lambda: preview_decisions(
                user.services.decisions, unified_id, channel=channel, anchor=anchor
            )
        )
    except P13nError as exc:
        problem = str(exc)
    items = engine.state.items
    shown = [
        {
            "p": p,
            "items": [
                {"data": d, "name": _item_name(engine, d.get("id")), "known": d.get("id") in items}
                for d in p.data
            ],
        }
        for answer in answers
        for p in answer.personalizations
    ]
    return render(
        request,
        "person_preview.html",
        {"shown": shown, "problem": problem, "channel": channel, "anchor": anchor},
        user=user,
    )


@router.post("/console/people/{unified_id}/split")
async def split(
    request: Request,
    unified_id: str,
    user: PostUserDep,
    record_id: Annotated[str, Form()] = "",
) -> Response:
    """Take a source record out of the person's cluster (admin, as `POST /identity/split`)."""
    need(user, Scope.ADMIN)
    control = user.services.identity_control
    if not record_id or control.state.owner(record_id) != unified_id:
        raise ConsoleError(
            404,
            "No such source record",
            f"'{record_id}' is not one of the source records of {unified_id}.",
        )
    try:
        await run_in_threadpool(lambda: control.split(record_id, reason="console"))
    except NotFound as exc:
        raise ConsoleError(404, "No such source record", str(exc)) from None
    except P13nError as exc:
        raise ConsoleError(409, "The record was not split", str(exc)) from None
    return RedirectResponse(f"/console/people/{quote(unified_id, safe='')}", status_code=303)
