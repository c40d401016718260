"""Identity: lineage of a unified individual, split, batch resolution, ruleset admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from p13n.domain.errors import InvalidInput
from p13n.domain.identity import Ruleset, record_key
from p13n.domain.services import (
    Lineage,
    ResolveSummary,
    SplitDone,
)
from p13n.server.routes.config_router import config_router
from p13n.server.routes.deps import IdentityControlDep, IdentityServiceDep, get_identity_control

router = APIRouter(tags=["identity"])


class SplitRequest(BaseModel):
    # The record is named one of two ways; the schema says so, so that a client (or the API
    # fuzzer) knows a body naming neither is refused (400).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["recordId"],
                    "properties": {"recordId": {"type": "string", "minLength": 1}},
                },
                {
                    "required": ["source", "sourceRecordId"],
                    "properties": {
                        "source": {"type": "string", "minLength": 1},
                        "sourceRecordId": {"type": "string", "minLength": 1},
                    },
                },
            ]
        }
    )

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
def get_lineage(any_id: str, control: IdentityControlDep) -> Lineage:
    """The unified individual for any id: reconciled fields, contact points, source records,
    and which rule (with its score) linked each pair."""
    return control.lineage(any_id)


@router.post(
    "/identity/split",
    responses={404: {"description": "no such record"}, 409: {"description": "cannot split"}},
)
def split(body: SplitRequest, control: IdentityControlDep) -> SplitDone:
    """Separate a source record from its cluster; it stays apart in later runs (logged)."""
    return control.split(body.record_id(), reason=body.reason)


@router.post("/admin/identity:resolve")
async def resolve(identity: IdentityServiceDep, incremental: bool = False) -> ResolveSummary:
    """Batch re-resolution with every rule (fuzzy and probabilistic too)."""
    return await run_in_threadpool(identity.resolve, incremental=incremental)


class RulesetList(BaseModel):
    active: str = Field(description="The ruleset identity resolution applies now.")
    rulesets: list[Ruleset]


router.include_router(
    config_router(
        kind="ruleset",
        plural="rulesets",
        model=Ruleset,
        owner=get_identity_control,
        list_all=lambda control: control.rulesets(),
        list_model=RulesetList,
        list_answer=lambda control, rulesets: RulesetList(
            active=control.active().name, rulesets=rulesets
        ),
        get_one=lambda control, name: control.ruleset(name),
        put=lambda control, ruleset: control.put_ruleset(ruleset),
        delete=lambda control, name: control.delete_ruleset(name),
        put_description="Create or replace a ruleset; an invalid one is refused (422) and "
        "nothing changes. When it is the active one it applies from now on.",
        responses={
            "delete": {
                404: "no ruleset of that name",
                409: "the ruleset is the active one, or the built-in default",
            }
        },
    ),
    prefix="/admin/identity",
    tags=["admin"],
)


@router.post(
    "/admin/identity/rulesets/{name}:activate",
    tags=["admin"],
    responses={404: {"description": "no ruleset of that name"}},
)
def activate_ruleset(name: str, control: IdentityControlDep) -> dict[str, Any]:
    control.activate(name)
    return {"active": name}
