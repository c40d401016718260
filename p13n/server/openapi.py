"""The published OpenAPI document, completed with what every route shares: the credentials it
takes, the statuses the app-wide handlers answer and the one error body.

FastAPI documents what a route declares; the answers that come from app-wide code (401 and 403
from `server/auth.py`, a 400 for a body that is not JSON, the 422 of `RequestValidationError`
in `{"error", "details"}` form, 429 from the decision rate limiter) are added here, once, so that
no route can forget one and the document matches what a client sees. The API fuzzing suite
(`tests/e2e/test_api_fuzz.py`, Schemathesis) checks every response against this document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from p13n.domain.access import Scope
from p13n.server.auth import scope_for
from p13n.tools import inline_refs

__all__ = ["ERROR_SCHEMA", "complete_openapi", "install_openapi", "request_body"]

_COMPONENTS = "#/components/schemas/{model}"
# Models that routes read themselves (strictly, `routes/body.py:read_model`) and document
# through `request_body`: their schemas join the document's components.
_BODY_MODELS: dict[str, type[BaseModel]] = {}


def request_body(model: type[BaseModel], *, inline: bool = False) -> dict[str, Any]:
    """`openapi_extra` for a route that reads `model` from its body itself: the document shows
    the model (a component, so recursive models stay valid references; `inline`: its schema
    written out whole, as for the UCP routes, whose shapes are a standard's, not ours) as the
    required body."""
    if inline:
        return body_schema(inline_refs(model.model_json_schema()))
    _BODY_MODELS[model.__name__] = model
    return body_schema({"$ref": _COMPONENTS.format(model=model.__name__)})


def body_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` declaring `schema` as the required JSON body."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _add_body_models(schemas: dict[str, Any]) -> None:
    for name, model in _BODY_MODELS.items():
        schema = model.model_json_schema(ref_template=_COMPONENTS)
        for sub, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(sub, definition)
        schemas[name] = schema


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What was wrong and what to do; `details` lists the fields at fault.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_FASTAPI_422 = {"$ref": "#/components/schemas/HTTPValidationError"}
_SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`p13n keys create --scope SCOPE`) or, when configured, a JWT.",
    },
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": 'Bearer realm="p13n", with error="invalid_token" or "insufficient_scope"',
        "required": True,
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "string"},
    }
}
# Paths whose answers the decision rate limiter (`P13N_DECISIONS_PER_SECOND`) can refuse.
_RATE_LIMITED = ("/personalization/decisions", "/personalization/authenticated/decisions")
_METHODS = ("get", "put", "post", "delete", "patch")


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _complete_operation(path: str, method: str, op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    scope = scope_for(path, method.upper())
    if scope is not None:
        op["security"] = [{"bearer": []}, {"apiKey": []}]
        responses.setdefault(
            "401",
            _error("no credential, or an unknown, revoked or expired one", _WWW_AUTHENTICATE),
        )
        responses.setdefault(
            "403", _error(f"the credential lacks the `{scope.value}` scope", _WWW_AUTHENTICATE)
        )
    if "requestBody" in op:
        responses.setdefault(
            "400", {"description": "the body is not valid JSON, or breaks a rule the message names"}
        )
    if "requestBody" in op or op.get("parameters"):
        responses.setdefault("422", {"description": "a field is missing or has the wrong type"})
    if path in _RATE_LIMITED:
        responses.setdefault(
            "429", _error("past `P13N_DECISIONS_PER_SECOND` (diagnostic 406)", _RETRY_AFTER)
        )
    if scope is Scope.PUBLIC:
        responses.setdefault(
            "429",
            _error(
                "past the public scope's rate per key or per client address "
                "(`P13N_PUBLIC_KEY_PER_SECOND`, `P13N_PUBLIC_ADDRESS_PER_SECOND`; diagnostic "
                "406 on the decision routes)",
                _RETRY_AFTER,
            ),
        )
    store_down = (
        "the store refused the work (read-only, out of disk, or unreachable; nothing was "
        "stored), or the request ran past `P13N_REQUEST_TIMEOUT_S`: retry after the time given"
    )
    if path in _RATE_LIMITED:  # or no point was answered within P13N_DECISION_BUDGET_MS
        responses.setdefault(
            "503", {"description": f"{store_down}; or no point answered within the budget"}
        )
    else:
        responses.setdefault("503", _error(store_down, _RETRY_AFTER))
    for status, answer in responses.items():
        if not status.startswith("4"):
            continue
        content = answer.setdefault("content", {}).setdefault("application/json", {})
        if content.get("schema") in (None, _FASTAPI_422):  # not what the handlers send
            content["schema"] = _ERROR_REF
        for header, spec in (_WWW_AUTHENTICATE if status in ("401", "403") else {}).items():
            answer.setdefault("headers", {}).setdefault(header, spec)


def _closed_object(branch: Any, schemas: dict[str, Any]) -> dict[str, Any] | None:
    ref = branch.get("$ref", "") if isinstance(branch, dict) else ""
    target = schemas.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/components/") else branch
    if isinstance(target, dict) and target.get("additionalProperties") is False:
        return target
    return None


def _exclusive(branches: list[Any], schemas: dict[str, Any]) -> bool:
    """Every branch is a closed object requiring a field that no other branch allows, so at
    most one can match any value: `oneOf` and `anyOf` then mean the same."""
    closed = [_closed_object(b, schemas) for b in branches]
    if any(c is None for c in closed):
        return False
    for k, own in enumerate(closed):
        assert own is not None
        others = set().union(
            *(set(o.get("properties", {})) for j, o in enumerate(closed) if o and j != k)
        )
        if not set(own.get("required", [])) - others:
            return False
    return True


def _plain_unions(node: Any, schemas: dict[str, Any]) -> None:
    """`oneOf` of mutually exclusive closed objects (pydantic's discriminated unions, the
    segment rule tree) written as `anyOf`: the same documents, which schema-driven generators
    (Schemathesis) draw without rejecting most of what they make."""
    if isinstance(node, dict):
        if isinstance(node.get("oneOf"), list) and _exclusive(node["oneOf"], schemas):
            node["anyOf"] = node.pop("oneOf")
            node.pop("discriminator", None)
        for value in node.values():
            _plain_unions(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _plain_unions(value, schemas)


def complete_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (FastAPI's document) with credentials, shared statuses and the error body."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(_SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    _add_body_models(schemas)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    _plain_unions(schema, schemas)
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                _complete_operation(path, method, item[method])
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at `/openapi.json` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_openapi(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    setter: Callable[[], dict[str, Any]] = openapi
    app.openapi = setter  # type: ignore[method-assign]
