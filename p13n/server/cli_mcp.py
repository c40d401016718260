"""`p13n mcp`: the agent tools, prompts and resources over stdio, for desktop MCP clients.

Built through the composition root like `p13n serve`. stdout carries the protocol only: logs go
to stderr, and building the services runs with Python's stdout pointed at stderr too. A local
stdio caller has every scope except `pii` (personal data stays masked) unless `--pii` is given.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
from typing import Annotated, Any

import anyio
import typer

from p13n.domain.errors import P13nError
from p13n.server.bootstrap import build_services, warm_model_in_background
from p13n.server.settings import Settings

__all__ = ["mcp"]


def mcp(
    pii: Annotated[
        bool, typer.Option("--pii", help="Show emails, phones and addresses unmasked.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="Log level (logs go to stderr).")] = "WARNING",
) -> None:
    """Serve the agent tools over stdio (MCP): point a desktop MCP client at `p13n mcp`."""
    warm_model_in_background()  # first: it loads while the rest of start-up runs
    from p13n.tools import LocalCaller, ToolContext
    from p13n.tools.mcp import build_mcp_server, run_stdio

    logging.basicConfig(stream=sys.stderr, level=log_level.upper())
    settings = Settings()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            services = build_services(settings)
            services.engine.warm_profiles(settings.warm_profiles)
            services.recommend.snapshot()
            gc.collect()
            gc.freeze()  # as `p13n serve` does: long-lived state leaves the GC's scans
    except P13nError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(2) from None
    services.warm_in_background()
    context = services.tool_context(LocalCaller(pii=pii))

    def factory(_: Any) -> ToolContext:
        return context

    try:
        anyio.run(run_stdio, build_mcp_server(factory))
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
