"""The MCP Apps views in headless Chromium, rendered by a test host page as a chat client would:
the MCP SDK's client (2026-07-28, stateless, advertising MCP Apps) calls the tool, finds its
`_meta.ui.resourceUri` and reads the `ui://` resource; the host page puts that HTML in a
sandboxed iframe (`sandbox="allow-scripts"`: an opaque origin, apart from the host's) and speaks
the Apps bridge with it (JSON-RPC over postMessage: `ui/initialize`, `tool-input`,
`tool-result`), forwarding the view's `tools/call` to the server through the same SDK client.
A click and an add-to-cart on a card must arrive as `record_interaction` in the store."""

from __future__ import annotations

import concurrent.futures
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from _browser import ARGS, CHROMIUM, DEMO_SHOPPER, Console, shot
from mcp import Client
from mcp.client import advertise
from mcp.client.streamable_http import streamable_http_client

APPS = "io.modelcontextprotocol/ui"
APP_MIME = "text/html;profile=mcp-app"


def _png() -> bytes:
    """A valid 2x2 grey PNG, built here: the demo's image URLs (https://shop.example.com/img/...)
    are answered by the test (the machine is offline), so that an image can be seen to load
    through the view's CSP."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x99\x99\x99" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PIXEL = _png()

HOST_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>test host</title></head>
<body><h1>MCP Apps test host</h1><div id="slot"></div><script>
window.fromView = [];
window.show = (html, toolInput, toolResult) => {
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.style.width = "800px"; frame.style.border = "0";
  window.addEventListener("message", async (event) => {
    if (event.source !== frame.contentWindow) return;
    const msg = event.data; window.fromView.push(msg);
    const reply = (body) => frame.contentWindow.postMessage(
      Object.assign({ jsonrpc: "2.0", id: msg.id }, body), "*");
    const notify = (method, params) => frame.contentWindow.postMessage(
      { jsonrpc: "2.0", method, params }, "*");
    if (msg.method === "ui/initialize") {
      reply({ result: { protocolVersion: "2026-01-26",
        hostInfo: { name: "p13n-test-host", version: "1" },
        hostCapabilities: { serverTools: {} },
        hostContext: { theme: "light", displayMode: "inline" } } });
    } else if (msg.method === "ui/notifications/initialized") {
      notify("ui/notifications/tool-input", { arguments: toolInput });
      notify("ui/notifications/tool-result", toolResult);
    } else if (msg.method === "tools/call") {
      try { reply({ result: await window.mcpCallTool(msg.params.name, msg.params.arguments) }); }
      catch (err) { reply({ error: { code: -32603, message: String(err) } }); }
    } else if (msg.method === "ui/notifications/size-changed") {
      frame.style.height = (msg.params.height + 4) + "px";
    } else if (msg.id !== undefined) {
      reply({ error: { code: -32601, message: "not supported by the test host" } });
    }
  });
  frame.srcdoc = html;
  document.getElementById("slot").append(frame);
};
</script></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium as in conftest.py, but with sandboxed iframes kept in the page's renderer
    (`IsolateSandboxedIframes` off): in their own process, the view's first image requests can
    leave before Playwright attaches to it, so the routes that answer the offline catalog's
    image URLs would miss them. The iframe is as sandboxed as before (opaque origin, CSP)."""
    from playwright.sync_api import sync_playwright

    args = [*ARGS, "--disable-features=IsolateSandboxedIframes"]
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class McpHost:
    """The host's MCP side: the SDK client over `/mcp`, one stateless request per call."""

    def __init__(self, console: Console) -> None:
        self.url = console.base + "/mcp"
        self.key = console.admin_key
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def _client(self) -> Client:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {self.key}"}, timeout=60)
        return Client(
            streamable_http_client(self.url, http_client=http),
            mode="2026-07-28",
            extensions=[advertise(APPS, {"mimeTypes": [APP_MIME]})],
        )

    def _run(self, fn: Any, *args: Any) -> Any:
        """Off Playwright's thread: its sync API owns an event loop there."""
        return self.pool.submit(anyio.run, fn, *args).result(timeout=120)

    def open_view(self, tool: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Call `tool` as the model would; the view's HTML and the result to hand it."""

        async def go() -> tuple[str, dict[str, Any]]:
            async with self._client() as client:
                listed = {t.name: t for t in (await client.list_tools()).tools}
                uri = (listed[tool].meta or {})["ui"]["resourceUri"]
                read = await client.read_resource(uri)
                content = read.contents[0]
                assert content.mime_type == APP_MIME
                result = await client.call_tool(tool, arguments)
                assert not result.is_error, result.content
                dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
                return content.text, dumped

        html, result = self._run(go)
        return str(html), result

    def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """What the host does with the view's `tools/call`."""
        self.calls.append((name, arguments))

        async def go() -> dict[str, Any]:
            async with self._client() as client:
                result = await client.call_tool(name, arguments)
                return dict(result.model_dump(by_alias=True, mode="json", exclude_none=True))

        out: dict[str, Any] = self._run(go)
        return out


@pytest.fixture
def host(console: Console) -> Any:
    mcp = McpHost(console)
    yield mcp
    mcp.pool.shutdown(wait=True)


@pytest.fixture
def page(browser: Any, console: Console, host: McpHost) -> Any:
    context = browser.new_context()
    page = context.new_page()
    page.route(
        "https://shop.example.com/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL),
    )
    page.route(
        "https://elsewhere.test/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL),
    )
    page.route(
        console.base + "/__apps_host__",
        lambda route: route.fulfill(status=200, content_type="text/html", body=HOST_PAGE),
    )
    page.failed_requests = []  # for the assertion messages
    page.on("requestfailed", lambda r: page.failed_requests.append((r.url, r.failure)))
    page.on("console", lambda m: page.failed_requests.append(("console", m.type, m.text)))
    page.on("response", lambda r: page.failed_requests.append(("response", r.url, r.status)))
    page.expose_function("mcpCallTool", host.call_tool)
    page.goto(console.base + "/__apps_host__")
    yield page
    context.close()


def _profile(console: Console, identifier: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {console.admin_key}"}
    answer = httpx.get(f"{console.base}/profiles/{identifier}", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _fits(page: Any, inner: Any) -> None:
    """The host grew the iframe to the view's reported size (ui/notifications/size-changed)."""
    height = inner.evaluate("node => node.getBoundingClientRect().bottom")
    page.wait_for_function(
        "h => document.querySelector('iframe').getBoundingClientRect().height >= h",
        arg=height,
        timeout=15_000,
    )


def test_the_carousel_renders_the_cards_and_a_click_and_a_cart_arrive_as_record_interaction(
    page: Any, console: Console, host: McpHost
) -> None:
    arguments = {"individual": DEMO_SHOPPER, "limit": 4}
    html, result = host.open_view("get_recommendations", arguments)
    items = result["structuredContent"]["items"]
    page.evaluate("([h, a, r]) => window.show(h, a, r)", [html, arguments, result])
    view = page.frame_locator("iframe")
    cards = view.locator("article.card")
    cards.first.wait_for(timeout=15_000)
    assert cards.count() == len(items) == 4
    first = cards.first
    assert first.locator(".name").inner_text() == items[0]["name"]
    assert first.locator(".reason").inner_text() == items[0]["reason"]
    assert first.locator(".price").inner_text().strip()
    image = first.locator("img")
    assert image.get_attribute("src") == items[0]["image_url"]
    loaded = image.evaluate(  # the catalog's image origin is admitted by the view's CSP
        "img => img.complete ? img.naturalWidth > 0 : new Promise((ok) => {"
        " img.addEventListener('load', () => ok(true));"
        " img.addEventListener('error', () => ok(false));"
        " setTimeout(() => ok(img.naturalWidth > 0), 10000); })"
    )
    assert loaded, f"the image did not load; failed requests: {page.failed_requests}"
    blocked = view.locator("body").evaluate(  # any other origin is refused by the same CSP
        "body => new Promise((ok) => { const img = document.createElement('img');"
        " img.addEventListener('load', () => ok(false)); img.addEventListener('error', () => ok(true));"
        " img.src = 'https://elsewhere.test/pixel.png'; body.append(img); })"
    )
    assert blocked, "an image from an origin the catalog does not use must not load"
    _fits(page, cards.first)
    shot(page, "mcp-apps-carousel")

    first.locator("button.open").click()
    first.locator(".status[data-recorded=item_clicked]").wait_for(timeout=15_000)
    first.locator("button.cart").click()
    first.locator(".status[data-recorded=item_added_to_cart]").wait_for(timeout=15_000)

    reported = [args for name, args in host.calls if name == "record_interaction"]
    assert [a["kind"] for a in reported] == ["item_clicked", "item_added_to_cart"]
    for args in reported:
        assert args["item_id"] == items[0]["id"]
        assert args["personalizationContentId"] == items[0]["personalizationContentId"]
        assert args["personalizationId"] == result["structuredContent"]["personalizationId"]
    profile = _profile(console, DEMO_SHOPPER)
    seen = [(e["interaction"], e["item_id"]) for e in profile["engagement"]]
    assert ("personalization-click", items[0]["id"]) in seen
    assert ("Add To Cart", items[0]["id"]) in seen
    assert items[0]["id"] in {line["item_id"] for line in profile["cart"]}
    init = next(m for m in page.evaluate("window.fromView") if m.get("method") == "ui/initialize")
    assert init["params"]["protocolVersion"] == "2026-01-26"


def test_the_ucp_search_shows_in_the_same_carousel(
    page: Any, console: Console, host: McpHost
) -> None:
    arguments = {"catalog": {"buyer": {"email": DEMO_SHOPPER}, "pagination": {"limit": 3}}}
    html, result = host.open_view("search_catalog", arguments)
    products = result["structuredContent"]["products"]
    assert products
    page.evaluate("([h, a, r]) => window.show(h, a, r)", [html, arguments, result])
    cards = page.frame_locator("iframe").locator("article.card")
    cards.first.wait_for(timeout=15_000)
    assert cards.count() == len(products)
    assert cards.first.locator(".name").inner_text() == products[0]["title"]
    cards.first.locator("button.open").click()
    cards.first.locator(".status[data-recorded=item_clicked]").wait_for(timeout=15_000)
    (name, args), *_ = host.calls
    assert name == "record_interaction" and args["item_id"] == products[0]["id"]
    assert args["personalizationContentId"] == products[0]["metadata"]["personalizationContentId"]


def test_the_profile_card_shows_the_person_to_a_service_agent(
    page: Any, console: Console, host: McpHost
) -> None:
    arguments = {"individual": DEMO_SHOPPER}
    html, result = host.open_view("get_context", arguments)
    data = result["structuredContent"]
    page.evaluate("([h, a, r]) => window.show(h, a, r)", [html, arguments, result])
    card = page.frame_locator("iframe").locator("section.profile")
    card.wait_for(timeout=15_000)
    _fits(page, card)
    assert card.locator("h1").inner_text() == (data["first_name"] or "Customer")
    assert ("Known customer" if data["known"] else "Anonymous visitor") in card.inner_text()
    text = card.inner_text()
    for category in data["top_categories"][:2]:
        assert category["value"] in text
    for email in data["contact"]["emails"]:
        assert email in text and "***" in email  # masked: the admin key has no pii scope
    shot(page, "mcp-apps-profile")
