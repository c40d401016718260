"""Keys (admin only): list, create (the secret is shown once, on the next page), revoke.

The same `ApiKeys` service as `p13n keys`; a new secret waits in the server-side session for
the one page that shows it (post, redirect, get), never in a URL or a cookie.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import MAX_LABEL, Scope
from p13n.domain.errors import InvalidInput, NotFound
from p13n.server.console.web import ConsoleError, ConsoleUser, PostUserDep, UserDep, need, render
from p13n.tools import action_names, tool_names

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_GRANTABLE = [s for s in Scope]


def _page(
    request: Request,
    user: ConsoleUser,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    created = user.session.flash_key
    user.session.flash_key = None
    return render(
        request,
        "keys.html",
        {
            "keys": sorted(user.services.keys.list(), key=lambda k: k.created_at, reverse=True),
            "scopes": _GRANTABLE,
            "created": created,
            "errors": errors or {},
            "form": form or {"scopes": [], "label": "", "tools": []},
            "tools": action_names(),
            "max_label": MAX_LABEL,
            "me": user.principal.subject,
        },
        status_code=status,
        user=user,
    )


@router.get("/console/keys")
def keys_page(request: Request, user: UserDep) -> Response:
    need(user, Scope.ADMIN)
    return _page(request, user)


@router.post("/console/keys")
async def create_key(
    request: Request,
    user: PostUserDep,
    scopes: Annotated[list[str] | None, Form()] = None,
    label: Annotated[str, Form()] = "",
    tools: Annotated[list[str] | None, Form()] = None,
) -> Response:
    need(user, Scope.ADMIN)
    chosen = scopes or []
    try:
        allowed = None if not tools else tool_names(tools)
        created = await run_in_threadpool(
            lambda: user.services.keys.create(chosen, label=label, tools=allowed)
        )
    except InvalidInput as exc:
        text = str(exc)
        field = "label" if "label" in text else "tools" if "tool" in text else "scopes"
        form = {"scopes": chosen, "label": label, "tools": tools or []}
        return _page(request, user, errors={field: str(exc)}, form=form, status=422)
    user.session.flash_key = created
    return RedirectResponse("/console/keys", status_code=303)


@router.post("/console/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str, user: PostUserDep) -> Response:
    need(user, Scope.ADMIN)
    try:
        await run_in_threadpool(user.services.keys.revoke, key_id)
    except NotFound as exc:
        raise ConsoleError(404, "No such key", str(exc)) from None
    return RedirectResponse("/console/keys", status_code=303)
