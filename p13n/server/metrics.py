"""`GET /metrics` in the Prometheus exposition format (`prometheus-client`), fed by one ASGI
middleware, so no route carries metrics code.

What is exported (one registry per app, so several apps in one process never clash):
- `p13n_http_requests_total{method,route,status}` and the latency histogram
  `p13n_http_request_duration_seconds{method,route}`; `route` is the route's template
  (`/profiles/{identifier}`), `unmatched` for a path no route has, so the label set stays small;
- the personalization log: `p13n_personalization_log_queue_depth`, `..._written_total`,
  `..._dropped_total` (queue full or closed), `..._failed_total` (a store error);
- `p13n_ingest_events_total{status,reason}`: events accepted, duplicate or rejected (by reason)
  since the process started.
Read at scrape time from the process's services; counters reset when the process restarts, as
Prometheus expects.

Access: `/metrics` needs the `analyst` scope (or `admin`) like the analytics routes: a scraper
sends it as a bearer token (`authorization: {credentials_file: ...}` in the scrape config), the
same credential type as every other route, so a deployment is never left open by a network
assumption (a loopback-only exception would open it to anything on the host, proxies included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HttpMetrics", "MetricsMiddleware", "install_metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """The registry of one app and its request metrics."""

    def __init__(self, services: Callable[[], Any]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "p13n_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "p13n_http_request_duration_seconds",
            "Seconds from receiving a request to the end of its answer, by method and route.",
            ("method", "route"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_ServiceCollector(services))
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # label lookups cost more than the observation: cached per key
            children = self._children[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


class _ServiceCollector(Collector):
    """Gauges and counters read from the running services at scrape time."""

    def __init__(self, services: Callable[[], Any]) -> None:
        self.services = services

    def describe(self) -> list[Metric]:
        return []  # read at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        services = self.services()
        if services is None:
            return
        log = services.decisions.log
        if log is not None:
            yield GaugeMetricFamily(
                "p13n_personalization_log_queue_depth",
                "Personalization log entries queued, not yet written.",
                value=log.pending(),
            )
            for name, value, text in (
                ("written", log.written, "Personalization log entries written."),
                ("dropped", log.dropped, "Entries dropped: the queue was full or closed."),
                ("failed", log.failed, "Entries lost to a store error while writing."),
            ):
                yield CounterMetricFamily(f"p13n_personalization_log_{name}", text, value=value)
        ingest = CounterMetricFamily(
            "p13n_ingest_events",
            "Events ingested since the process started, by status and rejection reason.",
            labels=("status", "reason"),
        )
        for (status, reason), n in sorted(services.pipeline.ingest_totals().items()):
            ingest.add_metric((status, reason), n)
        yield ingest


class MetricsMiddleware:
    """Times every HTTP request and counts it by route template and status (pure ASGI: no
    per-request task or body buffering, so the decision path pays microseconds)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes the app is answered 500 outside this middleware

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)


router = APIRouter(tags=["meta"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format (version 0.0.4).",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {}},
        },
        401: {"description": "no credential, or an unknown one: send an `analyst` key"},
        403: {"description": "the credential lacks the `analyst` scope"},
    },
)
def metrics(request: Request) -> Response:
    """Request counts and latencies, the personalization log's queue, and ingest counts."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI) -> None:
    """Add the middleware and `GET /metrics` (the services are read from `app.state` when
    scraped, so this can run before the lifespan built them)."""
    http = HttpMetrics(lambda: getattr(app.state, "services", None))
    app.state.metrics = http
    app.add_middleware(MetricsMiddleware, metrics=http)
    app.include_router(router)
