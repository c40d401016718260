"""Chart data for the console: a pipeline report as the series uPlot draws (and the tables
the page prints under each chart for screen readers and for tests).

A chart is `{"id", "title", "unit", "x": [epoch seconds], "series": [{"label", "values"}]}`;
`static/console.js` turns it into a uPlot chart. Missing values are None (a gap, not a zero).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from p13n.domain.analytics import PipelineQuery, PipelineReport
from p13n.domain.services import SegmentTrend

__all__ = ["Chart", "pipeline_charts", "period_seconds", "segment_chart"]

Chart = dict[str, Any]
_TIMED_STAGES = ("total", "qualifying", "personalizing", "augmenting")
_STEP = {"hour": 3600, "day": 86_400}


def period_seconds(period: str) -> int:
    """`2026-11-28` or `2026-11-28T10:00Z` (a report's period) as UTC epoch seconds."""
    text = period.replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _chart(
    chart_id: str, title: str, unit: str, x: list[int], series: dict[str, list[Any]]
) -> Chart:
    return {
        "id": chart_id,
        "title": title,
        "unit": unit,
        "x": x,
        "series": [{"label": label, "values": values} for label, values in series.items()],
    }


def pipeline_charts(report: PipelineReport, query: PipelineQuery) -> list[Chart]:
    """The Overview's charts: traffic, unique individuals, stage timings (p50 and p99) and
    ingest, one point per period of the query (ungrouped rows). Periods the report leaves out
    (no traffic) count zero; their timings are gaps."""
    step = _STEP[query.granularity]
    x = list(range(query.start, query.end, step))
    rows = {period_seconds(r.period): r for r in report.rows}
    ingest_rows = {period_seconds(r.period): r for r in report.ingest}

    def counts(name: str) -> list[Any]:
        return [getattr(rows[t], name) if t in rows else 0 for t in x]

    def ingested(name: str) -> list[Any]:
        return [getattr(ingest_rows[t], name) if t in ingest_rows else 0 for t in x]

    stages = [s for s in _TIMED_STAGES if any(s in r.timingsMs for r in rows.values())]
    timing_series: dict[str, list[Any]] = {}
    for stage in stages:
        for pct in ("p50", "p99"):
            timing_series[f"{stage} {pct}"] = [
                getattr(rows[t].timingsMs[stage], pct)
                if t in rows and stage in rows[t].timingsMs
                else None
                for t in x
            ]
    return [
        _chart(
            "traffic",
            "Decision requests, points and content served",
            "count",
            x,
            {
                "requests": counts("requests"),
                "points": counts("points"),
                "served": counts("served"),
            },
        ),
        _chart(
            "individuals", "Unique individuals", "people", x, {"individuals": counts("individuals")}
        ),
        _chart("timings", "Stage timings (ms)", "ms", x, timing_series),
        _chart(
            "ingest",
            "Events ingested",
            "events",
            x,
            {
                "accepted": ingested("accepted"),
                "duplicate": ingested("duplicate"),
                "rejected": ingested("rejected"),
            },
        ),
    ]


def segment_chart(trends: list[SegmentTrend]) -> Chart | None:
    """Each segment's members by UTC day, one series per segment (None on days without a
    count); None when no day was counted yet."""
    days = sorted({int(d) for t in trends for d in t.days})
    if not days:
        return None
    series: dict[str, list[Any]] = {}
    for trend in trends:
        kept = dict(zip((int(d) for d in trend.days), trend.members, strict=True))
        series[trend.segment] = [kept.get(d) for d in days]
    return _chart("segment-members", "Members of each segment by day", "count", days, series)
