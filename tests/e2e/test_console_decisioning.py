"""Points and decisions in the console: forms validated by the API's models (errors next to
the field, nothing saved), a created point and decision served by the Decisioning API, the
priority arrows, deletion, and refusals for read-only keys."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from _client import mint_key
from _database import Database
from fastapi.testclient import TestClient
from test_console_access import sign_in

from p13n.server.app import create_app

POINT = {
    "name": "console_banner",
    "label": "Made in the console",
    "contentSchema.type": "ManualContent",
    "contentSchema.attributes": "header, body",
    "maxItems": "1",
    "status": "Active",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Any]:
    application = create_app(e2e_module_db.settings(tmp_path_factory.mktemp("console-dec")))
    with TestClient(application, base_url="http://127.0.0.1"):
        yield application


def _decide(app: Any, point: str) -> dict[str, Any]:
    client = TestClient(app, base_url="http://127.0.0.1")
    body = {"context": {"individualId": "visitor-1"}, "personalizationPoints": [{"name": point}]}
    r = client.post(
        "/personalization/decisions",
        json=body,
        headers={"Authorization": f"Bearer {mint_key(app, 'public')}"},
    )
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["personalizations"][0]
    return found


def _alerts(text: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'role="alert">([^<]+)', text)]


def test_a_point_and_a_decision_made_in_the_console_are_served_by_the_api(app: Any) -> None:
    client, token = sign_in(app, "admin")
    r = client.post("/console/decisioning/points", data={**POINT, "csrf_token": token})
    assert r.status_code == 303, _alerts(r.text)
    decision = {
        "name": "console_hello",
        "point": "console_banner",
        "state": "Live",
        "attributes": "header: Hello {{{firstName|there}}}\nbody: From the console",
        "targeting": '{"type": "Always"}',
        "csrf_token": token,
    }
    r = client.post("/console/decisioning/decisions", data=decision)
    assert r.status_code == 303, _alerts(r.text)
    served = _decide(app, "console_banner")
    assert served["attributes"] == {"header": "Hello there", "body": "From the console"}
    page = client.get("/console/decisioning").text
    assert "console_banner" in page and "console_hello" in page


def test_model_errors_come_back_next_to_their_fields_and_nothing_is_saved(app: Any) -> None:
    client, token = sign_in(app, "admin")
    configs = app.state.services.decisions.configs
    before = dict(configs.decisions)
    bad = {
        "name": "no spaces allowed",
        "point": "console_banner",
        "priority": "0",
        "targeting": '{"type": "All"}',
        "csrf_token": token,
    }
    r = client.post("/console/decisioning/decisions", data=bad)
    assert r.status_code == 422
    errors = dict(re.findall(r'id="([a-z]+)-error" role="alert">([^<]+)', r.text))
    assert set(errors) == {"name", "priority", "targeting"}
    assert "pattern" in errors["name"] and "greater than or equal to 1" in errors["priority"]
    assert "at least one rule" in html.unescape(errors["targeting"])
    assert 'value="no spaces allowed"' in r.text  # the form keeps what was typed
    r = client.post(
        "/console/decisioning/decisions",
        data={**bad, "name": "ok_name", "priority": "", "targeting": "{not json"},
    )
    assert r.status_code == 422 and 'id="targeting-error"' in r.text
    point = {**POINT, "name": "p_bad", "maxItems": "99", "csrf_token": token}
    r = client.post("/console/decisioning/points", data=point)
    assert r.status_code == 422 and 'id="maxItems-error"' in r.text
    assert dict(configs.decisions) == before and "p_bad" not in configs.points


def test_a_cross_object_refusal_is_shown_above_the_form_and_nothing_is_saved(app: Any) -> None:
    client, token = sign_in(app, "admin")
    data = {"name": "orphan", "point": "no_such_point", "targeting": "", "csrf_token": token}
    r = client.post("/console/decisioning/decisions", data=data)
    assert r.status_code == 422
    box = html.unescape(r.text.split('class="error-box"', 1)[1].split("</div>", 1)[0])
    assert "Nothing was saved" in box and "no_such_point" in box
    assert "orphan" not in app.state.services.decisions.configs.decisions


def test_the_arrows_swap_priorities_and_a_decision_can_be_deleted(app: Any) -> None:
    client, token = sign_in(app, "admin")
    client.post(
        "/console/decisioning/points", data={**POINT, "name": "order_pt", "csrf_token": token}
    )
    for name in ("first_one", "second_one"):
        r = client.post(
            "/console/decisioning/decisions",
            data={
                "name": name,
                "point": "order_pt",
                "state": "Live",
                "attributes": f"header: {name}",
                "csrf_token": token,
            },
        )
        assert r.status_code == 303, _alerts(r.text)
    configs = app.state.services.decisions.configs
    assert [d.name for d in configs.decisions_by_point["order_pt"]] == ["first_one", "second_one"]
    assert _decide(app, "order_pt")["attributes"] == {"header": "first_one"}
    r = client.post(
        "/console/decisioning/decisions/second_one:move",
        data={"direction": "up", "csrf_token": token},
    )
    assert r.status_code == 303
    assert [d.name for d in configs.decisions_by_point["order_pt"]] == ["second_one", "first_one"]
    assert _decide(app, "order_pt")["attributes"] == {"header": "second_one"}
    r = client.post("/console/decisioning/decisions/second_one:delete", data={"csrf_token": token})
    assert r.status_code == 303 and "second_one" not in configs.decisions
    in_use = client.post("/console/decisioning/points/order_pt:delete", data={"csrf_token": token})
    assert in_use.status_code == 409 and "order_pt" in configs.points
    missing = client.get("/console/decisioning/decisions/never_made")
    assert missing.status_code == 404


@pytest.mark.parametrize("scope", ["analyst", "decide", "agent"])
def test_keys_without_admin_cannot_read_or_change_decisioning(app: Any, scope: str) -> None:
    client, token = sign_in(app, scope)
    assert client.get("/console/decisioning").status_code == 403
    r = client.post(
        "/console/decisioning/points", data={**POINT, "name": "nope_pt", "csrf_token": token}
    )
    assert r.status_code == 403
    assert "nope_pt" not in app.state.services.decisions.configs.points
