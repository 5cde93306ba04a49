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

The windows and factors of the burn-rate alerts come from the objective's own window
(``console.domain.slo_alerts``); the arithmetic of where an SLO stands is in ``console.domain.slo_status`` and
the SLA months in ``console.domain.slo_sla``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from console.domain.slo_alerts import AlertWindow, BurnRateAlerts, burn_rate_alerts, recorded_alert_windows
from console.domain.slo_promql import label_value_pattern, promql_duration, promql_number, promql_string
from console.domain.slo_windows import RollingWindow, Window

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
# On the objective's series: the windows its rules record, so the console can tell rules written for other
# windows (an older console, a changed spec) from a window that has no traffic right now.
WINDOWS_LABEL = "windows"
PERIOD_ERROR_BUDGET_REMAINING_METRIC = "slo:period_error_budget_remaining:ratio"
ALERT_NAME = "SLOErrorBudgetBurn"

# The console's "SLI now": the workbook's shortest window, recorded for every SLO whatever its alert windows.
SLI_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class LabelMatcher:
    name: str
    operator: str  # one of = != =~ !~
    value: str

    def promql(self) -> str:
        """``name="value"`` with the value escaped."""
        return f"{self.name}{self.operator}{promql_string(self.value)}"


@dataclass(frozen=True)
class Selector:
    """A metric name with label matchers, as the spec wrote it."""

    metric: str
    matchers: tuple[LabelMatcher, ...] = ()

    def promql(self, *, metric: str | None = None, extra: Sequence[LabelMatcher] = ()) -> str:
        """The selector as PromQL, optionally under another metric name and with more matchers."""
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
        """Bad events over all events in the range, from the counters."""
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
        """Requests slower than the threshold over all requests in the range, from the buckets."""
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
    runbook_url: str = ""  # from the spec's annotations; the alerts link to it
    source: str = ""  # the file it was read from, for messages

    @property
    def error_budget(self) -> float:
        """The fraction of events allowed to be bad."""
        return 1 - self.target

    @property
    def is_rolling(self) -> bool:
        """True for a rolling window, False for a calendar month."""
        return isinstance(self.window, RollingWindow)

    @property
    def rule_labels(self) -> dict[str, str]:
        """The labels every recorded series and alert of this SLO carries."""
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

    def burn_rate_alerts(self, *, at: datetime) -> BurnRateAlerts:
        """The burn-rate alerts of this SLO's window at ``at``: the one table the overview's alert state and
        burn-rate columns, the charts' thresholds and the exported alert rules all read."""
        return burn_rate_alerts(self.window, at=at)

    @property
    def recorded_windows(self) -> tuple[timedelta, ...]:
        """The windows the recording rules keep for this SLO: the SLI's and every alert window, shortest first."""
        return recorded_windows_of(self.window)

    @property
    def recorded_windows_label(self) -> str:
        """The recorded windows as the objective's series names them: ``5m,28m,56m,...``."""
        return ",".join(promql_duration(window) for window in self.recorded_windows)

    @property
    def recorded_metrics(self) -> Mapping[str, timedelta]:
        """The recorded error ratio's metric name of each recorded window (``slo:sli_error:ratio_rate5m`` -> 5m)."""
        return _recorded_metrics_of(self.window)

    def alert_expression(self, alert: AlertWindow) -> str:
        """One burn-rate alert's condition over the recorded error ratios: both windows above the threshold."""
        threshold = f"({alert.factor_promql()} * (1 - {promql_number(self.target)}))"
        return (
            f"{self.recorded_error_ratio_query(alert.short_window)} > {threshold}\n"
            f"and ignoring ({WINDOW_LABEL})\n"
            f"{self.recorded_error_ratio_query(alert.long_window)} > {threshold}"
        )


# The overview asks these for every recorded sample of every SLO; an SLO's window decides them, so once per window.
@lru_cache(maxsize=256)
def recorded_windows_of(window: Window) -> tuple[timedelta, ...]:
    """The windows the recording rules keep for an SLO window: the SLI's and every alert window, shortest first."""
    return tuple(sorted({SLI_WINDOW, *recorded_alert_windows(window)}))


@lru_cache(maxsize=256)
def _recorded_metrics_of(window: Window) -> Mapping[str, timedelta]:
    return {error_ratio_metric(recorded): recorded for recorded in recorded_windows_of(window)}


def error_ratio_metric(window: timedelta) -> str:
    """Recording-rule metric name of the error ratio over one alert window (``slo:sli_error:ratio_rate5m``)."""
    return ERROR_RATIO_METRIC_PREFIX + promql_duration(window)


def recorded_error_ratios_query() -> str:
    """One selector for every recorded error ratio of every SLO (all alert windows and the whole window), and
    for every SLO's objective series, which names the windows its rules record.

    The console reads them in one query; an SLO without an objective series naming its windows has no
    recording rules loaded, or rules written for other windows.
    """
    return "{" + f'__name__=~"slo:sli_error:ratio_.+|{OBJECTIVE_METRIC}",{SLO_LABEL}!=""' + "}"


def labelled_with_slo(query: str, slo_name: str) -> str:
    """``query`` with the label ``slo`` set to ``slo_name``, so many SLOs can share one query."""
    # label_replace expands $1 and ${name} in its replacement; $$ is a literal dollar.
    replacement = slo_name.replace("$", "$$")
    return f"label_replace({query}, {promql_string(SLO_LABEL)}, {promql_string(replacement)}, \"\", \"\")"


def union_query(parts: Iterable[str]) -> str:
    """Several vectors with distinct labels (e.g. from :func:`labelled_with_slo`) as one query."""
    return " or ".join(parts)


