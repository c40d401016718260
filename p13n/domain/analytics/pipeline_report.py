"""The pipeline report: buckets grouped by period (UTC hour or day) and by channel and/or
point, with ingest counts per period; and the query it answers, validated.

The query's range: `from` inclusive, `to` exclusive, each an epoch number, an ISO date
(`2026-11-28`, its 00:00 UTC; a date as `to` means through the end of that day) or an ISO
datetime (naive = UTC). Both default from now: `to` = now, `from` = 7 days (day) or 24 hours
(hour) before. Refused (InvalidInput): a time in the future, `from` not before `to`, an unknown
granularity or grouping, and ranges longer than 400 days (day) or 31 days (hour).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from p13n.domain.analytics.pipeline import HOUR, STAGES, BucketKey, PipelineBucket, merge_all
from p13n.domain.analytics.sketches import hll_estimate, timing_percentile
from p13n.domain.errors import InvalidInput

__all__ = [
    "GRANULARITIES",
    "GROUPINGS",
    "IngestCounts",
    "PipelineQuery",
    "PipelineReport",
    "PipelineRow",
    "StageTimings",
    "parse_pipeline_query",
    "pipeline_report",
]

GRANULARITIES = ("hour", "day")
GROUPINGS = ("channel", "point")
DAY = 86_400
_MAX_SPAN = {"hour": 31 * DAY, "day": 400 * DAY}
_DEFAULT_SPAN = {"hour": DAY, "day": 7 * DAY}
NOTES = (
    "Periods are UTC; `to` is exclusive.",
    "individuals: HyperLogLog estimate (4,096 registers, relative standard error ≈ 1.6 %; "
    "individuals in different periods or groups are not added, they are re-estimated).",
    "timings: nearest-rank percentiles per decision instance from histograms with 10 % "
    "buckets (within ±4.9 % of the exact value between 1 µs and 10 min).",
    "requests: each request counts once; grouped by point, requests are those naming the point.",
)


class PipelineQuery(BaseModel):
    """A validated query: [start, end) in UTC epoch seconds, aligned to the granularity."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    granularity: Literal["hour", "day"]
    group_by: tuple[Literal["channel", "point"], ...] = ()


class StageTimings(BaseModel):
    p50: float | None
    p95: float | None
    p99: float | None


class PipelineRow(BaseModel):
    period: str = Field(
        description="The period's start: `2026-11-28` (day) or `2026-11-28T10:00Z` (hour)."
    )
    channel: str | None = Field(
        default=None, description="Only when grouped by channel ('' = none sent)."
    )
    point: str | None = Field(default=None, description="Only when grouped by point.")
    requests: int
    points: int = Field(description="Decision instances: one per requested point.")
    served: int = Field(description="Instances answered with content (status 200).")
    decisions: int = Field(description="Instances where a decision or experiment cohort qualified.")
    individuals: int = Field(description="Unique individuals (estimate; see notes).")
    diagnostics: dict[str, int] = Field(description="Instances per diagnostic code.")
    timingsMs: dict[str, StageTimings] = Field(description="p50 / p95 / p99 per stage, ms.")


class IngestCounts(BaseModel):
    period: str
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejectedByReason: dict[str, int] = Field(default_factory=dict)


class PipelineReport(BaseModel):
    start: str
    end: str
    granularity: str
    groupBy: list[str]
    rows: list[PipelineRow]
    total: PipelineRow = Field(description="The whole range in one row (period = its start).")
    ingest: list[IngestCounts]
    ingestTotal: IngestCounts
    notes: list[str] = Field(default_factory=lambda: list(NOTES))


def _parse_time(value: str | float | int | None, name: str, *, is_end: bool) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
            return start + DAY if is_end else start
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name}={value!r} is not a date.",
            hint="Use an ISO date (2026-11-28), an ISO datetime (2026-11-28T10:00:00Z) or epoch seconds.",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_pipeline_query(
    *,
    start: str | float | None,
    end: str | float | None,
    granularity: str,
    group_by: Iterable[str],
    now: float,
) -> PipelineQuery:
    """The query as typed by a person or sent as query parameters, validated (InvalidInput)."""
    if granularity not in GRANULARITIES:
        raise InvalidInput(
            f"unknown granularity {granularity!r}.", hint=f"Use one of: {', '.join(GRANULARITIES)}."
        )
    groups: list[str] = []
    for raw in group_by:
        for name in raw.replace(",", " ").split():
            if name not in GROUPINGS:
                raise InvalidInput(
                    f"unknown grouping {name!r}.", hint=f"Group by any of: {', '.join(GROUPINGS)}."
                )
            if name not in groups:
                groups.append(name)
    step = HOUR if granularity == "hour" else DAY
    to = _parse_time(end, "to", is_end=True)
    frm = _parse_time(start, "from", is_end=False)
    for name, value, given in (("from", frm, start), ("to", to, end)):
        if value is None:
            continue
        first = (
            value - DAY
            if name == "to" and isinstance(given, str) and len(given.strip()) == 10
            else value
        )
        if first > now:
            raise InvalidInput(
                f"{name}={given!r} is in the future ({_iso(first)} > now {_iso(now)}).",
                hint="Ask about what already happened.",
            )
    to = now if to is None else min(to, now)
    frm = to - _DEFAULT_SPAN[granularity] if frm is None else frm
    if frm >= to:
        said_from = start if start not in (None, "") else _iso(frm)
        said_to = end if end not in (None, "") else f"now, {_iso(to)}"
        raise InvalidInput(
            f"from ({said_from}) is not before to ({said_to}; a date as `to` ends with its day).",
            hint="Swap them, or widen the range.",
        )
    aligned_start = int(frm // step) * step
    aligned_end = int(math.ceil(to / step)) * step
    if aligned_end - aligned_start > _MAX_SPAN[granularity]:
        limit = _MAX_SPAN[granularity] // DAY
        raise InvalidInput(
            f"the range covers {(aligned_end - aligned_start) / DAY:.0f} days; "
            f"at most {limit} days by {granularity}.",
            hint="Narrow the range, or ask by day.",
        )
    ordered = tuple(g for g in GROUPINGS if g in groups)
    return PipelineQuery(
        start=aligned_start,
        end=aligned_end,
        granularity=granularity,
        group_by=ordered,
    )


def _period(ts: int, granularity: str) -> tuple[int, str]:
    if granularity == "hour":
        start = ts // HOUR * HOUR
        return start, datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%MZ")
    start = ts // DAY * DAY
    return start, datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d")


def _row(period: str, group: Mapping[str, str], bucket: PipelineBucket) -> PipelineRow:
    timings = {
        stage: StageTimings(
            p50=timing_percentile(bucket.timings[i], 0.50),
            p95=timing_percentile(bucket.timings[i], 0.95),
            p99=timing_percentile(bucket.timings[i], 0.99),
        )
        for i, stage in enumerate(STAGES)
    }
    return PipelineRow(
        period=period,
        channel=group.get("channel"),
        point=group.get("point"),
        requests=bucket.point_requests if "point" in group else bucket.requests,
        points=bucket.points,
        served=bucket.served,
        decisions=bucket.decisions,
        individuals=hll_estimate(bucket.units),
        diagnostics={str(c): int(n) for c, n in sorted(bucket.diagnostics.items())},
        timingsMs=timings,
    )


def pipeline_report(
    query: PipelineQuery,
    buckets: Mapping[BucketKey, PipelineBucket],
    ingest: Iterable[tuple[int, str, str, int]],
) -> PipelineReport:
    """The report over the hour buckets and ingest counts (hour, status, reason, n) in range;
    periods without traffic are left out."""
    members: dict[tuple[int, str, tuple[str, ...]], list[PipelineBucket]] = {}
    labels: dict[tuple[int, str, tuple[str, ...]], dict[str, str]] = {}
    for (hour, channel, point), bucket in sorted(buckets.items()):
        if not query.start <= hour < query.end:
            continue
        start, period = _period(hour, query.granularity)
        group = {"channel": channel, "point": point}
        chosen: dict[str, str] = {g: group[g] for g in query.group_by}
        key = (start, period, tuple(chosen.values()))
        if key not in members:
            members[key], labels[key] = [], chosen
        members[key].append(bucket)
    grouped = {key: merge_all(found) for key, found in members.items()}
    total = merge_all(list(grouped.values()))
    rows = [_row(k[1], labels[k], grouped[k]) for k in sorted(grouped)]
    per_period: dict[tuple[int, str], IngestCounts] = {}
    ingest_total = IngestCounts(period=_period(query.start, query.granularity)[1])
    for hour, status, reason, n in ingest:
        if not query.start <= hour < query.end:
            continue
        key2 = _period(hour, query.granularity)
        counts = per_period.setdefault(key2, IngestCounts(period=key2[1]))
        for target in (counts, ingest_total):
            if status == "accepted":
                target.accepted += n
            elif status == "duplicate":
                target.duplicate += n
            else:
                target.rejected += n
                target.rejectedByReason[reason] = target.rejectedByReason.get(reason, 0) + n
    return PipelineReport(
        start=_iso(query.start),
        end=_iso(query.end),
        granularity=query.granularity,
        groupBy=list(query.group_by),
        rows=rows,
        total=_row(_period(query.start, query.granularity)[1], {}, total),
        ingest=[per_period[k] for k in sorted(per_period)],
        ingestTotal=ingest_total,
    )
