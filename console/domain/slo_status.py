"""Where an SLO stands: attainment, error budget left, burn rates, alert state and time to exhaustion.

Everything here works on error ratios that Prometheus returned for an objective's recorded windows; it has no
I/O. The burn rates the overview shows and the alert state it judges come from the objective's burn-rate
alert table (``Objective.burn_rate_alerts``), the one the exported alert rules are written from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from console.domain.slo import SLI_WINDOW, Objective
from console.domain.slo_alerts import AlertState, AlertWindow, BurnRateAlerts


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
    alerts: BurnRateAlerts  # the SLO's alert table at evaluated_at
    sli: float | None  # good fraction over the last 5 minutes
    attainment: float | None  # good fraction over the window so far
    error_budget_remaining: float | None  # fraction of the window's budget left; negative when overspent
    error_budget_remaining_minutes: float | None  # the same, as minutes of full outage the window still allows
    alert_state: AlertState
    time_to_exhaustion: timedelta | None  # at the current burn rate (over the quick page's long window)
    error_ratios: tuple[tuple[timedelta, float | None], ...]  # per recorded window, shortest first
    period_error_ratio: float | None
    from_recording_rules: bool  # True when read from the console's recording rules, else from raw counters

    @property
    def name(self) -> str:
        """The SLO's name."""
        return self.objective.name

    @property
    def service(self) -> str:
        """The service the SLO belongs to."""
        return self.objective.service

    def error_ratio(self, window: timedelta) -> float | None:
        """The error ratio over one recorded window, None without traffic or data."""
        return self._ratio_by_window.get(window)

    @cached_property
    def _ratio_by_window(self) -> dict[timedelta, float | None]:
        return dict(self.error_ratios)

    def burn_rate(self, window: timedelta) -> float | None:
        """The burn rate over one recorded window."""
        return burn_rate(self.error_ratio(window), self.objective.target)

    @property
    def current_burn_rate(self) -> float | None:
        """The burn rate over the quick page's long window (1h for a 30-day SLO)."""
        return self.burn_rate(self.alerts.current_burn_window)

    @property
    def alert_burn_rates(self) -> tuple[tuple[AlertWindow, float | None], ...]:
        """Each alert of the table with the burn rate over its long window, in the table's order."""
        return tuple((alert, self.burn_rate(alert.long_window)) for alert in self.alerts.alerts)


def evaluate_status(
    objective: Objective,
    *,
    error_ratios: Mapping[timedelta, float | None],
    period_error_ratio: float | None,
    now: datetime,
    from_recording_rules: bool = False,
) -> SloStatus:
    """Turn the error ratios Prometheus returned for one SLO into its status row."""
    ratios = {window: clean_ratio(error_ratios.get(window)) for window in objective.recorded_windows}
    period_ratio = clean_ratio(period_error_ratio)
    target = objective.target
    alerts = objective.burn_rate_alerts(at=now)
    remaining = error_budget_remaining(period_ratio, target)
    window_length = objective.window.length_at(now)
    remaining_minutes = (
        None
        if remaining is None
        else remaining * objective.error_budget * (window_length / timedelta(minutes=1))
    )
    sli_error = ratios[SLI_WINDOW]
    return SloStatus(
        objective=objective,
        evaluated_at=now,
        alerts=alerts,
        sli=None if sli_error is None else 1 - sli_error,
        attainment=None if period_ratio is None else 1 - period_ratio,
        error_budget_remaining=remaining,
        error_budget_remaining_minutes=remaining_minutes,
        alert_state=alerts.state(ratios, target=target),
        time_to_exhaustion=time_to_exhaustion(
            error_budget_remaining=remaining,
            burn_rate=burn_rate(ratios[alerts.current_burn_window], target),
            window_length=window_length,
        ),
        error_ratios=tuple(ratios.items()),
        period_error_ratio=period_ratio,
        from_recording_rules=from_recording_rules,
    )


def sort_by_urgency(statuses: Iterable[SloStatus]) -> list[SloStatus]:
    """Paging first, then tickets, then no data, then fine; within each, the least budget left first."""

    def key(status: SloStatus) -> tuple[int, float, float, str]:
        remaining = status.error_budget_remaining
        return (
            status.alert_state.urgency,
            math.inf if remaining is None else remaining,
            -(status.current_burn_rate or 0.0),
            status.name,
        )

    return sorted(statuses, key=key)
