"""What a chat client shows of p13n besides text: its icon and the MCP Apps views.

SDK-free (only `mcp.py` imports the MCP SDK): this module reads the files shipped in
`p13n/tools/ui/` and says which tool renders with which `ui://` view; `mcp.py` turns that into
the protocol's `icons` and `_meta.ui` fields.

- Icon: one small SVG (`ui/p13n.svg`), sent as a `data:` URI so that it needs no request to
  the server (a stdio client has none to make, and an HTTP one would need the bearer token).
"""

from __future__ import annotations

import base64
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["icons", "ui_file"]

_UI = resources.files("p13n.tools") / "ui"


def ui_file(name: str) -> str:
    """The text of a file shipped in `p13n/tools/ui/`."""
    return (_UI / name).read_text(encoding="utf-8")


@cache
def _icon_uri() -> str:
    svg = ui_file("p13n.svg").strip().encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def icons() -> list[dict[str, Any]]:
    """The `icons` of the server, its tools, prompts and resources (MCP 2025-11-25 and later):
    the p13n mark, scalable."""
    return [{"src": _icon_uri(), "mimeType": "image/svg+xml", "sizes": ["any"]}]
