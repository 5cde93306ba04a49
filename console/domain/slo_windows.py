"""The time window of an SLO: a rolling length, or the calendar month in a time zone.

The window decides how long an error budget lasts, which calendar month an SLA judges, and (through
``console.domain.slo_alerts``) the windows and factors of the burn-rate alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from console.domain.slo_promql import promql_duration


@dataclass(frozen=True)
class RollingWindow:
    """The last ``length`` of time, moving with the clock."""

    length: timedelta

    def start(self, now: datetime) -> datetime:
        """When the window that ends at ``now`` began."""
        return now - self.length

    def length_at(self, now: datetime) -> timedelta:
        """The window's length; the same at every moment."""
        return self.length

    @property
    def label(self) -> str:
        """``28d``, ``36h``: how the overview, the recording rules and the alerts name the window."""
        return promql_duration(self.length)


@dataclass(frozen=True)
class CalendarMonthWindow:
    """The calendar month that contains ``now``, in ``time_zone``; its budget restarts on the 1st."""

    time_zone: str = "UTC"

    def start(self, now: datetime) -> datetime:
        """Midnight of the 1st of the month containing ``now``, in the window's zone (as a UTC time)."""
        return month_bounds(local_time(now, self.time_zone).date(), self.time_zone)[0]

    def length_at(self, now: datetime) -> timedelta:
        """The length of the month containing ``now`` (28 to 31 days, give or take a DST hour)."""
        start, end = month_bounds(local_time(now, self.time_zone).date(), self.time_zone)
        return end - start

    @property
    def label(self) -> str:
        """``calendar month``: the overview's and the alerts' name of the window."""
        return "calendar month"


Window = RollingWindow | CalendarMonthWindow


def local_time(moment: datetime, time_zone: str) -> datetime:
    """``moment`` in ``time_zone``; naive times are refused, because they have no place on the calendar."""
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


def days_in_utc_month(moment: datetime) -> int:
    """Days of the UTC calendar month containing ``moment``: what PromQL's ``days_in_month()`` returns."""
    start, end = month_bounds(moment.astimezone(timezone.utc).date())
    return (end - start).days


def time_zone_of(window: Window) -> str:
    """The zone whose calendar months an SLA judges: the window's own for a calendar window, else UTC."""
    return window.time_zone if isinstance(window, CalendarMonthWindow) else "UTC"


def duration_text(duration: timedelta) -> str:
    """A duration as Prometheus prints one (``56m``, ``5h36m``, ``2d19h12m``), for alert text and tables."""
    seconds = round(duration.total_seconds())
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
