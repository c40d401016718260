"""Admin CRUD of personalization points, decisions and experiments, experiment lifecycle moves
(`POST /admin/experiments/{name}:start|stop|archive`), and the personalization log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from p13n.domain.decisions import ACTIONS, Decision, Experiment, PersonalizationPoint
from p13n.domain.errors import NotFound
from p13n.domain.services import DecisionConfigs, DecisionService
from p13n.server.routes.config_router import config_router
from p13n.server.routes.deps import DecisionsDep, get_decision_service

__all__ = ["router"]

router = APIRouter(tags=["decisioning admin"])
_CONFLICT = "it contradicts stored configuration: an id another object has, or a running experiment"


def _by_point(point: str | None = None) -> dict[str, Any]:
    """`GET /admin/decisions?point=<name>`: the decisions of one point, in priority order."""
    return {"point": point}


def _decisions(service: DecisionService, point: str | None) -> list[Decision]:
    configs = service.configs
    if point is not None:
        configs.get_point(point)
        return configs.decisions_by_point.get(point, [])
    return sorted(configs.decisions.values(), key=lambda d: (d.point, d.priority or 0, d.name))


for _router in (
    config_router(
        kind="point",
        plural="points",
        model=PersonalizationPoint,
        owner=get_decision_service,
        list_all=lambda s: sorted(s.configs.points.values(), key=lambda p: p.name),
        get_one=lambda s, name: s.configs.get_point(name),
        put=lambda s, point: s.change(lambda c: c.put_point(point)),
        delete=lambda s, name: s.change(lambda c: c.delete_point(name)),
        echo=True,
        responses={
            "put": {
                400: "the path and the body name different points, or a decision "
                "of the point does not fit its new schema",
                409: _CONFLICT,
            }
        },
    ),
    config_router(
        kind="decision",
        plural="decisions",
        model=Decision,
        owner=get_decision_service,
        list_all=_decisions,
        get_one=lambda s, name: s.configs.get_decision(name),
        put=lambda s, decision: s.change(lambda c: c.put_decision(decision)),
        delete=lambda s, name: s.change(lambda c: c.delete_decision(name)),
        filters=_by_point,
        echo=True,
        responses={
            "list": {404: "no point of the name given in `point`"},
            "put": {
                400: "the path and the body name different decisions, or the decision does "
                "not fit its point (the message says what)",
                409: _CONFLICT,
            },
        },
    ),
    config_router(
        kind="experiment",
        plural="experiments",
        model=Experiment,
        owner=get_decision_service,
        list_all=lambda s: sorted(s.configs.experiments.values(), key=lambda e: e.name),
        get_one=lambda s, name: s.configs.get_experiment(name),
        put=lambda s, experiment: s.change(lambda c: c.put_experiment(experiment)),
        delete=lambda s, name: s.change(lambda c: c.delete_experiment(name)),
        echo=True,
        responses={
            "put": {
                400: "the path and the body name different experiments, or a cohort does "
                "not fit the point (the message says what)",
                409: "a move the lifecycle "
                "does not allow, a change to a run experiment, or a second running "
                "experiment on the point",
            },
            "delete": {404: "no experiment of that name", 409: "the experiment is running"},
        },
    ),
):
    router.include_router(_router, prefix="/admin")


@router.post(
    "/admin/experiments/{name}:{action}",
    responses={
        404: {"description": "no experiment of that name, or no such action"},
        409: {"description": "a move the lifecycle does not allow"},
    },
)
def move_experiment(name: str, action: str, service: DecisionsDep) -> dict[str, Any]:
    """Lifecycle: `start` (Created -> Started), `stop` (Started -> Stopped), `archive`
    (Stopped or Created -> Archived); any other move is 409."""
    status = ACTIONS.get(action)
    if status is None:
        raise NotFound(
            f"no experiment action '{action}'.", hint=f"Use one of: {', '.join(ACTIONS)}."
        )

    def move(configs: DecisionConfigs) -> Experiment:
        return configs.move_experiment(name, status)

    moved: Experiment = service.change(move)
    dumped: dict[str, Any] = moved.model_dump(mode="json", by_alias=True)
    return dumped


# -- the personalization log -----------------------------------------------------------------
@router.get(
    "/admin/personalizations/{personalization_id}",
    responses={404: {"description": "never logged (TestMode), or not written yet"}},
)
async def logged_decision(personalization_id: str, service: DecisionsDep) -> dict[str, Any]:
    """The logged decision with the engagement events that name it (views, clicks)."""
    entry: dict[str, Any] = await run_in_threadpool(service.logged, personalization_id)
    return entry
