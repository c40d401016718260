"""Agent playground: each tool of the registry (`p13n/tools`) with a form made from its input
schema; a call shows the structured answer, the text block an MCP client gives the model
(the same compact JSON `tools/mcp.py` sends) and its size in bytes and ≈ tokens (bytes / 4, as
`bench/agent_tools.py` counts: no tokenizer is installed). The prompts render with their
arguments. Calls run as the signed-in key (`pii` unmasks personal data, as over MCP).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.domain.errors import NotFound, P13nError
from p13n.prompts import PROMPTS, get_prompt
from p13n.prompts import render as render_prompt
from p13n.server.console.forms import arguments_from_form, fields_from_schema
from p13n.server.console.web import ConsoleError, ConsoleUser, PostUserDep, UserDep, need, render
from p13n.tools import ACTIONS, Action, get_action

__all__ = ["answer_size", "router"]

router = APIRouter(include_in_schema=False)


def answer_size(text: str) -> dict[str, int]:
    size = len(text.encode("utf-8"))
    return {"bytes": size, "tokens": (size + 3) // 4}


def _action(name: str) -> Action[Any, Any]:
    try:
        return get_action(name)
    except NotFound as exc:
        raise ConsoleError(404, "No such tool", str(exc)) from None


def _tool_page(request: Request, user: ConsoleUser, action: Action[Any, Any]) -> Response:
    ctx = user.services.tool_context(user.principal)
    fields = fields_from_schema(action.input_schema(ctx))
    return render(
        request,
        "playground.html",
        {
            "actions": ACTIONS,
            "action": action,
            "fields": fields,
            "prompts": PROMPTS,
            "values": {},
            "errors": {},
        },
        user=user,
    )


@router.get("/console/playground")
def playground(request: Request, user: UserDep) -> Response:
    need(user, Scope.AGENT)
    return _tool_page(request, user, ACTIONS[0])


@router.get("/console/playground/tools/{name}")
def tool_page(request: Request, name: str, user: UserDep) -> Response:
    need(user, Scope.AGENT)
    return _tool_page(request, user, _action(name))


@router.post("/console/playground/tools/{name}")
async def call_tool(request: Request, name: str, user: PostUserDep) -> Response:
    """Run the tool with the form's arguments: the page again, with the result and any
    field's error next to it (htmx swaps only the tool's pane)."""
    need(user, Scope.AGENT)
    action = _action(name)
    ctx = user.services.tool_context(user.principal)
    fields = fields_from_schema(action.input_schema(ctx))
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    arguments, errors = arguments_from_form(fields, form)
    result: dict[str, Any]
    if errors:
        result = {
            "error": "Fix the fields marked below; nothing was called.",
            "arguments": arguments,
        }
    else:
        try:
            out = await run_in_threadpool(action.invoke, ctx, arguments)
        except P13nError as exc:
            text = str(exc)
            result = {"is_error": True, "text": text, "size": answer_size(text)}
            errors = _field_errors(text, fields)
        else:
            data = out.model_dump(mode="json")
            text = orjson.dumps(data).decode()
            result = {
                "is_error": False,
                "structured": orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(),
                "text": text,
                "size": answer_size(text),
            }
        result["arguments"] = orjson.dumps(arguments).decode()
    context = {
        "actions": ACTIONS,
        "action": action,
        "fields": fields,
        "prompts": PROMPTS,
        "values": form,
        "errors": errors,
        "result": result,
    }
    return render(request, "playground.html", context, user=user)


def _field_errors(message: str, fields: list[Any]) -> dict[str, str]:
    """The parts of an InvalidInput message that name a form control (`field: problem; ...`)."""
    names = {f.name for f in fields} | {c.name for f in fields for c in f.children}
    _, _, detail = message.partition(": ")
    out: dict[str, str] = {}
    for part in detail.split("; "):
        where, sep, problem = part.partition(": ")
        if sep and where in names:
            out[where] = problem.split(" Fix those fields")[0].rstrip(".")
    return out


@router.get("/console/playground/prompts/{name}")
def prompt_page(request: Request, name: str, user: UserDep) -> Response:
    need(user, Scope.AGENT)
    try:
        spec = get_prompt(name)
    except NotFound as exc:
        raise ConsoleError(404, "No such prompt", str(exc)) from None
    return render(
        request,
        "prompt.html",
        {"actions": ACTIONS, "prompts": PROMPTS, "spec": spec, "values": {}, "rendered": None},
        user=user,
    )


@router.post("/console/playground/prompts/{name}")
async def render_prompt_page(request: Request, name: str, user: PostUserDep) -> Response:
    need(user, Scope.AGENT)
    try:
        spec = get_prompt(name)
    except NotFound as exc:
        raise ConsoleError(404, "No such prompt", str(exc)) from None
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    arguments = {a.name: form[a.name] for a in spec.arguments if form.get(a.name, "").strip()}
    error, rendered = None, None
    try:
        rendered = render_prompt(name, arguments)
    except P13nError as exc:
        error = str(exc)
    context = {
        "actions": ACTIONS,
        "prompts": PROMPTS,
        "spec": spec,
        "values": form,
        "rendered": rendered,
        "error": error,
        "size": answer_size(rendered) if rendered else None,
    }
    return render(request, "prompt.html", context, user=user, status_code=422 if error else 200)
