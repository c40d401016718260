"""The decision form's rule builder, merge-field preview and drag reorder through the ASGI app:
the builder offers every condition kind of the targeting models and round-trips a stored
targeting unchanged, its add/remove edits, the model's errors next to the builder's controls
(nothing saved), the preview rendered for a person, and the reorder with its refusals."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any, get_args

import pytest
from _client import mint_key
from _database import Database
from fastapi.testclient import TestClient
from test_console_access import sign_in

from p13n.domain.decisions import Decision
from p13n.domain.decisions.targeting import ProfileCondition, RequestCondition
from p13n.server.app import create_app

POINT = {"name": "builder_pt", "contentSchema": {"type": "ManualContent"}, "maxItems": 1}
# Every condition kind, a nested group in each form, as the API stores them.
TARGETING: dict[str, Any] = {
    "type": "All",
    "rules": [
        {"source": "attribute", "field": "tier", "operator": "Match Any", "value": ["gold", 3]},
        {
            "source": "insight",
            "field": "spend",
            "key": "shoes",
            "operator": "Is Between",
            "value": [10, 20.5],
        },
        {
            "source": "engagement",
            "field": "View",
            "operator": "Is Greater Than Or Equal To",
            "value": 2,
            "window_days": 7,
        },
        {
            "source": "affinity",
            "field": "brand",
            "key": "Acme",
            "operator": "Is Greater Than",
            "value": 40,
        },
        {"source": "segment", "field": "vip", "operator": "Is Equal To", "value": True},
        {
            "type": "Any",
            "rules": [
                {
                    "source": "context",
                    "field": "topic",
                    "operator": "Is Equal To",
                    "value": "hiking",
                },
                {"source": "pageType", "operator": "Is Equal To", "value": "home"},
                {"source": "channel", "operator": "Has Value"},
                {"source": "locale", "operator": "Is Not Equal To", "value": "fr_FR"},
                {
                    "source": "requestUrl",
                    "field": "path",
                    "operator": "Is Equal To",
                    "value": "/sale",
                },
                {"source": "urlParameter", "field": "ref", "operator": "Has Value"},
                {
                    "source": "utm",
                    "field": "campaign",
                    "operator": "Is Equal To",
                    "value": "spring",
                },
                {
                    "source": "schedule",
                    "startDate": "2026-01-01",
                    "endDate": "2027-12-31",
                    "days": ["Mon", "Sat"],
                    "hours": {"start": "08:00:00", "end": "20:00:00"},
                    "timeZone": "Europe/Paris",
                },
            ],
        },
    ],
}


class _Controls(HTMLParser):
    """The values a browser would submit for the form whose action is `action`."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.values = action, False, {}
        self._select: str | None = None
        self._first: str | None = None
        self._area: str | None = None
        self.options: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and "name" in a and a.get("type") not in ("submit", "button"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first = a.get("name"), None
            self.options[a.get("name", "")] = []
        elif tag == "option" and self._select:
            self.options[self._select].append(a.get("value", ""))
            if self._first is None:
                self._first = a.get("value", "")
                self.values.setdefault(self._select, self._first)
            if "selected" in a:
                self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._area = a.get("name")
            self.values[self._area or ""] = ""

    def handle_data(self, data: str) -> None:
        if self._area:
            self.values[self._area] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._area = None
        elif tag == "form":
            self.inside = False


def controls(page: str, action: str = "/console/decisioning/decisions") -> _Controls:
    parser = _Controls(action)
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Any]:
    application = create_app(e2e_module_db.settings(tmp_path_factory.mktemp("console-rules")))
    with TestClient(application, base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {mint_key(application)}"
        assert client.put("/admin/points/builder_pt", json=POINT).status_code == 200
        segment = {
            "name": "vip",
            "rule": {
                "type": "All",
                "rules": [
                    {
                        "source": "attribute",
                        "field": "tier",
                        "operator": "Is Equal To",
                        "value": "gold",
                    }
                ],
            },
        }
        assert client.put("/admin/segments/vip", json=segment).status_code == 200, "segment"
        yield application


def _put_decision(app: Any, name: str, **extra: Any) -> None:
    body = {"name": name, "point": "builder_pt", "attributes": {"header": "Hi"}, **extra}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {mint_key(app)}"
        r = client.put(f"/admin/decisions/{name}", json=body)
        assert r.status_code == 200, r.text


def _stored_targeting(app: Any, name: str) -> dict[str, Any]:
    decision = app.state.services.decisions.configs.get_decision(name)
    dumped: dict[str, Any] = decision.targeting.model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    return dumped


def test_the_builder_offers_every_condition_kind_of_the_targeting_models(app: Any) -> None:
    client, _ = sign_in(app, "admin")
    _put_decision(app, "kinds_shown", targeting=TARGETING)
    page = client.get("/console/decisioning/decisions/kinds_shown").text
    offered = set(controls(page).options["t.0.kind"])
    model_kinds = {
        *get_args(ProfileCondition.model_fields["source"].annotation),
        *get_args(RequestCondition.model_fields["source"].annotation),
        "schedule",
        "group",
    }
    assert offered == model_kinds and len(model_kinds) == 14


def test_a_stored_targeting_round_trips_through_the_builder_unchanged(app: Any) -> None:
    client, _ = sign_in(app, "admin")
    _put_decision(app, "round_trip", targeting=TARGETING, state="Live")
    before = _stored_targeting(app, "round_trip")
    form = controls(client.get("/console/decisioning/decisions/round_trip").text).values
    assert form["targeting_mode"] == "builder" and form["t.5.kind"] == "group"
    assert form["t.5.7.timeZone"] == "Europe/Paris" and form["t.0.value"] == "gold, 3"
    r = client.post("/console/decisioning/decisions", data=form)
    assert r.status_code == 303, re.findall(r'role="alert">([^<]+)', r.text)
    assert _stored_targeting(app, "round_trip") == before
    assert Decision.model_validate({"name": "x", "point": "p", "targeting": TARGETING})


def test_builder_edits_add_and_remove_conditions_and_nested_groups(app: Any) -> None:
    client, token = sign_in(app, "admin")
    edit = "/console/decisioning/targeting:edit"
    base = {"csrf_token": token, "targeting_mode": "builder", "t.type": "Any"}
    first = controls(f'<form action="x">{client.post(edit, data=base).text}</form>', "x")
    assert first.values["t.0.kind"] == "attribute"  # `Any` with no rule gets one to fill in
    grown = client.post(edit, data={**base, **first.values, "op": "group:t"}).text
    values = controls(f'<form action="x">{grown}</form>', "x").values
    assert values["t.1.kind"] == "group" and values["t.1.0.kind"] == "attribute"
    regrouped = client.post(edit, data={**values, "csrf_token": token, "t.0.kind": "group"})
    nested = controls(f'<form action="x">{regrouped.text}</form>', "x").values
    assert nested["t.0.kind"] == "group" and nested["t.0.0.kind"] == "attribute"
    values["t.1.0.kind"] = "schedule"
    changed = client.post(edit, data={**values, "csrf_token": token}).text
    assert 'name="t.1.0.timeZone"' in changed and 'name="t.1.0.operator"' not in changed
    shrunk = client.post(edit, data={**values, "csrf_token": token, "op": "remove:t.0"}).text
    left = controls(f'<form action="x">{shrunk}</form>', "x").values
    assert left["t.0.kind"] == "group" and "t.1.kind" not in left
    as_json = client.post(edit, data={**left, "csrf_token": token, "targeting_mode": "json"})
    text = controls(f'<form action="x">{as_json.text}</form>', "x").values["targeting"]
    assert json.loads(html.unescape(text))["rules"][0]["type"] == "Any"


def test_builder_errors_come_back_next_to_the_control_and_nothing_is_saved(app: Any) -> None:
    client, token = sign_in(app, "admin")
    form = {
        "csrf_token": token,
        "name": "bad_rules",
        "point": "builder_pt",
        "state": "Live",
        "attributes": "header: Hi",
        "targeting_mode": "builder",
        "t.type": "All",
        "t.0.kind": "engagement",
        "t.0.field": "View",
        "t.0.operator": "Is Greater Than",
        "t.0.value": "many",
        "t.1.kind": "schedule",
        "t.1.timeZone": "Mars/Olympus",
    }
    r = client.post("/console/decisioning/decisions", data=form)
    assert r.status_code == 422
    errors = {
        k: html.unescape(v)
        for k, v in re.findall(r'id="(t-[\w-]+)-error" role="alert">([^<]+)', r.text)
    }
    assert set(errors) == {"t-0", "t-1"}, errors
    assert "compared with numbers" in errors["t-0"] and "unknown time zone" in errors["t-1"]
    assert 'value="many"' in r.text  # what was typed stays
    assert "bad_rules" not in app.state.services.decisions.configs.decisions


def test_a_decision_built_in_the_builder_is_served_only_to_matching_visitors(app: Any) -> None:
    client, token = sign_in(app, "admin")
    form = {
        "csrf_token": token,
        "name": "hiking_only",
        "point": "builder_pt",
        "state": "Live",
        "priority": "1",
        "attributes": "header: For hikers",
        "targeting_mode": "builder",
        "t.type": "Any",
        "t.0.kind": "context",
        "t.0.field": "topic",
        "t.0.operator": "Match Any",
        "t.0.value": "hiking, climbing",
    }
    assert client.post("/console/decisioning/decisions", data=form).status_code == 303
    decide = TestClient(app, base_url="http://127.0.0.1")
    headers = {"Authorization": f"Bearer {mint_key(app, 'public')}"}

    def header(topic: str) -> Any:
        body = {
            "context": {"individualId": "v1", "topic": topic},
            "personalizationPoints": [{"name": "builder_pt"}],
        }
        answer = decide.post("/personalization/decisions", json=body, headers=headers).json()
        return answer["personalizations"][0].get("attributes", {}).get("header")

    assert header("climbing") == "For hikers"
    assert header("golf") != "For hikers"


def test_the_preview_renders_merge_fields_for_a_person_as_the_decision_path_does(
    app: Any,
) -> None:
    client, token = sign_in(app, "admin")
    engine = app.state.services.engine
    event = {
        "eventId": "pv1",
        "deviceId": "dev-preview",
        "dateTime": "2026-11-01T10:00:00Z",
        "user": {"attributes": {"eventType": "identity", "firstName": "Ada"}},
        "consents": [{"purpose": "Tracking", "status": "Opt In"}],
    }
    engine.ingest([event])
    text = "header: Hi {{{firstName|there}}}\nbody: Tier {{{attribute.tier|none}}}"
    url = "/console/decisioning/decisions:preview"
    known = client.post(
        url, data={"csrf_token": token, "attributes": text, "preview_person": "dev-preview"}
    ).text
    shown = dict(re.findall(r'data-attribute="(\w+)">([^<]*)<', known))
    profile = engine.get_profile("dev-preview")
    assert shown["header"] == f"Hi {profile.attributes.get('firstName', 'there')}"
    assert shown["header"] == "Hi Ada" and shown["body"] == "Tier none"
    anonymous = client.post(
        url, data={"csrf_token": token, "attributes": text, "preview_person": "nobody-at-all"}
    ).text
    assert "is unknown" in anonymous and "Hi there" in anonymous
    broken = client.post(url, data={"csrf_token": token, "attributes": "header: {{{nope.x}}}"})
    assert "unknown source" in html.unescape(broken.text)


def test_dragging_sets_priorities_in_the_order_given_and_refuses_other_lists(app: Any) -> None:
    client, token = sign_in(app, "admin")
    for name in ("drag_a", "drag_b", "drag_c"):
        _put_decision(app, name)
    configs = app.state.services.decisions.configs
    names = [d.name for d in configs.decisions_by_point["builder_pt"]]
    wanted = list(reversed(names))
    url = "/console/decisioning/points/builder_pt:order"
    r = client.post(url, data={"csrf_token": token, "order": ",".join(wanted)})
    assert r.status_code == 303
    assert [d.name for d in configs.decisions_by_point["builder_pt"]] == wanted
    assert [configs.get_decision(n).priority for n in wanted] == list(range(1, len(wanted) + 1))
    r = client.post(url, data={"csrf_token": token, "order": "drag_a,drag_b"})
    assert r.status_code == 409
    assert (
        client.post(
            "/console/decisioning/points/no_pt:order", data={"csrf_token": token, "order": ""}
        ).status_code
        == 404
    )
    reader, reader_token = sign_in(app, "analyst")
    r = reader.post(url, data={"csrf_token": reader_token, "order": ",".join(names)})
    assert r.status_code == 403
    assert [d.name for d in configs.decisions_by_point["builder_pt"]] == wanted
