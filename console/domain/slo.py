"""Service level objectives: a typed objective that writes its own PromQL, and the arithmetic of SLOs.

An :class:`Objective` is what a valid OpenSLO document becomes (see ``console.domain.slo_spec``). It writes
every PromQL expression the console needs, so the overview, the recording rules and the alerts all compute
the same error ratio the same way:

- the error ratio over a window is traffic-weighted: ``sum(rate(bad[w])) / sum(rate(total[w]))``, i.e. bad
  events over all events in the window, never an average of short-window ratios (an hour of 3 requests must
  not weigh as much as an hour of 30 000);
- the recording rules store exactly those expressions under Sloth-style names (``slo:sli_error:ratio_rate5m``
  with the labels ``slo``, ``service`` and ``window``), and the alerts compare those series, so a page in the
  console and a page from Alertmanager come from the same numbers;
- every label value is written as an escaped PromQL string, so a name with quotes or backslashes cannot
  change a query.

The arithmetic below (attainment, burn rate, error budget remaining, alert state, time to exhaustion, SLA
month) works on error ratios that Prometheus returned; it has no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo

# Labels the console's recording rules and alerts carry. Console-specific names (not sloth_*), so the rules
# of another SLO tool in the same Prometheus never mix with ours.
SLO_LABEL = "slo"
SERVICE_LABEL = "service"
WINDOW_LABEL = "window"
SEVERITY_LABEL = "severity"

ERROR_RATIO_METRIC_PREFIX = "slo:sli_error:ratio_rate"
# One name for the whole-window ratio whatever its length (28d, 30d, ...), so one query reads it for all SLOs.
PERIOD_ERROR_RATIO_METRIC = "slo:sli_error:ratio_period"
OBJECTIVE_METRIC = "slo:objective:ratio"
PERIOD_ERROR_BUDGET_REMAINING_METRIC = "slo:period_error_budget_remaining:ratio"
ALERT_NAME = "SLOErrorBudgetBurn"

# The short windows of the multiwindow multi-burn-rate alerts (SRE workbook, chapter 5), shortest first.
ALERT_WINDOWS: tuple[timedelta, ...] = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=3),
)
SLI_WINDOW = timedelta(minutes=5)
# "Current" burn for time to exhaustion: an hour is long enough not to flap on one bad scrape and short
# enough to react within the page window.
CURRENT_BURN_WINDOW = timedelta(hours=1)


class AlertState(Enum):
    """What the burn-rate alerts of an SLO say, most urgent first."""

    PAGE = "page"
    TICKET = "ticket"
    NO_DATA = "no data"
    OK = "ok"

    @property
    def urgency(self) -> int:
        return _URGENCY[self]


_URGENCY = {AlertState.PAGE: 0, AlertState.TICKET: 1, AlertState.NO_DATA: 2, AlertState.OK: 3}


@dataclass(frozen=True)
class BurnRateAlert:
    """One row of the workbook's table: fire when both windows burn faster than ``factor``."""

    severity: AlertState
    factor: float
    long_window: timedelta
    short_window: timedelta


MULTIWINDOW_ALERTS: tuple[BurnRateAlert, ...] = (
    BurnRateAlert(AlertState.PAGE, 14.4, timedelta(hours=1), timedelta(minutes=5)),
    BurnRateAlert(AlertState.PAGE, 6.0, timedelta(hours=6), timedelta(minutes=30)),
    BurnRateAlert(AlertState.TICKET, 3.0, timedelta(days=1), timedelta(hours=2)),
    BurnRateAlert(AlertState.TICKET, 1.0, timedelta(days=3), timedelta(hours=6)),
)


# --- PromQL text -------------------------------------------------------------------------------------------


def promql_string(value: str) -> str:
    """``value`` as a double-quoted PromQL string literal.

    JSON's escaping is a subset of what the PromQL lexer understands (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX``),
    so any text - quotes, backslashes, newlines - stays inside the literal.
    """
    return json.dumps(value, ensure_ascii=False)


def promql_duration(duration: timedelta) -> str:
    """A PromQL duration in the largest unit that divides it exactly (``5m``, ``28d``, ``90m``, ``1500ms``)."""
    milliseconds = round(duration / timedelta(milliseconds=1))
    if milliseconds <= 0:
        raise ValueError(f"a PromQL duration must be positive, got {duration!r}")
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"


def promql_number(value: float) -> str:
    """Shortest text that reads back as the same float (``0.999``, ``14.4``, ``6``)."""
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(float(value))


def label_value_pattern(seconds: float) -> tuple[str, str]:
    """Operator and value that match a histogram bucket bound whichever client exposed it.

    Go clients write an integral bound as ``1``, Python clients (and Prometheus 3's normalisation) as ``1.0``;
    fractional bounds are spelled alike by both.
    """
    text = promql_number(seconds)
    if "." in text or "e" in text:
        return "=", text
    return "=~", f"{text}|{text}\\.0"


@dataclass(frozen=True)
class LabelMatcher:
    name: str
    operator: str  # one of = != =~ !~
    value: str

    def promql(self) -> str:
        return f"{self.name}{self.operator}{promql_string(self.value)}"


@dataclass(frozen=True)
class Selector:
    """A metric name with label matchers, as the spec wrote it."""

    metric: str
    matchers: tuple[LabelMatcher, ...] = ()

    def promql(self, *, metric: str | None = None, extra: Sequence[LabelMatcher] = ()) -> str:
        matchers = (*self.matchers, *extra)
        name = metric or self.metric
        if not matchers:
            return name
        return name + "{" + ",".join(matcher.promql() for matcher in matchers) + "}"


@dataclass(frozen=True)
class RatioIndicator:
    """Good or bad events over all events, from counters. Exactly one of ``good`` and ``bad`` is set."""

    total: Selector
    good: Selector | None = None
    bad: Selector | None = None

    def error_ratio(self, window_range: str) -> str:
        total = f"sum(rate({self.total.promql()}[{window_range}]))"
        # A counter of bad (or good) events that never fired has no series at all; "or vector(0)" makes that a
        # zero instead of an empty result, which would read as "no data".
        if self.bad is not None:
            return f"(sum(rate({self.bad.promql()}[{window_range}])) or vector(0)) / {total}"
        assert self.good is not None
        return f"1 - (sum(rate({self.good.promql()}[{window_range}])) or vector(0)) / {total}"


@dataclass(frozen=True)
class LatencyIndicator:
    """Requests served within ``threshold_seconds`` over all requests, from a classic histogram's buckets.

    ``histogram`` names the histogram without its ``_bucket``/``_count`` suffix. ``bucket_bounds_seconds`` are
    the histogram's bucket bounds as declared in the spec; the threshold is one of them (a threshold between
    two bounds cannot be computed from bucket counters).
    """

    histogram: Selector
    threshold_seconds: float
    bucket_bounds_seconds: tuple[float, ...] = ()

    def error_ratio(self, window_range: str) -> str:
        operator, value = label_value_pattern(self.threshold_seconds)
        fast = self.histogram.promql(
            metric=self.histogram.metric + "_bucket", extra=(LabelMatcher("le", operator, value),)
        )
        total = self.histogram.promql(metric=self.histogram.metric + "_count")
        return (
            f"1 - (sum(rate({fast}[{window_range}])) or vector(0)) / sum(rate({total}[{window_range}]))"
        )


Indicator = RatioIndicator | LatencyIndicator


@dataclass(frozen=True)
class RollingWindow:
    """The last ``length`` of time, moving with the clock."""

    length: timedelta

    def start(self, now: datetime) -> datetime:
        return now - self.length

    def length_at(self, now: datetime) -> timedelta:
        return self.length

    @property
    def label(self) -> str:
        return promql_duration(self.length)


@dataclass(frozen=True)
class CalendarMonthWindow:
    """The calendar month that contains ``now``, in ``time_zone``; its budget restarts on the 1st."""

    time_zone: str = "UTC"

    def start(self, now: datetime) -> datetime:
        return month_bounds(_local(now, self.time_zone).date(), self.time_zone)[0]

    def length_at(self, now: datetime) -> timedelta:
        start, end = month_bounds(_local(now, self.time_zone).date(), self.time_zone)
        return end - start

    @property
    def label(self) -> str:
        return "calendar month"


Window = RollingWindow | CalendarMonthWindow


@dataclass(frozen=True)
class Objective:
    """One SLO: an indicator, a target over a window, and optionally a (looser) SLA target."""

    name: str
    service: str
    target: float
    window: Window
    indicator: Indicator
    sla_target: float | None = None
    display_name: str = ""
    description: str = ""
    source: str = ""  # the file it was read from, for messages

    @property
    def error_budget(self) -> float:
        """The fraction of events allowed to be bad."""
        return 1 - self.target

    @property
    def is_rolling(self) -> bool:
        return isinstance(self.window, RollingWindow)

    @property
    def rule_labels(self) -> dict[str, str]:
        return {SLO_LABEL: self.name, SERVICE_LABEL: self.service}

    def error_ratio_query(self, window: timedelta) -> str:
        """Bad events over all events in the last ``window``, computed from the raw counters."""
        return self.indicator.error_ratio(promql_duration(window))

    def period_range(self, *, now: datetime) -> timedelta:
        """The range the whole-window ratio covers at ``now``: the rolling length, or the month so far."""
        if isinstance(self.window, RollingWindow):
            return self.window.length
        # Whole seconds: a range must be a PromQL duration, and a second more or less of a month is noise.
        elapsed = int((now - self.window.start(now)).total_seconds())
        return timedelta(seconds=max(elapsed, 1))

    def period_error_ratio_query(self, *, now: datetime) -> str:
        """Bad events over all events in the SLO window as of ``now``, from the raw counters."""
        return self.indicator.error_ratio(promql_duration(self.period_range(now=now)))

    def burn_rate_query(self, window: timedelta) -> str:
        """How many times faster than allowed the budget burns over ``window`` (1 uses it up exactly)."""
        return f"({self.error_ratio_query(window)}) / (1 - {promql_number(self.target)})"

    def error_budget_remaining_query(self, *, now: datetime) -> str:
        """Fraction of the window's error budget not yet spent (negative once overspent)."""
        return f"1 - ({self.period_error_ratio_query(now=now)}) / (1 - {promql_number(self.target)})"

    def recorded_error_ratio_query(self, window: timedelta) -> str:
        """The recording rule's series of this SLO for one alert window."""
        return error_ratio_metric(window) + "{" + f"{SLO_LABEL}={promql_string(self.name)}" + "}"

    def alert_expression(self, severity: AlertState) -> str:
        """The multiwindow multi-burn-rate condition of one severity, over the recorded error ratios."""
        clauses = []
        for alert in MULTIWINDOW_ALERTS:
            if alert.severity is not severity:
                continue
            threshold = f"({promql_number(alert.factor)} * (1 - {promql_number(self.target)}))"
            clauses.append(
                "(\n"
                f"  {self.recorded_error_ratio_query(alert.short_window)} > {threshold}\n"
                f"  and ignoring ({WINDOW_LABEL})\n"
                f"  {self.recorded_error_ratio_query(alert.long_window)} > {threshold}\n"
                ")"
            )
        if not clauses:
            raise ValueError(f"no burn-rate alert has severity {severity.value!r}")
        return f"\nor ignoring ({WINDOW_LABEL})\n".join(clauses)


def error_ratio_metric(window: timedelta) -> str:
    """Recording-rule metric name of the error ratio over one alert window (``slo:sli_error:ratio_rate5m``)."""
    return ERROR_RATIO_METRIC_PREFIX + promql_duration(window)


def recorded_error_ratios_query() -> str:
    """One selector for every recorded error ratio of every SLO (all alert windows and the whole window).

    The console reads them in one query; an SLO that has no series here has no recording rules loaded.
    """
    return "{" + f'__name__=~"slo:sli_error:ratio_.+",{SLO_LABEL}!=""' + "}"


def labelled_with_slo(query: str, slo_name: str) -> str:
    """``query`` with the label ``slo`` set to ``slo_name``, so many SLOs can share one query."""
    # label_replace expands $1 and ${name} in its replacement; $$ is a literal dollar.
    replacement = slo_name.replace("$", "$$")
    return f"label_replace({query}, {promql_string(SLO_LABEL)}, {promql_string(replacement)}, \"\", \"\")"


def union_query(parts: Iterable[str]) -> str:
    """Several vectors with distinct labels (e.g. from :func:`labelled_with_slo`) as one query."""
    return " or ".join(parts)


# --- arithmetic ------------------------------------------------------------------------------------------


def clean_ratio(value: float | None) -> float | None:
    """An error ratio as Prometheus returned it, with "no traffic" (NaN, 0/0) as ``None``."""
    if value is None or math.isnan(value):
        return None
    return value


def burn_rate(error_ratio: float | None, target: float) -> float | None:
    """How many times faster than allowed the error budget burns; 1 spends it exactly over the window."""
    if error_ratio is None:
        return None
    return error_ratio / (1 - target)


def error_budget_remaining(error_ratio: float | None, target: float) -> float | None:
    """Fraction of the error budget left after ``error_ratio`` over the window; negative once overspent."""
    if error_ratio is None:
        return None
    return 1 - error_ratio / (1 - target)


def alert_state(error_ratios: Mapping[timedelta, float | None], target: float) -> AlertState:
    """Which burn-rate alert fires, by the SRE workbook's table, exactly as the generated alert rules do.

    The comparison is written as the rule writes it (``ratio > factor * (1 - target)``), so the same floats
    give the same answer at the edge. A missing window makes its clause false, as in PromQL.
    """
    known = [clean_ratio(error_ratios.get(window)) for window in ALERT_WINDOWS]
    if all(ratio is None for ratio in known):
        return AlertState.NO_DATA
    for severity in (AlertState.PAGE, AlertState.TICKET):
        for alert in MULTIWINDOW_ALERTS:
            if alert.severity is not severity:
                continue
            threshold = alert.factor * (1 - target)
            short = clean_ratio(error_ratios.get(alert.short_window))
            long = clean_ratio(error_ratios.get(alert.long_window))
            if short is not None and long is not None and short > threshold and long > threshold:
                return severity
    return AlertState.OK


def time_to_exhaustion(
    *, error_budget_remaining: float | None, burn_rate: float | None, window_length: timedelta
) -> timedelta | None:
    """How long the remaining budget lasts if the budget keeps burning at ``burn_rate``.

    At burn rate 1 the whole budget lasts one window, so the remaining fraction lasts ``remaining * window /
    burn``. ``None`` when nothing burns (or nothing is known); zero when the budget is already spent.
    """
    if error_budget_remaining is None or burn_rate is None:
        return None
    if error_budget_remaining <= 0:
        return timedelta(0)
    if burn_rate <= 0:
        return None
    return window_length * (error_budget_remaining / burn_rate)


@dataclass(frozen=True)
class SloStatus:
    """Where one SLO stands at ``evaluated_at``: what the overview shows, one row per SLO."""

    objective: Objective
    evaluated_at: datetime
    sli: float | None  # good fraction over the last 5 minutes
    attainment: float | None  # good fraction over the window so far
    error_budget_remaining: float | None  # fraction of the window's budget left; negative when overspent
    error_budget_remaining_minutes: float | None  # the same, as minutes of full outage the window still allows
    burn_rate_1h: float | None
    burn_rate_6h: float | None
    burn_rate_3d: float | None
    alert_state: AlertState
    time_to_exhaustion: timedelta | None  # at the 1h burn rate
    error_ratios: tuple[tuple[timedelta, float | None], ...]  # per alert window, shortest first
    period_error_ratio: float | None
    from_recording_rules: bool  # True when read from the console's recording rules, else from raw counters

    @property
    def name(self) -> str:
        return self.objective.name

    @property
    def service(self) -> str:
        return self.objective.service

    def error_ratio(self, window: timedelta) -> float | None:
        return dict(self.error_ratios).get(window)


def evaluate_status(
    objective: Objective,
    *,
    error_ratios: Mapping[timedelta, float | None],
    period_error_ratio: float | None,
    now: datetime,
    from_recording_rules: bool = False,
) -> SloStatus:
    """Turn the error ratios Prometheus returned for one SLO into its status row."""
    ratios = {window: clean_ratio(error_ratios.get(window)) for window in ALERT_WINDOWS}
    period_ratio = clean_ratio(period_error_ratio)
    target = objective.target
    remaining = error_budget_remaining(period_ratio, target)
    window_length = objective.window.length_at(now)
    remaining_minutes = (
        None
        if remaining is None
        else remaining * objective.error_budget * (window_length / timedelta(minutes=1))
    )
    current_burn = burn_rate(ratios[CURRENT_BURN_WINDOW], target)
    sli_error = ratios[SLI_WINDOW]
    return SloStatus(
        objective=objective,
        evaluated_at=now,
        sli=None if sli_error is None else 1 - sli_error,
        attainment=None if period_ratio is None else 1 - period_ratio,
        error_budget_remaining=remaining,
        error_budget_remaining_minutes=remaining_minutes,
        burn_rate_1h=current_burn,
        burn_rate_6h=burn_rate(ratios[timedelta(hours=6)], target),
        burn_rate_3d=burn_rate(ratios[timedelta(days=3)], target),
        alert_state=alert_state(ratios, target),
        time_to_exhaustion=time_to_exhaustion(
            error_budget_remaining=remaining, burn_rate=current_burn, window_length=window_length
        ),
        error_ratios=tuple(ratios.items()),
        period_error_ratio=period_ratio,
        from_recording_rules=from_recording_rules,
    )


def sort_by_urgency(statuses: Iterable[SloStatus]) -> list[SloStatus]:
    """Paging first, then tickets, then no data, then fine; within each, the least budget left first."""

    def key(status: SloStatus) -> tuple[int, float, float, str]:
        remaining = status.error_budget_remaining
        burn = status.burn_rate_1h
        return (
            status.alert_state.urgency,
            math.inf if remaining is None else remaining,
            -(burn or 0.0),
            status.name,
        )

    return sorted(statuses, key=key)


# --- SLA months ------------------------------------------------------------------------------------------


def _local(moment: datetime, time_zone: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(ZoneInfo(time_zone))


def month_bounds(month: date, time_zone: str = "UTC") -> tuple[datetime, datetime]:
    """Start and end (exclusive) in UTC of the calendar month containing ``month`` in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    next_year, next_month = (month.year + 1, 1) if month.month == 12 else (month.year, month.month + 1)
    end = datetime(next_year, next_month, 1, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


@dataclass(frozen=True)
class SlaMonth:
    """One SLO's SLA for one calendar month."""

    objective: Objective
    month: date  # the first day of the month
    sla_target: float
    attainment: float | None  # good fraction over the month (so far, when ``complete`` is False)
    downtime_minutes: float | None  # budget consumed, as minutes of full outage
    allowed_downtime_minutes: float  # what the SLA allows over the whole month
    breached: bool | None  # None without data
    complete: bool  # the month is over

    @property
    def service(self) -> str:
        return self.objective.service


def sla_query_range(objective: Objective, month: date, *, now: datetime) -> tuple[datetime, timedelta] | None:
    """Evaluation time and range that cover ``month`` (up to ``now``), or None for a month not yet begun."""
    start, end = month_bounds(month, _zone_of(objective))
    at = min(end, now)
    seconds = int((at - start).total_seconds())
    if seconds <= 0:
        return None
    return start + timedelta(seconds=seconds), timedelta(seconds=seconds)


def evaluate_sla_month(
    objective: Objective, month: date, *, error_ratio: float | None, now: datetime
) -> SlaMonth:
    """Judge one SLO's month against its SLA target from the month's error ratio (up to ``now``)."""
    if objective.sla_target is None:
        raise ValueError(f"SLO {objective.name!r} has no SLA target")
    start, end = month_bounds(month, _zone_of(objective))
    complete = now >= end
    elapsed = min(end, now) - start
    month_minutes = (end - start) / timedelta(minutes=1)
    allowed = (1 - objective.sla_target) * month_minutes
    ratio = clean_ratio(error_ratio)
    if ratio is None or elapsed <= timedelta(0):
        attainment = downtime = breached = None
    else:
        attainment = 1 - ratio
        downtime = ratio * (elapsed / timedelta(minutes=1))
        # A finished month is judged on its attainment; a running one only once it has already used more
        # downtime than the whole month allows, which no good rest of the month can undo.
        breached = attainment < objective.sla_target if complete else downtime > allowed
    return SlaMonth(
        objective=objective,
        month=date(month.year, month.month, 1),
        sla_target=objective.sla_target,
        attainment=attainment,
        downtime_minutes=downtime,
        allowed_downtime_minutes=allowed,
        breached=breached,
        complete=complete,
    )


def _zone_of(objective: Objective) -> str:
    return objective.window.time_zone if isinstance(objective.window, CalendarMonthWindow) else "UTC"
