"""Admin CRUD of personalization points, decisions and experiments, experiment lifecycle moves
(`POST /admin/experiments/{name}:start|stop|archive`), and the personalization log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from p13n.domain.decisions import ACTIONS, Decision, Experiment, PersonalizationPoint
from p13n.domain.errors import InvalidInput, NotFound
from p13n.domain.services import DecisionConfigs
from p13n.server.routes.decisions import ServiceDep

__all__ = ["router"]

router = APIRouter(tags=["decisioning admin"])


def _same_name(path: str, body: str) -> None:
    if path != body:
        raise InvalidInput(
            f"the path says '{path}' but the body's name is '{body}'.", hint="Make them match."
        )


def _dump(obj: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = obj.model_dump(mode="json", by_alias=True)
    return dumped


# -- points ----------------------------------------------------------------------------------
@router.get("/admin/points")
def list_points(service: ServiceDep) -> list[dict[str, Any]]:
    return [_dump(p) for p in sorted(service.configs.points.values(), key=lambda p: p.name)]


@router.get("/admin/points/{name}")
def get_point(name: str, service: ServiceDep) -> dict[str, Any]:
    return _dump(service.configs.get_point(name))


@router.put("/admin/points/{name}")
def put_point(name: str, point: PersonalizationPoint, service: ServiceDep) -> dict[str, Any]:
    _same_name(name, point.name)
    version = service.change(lambda r: r.put_point(point))
    return {"name": name, "version": version, "point": _dump(service.configs.get_point(name))}


@router.delete("/admin/points/{name}")
def delete_point(name: str, service: ServiceDep) -> dict[str, Any]:
    service.change(lambda r: r.delete_point(name))
    return {"deleted": name}


# -- decisions -------------------------------------------------------------------------------
@router.get("/admin/decisions")
def list_decisions(service: ServiceDep, point: str | None = None) -> list[dict[str, Any]]:
    configs = service.configs
    if point is not None:
        configs.get_point(point)
        return [_dump(d) for d in configs.decisions_by_point.get(point, [])]
    ordered = sorted(configs.decisions.values(), key=lambda d: (d.point, d.priority or 0, d.name))
    return [_dump(d) for d in ordered]


@router.get("/admin/decisions/{name}")
def get_decision(name: str, service: ServiceDep) -> dict[str, Any]:
    return _dump(service.configs.get_decision(name))


@router.put("/admin/decisions/{name}")
def put_decision(name: str, decision: Decision, service: ServiceDep) -> dict[str, Any]:
    _same_name(name, decision.name)
    version = service.change(lambda r: r.put_decision(decision))
    return {
        "name": name,
        "version": version,
        "decision": _dump(service.configs.get_decision(name)),
    }


@router.delete("/admin/decisions/{name}")
def delete_decision(name: str, service: ServiceDep) -> dict[str, Any]:
    service.change(lambda r: r.delete_decision(name))
    return {"deleted": name}


# -- experiments -----------------------------------------------------------------------------
@router.get("/admin/experiments")
def list_experiments(service: ServiceDep) -> list[dict[str, Any]]:
    experiments = service.configs.experiments.values()
    return [_dump(e) for e in sorted(experiments, key=lambda e: e.name)]


@router.get("/admin/experiments/{name}")
def get_experiment(name: str, service: ServiceDep) -> dict[str, Any]:
    return _dump(service.configs.get_experiment(name))


@router.put("/admin/experiments/{name}")
def put_experiment(name: str, experiment: Experiment, service: ServiceDep) -> dict[str, Any]:
    _same_name(name, experiment.name)
    version = service.change(lambda r: r.put_experiment(experiment))
    return {
        "name": name,
        "version": version,
        "experiment": _dump(service.configs.get_experiment(name)),
    }


@router.post("/admin/experiments/{name}:{action}")
def move_experiment(name: str, action: str, service: ServiceDep) -> dict[str, Any]:
    """Lifecycle: `start` (Created -> Started), `stop` (Started -> Stopped), `archive`
    (Stopped or Created -> Archived); any other move is 409."""
    status = ACTIONS.get(action)
    if status is None:
        raise NotFound(
            f"no experiment action '{action}'.", hint=f"Use one of: {', '.join(ACTIONS)}."
        )

    def move(configs: DecisionConfigs) -> Experiment:
        return configs.move_experiment(name, status)

    return _dump(service.change(move))


@router.delete("/admin/experiments/{name}")
def delete_experiment(name: str, service: ServiceDep) -> dict[str, Any]:
    service.change(lambda r: r.delete_experiment(name))
    return {"deleted": name}


# -- the personalization log -----------------------------------------------------------------
@router.get("/admin/personalizations/{personalization_id}")
async def logged_decision(personalization_id: str, service: ServiceDep) -> dict[str, Any]:
    """The logged decision with the engagement events that name it (views, clicks)."""
    entry: dict[str, Any] = await run_in_threadpool(service.logged, personalization_id)
    return entry
