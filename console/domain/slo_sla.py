"""SLA months: each calendar month of an SLO with an SLA target, judged without flattering it.

A finished month is met or breached by its attainment. A running month is judged on what the rest of it can
still change: its allowance is the SLA's share of the whole month, counted as minutes of full outage (an error
ratio of 4% over 10 days is 0.04 x 10 days of minutes lost) - which supposes the rest of the month serves as
much traffic per minute as the month so far. Then:

- **breached** once the month so far has lost more than the whole month allows: no perfect rest of the month
  can bring its attainment back to the target;
- **at risk** while the attainment so far is below the target but the allowance is not spent: the month can
  still be met, by losing at most ``downtime_minutes_left`` more;
- **on track** while the attainment so far meets the target, again with the minutes left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from console.domain.slo import Objective
from console.domain.slo_status import clean_ratio
from console.domain.slo_windows import month_bounds, time_zone_of


class SlaStatus(Enum):
    """What an SLA month's row says."""

    MET = "met"
    BREACHED = "breached"
    AT_RISK = "at risk"
    ON_TRACK = "on track"
    NO_DATA = "no data"


@dataclass(frozen=True)
class SlaMonth:
    """One SLO's SLA for one calendar month."""

    objective: Objective
    month: date  # the first day of the month
    sla_target: float
    attainment: float | None  # good fraction over the month (so far, when ``complete`` is False)
    downtime_minutes: float | None  # budget consumed, as minutes of full outage
    allowed_downtime_minutes: float  # what the SLA allows over the whole month
    status: SlaStatus
    complete: bool  # the month is over
    downtime_minutes_left: float | None = None  # a running month's allowance not yet spent (never negative)

    @property
    def service(self) -> str:
        """The service the SLO belongs to."""
        return self.objective.service

    @property
    def breached(self) -> bool | None:
        """True once the month cannot meet its SLA any more; None without data."""
        if self.status is SlaStatus.NO_DATA:
            return None
        return self.status is SlaStatus.BREACHED


def sla_query_range(objective: Objective, month: date, *, now: datetime) -> tuple[datetime, timedelta] | None:
    """Evaluation time and range that cover ``month`` (up to ``now``), or None for a month not yet begun."""
    start, end = month_bounds(month, time_zone_of(objective.window))
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
    start, end = month_bounds(month, time_zone_of(objective.window))
    complete = now >= end
    elapsed = min(end, now) - start
    month_minutes = (end - start) / timedelta(minutes=1)
    allowed = (1 - objective.sla_target) * month_minutes
    ratio = clean_ratio(error_ratio)
    first_day = date(month.year, month.month, 1)
    if ratio is None or elapsed <= timedelta(0):
        return SlaMonth(objective, first_day, objective.sla_target, None, None, allowed, SlaStatus.NO_DATA, complete)
    attainment = 1 - ratio
    downtime = ratio * (elapsed / timedelta(minutes=1))
    left = None
    if complete:
        status = SlaStatus.BREACHED if attainment < objective.sla_target else SlaStatus.MET
    elif downtime > allowed:
        status = SlaStatus.BREACHED
    else:
        left = allowed - downtime
        status = SlaStatus.AT_RISK if attainment < objective.sla_target else SlaStatus.ON_TRACK
    return SlaMonth(objective, first_day, objective.sla_target, attainment, downtime, allowed, status, complete, left)
