"""`GET /admin/audit`: the audit trail, newest first, filtered and paged (admin scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from p13n.domain.services import AuditPage, audit_trail, sql_store
from p13n.server.routes.deps import EngineDep

router = APIRouter(tags=["admin"])

AUDIT_KINDS = (
    "point",
    "decision",
    "experiment",
    "recommender",
    "segment",
    "insight",
    "identity_ruleset",
    "identity_split",
    "key",
    "privacy",
)


@router.get("/admin/audit")
async def audit(
    engine: EngineDep,
    kind: Annotated[
        list[str] | None,
        Query(description=f"Only these kinds (repeatable): {', '.join(AUDIT_KINDS)}."),
    ] = None,
    since: Annotated[
        float | None, Query(ge=0, description="Only changes at or after this UTC epoch second.")
    ] = None,
    before: Annotated[
        int | None, Query(ge=1, description="The `next_before` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Entries per page.")] = 50,
) -> AuditPage:
    """Every configuration change, key creation or revocation, identity split and privacy
    request: who (key id and label), when, what, and the document before and after."""
    trail = audit_trail(sql_store(engine))
    assert trail is not None  # a served app always runs on the SQL store
    return await run_in_threadpool(
        trail.page, kinds=kind or (), since=since, before=before, limit=limit
    )
