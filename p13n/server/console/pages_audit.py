"""Audit (admin only): the audit trail, newest first, filtered by kind, paged by cursor.

The same `AuditTrail` as `GET /admin/audit`; before and after documents are shown as
pretty-printed JSON inside <details> (no script: the page works with JavaScript off).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.domain.services import audit_trail, sql_store
from p13n.server.console.web import UserDep, need, render
from p13n.server.routes.audit import AUDIT_KINDS

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _pretty(value: object) -> str:
    return "" if value is None else orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


@router.get("/console/audit")
async def audit_page(
    request: Request,
    user: UserDep,
    kind: Annotated[str, Query(max_length=40)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    need(user, Scope.ADMIN)
    trail = audit_trail(sql_store(user.services.engine))
    assert trail is not None
    kinds = (kind,) if kind else ()
    page = await run_in_threadpool(trail.page, kinds=kinds, before=before, limit=50)
    rows = [
        {"entry": e, "before": _pretty(e.before), "after": _pretty(e.after)} for e in page.entries
    ]
    return render(
        request,
        "audit.html",
        {"rows": rows, "kinds": AUDIT_KINDS, "kind": kind, "next_before": page.next_before},
        user=user,
    )
