"""MCP prompts for agents: the texts live beside this file as Markdown, the arguments here.

A text names its arguments as `{{name}}`; `render` fills them in (a missing optional argument
becomes a neutral phrase) and refuses unknown prompts or missing required arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from p13n.domain.errors import InvalidInput, NotFound

__all__ = ["PromptArgument", "PromptSpec", "PROMPTS", "get_prompt", "render"]


@dataclass(frozen=True)
class PromptArgument:
    name: str
    description: str
    required: bool = False
    default: str = ""


@dataclass(frozen=True)
class PromptSpec:
    name: str
    title: str
    description: str
    arguments: tuple[PromptArgument, ...]


PROMPTS: tuple[PromptSpec, ...] = (
    PromptSpec(
        name="personal_shopper",
        title="Personal shopper",
        description="How to help one shopper with the store's tools: context first, then "
        "recommendations with filters, recording what was shown and what they prefer.",
        arguments=(
            PromptArgument(
                "individual",
                "The shopper's identifier (device id, individual id, email or phone), if known.",
                default="unknown (an anonymous visitor)",
            ),
        ),
    ),
    PromptSpec(
        name="understand_user_intent",
        title="Understand user intent",
        description="Turn a shopper's message into a JSON object with `query` and `filters` "
        "for get_recommendations.",
        arguments=(PromptArgument("message", "The shopper's message, verbatim.", required=True),),
    ),
    PromptSpec(
        name="service_agent_context",
        title="Service agent brief",
        description="Brief a customer service agent on a person from get_context.",
        arguments=(
            PromptArgument(
                "individual",
                "The person's identifier (device id, individual id, email or phone).",
                required=True,
            ),
        ),
    ),
)
_BY_NAME = {p.name: p for p in PROMPTS}


@cache
def _text(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def get_prompt(name: str) -> PromptSpec:
    spec = _BY_NAME.get(name)
    if spec is None:
        raise NotFound(
            f"no prompt '{name}'.", hint=f"Known prompts: {', '.join(p.name for p in PROMPTS)}."
        )
    return spec


def render(name: str, arguments: dict[str, str] | None = None) -> str:
    spec = get_prompt(name)
    given = dict(arguments or {})
    text = _text(name)
    for arg in spec.arguments:
        value = (given.get(arg.name) or "").strip()
        if not value:
            if arg.required:
                raise InvalidInput(
                    f"prompt '{name}' needs the argument '{arg.name}'.",
                    hint=arg.description,
                )
            value = arg.default
        text = text.replace("{{" + arg.name + "}}", value)
    return text
