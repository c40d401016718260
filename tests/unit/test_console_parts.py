"""The console's pure parts: sessions (idle expiry, ending, CSRF comparison), forms generated
from the tools' input schemas and read back as arguments the tools accept, and chart series
from a pipeline report (zero-filled periods, gaps for timings)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from p13n.domain.access import Principal, Scope
from p13n.domain.analytics import (
    IngestCounts,
    PipelineQuery,
    PipelineReport,
    PipelineRow,
    StageTimings,
)
from p13n.server.console.charts import period_seconds, pipeline_charts
from p13n.server.console.forms import arguments_from_form, fields_from_schema
from p13n.server.console.session import SessionStore, same_token
from p13n.tools import ACTIONS, get_action

ADMIN = Principal(kind="api_key", subject="key_1", scopes=frozenset({Scope.ADMIN}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_while_used_and_ends_after_the_idle_time() -> None:
    clock = Clock()
    store = SessionStore(idle_seconds=60, clock=clock)
    session = store.create("p13n_secret", ADMIN)
    clock.now += 59
    assert store.get(session.id) is session
    clock.now += 59  # used a moment ago: still alive
    assert store.get(session.id) is session
    clock.now += 61
    assert store.get(session.id) is None
    assert len(store) == 0


def test_ending_a_session_forgets_it_and_ids_and_tokens_are_unguessable() -> None:
    store = SessionStore()
    key = "p13n_a-secret-that-must-never-show"  # long: a random id cannot contain it by chance
    a, b = store.create(key, ADMIN), store.create(key, ADMIN)
    assert a.id != b.id and a.csrf != b.csrf and len(a.id) >= 40
    store.end(a.id)
    assert store.get(a.id) is None and store.get(b.id) is b
    assert store.get(None) is None and store.get("") is None
    assert key not in repr(a)


def test_a_csrf_token_matches_only_itself() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abd", "abc")
    assert not same_token("", "")
    assert not same_token(None, "abc")


def test_a_read_only_principal_cannot_edit() -> None:
    store = SessionStore()
    analyst = Principal(kind="api_key", subject="k", scopes=frozenset({Scope.ANALYST}))
    assert store.create("k", ADMIN).can_edit
    assert not store.create("k", analyst).can_edit


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_every_tool_schema_gives_a_labelled_control_per_property(action: Any) -> None:
    schema = action.input_schema()
    fields = fields_from_schema(schema)
    names = [f.name for f in fields]
    assert names == list(schema["properties"])
    for f in fields:
        assert f.label
        assert f.required == (f.name in schema.get("required", []))
        for child in f.children:
            assert child.name.startswith(f.name + ".") and child.label


def test_an_empty_form_sends_no_arguments_so_the_tools_defaults_apply() -> None:
    fields = fields_from_schema(get_action("get_recommendations").input_schema())
    args, errors = arguments_from_form(fields, {"query": "  ", "filters.max_price": ""})
    assert args == {} and errors == {}


def test_the_ucp_search_form_sends_the_catalog_request_it_describes() -> None:
    action = get_action("search_catalog")
    fields = fields_from_schema(action.input_schema())
    kinds = {c.name: c.kind for f in fields for c in f.children}
    assert kinds["catalog.query"] == "text" and kinds["catalog.filters"] == "json"
    form = {"catalog.query": "boots", "catalog.filters": '{"brands": ["TrailCo"]}', "meta": ""}
    args, errors = arguments_from_form(fields, form)
    assert errors == {}
    assert args == {"catalog": {"query": "boots", "filters": {"brands": ["TrailCo"]}}}
    parsed = action.parse(args)
    assert parsed.catalog.query == "boots" and parsed.catalog.filters.brands == ["TrailCo"]


def test_form_values_become_typed_arguments_the_tool_accepts() -> None:
    action = get_action("get_recommendations")
    fields = fields_from_schema(action.input_schema())
    form = {
        "query": "boots",
        "filters.max_price": "80.5",
        "filters.brands": "TrailCo, Summit",
        "limit": "5",
    }
    args, errors = arguments_from_form(fields, form)
    assert errors == {}
    assert args["query"] == "boots" and args["limit"] == 5
    assert args["filters"] == {"max_price": 80.5, "brands": ["TrailCo", "Summit"]}
    parsed = action.parse(args)
    assert parsed.filters.max_price == 80.5 and parsed.filters.brands == ["TrailCo", "Summit"]


def test_a_list_of_objects_is_a_json_field_and_bad_json_is_reported_on_it() -> None:
    fields = fields_from_schema(get_action("get_personalization_decisions").input_schema())
    kinds = {f.name: f.kind for f in fields}
    assert kinds["variables"] == "json" and kinds["points"] == "list"
    args, errors = arguments_from_form(
        fields, {"points": "home_banner", "variables": '[{"name": "a", "value": 1}]'}
    )
    assert args == {"points": ["home_banner"], "variables": [{"name": "a", "value": 1}]}
    _, errors = arguments_from_form(fields, {"variables": "[{"})
    assert list(errors) == ["variables"]


def test_a_number_that_is_not_one_is_passed_on_for_the_tool_to_name() -> None:
    fields = fields_from_schema(get_action("get_context").input_schema())
    args, errors = arguments_from_form(fields, {"individual": "x", "max_bytes": "lots"})
    assert errors == {} and args["max_bytes"] == "lots"


def _row(period: str, requests: int, p99: float | None) -> PipelineRow:
    timings = {"total": StageTimings(p50=1.0, p95=2.0, p99=p99)}
    return PipelineRow(
        period=period,
        requests=requests,
        points=requests * 2,
        served=requests,
        decisions=requests,
        individuals=requests,
        diagnostics={},
        timingsMs=timings,
    )


def test_chart_series_cover_every_period_with_zero_counts_and_timing_gaps() -> None:
    day = 86_400
    start = 1_780_000_000 // day * day
    query = PipelineQuery(start=start, end=start + 4 * day, granularity="day")
    first, third = (
        datetime.fromtimestamp(start + k * day, UTC).strftime("%Y-%m-%d") for k in (0, 2)
    )
    report = PipelineReport(
        start="",
        end="",
        granularity="day",
        groupBy=[],
        rows=[_row(first, 3, 9.0), _row(third, 5, 7.0)],
        total=_row(first, 8, 9.0),
        ingest=[IngestCounts(period=third, accepted=4, rejected=1)],
        ingestTotal=IngestCounts(period=first, accepted=4, rejected=1),
    )
    charts = {c["id"]: c for c in pipeline_charts(report, query)}
    assert charts["traffic"]["x"] == [start + k * day for k in range(4)]
    series = {s["label"]: s["values"] for s in charts["traffic"]["series"]}
    assert series == {"requests": [3, 0, 5, 0], "points": [6, 0, 10, 0], "served": [3, 0, 5, 0]}
    timings = {s["label"]: s["values"] for s in charts["timings"]["series"]}
    assert timings["total p99"] == [9.0, None, 7.0, None]
    ingest = {s["label"]: s["values"] for s in charts["ingest"]["series"]}
    assert ingest["accepted"] == [0, 0, 4, 0] and ingest["rejected"] == [0, 0, 1, 0]


def test_report_periods_read_as_utc_epoch_seconds() -> None:
    assert period_seconds("1970-01-02") == 86_400
    assert period_seconds("1970-01-01T01:00Z") == 3600
