"""The console's Measure pages through the ASGI app: experiments created, started and read
(units counted against the visitors sent), attribution with its pickers (bad values answered
with the API's message, never a 500), a person's log and the TestMode preview (which logs
nothing), the split refusals, and the scopes of each page."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from _client import mint_key
from _database import Database
from fastapi.testclient import TestClient
from test_console_access import sign_in

from p13n.domain.decisions import Decision, PersonalizationPoint
from p13n.domain.ingest.items import Item
from p13n.server.app import create_app

VISITORS = [f"shopper-{k}" for k in range(8)]
EXPERIMENT = {
    "name": "mugs_test",
    "label": "Newest against popular",
    "point": "mugs",
    "primaryMetric": "Click-Through Rate",
    "secondary.Conversion Rate": "on",
    "mode": "ab",
    "cohorts.0.id": "control",
    "cohorts.0.weight": "50",
    "cohorts.0.source": "defer",
    "cohorts.1.id": "sellers",
    "cohorts.1.weight": "50",
    "cohorts.1.source": "recommender",
    "cohorts.1.ref": "top-sellers",
    "targeting": '{"type": "Always"}',
}


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, e2e_module_db: Database) -> Iterator[Any]:
    application = create_app(e2e_module_db.settings(tmp_path_factory.mktemp("console-measure")))
    with TestClient(application, base_url="http://127.0.0.1"):
        services = application.state.services
        services.engine.upsert_items(
            [Item(id=f"i{k}", name=f"Mug {k}", category="Home/Mugs", price=12.5) for k in range(6)]
        )
        point = {"name": "mugs", "contentSchema": {"type": "Recommendations"}, "maxItems": 3}
        services.decisions.change(lambda r: r.put_point(PersonalizationPoint.model_validate(point)))
        decision = {
            "name": "newest_mugs",
            "point": "mugs",
            "state": "Live",
            "recommender": "newest",
        }
        services.decisions.change(lambda r: r.put_decision(Decision.model_validate(decision)))
        yield application


def _api(app: Any) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    client.headers["Authorization"] = f"Bearer {mint_key(app, 'admin')}"
    return client


def _decide(app: Any, who: str) -> dict[str, Any]:
    body = {
        "context": {"individualId": who},
        "personalizationPoints": [{"name": "mugs"}],
        "executionFlags": ["EnableDiagnostics"],
    }
    r = _api(app).post("/personalization/authenticated/decisions", json=body)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["personalizations"][0]
    return found


def _alerts(text: str) -> list[str]:
    return [html.unescape(t).strip() for t in re.findall(r'role="alert"[^>]*>([^<]+)', text)]


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_an_experiment_is_created_started_and_its_units_counted(app: Any) -> None:
    client, token = sign_in(app, "admin")
    bad = {**EXPERIMENT, "cohorts.1.weight": "40", "csrf_token": token}
    r = client.post("/console/experiments", data=bad)
    assert r.status_code == 422
    assert any("sum to 100" in a for a in _alerts(r.text)), _alerts(r.text)
    assert "mugs_test" not in app.state.services.decisions.configs.experiments
    r = client.post("/console/experiments", data={**EXPERIMENT, "csrf_token": token})
    assert r.status_code == 303, _text(r.text)[-2500:]
    page = client.get("/console/experiments/mugs_test")
    assert page.status_code == 200 and ">Created<" in page.text
    r = client.post("/console/experiments/mugs_test:start", data={"csrf_token": token})
    assert r.status_code == 303
    assert app.state.services.decisions.configs.get_experiment("mugs_test").status == "Started"
    answers = [_decide(app, who) for who in VISITORS]
    app.state.services.decisions.log.flush()
    cohorts: dict[str, int] = {}
    for a in answers:
        cohorts[a["trace"]["cohort"]] = cohorts.get(a["trace"]["cohort"], 0) + 1
    units = client.get("/console/experiments/mugs_test/units")
    assert _text(units.text).strip() == str(len(VISITORS))
    results = _text(client.get("/console/experiments/mugs_test").text)
    for cohort, n in cohorts.items():
        assert re.search(rf"{cohort}( \(control\))? 50% {n} ", results), (cohort, n, results)
    assert "Verdict" in results and "Conversion Rate" in results
    listed = client.get("/console/experiments")
    assert "/console/experiments/mugs_test/units" in listed.text


def test_the_results_day_by_day_end_on_the_full_results(app: Any) -> None:
    client, _ = sign_in(app, "analyst")
    part = client.get("/console/experiments/mugs_test/series", params={"engine": "frequentist"})
    assert part.status_code == 200, part.text
    services = app.state.services
    from p13n.domain.services.measure_series import experiment_series

    experiment = services.decisions.configs.get_experiment("mugs_test")
    series = experiment_series(services.measure, experiment)
    full = services.measure.experiment_results(experiment)
    assert [c.units[-1] for c in series.cohorts] == [c.units for c in full.cohorts]
    assert sum(c.units[-1] for c in series.cohorts) == len(VISITORS)
    assert 'id="chart-cumulative"' in part.text and 'id="chart-lift"' in part.text


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/console/experiments/nope", 404, "no experiment"),
        ("/console/experiments/mugs_test?engine=magic", 422, "unknown engine"),
        ("/console/experiments/mugs_test/series?metric=Orders", 422, "does not measure"),
        ("/console/attribution?window=0h", 422, "not a positive duration"),
        ("/console/attribution?model=u_shaped", 422, "unknown attribution model"),
        ("/console/attribution?group=shelf", 422, "unknown grouping"),
        ("/console/attribution?start=2999-01-01", 422, "in the future"),
        ("/console/attribution?start=2026-03-02&end=2026-03-01", 422, "is not before"),
        ("/console/attribution?end=later", 422, "is not a date"),
        ("/console/people/u-nobody/preview", 404, "No such person"),
    ],
)
def test_bad_ids_and_picker_values_get_a_message_not_a_500(
    app: Any, path: str, status: int, says: str
) -> None:
    client, _ = sign_in(app, "admin")
    r = client.get(path)
    assert r.status_code == status, r.text
    assert says.lower() in _text(r.text).lower()


def test_the_htmx_report_answers_a_bad_picker_with_a_message_it_can_swap(app: Any) -> None:
    client, _ = sign_in(app, "analyst")
    r = client.get("/console/attribution/report?window=zz", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "not a positive duration" in _text(r.text)
    assert "<html" not in r.text


def test_attribution_credits_todays_clicks_to_the_point_and_charts_days(app: Any) -> None:
    shown = _decide(app, "clicker")
    item = shown["data"][0]
    click = {
        "individualId": "clicker",
        "interaction": "personalization-click",
        "personalizationId": shown["personalizationId"],
        "personalizationContentId": item["personalizationContentId"],
        "itemId": item["id"],
    }
    assert _api(app).post("/events", json={"events": [click]}).status_code == 200
    app.state.services.decisions.log.flush()
    client, _ = sign_in(app, "analyst")
    day = _today()
    r = client.get("/console/attribution", params={"group": "point", "start": day, "end": day})
    assert r.status_code == 200, r.text
    query = app.state.services.measure.query(group_by=["point"], start=day, end=day)
    expected = app.state.services.measure.attribution(query).rows[0]
    row = re.search(r"<tr><td>mugs</td>((?:<td>[^<]*</td>)+)</tr>", r.text)
    assert row, r.text
    cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
    assert cells[1:3] == [str(expected.impressions), str(expected.clicks)] and expected.clicks >= 1
    by_day = client.get("/console/attribution", params={"group": "day", "start": day, "end": day})
    assert 'id="chart-attribution-days"' in by_day.text


def test_a_persons_page_shows_what_was_logged_for_them_and_the_preview_logs_nothing(
    app: Any,
) -> None:
    services = app.state.services
    assert (
        _api(app)
        .post(
            "/events",
            json={"events": [{"individualId": "regular", "interaction": "view", "itemId": "i1"}]},
        )
        .status_code
        == 200
    )
    shown = _decide(app, "regular")
    item = shown["data"][0]
    click = {
        "individualId": "regular",
        "interaction": "personalization-click",
        "personalizationId": shown["personalizationId"],
        "personalizationContentId": item["personalizationContentId"],
        "itemId": item["id"],
    }
    assert _api(app).post("/events", json={"events": [click]}).status_code == 200
    services.decisions.log.flush()
    uid = services.engine.resolve("regular")
    client, _ = sign_in(app, "decide")
    page = client.get(f"/console/people/{uid}")
    assert page.status_code == 200
    shown_rows = re.search(r'data-testid="shown">(.*?)</table>', page.text, re.S)
    assert shown_rows, page.text
    assert shown_rows.group(1).count("<tr>") - 1 == 1  # the header row, and one decision
    assert "personalization-click Mug" in _text(shown_rows.group(1))
    before = services.decisions.log.rows.count()
    preview = client.get(f"/console/people/{uid}/preview")
    assert preview.status_code == 200
    experiment = services.decisions.configs.get_experiment("mugs_test")
    cohort = services.decisions.assign_cohort(experiment, uid).id
    assert 'data-testid="preview-mugs"' in preview.text
    assert f"experiment mugs_test, cohort {cohort}" in _text(preview.text)
    services.decisions.log.flush()
    assert services.decisions.log.rows.count() == before
    again = client.get(f"/console/people/{uid}")
    assert re.search(r'data-testid="shown">(.*?)</table>', again.text, re.S).group(1) == (  # type: ignore[union-attr]
        shown_rows.group(1)
    )


def test_splits_need_admin_csrf_and_a_record_of_the_person(app: Any) -> None:
    uid = app.state.services.engine.resolve("regular")
    reader, reader_token = sign_in(app, "decide")
    r = reader.post(
        f"/console/people/{uid}/split", data={"record_id": "x", "csrf_token": reader_token}
    )
    assert r.status_code == 403
    admin, token = sign_in(app, "admin")
    assert admin.post(f"/console/people/{uid}/split", data={"record_id": "x"}).status_code == 403
    r = admin.post(
        f"/console/people/{uid}/split", data={"record_id": "crm:nobody", "csrf_token": token}
    )
    assert r.status_code == 404 and "not one of the source records" in _text(r.text)


@pytest.mark.parametrize(
    ("scopes", "path", "status"),
    [
        (("decide",), "/console/experiments", 403),
        (("decide",), "/console/attribution", 403),
        (("analyst",), "/console/experiments", 200),
        (("analyst",), "/console/attribution", 200),
        (("analyst",), "/console/experiments:new", 403),
        (("analyst",), "/console/people/u-x/preview", 403),
    ],
)
def test_each_measure_page_asks_the_scope_of_its_api_route(
    app: Any, scopes: tuple[str, ...], path: str, status: int
) -> None:
    client, _ = sign_in(app, *scopes)
    assert client.get(path).status_code == status


def test_a_read_only_key_sees_no_lifecycle_buttons_and_its_posts_are_refused(app: Any) -> None:
    client, token = sign_in(app, "analyst")
    page = client.get("/console/experiments/mugs_test")
    assert page.status_code == 200
    assert (
        ":stop" not in page.text and "New experiment" not in client.get("/console/experiments").text
    )
    r = client.post("/console/experiments/mugs_test:stop", data={"csrf_token": token})
    assert r.status_code == 403
    r = client.post(
        "/console/experiments", data={**EXPERIMENT, "name": "other", "csrf_token": token}
    )
    assert r.status_code == 403
    assert app.state.services.decisions.configs.get_experiment("mugs_test").status == "Started"
    admin, admin_token = sign_in(app, "admin")
    assert (
        admin.post(
            "/console/experiments/mugs_test:fly", data={"csrf_token": admin_token}
        ).status_code
        == 404
    )
    assert (
        admin.post(
            "/console/experiments/mugs_test:start", data={"csrf_token": admin_token}
        ).status_code
        == 409
    )


def _units_shown(page: str) -> int:
    found = re.findall(r"(?:control \(control\)|sellers) 50% (\d+) ", _text(page))
    assert len(found) == 2, _text(page)
    return sum(int(n) for n in found)


def test_the_results_page_reads_its_snapshot_until_asked_to_recompute(app: Any) -> None:
    client, _ = sign_in(app, "analyst")
    before = client.get("/console/experiments/mugs_test")
    assert "Figures as of" in _text(before.text) and "Recompute now" in before.text
    shown = _units_shown(before.text)
    _decide(app, "late-shopper")
    app.state.services.decisions.log.flush()
    again = client.get("/console/experiments/mugs_test")
    assert _units_shown(again.text) == shown  # the snapshot is a minute young
    services = app.state.services
    live = services.measure.experiment_results(
        services.decisions.configs.get_experiment("mugs_test")
    ).units
    assert live > shown
    fresh = client.get("/console/experiments/mugs_test", params={"fresh": "true"})
    assert fresh.status_code == 200 and _units_shown(fresh.text) == live
    assert _units_shown(client.get("/console/experiments/mugs_test").text) == live


def test_a_results_page_whose_figures_take_long_says_so_and_reloads_until_they_are_made(
    app: Any,
) -> None:
    client, _ = sign_in(app, "analyst")
    snapshots = app.state.services.measure.snapshots
    real, release = snapshots.compute, threading.Event()

    def slow(*args: Any) -> Any:  # the real figures, made once the test lets them
        release.wait(10)
        return real(*args)

    snapshots.compute = slow
    try:
        making = client.get("/console/experiments/mugs_test", params={"engine": "sequential"})
        assert making.status_code == 200 and 'data-testid="making"' in making.text
        assert '<meta http-equiv="refresh" content="3">' in making.text
    finally:
        release.set()
        snapshots.compute = real
    for _ in range(100):
        page = client.get("/console/experiments/mugs_test", params={"engine": "sequential"})
        if 'data-testid="making"' not in page.text:
            break
        time.sleep(0.1)
    assert "Figures as of" in _text(page.text) and "Verdict" in page.text
