"""What a chat client shows of p13n besides text: its icon and the MCP Apps views.

SDK-free (only `mcp.py` imports the MCP SDK): this module reads the files shipped in
`p13n/tools/ui/` and says which tool renders with which `ui://` view; `mcp.py` turns that into
the protocol's `icons` and `_meta.ui` fields.

- Icon: one small SVG (`ui/p13n.svg`), sent as a `data:` URI so that it needs no request to
  the server (a stdio client has none to make, and an HTTP one would need the bearer token).
- MCP Apps (SEP-1865, stable 2026-01-26): `ui://p13n/recommendations`, a carousel of item cards
  for `get_recommendations` and the UCP `search_catalog`, and `ui://p13n/profile-card` for
  `get_context`. Each is one self-contained HTML document (`ui/view.html` with `apps.css`,
  `bridge.js` and the view's script inlined): the spec has the host load the resource's text
  into a sandboxed iframe, where no script of this server could be fetched (the host's default
  CSP allows none), so nothing is remote. The document carries its own Content-Security-Policy,
  as strict as the console's: the inlined script and style allowed by their SHA-256 only, no
  connections, no frames, no forms, `object-src 'none'`, `base-uri 'none'`; images from
  `data:` and the origins of the catalog's image URLs, which the resource's `_meta.ui.csp`
  also declares (`resourceDomains`) so that the host admits them. All text is set with
  `textContent` (item names and reasons are shopper-visible catalog text, never markup). A
  click or "Add to cart" goes back through the host as `tools/call record_interaction` with the
  content ids. Hosts without Apps ignore `_meta.ui` and get the same structured result and
  JSON text as before.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from p13n.tools.context import ToolContext

__all__ = [
    "APP_MIME_TYPE",
    "APPS_EXTENSION",
    "CAROUSEL_URI",
    "PROFILE_URI",
    "VIEWS",
    "TOOL_VIEWS",
    "View",
    "icons",
    "image_origins",
    "ui_file",
    "view_csp",
    "view_html",
]

APPS_EXTENSION = "io.modelcontextprotocol/ui"
APP_MIME_TYPE = "text/html;profile=mcp-app"
CAROUSEL_URI = "ui://p13n/recommendations"
PROFILE_URI = "ui://p13n/profile-card"
_MAX_ORIGINS = 8


@dataclass(frozen=True)
class View:
    """One `ui://` view: its resource's name, title and description, and its script file."""

    uri: str
    name: str
    title: str
    description: str
    script: str


VIEWS = (
    View(
        CAROUSEL_URI,
        "recommendations-carousel",
        "Recommendations carousel",
        "Item cards (image, name, price, reason) for get_recommendations and search_catalog; "
        "a click or add-to-cart is recorded with record_interaction.",
        "carousel.js",
    ),
    View(
        PROFILE_URI,
        "profile-card",
        "Customer profile card",
        "The person get_context describes, for service agents: segments, insights, likes, "
        "cart, recent orders, consent (masked without the pii scope).",
        "profile.js",
    ),
)
TOOL_VIEWS = {
    "get_recommendations": CAROUSEL_URI,
    "search_catalog": CAROUSEL_URI,
    "get_context": PROFILE_URI,
}

_UI = resources.files("p13n.tools") / "ui"


@cache
def ui_file(name: str) -> str:
    """The text of a file shipped in `p13n/tools/ui/` (read once per process)."""
    return (_UI / name).read_text(encoding="utf-8")


@cache
def _icon_uri() -> str:
    svg = ui_file("p13n.svg").strip().encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def icons() -> list[dict[str, Any]]:
    """The `icons` of the server, its tools, prompts and resources (MCP 2025-11-25 and later):
    the p13n mark, scalable."""
    return [{"src": _icon_uri(), "mimeType": "image/svg+xml", "sizes": ["any"]}]


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def image_origins(ctx: ToolContext) -> list[str]:
    """The origins (`https://host[:port]`) of the catalog's image URLs, most used first."""
    seen: Counter[str] = Counter()
    for item in ctx.engine.state.items.values():
        url = item.image_url
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme in ("https", "http") and parts.netloc:
            seen[f"{parts.scheme}://{parts.netloc}"] += 1
    return [origin for origin, _ in seen.most_common(_MAX_ORIGINS)]


def view_csp(origins: list[str]) -> dict[str, Any]:
    """The resource's `_meta.ui.csp`: no connections, images from the catalog's origins."""
    return {"connectDomains": [], "resourceDomains": origins}


def view_html(uri: str, origins: list[str]) -> str:
    """The HTML document of the view at `uri` (KeyError for an unknown one)."""
    view = {v.uri: v for v in VIEWS}[uri]
    script = ui_file("bridge.js") + "\n" + ui_file(view.script)
    css = ui_file("apps.css")
    images = " ".join(["data:", *origins])
    csp = (
        f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(css)}; "
        f"img-src {images}; connect-src 'none'; frame-src 'none'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    html = ui_file("view.html")
    for key, value in (("{csp}", csp), ("{title}", view.title), ("{css}", css)):
        html = html.replace(key, value)
    return html.replace("{script}", script)
