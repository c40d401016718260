"""Decision and experiment targeting as data, and its evaluation against one request.

A targeting rule is `{"type": "Always"}` or an `All` / `Any` group of conditions and nested
groups. Conditions read either the profile (the segment rule conditions of
`segments/rules.py`, reused as they are: attribute, insight, engagement, affinity, segment),
the request (context variables, page type, channel, locale, the request URL and its query and
UTM parameters), or the clock (a scheduling window in a time zone). Every comparison goes
through `operators.compare`, so an operator means the same here as in segments and filters.

"Related engagement, at least one" is an engagement condition `Is Greater Than Or Equal To 1`;
"count in a window" sets `window_days` (1-30).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from p13n.domain.decisions.request import DecisionContext
from p13n.domain.errors import InvalidInput
from p13n.domain.graphs import ProfileGraph
from p13n.domain.operators import Operator, compare, validate_operand
from p13n.domain.segments import Condition as ProfileCondition
from p13n.domain.segments import condition_actual

__all__ = [
    "ProfileCondition",
    "RequestCondition",
    "ScheduleCondition",
    "TargetingGroup",
    "Targeting",
    "TargetingFacts",
    "MAX_TARGETING_CONDITIONS",
    "MAX_TARGETING_DEPTH",
    "ALWAYS",
    "evaluate_targeting",
    "facts_for",
    "parse_request_url",
    "referenced_segments_of",
    "count_conditions",
]

MAX_TARGETING_CONDITIONS = 50
MAX_TARGETING_DEPTH = 5
RequestSource = Literal[
    "context", "pageType", "channel", "locale", "requestUrl", "urlParameter", "utm"
]
_URL_PARTS = ("url", "host", "path")
_UTM_FIELDS = ("source", "medium", "campaign", "term", "content")
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class RequestCondition(BaseModel):
    """A comparison on the decision request rather than the profile.

    - context: the custom context variable `field` (any key of `context` that is not one of
      the named fields)
    - pageType / channel / locale: the request's value (no `field`)
    - requestUrl: `field` `url` (whole), `host` or `path` of `context.requestUrl`
    - urlParameter: the query parameter `field` of the request URL
    - utm: `utm_<field>` of the request URL, `field` one of source, medium, campaign, term, content
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: RequestSource
    field: str | None = Field(default=None, min_length=1, max_length=200)
    operator: Operator
    value: Any = None

    @model_validator(mode="after")
    def _check(self) -> RequestCondition:
        try:
            validate_operand(self.operator, self.value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        named = self.source in ("pageType", "channel", "locale")
        if named and self.field is not None:
            raise ValueError(f"a {self.source} condition takes no 'field'")
        if not named and self.field is None:
            raise ValueError(f"a {self.source} condition needs 'field'")
        if self.source == "requestUrl" and self.field not in _URL_PARTS:
            raise ValueError(f"requestUrl field must be one of {', '.join(_URL_PARTS)}")
        if self.source == "utm" and self.field not in _UTM_FIELDS:
            raise ValueError(
                f"utm field must be one of {', '.join(_UTM_FIELDS)} (read as utm_<field>)"
            )
        return self


class HourWindow(BaseModel):
    """Local clock times, `start` included and `end` excluded; `end` before `start` spans
    midnight (22:00-06:00)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time
    end: time


class ScheduleCondition(BaseModel):
    """A scheduling window: date range (inclusive, local dates), weekdays and hours, in `timeZone`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: Literal["schedule"]
    start_date: date | None = Field(default=None, alias="startDate")
    end_date: date | None = Field(default=None, alias="endDate")
    days: list[Weekday] | None = Field(default=None, min_length=1)
    hours: HourWindow | None = None
    time_zone: str = Field(default="UTC", alias="timeZone")

    @model_validator(mode="after")
    def _check(self) -> ScheduleCondition:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.time_zone!r}; use an IANA name like 'Europe/Paris'"
            ) from None
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("startDate is after endDate")
        if self.hours is not None and self.hours.start == self.hours.end:
            raise ValueError("hours.start equals hours.end: the window would be empty")
        return self

    def holds(self, now: float) -> bool:
        local = datetime.fromtimestamp(now, ZoneInfo(self.time_zone))
        if self.start_date is not None and local.date() < self.start_date:
            return False
        if self.end_date is not None and local.date() > self.end_date:
            return False
        if self.days is not None and _WEEKDAYS[local.weekday()] not in self.days:
            return False
        if self.hours is not None:
            clock, start, end = local.time().replace(tzinfo=None), self.hours.start, self.hours.end
            inside = start <= clock < end if start < end else clock >= start or clock < end
            if not inside:
                return False
        return True


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        if "rules" in value or "type" in value:
            return "group"
        source = value.get("source")
        if source == "schedule":
            return "schedule"
        return "request" if source in RequestSource.__args__ else "profile"  # type: ignore[attr-defined]
    if isinstance(value, TargetingGroup):
        return "group"
    if isinstance(value, ScheduleCondition):
        return "schedule"
    return "request" if isinstance(value, RequestCondition) else "profile"


TargetingRule = Annotated[
    Annotated[ProfileCondition, Tag("profile")]
    | Annotated[RequestCondition, Tag("request")]
    | Annotated[ScheduleCondition, Tag("schedule")]
    | Annotated["TargetingGroup", Tag("group")],
    Discriminator(_kind),
]
Condition = ProfileCondition | RequestCondition | ScheduleCondition


class TargetingGroup(BaseModel):
    """`Always`, or `All` / `Any` of the rules (conditions and nested groups)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["Always", "All", "Any"]
    rules: list[TargetingRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> TargetingGroup:
        if self.type == "Always" and self.rules:
            raise ValueError("'Always' takes no rules; use 'All' or 'Any' to add conditions")
        if self.type != "Always" and not self.rules:
            raise ValueError(f"'{self.type}' needs at least one rule; use 'Always' for none")
        if count_conditions(self) > MAX_TARGETING_CONDITIONS:
            raise ValueError(f"targeting has at most {MAX_TARGETING_CONDITIONS} conditions")
        if _depth(self) > MAX_TARGETING_DEPTH:
            raise ValueError(f"targeting groups nest at most {MAX_TARGETING_DEPTH} levels deep")
        return self


Targeting = TargetingGroup


def count_conditions(group: TargetingGroup) -> int:
    return sum(count_conditions(r) if isinstance(r, TargetingGroup) else 1 for r in group.rules)


def _depth(group: TargetingGroup) -> int:
    return 1 + max((_depth(r) for r in group.rules if isinstance(r, TargetingGroup)), default=0)


ALWAYS = TargetingGroup(type="Always")


def referenced_segments_of(group: TargetingGroup) -> set[str]:
    names: set[str] = set()
    for rule in group.rules:
        if isinstance(rule, TargetingGroup):
            names |= referenced_segments_of(rule)
        elif isinstance(rule, ProfileCondition) and rule.source == "segment":
            names.add(rule.field)
    return names


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    url: str | None = None
    host: str | None = None
    path: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


def parse_request_url(url: str | None) -> ParsedUrl:
    """Host, path and query parameters (first value wins) of a request URL; garbage gives
    only `url`."""
    if not url:
        return ParsedUrl()
    try:
        parts = urlsplit(url)
        params: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            params.setdefault(key, value)
        return ParsedUrl(url=url, host=parts.hostname, path=parts.path or None, params=params)
    except ValueError:
        return ParsedUrl(url=url)


@dataclass(frozen=True, slots=True)
class TargetingFacts:
    """What targeting reads: the profile (None for an anonymous visitor), the request, the time."""

    profile: ProfileGraph | None
    now: float
    page_type: str | None = None
    channel: str | None = None
    locale: str | None = None
    url: ParsedUrl = ParsedUrl()
    variables: Mapping[str, Any] = field(default_factory=dict)


def facts_for(ctx: DecisionContext, profile: ProfileGraph | None, now: float) -> TargetingFacts:
    """The facts of one request (decisions and experiment assignment read the same ones)."""
    return TargetingFacts(
        profile=profile,
        now=now,
        page_type=ctx.pageType,
        channel=ctx.channel,
        locale=ctx.locale,
        url=parse_request_url(ctx.requestUrl),
        variables=ctx.variables(),
    )


# An anonymous visitor reads as an empty profile: no attributes, no engagement, no segments.
_ANONYMOUS = ProfileGraph(unified_id="", created_at=0.0, updated_at=0.0)


def _request_actual(cond: RequestCondition, facts: TargetingFacts) -> Any:
    source = cond.source
    if source == "context":
        return facts.variables.get(cond.field or "")
    if source == "pageType":
        return facts.page_type
    if source == "channel":
        return facts.channel
    if source == "locale":
        return facts.locale
    if source == "requestUrl":
        return getattr(facts.url, cond.field or "url")
    if source == "utm":
        return facts.url.params.get(f"utm_{cond.field}")
    return facts.url.params.get(cond.field or "")


def _holds(rule: Any, facts: TargetingFacts) -> bool:
    if isinstance(rule, TargetingGroup):
        return evaluate_targeting(rule, facts)
    if isinstance(rule, ScheduleCondition):
        return rule.holds(facts.now)
    if isinstance(rule, RequestCondition):
        return compare(rule.operator, _request_actual(rule, facts), rule.value, now=facts.now)
    profile = facts.profile if facts.profile is not None else _ANONYMOUS
    actual = condition_actual(rule, profile, facts.now)
    return compare(rule.operator, actual, rule.value, now=facts.now)


def evaluate_targeting(group: TargetingGroup, facts: TargetingFacts) -> bool:
    """Whether the request qualifies; `Always` always does."""
    if group.type == "Always":
        return True
    if group.type == "All":
        return all(_holds(rule, facts) for rule in group.rules)
    return any(_holds(rule, facts) for rule in group.rules)
