"""One admin-router factory for the CRUD of every configuration kind (insights, segments,
recommenders, points, decisions, experiments, identity rulesets). A kind with more than CRUD
adds its own routes beside (identity rulesets: `:activate`, in `routes/identity.py`).

`config_router` gives `GET /<plural>`, `GET /<plural>/{name}`, `PUT /<plural>/{name}` (create or
replace; the path's name must be the body's) and `DELETE /<plural>/{name}` over the owner's
functions, with the answers every kind has always given: the model for reads, `{"name",
"version"}` (plus the stored object under the kind's name with `echo=True`) for a put and
`{"deleted": name}` for a delete. Each operation documents the statuses it can return.

This module does not use `from __future__ import annotations`: FastAPI reads the endpoints'
annotations, and the body model and the owner dependency are values of the factory's call.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from p13n.domain.errors import InvalidInput
from p13n.server.openapi import request_body
from p13n.server.routes.body import read_model

__all__ = ["config_router", "same_name"]

M = TypeVar("M", bound=BaseModel)
MAX_CONFIG_BYTES = 1024 * 1024


def same_name(path: str, body: str) -> None:
    """InvalidInput (400) unless the path names the object the body describes."""
    if path != body:
        raise InvalidInput(
            f"the path says '{path}' but the body's name is '{body}'.", hint="Make them match."
        )


def _no_filters() -> dict[str, Any]:
    return {}


def config_router(
    *,
    kind: str,
    plural: str,
    model: type[M],
    owner: Callable[..., Any],
    list_all: Callable[..., Iterable[M]],
    get_one: Callable[[Any, str], M],
    put: Callable[[Any, M], int],
    delete: Callable[[Any, str], None],
    filters: Callable[..., dict[str, Any]] = _no_filters,
    list_model: type[BaseModel] | None = None,
    list_answer: Callable[[Any, list[M]], BaseModel] | None = None,
    echo: bool = False,
    put_description: str | None = None,
    responses: Mapping[str, Mapping[int, str]] | None = None,
) -> APIRouter:
    """The four routes of `kind` under `/<plural>` (include it with the parent's prefix).

    `owner` is the FastAPI dependency that gives the owning service; `list_all(owner,
    **filters)`, `get_one(owner, name)` (NotFound when missing), `put(owner, obj)` (the new
    version) and `delete(owner, name)` are its functions. `filters` is a dependency declaring
    the list's query parameters (a dict of them). The list answers the objects as a JSON
    array, or `list_answer(owner, objects)` of type `list_model` for a kind whose published
    list says more (the identity rulesets name the active one). `responses` overrides, per operation
    (`list`, `get`, `put`, `delete`), the documented error statuses and their descriptions.
    """
    documented: dict[str, Mapping[int, str]] = {
        "list": {},
        "get": {404: f"no {kind} of that name"},
        "put": {
            400: f"the path and the body name different {plural}, or the {kind} does not fit "
            "the rest of the configuration (the message says what)"
        },
        "delete": {
            404: f"no {kind} of that name",
            409: f"other configuration still uses this {kind} (the message says which)",
        },
    }
    documented.update(responses or {})
    documented["put"] = {413: "a body over 1 MB", **documented["put"]}

    def docs(operation: str) -> dict[int | str, dict[str, Any]]:
        return {status: {"description": text} for status, text in documented[operation].items()}

    Owner = Annotated[Any, Depends(owner)]
    Filters = Annotated[dict[str, Any], Depends(filters)]
    router = APIRouter()
    path, one = f"/{plural}", f"/{plural}/{{name}}"

    def list_objects(service: Owner, query: Filters) -> Any:
        objects = list(list_all(service, **query))
        return objects if list_answer is None else list_answer(service, objects)

    def get_object(name: str, service: Owner) -> M:
        return get_one(service, name)

    # The body is read in pydantic's strict mode (`read_model`): `"enabled": 0` is refused,
    # not taken as false, as the published schema says.
    async def put_object(name: str, request: Request, service: Owner) -> dict[str, Any]:
        body = await read_model(request, model, limit=MAX_CONFIG_BYTES, hint="Send one object.")
        same_name(name, body.name)  # type: ignore[attr-defined]
        answer: dict[str, Any] = {
            "name": name,
            "version": await run_in_threadpool(put, service, body),
        }
        if echo:
            stored = await run_in_threadpool(get_one, service, name)
            answer[kind] = stored.model_dump(mode="json", by_alias=True)
        return answer

    def delete_object(name: str, service: Owner) -> dict[str, Any]:
        delete(service, name)
        return {"deleted": name}

    router.add_api_route(
        path,
        list_objects,
        methods=["GET"],
        name=f"list_{plural}",
        response_model=list_model or list[model],  # type: ignore[valid-type]
        responses=docs("list"),
    )
    router.add_api_route(
        one,
        get_object,
        methods=["GET"],
        name=f"get_{kind}",
        response_model=model,
        responses=docs("get"),
    )
    router.add_api_route(
        one,
        put_object,
        methods=["PUT"],
        name=f"put_{kind}",
        description=put_description,
        responses=docs("put"),
        openapi_extra=request_body(model),
    )
    router.add_api_route(
        one, delete_object, methods=["DELETE"], name=f"delete_{kind}", responses=docs("delete")
    )
    return router
