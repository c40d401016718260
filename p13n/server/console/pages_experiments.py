"""Experiments: the list with status and units, create (admin, the API's `Experiment` model),
start / stop / archive (admin, as `POST /admin/experiments/{name}:{action}`), and a results
page over `MeasureService.experiment_results`: per metric and cohort the lift with its
interval (SVG bars, CUPED beside the unadjusted figures), the sample-ratio check, the verdict in
words, an engine picker, and two charts loaded after the page (the cumulative metric per cohort
day by day, `measure_series`; the bandit's weights over time).

Results are read by analyst keys and up (as `GET /analytics/...`); changes need admin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.domain.analytics import ENGINES, BanditState, ResultSettings
from p13n.domain.decisions import ACTIONS, TRANSITIONS, Experiment, Metric
from p13n.domain.errors import InvalidInput, NotFound, P13nError
from p13n.domain.services import SNAPSHOT_WAIT_S, experiment_series
from p13n.server.console.measure_charts import bandit_chart, interval_rows, series_charts
from p13n.server.console.pages_decisioning import field_errors
from p13n.server.console.web import ConsoleError, ConsoleUser, PostUserDep, UserDep, need, render

__all__ = ["COHORT_ROWS", "experiment_from_form", "router"]

router = APIRouter(include_in_schema=False)
METRICS: tuple[str, ...] = get_args(Metric)
COHORT_ROWS = 4
SOURCES = ("decision", "recommender", "defer")
FIELDS = {
    "name",
    "label",
    "description",
    "point",
    "primaryMetric",
    "secondaryMetrics",
    "mode",
    "bandit",
    "bandit.intervalSeconds",
    "bandit.minShare",
    "targeting",
    "cohorts",
    *(f"cohorts.{i}" for i in range(COHORT_ROWS)),
    *(f"cohorts.{i}.{k}" for i in range(COHORT_ROWS) for k in ("id", "weight")),
}


def _experiment(user: ConsoleUser, name: str) -> Experiment:
    try:
        return user.services.decisions.configs.get_experiment(name)
    except NotFound as exc:
        raise ConsoleError(404, "No such experiment", str(exc)) from None


def _bandit(user: ConsoleUser, experiment: Experiment) -> BanditState | None:
    if experiment.mode != "bandit" or experiment.started_at is None:
        return None
    return user.services.decisions.bandits.state(experiment)


def _settings(engine: str) -> ResultSettings:
    if engine not in ENGINES:
        raise InvalidInput(
            f"unknown engine {engine!r}.", hint=f"Choose one of: {', '.join(ENGINES)}."
        )
    return ResultSettings(engine=engine)


def _moves(experiment: Experiment) -> list[str]:
    """The lifecycle buttons this experiment's status allows, as action names."""
    allowed = TRANSITIONS[experiment.status]
    return [action for action, status in ACTIONS.items() if status in allowed]


# -- the list ---------------------------------------------------------------------------------
@router.get("/console/experiments")
def experiments(request: Request, user: UserDep) -> Response:
    need(user, Scope.ANALYST)
    configs = user.services.decisions.configs
    listed = sorted(configs.experiments.values(), key=lambda e: e.name)
    return render(
        request,
        "experiments.html",
        {"experiments": listed, "moves": {e.name: _moves(e) for e in listed}},
        user=user,
    )


@router.get("/console/experiments/{name}/units")
async def experiment_units(request: Request, name: str, user: UserDep) -> Response:
    """The units exposed so far (an htmx fragment the list loads per row, so the list itself
    reads nothing from the log)."""
    need(user, Scope.ANALYST)
    experiment = _experiment(user, name)
    results = await run_in_threadpool(
        user.services.measure.experiment_results,
        experiment,
        ResultSettings(pre_window=0.0),
        bandit=_bandit(user, experiment),
    )
    return render(request, "experiment_units.html", {"results": results}, user=user)


# -- create -----------------------------------------------------------------------------------
def experiment_from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as the API's JSON body, and the errors of fields that are not even JSON."""
    errors: dict[str, str] = {}
    cohorts: list[dict[str, Any]] = []
    for i in range(COHORT_ROWS):
        cid = form.get(f"cohorts.{i}.id", "").strip()
        if not cid:
            continue
        cohort: dict[str, Any] = {"id": cid, "weight": form.get(f"cohorts.{i}.weight", "").strip()}
        source = form.get(f"cohorts.{i}.source", "decision")
        ref = form.get(f"cohorts.{i}.ref", "").strip()
        if source == "defer":
            cohort["deferToDecisions"] = True
        elif source in ("decision", "recommender"):
            cohort[source] = ref or None
        cohorts.append(cohort)
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "label": form.get("label", "").strip(),
        "description": form.get("description", "").strip(),
        "point": form.get("point", "").strip(),
        "primaryMetric": form.get("primaryMetric", ""),
        "secondaryMetrics": [m for m in METRICS if form.get(f"secondary.{m}") == "on"],
        "mode": form.get("mode", "ab"),
        "cohorts": cohorts,
    }
    bandit: dict[str, Any] = {}
    if form.get("bandit.intervalSeconds", "").strip():
        bandit["intervalSeconds"] = form["bandit.intervalSeconds"].strip()
    if form.get("bandit.minShare", "").strip():
        bandit["minShare"] = form["bandit.minShare"].strip()
    if bandit:
        data["bandit"] = bandit
    targeting = form.get("targeting", "").strip()
    if targeting:
        try:
            data["targeting"] = json.loads(targeting)
        except ValueError as exc:
            errors["targeting"] = f"not valid JSON ({exc})"
    return data, errors


def _form_page(
    request: Request,
    user: ConsoleUser,
    values: Mapping[str, str],
    *,
    errors: Mapping[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    configs = user.services.decisions.configs
    return render(
        request,
        "experiment_form.html",
        {
            "values": values,
            "errors": errors or {},
            "general": general or [],
            "points": sorted(configs.points),
            "decisions": sorted(configs.decisions),
            "recommenders": sorted(user.services.recommend.configs),
            "metrics": METRICS,
            "rows": range(COHORT_ROWS),
            "sources": SOURCES,
        },
        status_code=status,
        user=user,
    )


@router.get("/console/experiments:new")
def new_experiment(request: Request, user: UserDep) -> Response:
    need(user, Scope.ADMIN)
    values = {
        "mode": "ab",
        "primaryMetric": METRICS[0],
        "cohorts.0.id": "control",
        "cohorts.0.weight": "50",
        "cohorts.0.source": "defer",
        "cohorts.1.id": "treatment",
        "cohorts.1.weight": "50",
        "cohorts.1.source": "recommender",
        "targeting": '{"type": "Always"}',
    }
    return _form_page(request, user, values)


@router.post("/console/experiments")
async def create_experiment(request: Request, user: PostUserDep) -> Response:
    need(user, Scope.ADMIN)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    data, errors = experiment_from_form(form)
    experiment: Experiment | None = None
    general: list[str] = []
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        more, general = field_errors(exc, FIELDS)
        # the model's own checks (weights, cohort ids, the control) belong to the cohorts
        about = [g for g in general if g.startswith("form: ") and "cohort" in g or "weight" in g]
        if about:
            more["cohorts"] = "; ".join(g.removeprefix("form: ") for g in about)
            general = [g for g in general if g not in about]
        errors = {**more, **errors}
    configs = user.services.decisions.configs
    if experiment is not None and experiment.name in configs.experiments:
        general.append(
            f"An experiment named '{experiment.name}' exists: choose another name "
            "(a run experiment's design cannot change)."
        )
    if errors or general or experiment is None:
        return _form_page(request, user, form, errors=errors, general=general, status=422)
    chosen = experiment
    try:
        user.services.decisions.change(lambda c: c.put_experiment(chosen))
    except P13nError as exc:
        return _form_page(request, user, form, general=[str(exc)], status=422)
    return RedirectResponse(f"/console/experiments/{quote(chosen.name)}", status_code=303)


@router.post("/console/experiments/{name}:{action}")
def move_experiment(request: Request, name: str, action: str, user: PostUserDep) -> Response:
    need(user, Scope.ADMIN)
    status = ACTIONS.get(action)
    if status is None:
        raise ConsoleError(
            404, "No such action", f"Experiments can be: {', '.join(ACTIONS)}; not '{action}'."
        )
    _experiment(user, name)
    try:
        user.services.decisions.change(lambda c: c.move_experiment(name, status))
    except P13nError as exc:
        raise ConsoleError(409, "The experiment did not change", str(exc)) from None
    return RedirectResponse(f"/console/experiments/{quote(name)}", status_code=303)


# -- results ----------------------------------------------------------------------------------
@router.get("/console/experiments/{name}")
async def experiment_page(
    request: Request, name: str, user: UserDep, engine: str = "bayesian", fresh: bool = False
) -> Response:
    """The results from the reading's latest snapshot (`ResultSnapshots`: made behind the page
    once it is a minute old, or asked `fresh`; a page with none yet says it is being made and
    reloads itself)."""
    need(user, Scope.ANALYST)
    experiment = _experiment(user, name)
    problem = None
    try:
        settings = _settings(engine)
    except InvalidInput as exc:
        problem, engine, settings = str(exc), "bayesian", ResultSettings()
    bandit = _bandit(user, experiment)
    snapshot = await run_in_threadpool(
        lambda: user.services.measure.snapshots.get(
            experiment, settings, bandit, fresh=fresh, wait_s=SNAPSHOT_WAIT_S
        )
    )
    if snapshot.results is None:
        context = {"e": experiment, "engine": engine, "snapshot": snapshot}
        return render(request, "experiment_making.html", context, user=user)
    results = snapshot.results
    metrics = []
    for m in results.metrics:
        rows, zero = interval_rows(m.comparisons, results.engine)
        metrics.append({"m": m, "intervals": rows, "zero": zero})
    now = user.services.measure.now()
    return render(
        request,
        "experiment.html",
        {
            "e": experiment,
            "results": results,
            "snapshot": snapshot,
            "age_s": max(0.0, user.services.measure.now() - (snapshot.as_of or 0.0)),
            "metrics": metrics,
            "engine": engine,
            "engines": ENGINES,
            "problem": problem,
            "moves": _moves(experiment),
            "bandit": bandit_chart(bandit, now) if bandit is not None else None,
            "known_metrics": [experiment.primary_metric, *experiment.secondary_metrics],
        },
        status_code=422 if problem else 200,
        user=user,
    )


@router.get("/console/experiments/{name}/series")
async def experiment_series_part(
    request: Request, name: str, user: UserDep, engine: str = "bayesian", metric: str = ""
) -> Response:
    """The cumulative charts (an htmx fragment the results page loads after it is shown)."""
    need(user, Scope.ANALYST)
    experiment = _experiment(user, name)
    try:
        settings = _settings(engine)
        series = await run_in_threadpool(
            lambda: experiment_series(
                user.services.measure,
                experiment,
                metric=metric or None,
                settings=settings,
                bandit=_bandit(user, experiment),
            )
        )
    except InvalidInput as exc:
        # htmx swaps only successful answers: the message is a 200 to it, a 422 otherwise
        status = 200 if request.headers.get("hx-request") else 422
        return render(
            request, "experiment_series.html", {"problem": str(exc)}, status_code=status, user=user
        )
    return render(
        request,
        "experiment_series.html",
        {"problem": None, "series": series, "charts": series_charts(series)},
        user=user,
    )
