"""Privacy requests: erase a person (`DELETE /privacy/individuals/{id}`) and export what is
held about them (`GET /privacy/individuals/{id}/export`). Admin scope; the logic is
`PrivacyService` (`p13n/domain/services/privacy.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from p13n.domain.services import ErasureReceipt, PersonExport, PrivacyService
from p13n.server.routes.deps import get_services

router = APIRouter(tags=["privacy"])

_NOT_FOUND = {
    404: {
        "description": "Nobody is known by that id: never seen, or already erased (an erasure "
        "keeps nothing that could tell)."
    }
}


def get_privacy(request: Request) -> PrivacyService:
    return get_services(request).privacy


PrivacyDep = Annotated[PrivacyService, Depends(get_privacy)]


@router.delete("/privacy/individuals/{any_id}", responses=_NOT_FOUND)
async def forget(any_id: str, privacy: PrivacyDep) -> ErasureReceipt:
    """Erase the person any of their ids names (unified id, device or individual id, email,
    phone, source record): the whole unified cluster, everywhere p13n keeps it. Returns a
    receipt that p13n does not keep; a second request for the same id is 404."""
    return await run_in_threadpool(privacy.forget, any_id)


@router.get("/privacy/individuals/{any_id}/export", responses=_NOT_FOUND)
async def export(any_id: str, privacy: PrivacyDep) -> PersonExport:
    """Everything held about the person any of their ids names, as JSON: profile, identity
    records and links, events, consent, personalization log."""
    return await run_in_threadpool(privacy.export, any_id)
