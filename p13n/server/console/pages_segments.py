"""Segments and insights (admin, as `/admin/segments` and `/admin/insights`): definitions,
member counts, edit a segment, and recompute segments or insights with progress.

Member counts are counted over the stored profiles when the page asks for them, after a
recompute and once a day by the server (`SegmentCounts`); each count is kept as that UTC day's
point, and the page charts the members of each segment by day. A recompute runs `Engine.recompute_segments`
/ `Engine.recompute_insights` (the functions behind `POST /admin/segments:recompute`) in a
background thread of this process; the page polls its progress with htmx. A segment is saved
by `Engine.put_segment` (what `PUT /admin/segments/{name}` calls) after `SegmentDefinition`
validated it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from p13n.domain.access import Scope
from p13n.domain.errors import P13nError
from p13n.domain.segments import SegmentDefinition
from p13n.domain.services import Engine
from p13n.server.console.charts import segment_chart
from p13n.server.console.pages_decisioning import field_errors
from p13n.server.console.web import ConsoleError, ConsoleUser, PostUserDep, UserDep, need, render

__all__ = ["RecomputeJob", "router"]

router = APIRouter(include_in_schema=False)
_KEEP_JOBS = 20


def _engine(user: ConsoleUser) -> Engine:
    need(user, Scope.ADMIN)
    return user.services.engine


@dataclass
class RecomputeJob:
    """One background recompute: what, how far, and how it ended."""

    id: str
    what: str  # segments | insights
    total: int
    started: float = field(default_factory=time.time)
    done: int = 0
    finished: float | None = None
    error: str | None = None

    @property
    def percent(self) -> int:
        return 100 if self.finished else int(100 * self.done / self.total) if self.total else 0


def _jobs(request: Request) -> dict[str, RecomputeJob]:
    jobs: dict[str, RecomputeJob] | None = getattr(request.app.state, "console_jobs", None)
    if jobs is None:
        jobs = {}
        request.app.state.console_jobs = jobs
    return jobs


@router.get("/console/segments")
async def segments(request: Request, user: UserDep) -> Response:
    engine = _engine(user)
    trends = await run_in_threadpool(user.services.segment_counts.trends)
    context = {
        "segments": engine.state.segments,
        "insights": engine.state.insights,
        "profiles": await run_in_threadpool(engine.store.count_profiles),
        "jobs": sorted(_jobs(request).values(), key=lambda j: -j.started)[:5],
        "trend": segment_chart(trends),
    }
    return render(request, "segments.html", context, user=user)


@router.get("/console/segments:counts")
async def segment_counts(request: Request, user: UserDep) -> Response:
    """The segments table's rows with member counts (a scan of the stored profiles, so the
    page loads them after it is shown; kept as today's point of the trend)."""
    engine = _engine(user)
    counts, profiles = await run_in_threadpool(user.services.segment_counts.count)
    context = {"segments": engine.state.segments, "counts": counts, "profiles": profiles}
    return render(request, "segment_rows.html", context, user=user)


def _segment_form(
    request: Request,
    user: ConsoleUser,
    values: dict[str, str],
    *,
    existing: str | None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "values": values,
        "existing": existing,
        "errors": errors or {},
        "general": general or [],
    }
    return render(request, "segment_form.html", context, status_code=status, user=user)


@router.get("/console/segments:new")
def new_segment(request: Request, user: UserDep) -> Response:
    _engine(user)
    rule = {"type": "All", "rules": [{"source": "attribute", "field": "", "operator": "Has Value"}]}
    return _segment_form(request, user, {"rule": json.dumps(rule, indent=2)}, existing=None)


@router.get("/console/segments/{name}")
def segment_page(request: Request, name: str, user: UserDep) -> Response:
    engine = _engine(user)
    found = [s for s in engine.state.segments if s.name == name]
    if not found:
        raise ConsoleError(404, "No such segment", f"There is no segment '{name}'.")
    segment = found[0]
    values = {
        "name": segment.name,
        "description": segment.description,
        "rule": json.dumps(segment.rule.model_dump(mode="json", exclude_none=True), indent=2),
    }
    return _segment_form(request, user, values, existing=name)


@router.post("/console/segments")
async def save_segment(request: Request, user: PostUserDep) -> Response:
    engine = _engine(user)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    existing = form.get("existing") or None
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip(),
    }
    errors: dict[str, str] = {}
    general: list[str] = []
    try:
        data["rule"] = json.loads(form.get("rule", ""))
    except ValueError as exc:
        errors["rule"] = f"not valid JSON ({exc})"
    definition: SegmentDefinition | None = None
    try:
        definition = SegmentDefinition.model_validate(data)
    except ValidationError as exc:
        more, general = field_errors(exc, {"name", "description", "rule"})
        errors = {**more, **errors}
    if definition is not None and existing and existing != definition.name:
        general.append(f"A segment's name cannot change ('{existing}'): create a new one.")
    if errors or general or definition is None:
        return _segment_form(
            request, user, form, existing=existing, errors=errors, general=general, status=422
        )
    try:
        await run_in_threadpool(engine.put_segment, definition)
    except P13nError as exc:
        return _segment_form(request, user, form, existing=existing, general=[str(exc)], status=422)
    return RedirectResponse(f"/console/segments/{quote(definition.name)}", status_code=303)


@router.post("/console/segments:recompute")
async def recompute(request: Request, user: PostUserDep) -> Response:
    """Start a recompute of segments (or, with `what=insights`, insights and then segments)."""
    engine = _engine(user)
    what = (await request.form()).get("what", "segments")
    if what not in ("segments", "insights"):
        raise ConsoleError(404, "Nothing to recompute", f"Unknown recompute '{what}'.")
    job = RecomputeJob(secrets.token_hex(6), str(what), engine.store.count_profiles())
    jobs = _jobs(request)
    for old in sorted(jobs.values(), key=lambda j: j.started)[: max(0, len(jobs) - _KEEP_JOBS)]:
        jobs.pop(old.id, None)
    jobs[job.id] = job

    counts = user.services.segment_counts

    def progress(n: int) -> None:
        job.done += n

    def run() -> None:
        try:
            if job.what == "insights":
                engine.recompute_insights(on_progress=progress)
            else:
                engine.recompute_segments(on_progress=progress)
            counts.count()  # today's point of the members' trend, as recomputed
        except Exception as exc:  # a background job reports, it cannot raise to anyone
            job.error = f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = time.time()

    threading.Thread(target=run, name=f"console-recompute-{job.id}", daemon=True).start()
    return render(request, "recompute_job.html", {"job": job}, user=user)


@router.get("/console/segments/jobs/{job_id}")
def job_status(request: Request, job_id: str, user: UserDep) -> Response:
    _engine(user)
    job = _jobs(request).get(job_id)
    if job is None:
        raise ConsoleError(
            404, "No such job", "That recompute is unknown (or the server restarted)."
        )
    return render(request, "recompute_job.html", {"job": job}, user=user)
