"""Identity: lineage of a unified individual, split, batch resolution, ruleset admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from p13n.domain.errors import InvalidInput
from p13n.domain.identity.records import record_key
from p13n.domain.identity.rules import Ruleset
from p13n.domain.services import (
    Engine,
    IdentityControl,
    IdentityService,
    Lineage,
    ResolveSummary,
    SplitDone,
)
from p13n.server.routes.deps import get_engine

router = APIRouter(tags=["identity"])
EngineDep = Annotated[Engine, Depends(get_engine)]


class SplitRequest(BaseModel):
    recordId: str | None = Field(default=None, description="source:source_record_id")
    source: str | None = None
    sourceRecordId: str | None = None
    reason: str | None = None

    def record_id(self) -> str:
        if self.recordId:
            return self.recordId
        if self.source and self.sourceRecordId:
            return record_key(self.source, self.sourceRecordId)
        raise InvalidInput("name the record: recordId, or source and sourceRecordId.")


@router.get("/identity/{any_id}", responses={404: {"description": "nobody known by that id"}})
def get_lineage(any_id: str, engine: EngineDep) -> Lineage:
    """The unified individual for any id: reconciled fields, contact points, source records,
    and which rule (with its score) linked each pair."""
    return IdentityControl(engine).lineage(any_id)


@router.post(
    "/identity/split",
    responses={404: {"description": "no such record"}, 409: {"description": "cannot split"}},
)
def split(body: SplitRequest, engine: EngineDep) -> SplitDone:
    """Separate a source record from its cluster; it stays apart in later runs (logged)."""
    return IdentityControl(engine).split(body.record_id(), reason=body.reason)


@router.post("/admin/identity:resolve")
async def resolve(engine: EngineDep, incremental: bool = False) -> ResolveSummary:
    """Batch re-resolution with every rule (fuzzy and probabilistic too)."""
    return await run_in_threadpool(IdentityService(engine).resolve, incremental=incremental)


@router.get("/admin/identity/rulesets", tags=["admin"])
def list_rulesets(engine: EngineDep) -> dict[str, Any]:
    control = IdentityControl(engine)
    return {"active": control.active().name, "rulesets": control.rulesets()}


@router.get("/admin/identity/rulesets/{name}", tags=["admin"])
def get_ruleset(name: str, engine: EngineDep) -> Ruleset:
    return IdentityControl(engine).ruleset(name)


@router.put("/admin/identity/rulesets/{name}", tags=["admin"])
def put_ruleset(name: str, ruleset: Ruleset, engine: EngineDep) -> dict[str, Any]:
    """Create or replace a ruleset; an invalid one is refused (422) and nothing changes."""
    if name != ruleset.name:
        raise InvalidInput(
            f"the path says '{name}' but the body's name is '{ruleset.name}'.",
            hint="Make them match.",
        )
    return {"name": name, "version": IdentityControl(engine).put_ruleset(ruleset)}


@router.post("/admin/identity/rulesets/{name}:activate", tags=["admin"])
def activate_ruleset(name: str, engine: EngineDep) -> dict[str, Any]:
    IdentityControl(engine).activate(name)
    return {"active": name}


@router.delete("/admin/identity/rulesets/{name}", tags=["admin"])
def delete_ruleset(name: str, engine: EngineDep) -> dict[str, Any]:
    IdentityControl(engine).delete_ruleset(name)
    return {"deleted": name}
