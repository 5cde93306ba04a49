"""Multiwindow, multi-burn-rate alerts derived from each SLO's own window: the one table of alert windows.

The SRE workbook (chapter 5, "Alerting on SLOs") writes its table for a 30-day window:

============  ======  =====  ======  ==========================================
alert         long    short  factor  budget burned over the long window at fire
============  ======  =====  ======  ==========================================
page quick    1h      5m     14.4    2%
page slow     6h      30m    6       5%
ticket quick  1d      2h     3       10%
ticket slow   3d      6h     1       10%
============  ======  =====  ======  ==========================================

(names as Sloth gives them). What the workbook means is the last column; the factor is how a 30-day window
writes it: burning 2% of 720 hours of budget in one hour is 14.4 times the sustainable rate. Applied as they
stand to a 7-day window, the same factors page only once 8.6% of the budget has gone in an hour
(14.4 x 1h / 168h) and the slow ticket once 43% has.

How the table is derived for any window here:

- **Windows scale with the SLO's window**, as Pyrra scales its table (``slo/rules.go``, ``Windows(sloWindow)``:
  every window is a fixed fraction of the SLO window, measured from 28 days there, from the workbook's 30 days
  here): ``long = 1h x window / 30d`` and so on, rounded to whole minutes, never shorter than
  ``MIN_ALERT_WINDOW``. Detection and reset times thus keep their proportion to the window.
- **Factors follow from the budget share**, as Sloth computes them (``internal/alert/window.go``,
  ``getBurnRateFactor``): ``factor = share x window / long window``. Where rounding or the floor moved a window,
  the factor moves with it, so every alert fires at exactly the workbook's share of the budget.

Why not one of them alone: Sloth keeps the workbook's windows and scales only the factors, which it can because
it ships a catalog per period (28d and 30d; 7d is an example to copy). For other periods that breaks both ways:
a 1-day SLO would get a 3-day long window, longer than the SLO itself, and factors below 1 that page a service
that meets its objective; a 90-day SLO would get 43.2 as the quick page's factor, which no error ratio reaches
once the target is under 97.7%. Pyrra keeps its factors constant and rounds its scaled windows to the minute,
which for a 1-day SLO rounds the quick page's short window (7 s) down to nothing. Scaling the windows keeps the
factors near the workbook's (exactly them for whole days); deriving the factors keeps the shares exact.

Calendar months (Pyrra and Sloth have none: both take a rolling duration) change length from month to month,
but a rules file is written once. The windows are the workbook's own (a month is 30 days give or take two),
and the factor is the share of the month's budget: ``share x days_in_month() x 24h / long window``, which the
alert rule computes in PromQL at every evaluation, so February's quick page needs 13.44x and March's 14.88x,
each 2% of that month's budget. PromQL's ``days_in_month()`` counts the UTC month; the console uses the same
count (``days_in_utc_month``) so that its alert state and Alertmanager's agree. For a zone other than UTC the
factor therefore changes at UTC midnight instead of local midnight: for those few hours of a month it is off
by one day in 28 to 31.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from fractions import Fraction
from functools import cached_property, lru_cache

from console.domain.slo_promql import promql_number
from console.domain.slo_windows import CalendarMonthWindow, RollingWindow, Window, days_in_utc_month

WORKBOOK_PERIOD = timedelta(days=30)
# Four scrapes at the Prometheus Operator's default interval of 30 s: the least a rate() needs to see steady
# traffic. It binds only on short windows of SLO windows under two weeks (a 7-day SLO's quick page: 70 s).
MIN_ALERT_WINDOW = timedelta(minutes=2)
_DAY = timedelta(days=1)


class AlertState(Enum):
    """What the burn-rate alerts of an SLO say, most urgent first."""

    PAGE = "page"
    TICKET = "ticket"
    NO_DATA = "no data"
    OK = "ok"

    @property
    def urgency(self) -> int:
        """0 for a page, up to 3 for ok: the overview's sort order."""
        return _URGENCY[self]


_URGENCY = {AlertState.PAGE: 0, AlertState.TICKET: 1, AlertState.NO_DATA: 2, AlertState.OK: 3}


@dataclass(frozen=True)
class _WorkbookRow:
    name: str
    severity: AlertState
    long_window: timedelta
    short_window: timedelta
    budget_share: Fraction


WORKBOOK_TABLE: tuple[_WorkbookRow, ...] = (
    _WorkbookRow("page quick", AlertState.PAGE, timedelta(hours=1), timedelta(minutes=5), Fraction(2, 100)),
    _WorkbookRow("page slow", AlertState.PAGE, timedelta(hours=6), timedelta(minutes=30), Fraction(5, 100)),
    _WorkbookRow("ticket quick", AlertState.TICKET, timedelta(days=1), timedelta(hours=2), Fraction(10, 100)),
    _WorkbookRow("ticket slow", AlertState.TICKET, timedelta(days=3), timedelta(hours=6), Fraction(10, 100)),
)


@dataclass(frozen=True)
class AlertWindow:
    """One burn-rate alert of one SLO: it fires while the error ratio over both windows exceeds
    ``factor x (1 - target)``, which is when ``budget_share`` of the window's budget has burned over
    ``long_window``.

    ``factor_per_day`` is set for a calendar month only: its factor is that times the days of the month.
    """

    name: str  # page quick, page slow, ticket quick, ticket slow
    severity: AlertState
    long_window: timedelta
    short_window: timedelta
    budget_share: float
    factor: float
    factor_per_day: float | None = None

    def error_ratio_threshold(self, target: float) -> float:
        """The error ratio both windows must exceed, computed as the alert rule computes it."""
        return self.factor * (1 - target)

    def is_exceeded(self, error_ratio: float | None, *, target: float) -> bool:
        """Whether one window's error ratio is over the threshold; no traffic (None, NaN) never is."""
        if error_ratio is None or math.isnan(error_ratio):
            return False
        return error_ratio > self.error_ratio_threshold(target)

    def fires(self, error_ratios: Mapping[timedelta, float | None], *, target: float) -> bool:
        """Whether the alert fires on these error ratios by window: both its windows are exceeded."""
        return self.is_exceeded(error_ratios.get(self.short_window), target=target) and self.is_exceeded(
            error_ratios.get(self.long_window), target=target
        )

    @property
    def budget_lasts(self) -> timedelta:
        """How long the whole error budget lasts at this alert's burn rate (window / factor)."""
        return self.long_window / self.budget_share

    def factor_promql(self) -> str:
        """The factor as an alert rule writes it: a number, or a calendar month's per-day factor times its days."""
        if self.factor_per_day is None:
            return promql_number(self.factor)
        return f"{promql_number(self.factor_per_day)} * scalar(days_in_month())"


@dataclass(frozen=True)
class BurnRateAlerts:
    """The alerts of one SLO window, in the workbook's order: page quick, page slow, ticket quick, ticket slow.

    ``period`` is the window length the factors are for: the rolling length, or the days of the calendar month
    the table was made for.
    """

    period: timedelta
    alerts: tuple[AlertWindow, ...]
    calendar: bool = False

    @cached_property
    def windows(self) -> tuple[timedelta, ...]:
        """Every long and short window of the table, shortest first, each once: what the rules record."""
        return tuple(sorted({window for alert in self.alerts for window in (alert.long_window, alert.short_window)}))

    def of_severity(self, severity: AlertState) -> tuple[AlertWindow, ...]:
        """The alerts of one severity, quickest first."""
        return tuple(alert for alert in self.alerts if alert.severity is severity)

    @property
    def pages(self) -> tuple[AlertWindow, ...]:
        """The page alerts, quickest first (what a guard on a rollout watches, over their short windows)."""
        return self.of_severity(AlertState.PAGE)

    @property
    def current_burn_window(self) -> timedelta:
        """The quick page's long window: "the burn rate now" for time to exhaustion and the overview's order."""
        return self.alerts[0].long_window

    def state(self, error_ratios: Mapping[timedelta, float | None], *, target: float) -> AlertState:
        """Which alert fires on these error ratios by window, exactly as the generated alert rules decide.

        A missing window makes its alert false, as in PromQL; without a ratio for any window it is "no data".
        """
        if all(_unknown(error_ratios.get(window)) for window in self.windows):
            return AlertState.NO_DATA
        for severity in (AlertState.PAGE, AlertState.TICKET):
            if any(alert.fires(error_ratios, target=target) for alert in self.of_severity(severity)):
                return severity
        return AlertState.OK


def burn_rate_alerts(window: Window, *, at: datetime) -> BurnRateAlerts:
    """The burn-rate alerts of an SLO window at ``at`` (which matters only to a calendar month's factors).

    Raises ValueError for a rolling window under a day, where even the quick page's long window would be
    shorter than ``MIN_ALERT_WINDOW`` (the spec parser refuses such windows first).
    """
    if isinstance(window, CalendarMonthWindow):
        return _calendar_month_alerts(days_in_utc_month(at))
    assert isinstance(window, RollingWindow)
    return _rolling_alerts(window.length)


@lru_cache(maxsize=256)
def _rolling_alerts(period: timedelta) -> BurnRateAlerts:
    if period < _DAY:
        raise ValueError(f"burn-rate alerts need an SLO window of at least 1d, got {period}")
    alerts = []
    for row in WORKBOOK_TABLE:
        long_window = _scaled(row.long_window, period)
        short_window = min(_scaled(row.short_window, period), long_window)
        factor = row.budget_share * _seconds(period) / _seconds(long_window)
        alerts.append(
            AlertWindow(row.name, row.severity, long_window, short_window, float(row.budget_share), float(factor))
        )
    return BurnRateAlerts(period, tuple(alerts))


@lru_cache(maxsize=8)
def _calendar_month_alerts(days: int) -> BurnRateAlerts:
    alerts = []
    for row in WORKBOOK_TABLE:
        per_day = float(row.budget_share * _seconds(_DAY) / _seconds(row.long_window))
        # per_day x days in floating point, in the order PromQL multiplies them, so both compare the same float.
        alerts.append(
            AlertWindow(
                row.name, row.severity, row.long_window, row.short_window, float(row.budget_share),
                per_day * days, factor_per_day=per_day,
            )
        )
    return BurnRateAlerts(days * _DAY, tuple(alerts), calendar=True)


def _seconds(duration: timedelta) -> Fraction:
    return Fraction(round(duration.total_seconds()))


def _scaled(workbook_window: timedelta, period: timedelta) -> timedelta:
    """A workbook window times ``period / 30d``, to the nearest whole minute (half up), at least the floor."""
    exact = _seconds(workbook_window) * _seconds(period) / _seconds(WORKBOOK_PERIOD)
    minutes = math.floor(exact / 60 + Fraction(1, 2))
    return max(timedelta(minutes=minutes), MIN_ALERT_WINDOW)


def _unknown(ratio: float | None) -> bool:
    return ratio is None or math.isnan(ratio)


def rule_alerts(window: Window) -> BurnRateAlerts:
    """The alerts as the rules file writes them, the same whatever the date.

    For a rolling window that is its one table. A calendar month's windows are the workbook's in every month;
    its rules compute the factor from the month's days (``AlertWindow.factor_promql``), and the ``factor`` of
    the table returned here is that of a 30-day month.
    """
    if isinstance(window, CalendarMonthWindow):
        return _calendar_month_alerts(30)
    assert isinstance(window, RollingWindow)
    return _rolling_alerts(window.length)


def recorded_alert_windows(window: Window) -> tuple[timedelta, ...]:
    """Every long and short alert window of an SLO window, shortest first; they do not change with the date."""
    return rule_alerts(window).windows
