"""The console's access rules through the ASGI app (no browser): every page needs a session,
the session cookie's attributes, CSRF on every POST, the CSP on every page, scopes per page
(a read-only key's POSTs are 403), revoked keys end sessions, 404 pages for unknown ids."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from _client import mint_key
from _database import Database
from fastapi.testclient import TestClient
from test_auth_routes import SESSION, _concrete

from p13n.server.app import create_app

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_OPEN_PAGES = {"/", "/console/signin"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Any]:
    application = create_app(e2e_module_db.settings(tmp_path_factory.mktemp("console")))
    with TestClient(application, base_url="http://127.0.0.1"):
        yield application


def _client(app: Any, *, https: bool = False) -> TestClient:
    base = "https://127.0.0.1" if https else "http://127.0.0.1"
    return TestClient(app, base_url=base, raise_server_exceptions=False, follow_redirects=False)


def sign_in(app: Any, *scopes: str, https: bool = False) -> tuple[TestClient, str]:
    """A client signed in with a new key of `scopes`; returns it and the session's CSRF token."""
    client = _client(app, https=https)
    key = mint_key(app, *scopes, label="console e2e")
    form = client.get("/console/signin")
    token = _TOKEN.search(form.text).group(1)  # type: ignore[union-attr]
    r = client.post("/console/signin", data={"key": key, "csrf_token": token})
    assert r.status_code == 303, r.text
    home = client.get(r.headers["location"])  # the session's token is in its sign-out form
    found = _TOKEN.search(home.text)
    assert found, home.text
    client.key = key  # type: ignore[attr-defined]
    return client, found.group(1)


@pytest.mark.parametrize(
    "route", [r for r in SESSION if r[1] not in _OPEN_PAGES], ids=lambda r: f"{r[0]} {r[1]}"
)
def test_every_console_route_without_a_session_goes_to_sign_in_and_does_nothing(
    app: Any, route: tuple[str, str, bool]
) -> None:
    method, path, _ = route
    if path.startswith("/console/static"):
        pytest.skip("static files are public")
    r = _client(app).request(method, _concrete(path))
    assert r.status_code == 303 and r.headers["location"].startswith("/console/signin"), r.text


def test_the_session_cookie_is_http_only_same_site_strict_and_secure_on_https(app: Any) -> None:
    for https in (False, True):
        client = _client(app, https=https)
        token = _TOKEN.search(client.get("/console/signin").text).group(1)  # type: ignore[union-attr]
        key = mint_key(app, "admin")
        r = client.post("/console/signin", data={"key": key, "csrf_token": token})
        cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("p13n_console="))
        attrs = {a.strip().lower() for a in cookie.split(";")}
        assert {"httponly", "samesite=strict", "path=/console"} <= attrs
        assert ("secure" in attrs) is https
        assert key not in cookie and key not in r.headers["location"]


def test_sign_in_refuses_a_missing_csrf_token_an_unknown_key_and_a_public_key(app: Any) -> None:
    client = _client(app)
    token = _TOKEN.search(client.get("/console/signin").text).group(1)  # type: ignore[union-attr]
    admin = mint_key(app, "admin")
    assert client.post("/console/signin", data={"key": admin}).status_code == 403
    other = _client(app)  # a token from another browser is not this one's
    assert (
        other.post("/console/signin", data={"key": admin, "csrf_token": token}).status_code == 403
    )
    wrong = client.post("/console/signin", data={"key": "p13n_nope", "csrf_token": token})
    assert wrong.status_code == 401 and "unknown, revoked or expired" in wrong.text
    public = client.post(
        "/console/signin", data={"key": mint_key(app, "public"), "csrf_token": token}
    )
    assert public.status_code == 403 and "cannot use the console" in public.text
    assert "p13n_console=" not in "".join(public.headers.get_list("set-cookie"))


def test_every_page_has_a_csp_without_inline_script(app: Any) -> None:
    client, _ = sign_in(app, "admin")
    pages = [
        "/",
        "/console/signin",
        "/console",
        "/console/people",
        "/console/keys",
        "/console/playground",
        "/console/playground/tools/search_catalog",
        "/console/playground/prompts/personal_shopper",
        "/console/nowhere",
    ]
    for path in pages:
        r = client.get(path)
        assert r.status_code in (200, 404), (path, r.status_code)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", r.text) == [], path
        assert " on" not in " ".join(re.findall(r"<[^>]+\son[a-z]+=", r.text)), path


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(app: Any) -> None:
    client, token = sign_in(app, "admin")
    keys = app.state.services.keys
    before = len(keys.list())
    refused = client.post("/console/keys", data={"scopes": "decide", "label": "no token"})
    assert refused.status_code == 403 and "security token" in refused.text
    wrong = client.post("/console/keys", data={"scopes": "decide", "csrf_token": token + "x"})
    assert wrong.status_code == 403
    assert len(keys.list()) == before
    made = client.post("/console/keys", data={"scopes": "decide", "csrf_token": token})
    assert made.status_code == 303 and len(keys.list()) == before + 1
    shown = client.get("/console/keys").text
    secret = re.search(r'id="new-key"[^>]*value="([^"]+)"', shown)
    assert secret and secret.group(1).startswith("p13n_")
    assert secret.group(1) not in client.get("/console/keys").text  # shown once


def test_an_invalid_key_form_shows_the_error_next_to_the_field_and_creates_nothing(
    app: Any,
) -> None:
    client, token = sign_in(app, "admin")
    before = len(app.state.services.keys.list())
    r = client.post(
        "/console/keys", data={"label": "x" * 500, "scopes": "admin", "csrf_token": token}
    )
    assert r.status_code == 422
    assert 'id="label-error"' in r.text and 'aria-invalid="true"' in r.text
    none = client.post("/console/keys", data={"label": "ok", "csrf_token": token})
    assert none.status_code == 422 and 'id="scopes-error"' in none.text
    assert len(app.state.services.keys.list()) == before


def test_a_read_only_key_sees_no_edit_controls_and_its_posts_are_403(app: Any) -> None:
    client, token = sign_in(app, "analyst")
    overview = client.get("/console")
    assert overview.status_code == 200
    assert 'href="/console/keys"' not in overview.text
    assert "/console/keys" not in re.findall(r'action="([^"]+)"', overview.text)
    assert client.get("/console/keys").status_code == 403
    before = len(app.state.services.keys.list())
    r = client.post("/console/keys", data={"scopes": "admin", "csrf_token": token})
    assert r.status_code == 403 and len(app.state.services.keys.list()) == before
    assert client.post("/console/keys/key_x/revoke", data={"csrf_token": token}).status_code == 403
    assert client.get("/console/people").status_code == 403  # decide's page
    assert client.get("/console/playground").status_code == 403  # agent's page


def test_a_revoked_key_signs_the_user_out_with_a_message(app: Any) -> None:
    client, _ = sign_in(app, "admin")
    assert client.get("/console").status_code == 200
    principal = app.state.services.access.authenticate(client.key)  # type: ignore[attr-defined]
    app.state.services.keys.revoke(principal.subject)
    r = client.get("/console")
    assert r.status_code == 303 and r.headers["location"] == "/console/signin?reason=expired"
    assert "revoked or has expired" in client.get(r.headers["location"]).text
    assert client.get("/console").headers["location"].startswith("/console/signin")


def test_sign_out_ends_the_session_on_the_server(app: Any) -> None:
    client, token = sign_in(app, "admin")
    cookie = client.cookies.get("p13n_console")
    assert client.post("/console/signout", data={"csrf_token": token}).status_code == 303
    replay = _client(app)
    replay.cookies.set("p13n_console", cookie or "", path="/console")
    assert replay.get("/console").status_code == 303


def test_unknown_ids_give_404_pages_not_traces(app: Any) -> None:
    client, token = sign_in(app, "admin")
    for path in (
        "/console/people/u-000000000000000000000000",
        "/console/playground/tools/no_such_tool",
        "/console/playground/prompts/no_such_prompt",
        "/console/no/such/page",
    ):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert "Traceback" not in r.text
    r = client.post("/console/keys/key_nope/revoke", data={"csrf_token": token})
    assert r.status_code == 404 and "no API key" in html.unescape(r.text)
    r = client.post("/console/people:find", data={"q": "nobody@example.com", "csrf_token": token})
    assert r.status_code == 404 and "Nobody is known" in r.text


def test_the_playground_shows_the_text_block_an_agent_gets_and_its_size(app: Any) -> None:
    client, token = sign_in(app, "admin")
    r = client.post("/console/playground/tools/list_catalog_facets", data={"csrf_token": token})
    assert r.status_code == 200
    text = html.unescape(re.search(r'<pre class="text"[^>]*>(.*?)</pre>', r.text, re.S).group(1))  # type: ignore[union-attr]
    api = client.post(
        "/actions/list_catalog_facets",
        json={},
        headers={"Authorization": f"Bearer {client.key}"},  # type: ignore[attr-defined]
    )
    assert orjson.loads(text) == api.json()
    size = int(re.search(r"<strong>([\d,]+) bytes", r.text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert size == len(text.encode("utf-8"))
    bad = client.post(
        "/console/playground/tools/get_context", data={"max_bytes": "12", "csrf_token": token}
    )
    assert bad.status_code == 200 and "isError" in bad.text
    assert 'id="arg-individual-error"' in bad.text  # next to the field
    assert 'id="arg-max-bytes-error"' in bad.text
