"""SLO arithmetic against truth computed another way from generated event counts.

The code under test works from error ratios (bad / total); the truth here works from event counts and minutes
(allowed bad events, budget minutes consumed), so a slip in either formula shows up as a disagreement.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest

from console.domain.slo import Objective, RatioIndicator, Selector
from console.domain.slo_alerts import AlertState
from console.domain.slo_sla import SlaStatus, evaluate_sla_month
from console.domain.slo_status import evaluate_status, sort_by_urgency, time_to_exhaustion
from console.domain.slo_windows import CalendarMonthWindow, RollingWindow, month_bounds

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=timezone.utc)
INDICATOR = RatioIndicator(total=Selector("requests_total"), bad=Selector("errors_total"))


def objective(name: str = "checkout", *, target: float = 0.999, days: int = 28, sla: float | None = None) -> Objective:
    return Objective(
        name=name,
        service="svc",
        target=target,
        window=RollingWindow(timedelta(days=days)),
        indicator=INDICATOR,
        sla_target=sla,
    )


@dataclass
class Traffic:
    """Per-minute good and bad request counts, newest last."""

    good: list[int]
    bad: list[int]

    def last(self, window: timedelta) -> tuple[int, int]:
        minutes = int(window / timedelta(minutes=1))
        bad = sum(self.bad[-minutes:])
        return bad, bad + sum(self.good[-minutes:])


def generate(minutes: int, *, seed: int, error_probability: float, incident: tuple[int, float] | None = None) -> Traffic:
    """Random traffic; ``incident`` = (last n minutes, error probability in them)."""
    rng = random.Random(seed)
    good: list[int] = []
    bad: list[int] = []
    for minute in range(minutes):
        requests = rng.randint(50, 150)
        probability = error_probability
        if incident and minute >= minutes - incident[0]:
            probability = incident[1]
        errors = sum(rng.random() < probability for _ in range(requests))
        good.append(requests - errors)
        bad.append(errors)
    return Traffic(good, bad)


def ratios_of(traffic: Traffic, slo: Objective) -> dict[timedelta, float]:
    result = {}
    for window in slo.recorded_windows:
        bad, total = traffic.last(window)
        result[window] = bad / total
    return result


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_status_matches_truth_from_event_counts(seed: int) -> None:
    slo = objective(target=0.995)
    window = timedelta(days=28)
    traffic = generate(int(window / timedelta(minutes=1)), seed=seed, error_probability=0.002, incident=(90, 0.2))
    bad, total = traffic.last(window)

    status = evaluate_status(slo, error_ratios=ratios_of(traffic, slo), period_error_ratio=bad / total, now=NOW)

    allowed_bad_events = (1 - 0.995) * total
    assert status.attainment == pytest.approx((total - bad) / total, rel=1e-12)
    assert status.error_budget_remaining == pytest.approx((allowed_bad_events - bad) / allowed_bad_events, rel=1e-9)
    window_minutes = 28 * 24 * 60
    allowed_minutes = 0.005 * window_minutes
    consumed_minutes = bad / total * window_minutes
    assert status.error_budget_remaining_minutes == pytest.approx(allowed_minutes - consumed_minutes, rel=1e-9)
    bad_5m, total_5m = traffic.last(timedelta(minutes=5))
    assert status.sli == pytest.approx(1 - bad_5m / total_5m, rel=1e-12)
    # The current burn rate is over the quick page's long window: 56 minutes for a 28-day SLO.
    assert status.alerts.current_burn_window == timedelta(minutes=56)
    bad_now, total_now = traffic.last(timedelta(minutes=56))
    # Burn rate: the share of the budget 56 minutes at this error rate use, times the 56-minute spans in 28 days.
    span_share = (bad_now / total_now) / 0.005 / (window / timedelta(minutes=56))
    assert status.current_burn_rate == pytest.approx(span_share * 28 * 24 * 60 / 56, rel=1e-9)
    # Time to exhaustion: remaining budget minutes over budget minutes consumed per minute at this rate.
    consumed_per_minute = bad_now / total_now
    expected = timedelta(minutes=(allowed_minutes - consumed_minutes) / consumed_per_minute)
    assert status.time_to_exhaustion is not None
    assert abs(status.time_to_exhaustion - expected) < timedelta(seconds=1)
    # The 90-minute incident at 20% errors is 40x the budget over 56m and 5m: that pages.
    assert status.alert_state is AlertState.PAGE
    assert status.from_recording_rules is False


def test_healthy_service() -> None:
    traffic = generate(3 * 24 * 60, seed=7, error_probability=0.0005)
    status = evaluate_status(
        objective(), error_ratios=ratios_of(traffic, objective()), period_error_ratio=0.0002, now=NOW
    )
    assert status.alert_state is AlertState.OK
    assert status.error_budget_remaining == pytest.approx(0.8)
    assert status.time_to_exhaustion is not None and status.time_to_exhaustion > timedelta(days=28)


def test_overspent_budget_is_negative_and_exhausted() -> None:
    status = evaluate_status(
        objective(target=0.99), error_ratios={}, period_error_ratio=0.03, now=NOW
    )
    assert status.error_budget_remaining == pytest.approx(-2.0)
    assert status.error_budget_remaining_minutes == pytest.approx(-2.0 * 0.01 * 28 * 24 * 60)
    assert status.alert_state is AlertState.NO_DATA


def test_no_traffic_is_no_data_not_zero() -> None:
    status = evaluate_status(
        objective(),
        error_ratios={window: float("nan") for window in objective().recorded_windows},
        period_error_ratio=None,
        now=NOW,
    )
    assert status.alert_state is AlertState.NO_DATA
    assert status.sli is None and status.attainment is None and status.error_budget_remaining is None
    assert status.current_burn_rate is None and status.time_to_exhaustion is None


def ratios(**by_window: float) -> dict[timedelta, float]:
    names = {"m5": 5, "m30": 30, "h1": 60, "h2": 120, "h6": 360, "d1": 1440, "d3": 4320}
    return {timedelta(minutes=names[key]): value for key, value in by_window.items()}


BUDGET = 0.001  # target 0.999


@pytest.mark.parametrize(
    ("case", "error_ratios", "expected"),
    [
        ("fast burn on both page windows", ratios(m5=15 * BUDGET, h1=15 * BUDGET), AlertState.PAGE),
        ("fast burn over 5m only", ratios(m5=15 * BUDGET, h1=10 * BUDGET), AlertState.OK),
        ("fast burn over 1h that has stopped", ratios(m5=BUDGET, h1=15 * BUDGET), AlertState.OK),
        ("6x over 6h and 30m", ratios(m30=7 * BUDGET, h6=7 * BUDGET), AlertState.PAGE),
        ("3x over 1d and 2h", ratios(h2=4 * BUDGET, d1=4 * BUDGET), AlertState.TICKET),
        ("1x over 3d and 6h", ratios(h6=1.5 * BUDGET, d3=1.5 * BUDGET), AlertState.TICKET),
        ("exactly at the threshold does not fire", ratios(h6=1 * BUDGET, d3=1 * BUDGET), AlertState.OK),
        ("page beats ticket", ratios(m5=20 * BUDGET, h1=20 * BUDGET, h2=20 * BUDGET, d1=20 * BUDGET), AlertState.PAGE),
        ("a missing window is not a firing one", ratios(m5=20 * BUDGET), AlertState.OK),
    ],
)
def test_a_30_day_slo_follows_the_workbook_table(case: str, error_ratios: dict, expected: AlertState) -> None:
    alerts = objective(days=30).burn_rate_alerts(at=NOW)
    assert alerts.state(error_ratios, target=0.999) is expected, case


def test_time_to_exhaustion_edges() -> None:
    window = timedelta(days=30)
    assert time_to_exhaustion(error_budget_remaining=0.5, burn_rate=2.0, window_length=window) == timedelta(days=7.5)
    assert time_to_exhaustion(error_budget_remaining=-0.1, burn_rate=2.0, window_length=window) == timedelta(0)
    assert time_to_exhaustion(error_budget_remaining=0.5, burn_rate=0.0, window_length=window) is None
    assert time_to_exhaustion(error_budget_remaining=None, burn_rate=1.0, window_length=window) is None


def test_sorted_by_urgency() -> None:
    def status(name: str, state_ratios: dict, period: float | None):
        slo = objective(name, days=30)
        return evaluate_status(slo, error_ratios=state_ratios, period_error_ratio=period, now=NOW)

    statuses = [
        status("fine-lots-left", ratios(m5=0.0), 0.0001),
        status("fine-little-left", ratios(m5=0.0), 0.0009),
        status("silent", {}, None),
        status("ticket", ratios(h2=4 * BUDGET, d1=4 * BUDGET), 0.0005),
        status("page", ratios(m5=20 * BUDGET, h1=20 * BUDGET), 0.0002),
    ]
    assert [s.name for s in sort_by_urgency(statuses)] == [
        "page",
        "ticket",
        "silent",
        "fine-little-left",
        "fine-lots-left",
    ]


# --- SLA months --------------------------------------------------------------------------------------------


def test_sla_month_matches_truth_from_minutes() -> None:
    slo = objective(target=0.995, sla=0.99)
    start, end = month_bounds(date(2024, 2, 1))
    minutes = int((end - start) / timedelta(minutes=1))
    assert minutes == 29 * 24 * 60  # a leap year's February
    traffic = generate(minutes, seed=11, error_probability=0.004, incident=(600, 0.5))
    bad, total = sum(traffic.bad), sum(traffic.bad) + sum(traffic.good)

    sla = evaluate_sla_month(slo, date(2024, 2, 14), error_ratio=bad / total, now=datetime(2024, 3, 2, tzinfo=timezone.utc))

    assert sla.month == date(2024, 2, 1)
    assert sla.complete is True
    assert sla.attainment == pytest.approx((total - bad) / total, rel=1e-12)
    # Downtime: the minutes of full outage that lose as many requests as were lost.
    assert sla.downtime_minutes == pytest.approx(bad / (total / minutes), rel=1e-9)
    assert sla.allowed_downtime_minutes == pytest.approx(0.01 * minutes)
    assert sla.breached is (bad / total > 0.01)
    assert sla.status is (SlaStatus.BREACHED if bad / total > 0.01 else SlaStatus.MET)
    assert sla.downtime_minutes_left is None  # a finished month has nothing left to spend


NOW_MAY_11 = datetime(2024, 5, 11, tzinfo=timezone.utc)  # 10 of 31 days: 14,400 of 44,640 minutes


def test_a_running_month_below_its_target_is_not_on_track() -> None:
    """The report flattered: 95.7% against 98%, ten days in, said "on track". It can still be met, by losing at
    most the rest of the month's allowance, and says so; "on track" is for a month at its target."""
    slo = objective(target=0.99, sla=0.98)
    behind = evaluate_sla_month(slo, date(2024, 5, 1), error_ratio=0.043, now=NOW_MAY_11)
    assert behind.attainment == pytest.approx(0.957)
    assert behind.status is SlaStatus.AT_RISK and behind.breached is False
    # 2% of the month is 892.8 minutes; 4.3% of ten days is 619.2 minutes lost already.
    assert behind.allowed_downtime_minutes == pytest.approx(892.8)
    assert behind.downtime_minutes == pytest.approx(619.2)
    assert behind.downtime_minutes_left == pytest.approx(892.8 - 619.2)
    ahead = evaluate_sla_month(slo, date(2024, 5, 1), error_ratio=0.015, now=NOW_MAY_11)
    assert ahead.status is SlaStatus.ON_TRACK
    assert ahead.downtime_minutes_left == pytest.approx(892.8 - 0.015 * 14_400)


def test_a_running_month_that_can_no_longer_reach_its_target_is_breached_now() -> None:
    slo = objective(target=0.99, sla=0.98)
    # 95.7% over 21 of 31 days: 1,300.3 minutes lost, more than the whole month's 892.8; no good rest undoes it.
    late = evaluate_sla_month(slo, date(2024, 5, 1), error_ratio=0.043, now=datetime(2024, 5, 22, tzinfo=timezone.utc))
    assert late.status is SlaStatus.BREACHED and late.breached is True
    assert late.downtime_minutes_left is None
    # A perfect rest of the month would end at 1 - 1300.3 / 44640 = 97.09%, below 98%.
    assert 1 - late.downtime_minutes / (31 * 1440) < 0.98
    edge = evaluate_sla_month(slo, date(2024, 5, 1), error_ratio=0.062, now=NOW_MAY_11)  # 892.8 exactly
    assert edge.status is SlaStatus.AT_RISK and edge.downtime_minutes_left == pytest.approx(0, abs=1e-9)


def test_sla_month_without_data() -> None:
    slo = objective(sla=0.99)
    sla = evaluate_sla_month(slo, date(2024, 4, 1), error_ratio=None, now=NOW)
    assert sla.attainment is None and sla.downtime_minutes is None and sla.breached is None
    assert sla.status is SlaStatus.NO_DATA and sla.downtime_minutes_left is None
    with pytest.raises(ValueError):
        evaluate_sla_month(objective(), date(2024, 4, 1), error_ratio=0.1, now=NOW)


def test_calendar_window_budget_uses_the_month_length() -> None:
    slo = Objective("m", "svc", 0.99, CalendarMonthWindow(), INDICATOR)
    status = evaluate_status(slo, error_ratios={}, period_error_ratio=0.005, now=datetime(2024, 4, 10, tzinfo=timezone.utc))
    assert status.error_budget_remaining_minutes == pytest.approx(0.5 * 0.01 * 30 * 24 * 60)
