"""The burn-rate alert table derived from each SLO's window: windows, factors, shares and the PromQL it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.domain.slo import Objective, RatioIndicator, Selector
from console.domain.slo_alerts import (
    MIN_ALERT_WINDOW,
    AlertState,
    burn_rate_alerts,
    recorded_alert_windows,
    rule_alerts,
)
from console.domain.slo_status import evaluate_status
from console.domain.slo_windows import CalendarMonthWindow, RollingWindow

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
INDICATOR = RatioIndicator(total=Selector("requests_total"), bad=Selector("errors_total"))


def rolling(days: float) -> RollingWindow:
    return RollingWindow(timedelta(days=days))


def table(window, at: datetime = NOW) -> list[tuple[str, str, timedelta, timedelta, float]]:  # type: ignore[no-untyped-def]
    return [
        (alert.name, alert.severity.value, alert.long_window, alert.short_window, alert.factor)
        for alert in burn_rate_alerts(window, at=at).alerts
    ]


# The workbook's table for its own 30 days, and the same shares for every other window.
EXPECTED = {
    1: [("page quick", "page", 2 * M, 2 * M, 14.4), ("page slow", "page", 12 * M, 2 * M, 6.0),
        ("ticket quick", "ticket", 48 * M, 4 * M, 3.0), ("ticket slow", "ticket", 144 * M, 12 * M, 1.0)],
    7: [("page quick", "page", 14 * M, 2 * M, 14.4), ("page slow", "page", 84 * M, 7 * M, 6.0),
        ("ticket quick", "ticket", 336 * M, 28 * M, 3.0), ("ticket slow", "ticket", 1008 * M, 84 * M, 1.0)],
    28: [("page quick", "page", 56 * M, 5 * M, 14.4), ("page slow", "page", 336 * M, 28 * M, 6.0),
         ("ticket quick", "ticket", 1344 * M, 112 * M, 3.0), ("ticket slow", "ticket", 4032 * M, 336 * M, 1.0)],
    30: [("page quick", "page", H, 5 * M, 14.4), ("page slow", "page", 6 * H, 30 * M, 6.0),
         ("ticket quick", "ticket", D, 2 * H, 3.0), ("ticket slow", "ticket", 3 * D, 6 * H, 1.0)],
    90: [("page quick", "page", 3 * H, 15 * M, 14.4), ("page slow", "page", 18 * H, 90 * M, 6.0),
         ("ticket quick", "ticket", 3 * D, 6 * H, 3.0), ("ticket slow", "ticket", 9 * D, 18 * H, 1.0)],
}


@pytest.mark.parametrize("days", sorted(EXPECTED))
def test_windows_scale_with_the_slo_window_and_factors_stay_the_workbooks(days: int) -> None:
    assert table(rolling(days)) == EXPECTED[days]


def test_a_seven_day_slo_no_longer_gets_the_thirty_day_table() -> None:
    """The bug: 14.4x over 1h for a 7-day SLO paged only after 8.6% of its budget, the slow ticket after 43%."""
    alerts = burn_rate_alerts(rolling(7), at=NOW).alerts
    shares = [alert.factor * (alert.long_window / (7 * D)) for alert in alerts]
    assert shares == pytest.approx([0.02, 0.05, 0.10, 0.10], rel=1e-12)


def test_every_alert_fires_at_the_workbooks_share_for_every_window_from_1_to_90_days() -> None:
    for hours in range(24, 90 * 24 + 1):
        period = timedelta(hours=hours)
        alerts = burn_rate_alerts(RollingWindow(period), at=NOW)
        assert [alert.name for alert in alerts.alerts] == ["page quick", "page slow", "ticket quick", "ticket slow"]
        for alert, share in zip(alerts.alerts, (0.02, 0.05, 0.10, 0.10), strict=True):
            # Burning at `factor` over the long window spends factor x long / period of the budget.
            assert alert.factor * (alert.long_window / period) == pytest.approx(share, rel=1e-12), (period, alert)
            assert alert.budget_share == share
            assert MIN_ALERT_WINDOW <= alert.short_window <= alert.long_window <= period, (period, alert)
            assert alert.long_window % M == timedelta(0) and alert.short_window % M == timedelta(0), (period, alert)
            if alert.severity is AlertState.PAGE:
                # A page factor of at most 1 would page a service that meets its objective.
                assert alert.factor > 5, (period, alert)
        longs = [alert.long_window for alert in alerts.alerts]
        assert longs == sorted(set(longs)), period  # quicker alerts look back less; no two share a long window


@pytest.mark.parametrize(
    ("moment", "days", "factors"),
    [
        (datetime(2026, 2, 14, tzinfo=UTC), 28, [13.44, 5.6, 2.8, 0.9333333333333333]),
        (datetime(2026, 4, 10, tzinfo=UTC), 30, [14.4, 6.0, 3.0, 1.0]),
        (datetime(2026, 3, 31, 23, 59, tzinfo=UTC), 31, [14.88, 6.2, 3.1, 1.0333333333333333]),
    ],
    ids=["February", "April", "March"],
)
def test_a_calendar_month_keeps_the_workbooks_windows_and_takes_its_factors_from_its_length(
    moment: datetime, days: int, factors: list[float]
) -> None:
    alerts = burn_rate_alerts(CalendarMonthWindow(), at=moment)
    assert alerts.calendar and alerts.period == days * D
    assert [(alert.long_window, alert.short_window) for alert in alerts.alerts] == [
        (H, 5 * M), (6 * H, 30 * M), (D, 2 * H), (3 * D, 6 * H)
    ]
    assert [alert.factor for alert in alerts.alerts] == pytest.approx(factors, rel=1e-12)
    for alert, share in zip(alerts.alerts, (0.02, 0.05, 0.10, 0.10), strict=True):
        assert alert.factor * (alert.long_window / (days * D)) == pytest.approx(share, rel=1e-12)
    # The factor is what PromQL computes: the per-day factor times days_in_month(), in that order.
    assert [alert.factor for alert in alerts.alerts] == [alert.factor_per_day * days for alert in alerts.alerts]


def test_a_calendar_month_counts_its_days_as_promql_does_in_utc() -> None:
    # 1 May 00:30 in Berlin is still 30 April in UTC: days_in_month() says 30, and so does the console.
    moment = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)
    assert burn_rate_alerts(CalendarMonthWindow("Europe/Berlin"), at=moment).period == 30 * D


def test_recorded_windows_are_the_tables_own_and_do_not_change_with_the_month() -> None:
    assert recorded_alert_windows(rolling(28)) == (5 * M, 28 * M, 56 * M, 112 * M, 336 * M, 1344 * M, 4032 * M)
    assert recorded_alert_windows(rolling(7)) == (2 * M, 7 * M, 14 * M, 28 * M, 84 * M, 336 * M, 1008 * M)
    assert recorded_alert_windows(CalendarMonthWindow()) == (5 * M, 30 * M, H, 2 * H, 6 * H, D, 3 * D)
    february = burn_rate_alerts(CalendarMonthWindow(), at=datetime(2026, 2, 1, tzinfo=UTC))
    assert february.windows == recorded_alert_windows(CalendarMonthWindow())
    week = Objective("w", "s", 0.999, rolling(7), INDICATOR)
    assert week.recorded_windows == (2 * M, 5 * M, 7 * M, 14 * M, 28 * M, 84 * M, 336 * M, 1008 * M)


def test_windows_under_a_day_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1d"):
        burn_rate_alerts(RollingWindow(timedelta(hours=23)), at=NOW)


def test_the_budget_lasts_the_window_over_the_factor() -> None:
    alerts = burn_rate_alerts(rolling(28), at=NOW).alerts
    assert [alert.budget_lasts for alert in alerts] == [28 * D / 14.4, 28 * D / 6, 28 * D / 3, 28 * D]


# --- the same table decides the overview's alert state ----------------------------------------------------


def seven_day_status(ratios: dict[timedelta, float]):  # type: ignore[no-untyped-def]
    objective = Objective("week", "svc", 0.999, rolling(7), INDICATOR)
    return evaluate_status(objective, error_ratios=ratios, period_error_ratio=0.0005, now=NOW)


def test_a_seven_day_slo_pages_on_its_own_quick_windows() -> None:
    budget = 0.001
    # 20x over the last 14 minutes and 2 minutes, calm before: the 1h window of the 30-day table sees 4.7x.
    status = seven_day_status({2 * M: 20 * budget, 14 * M: 20 * budget, H: 4.7 * budget})
    assert status.alert_state is AlertState.PAGE
    assert status.current_burn_rate == pytest.approx(20)
    assert [(alert.name, burn) for alert, burn in status.alert_burn_rates][0] == ("page quick", pytest.approx(20))


@pytest.mark.parametrize(
    ("case", "ratios", "expected"),
    [
        ("quick page on both windows", {2 * M: 15, 14 * M: 15}, AlertState.PAGE),
        ("quick page over its short window only", {2 * M: 15, 14 * M: 14}, AlertState.OK),
        ("quick page that has stopped", {2 * M: 1, 14 * M: 15}, AlertState.OK),
        ("slow page", {7 * M: 7, 84 * M: 7}, AlertState.PAGE),
        ("quick ticket", {28 * M: 4, 336 * M: 4}, AlertState.TICKET),
        ("slow ticket", {84 * M: 1.5, 1008 * M: 1.5}, AlertState.TICKET),
        ("exactly at the threshold does not fire", {84 * M: 1, 1008 * M: 1}, AlertState.OK),
        ("a page beats a ticket", {2 * M: 20, 14 * M: 20, 28 * M: 20, 336 * M: 20}, AlertState.PAGE),
        ("a missing window is not a firing one", {2 * M: 20}, AlertState.OK),
        ("no window known", {}, AlertState.NO_DATA),
    ],
)
def test_the_alert_state_follows_the_slos_own_table(case: str, ratios: dict, expected: AlertState) -> None:
    alerts = burn_rate_alerts(rolling(7), at=NOW)
    budget = 0.001
    assert alerts.state({window: burn * budget for window, burn in ratios.items()}, target=0.999) is expected, case


def test_the_page_alerts_short_windows_are_there_to_ask() -> None:
    """What a guard on a rollout asks: is a page alert's threshold exceeded over its short window?"""
    pages = burn_rate_alerts(rolling(28), at=NOW).pages
    assert [(alert.short_window, alert.long_window) for alert in pages] == [(5 * M, 56 * M), (28 * M, 336 * M)]
    assert pages[0].error_ratio_threshold(0.999) == 14.4 * (1 - 0.999)
    assert pages[0].is_exceeded(0.0145, target=0.999) and not pages[0].is_exceeded(0.0144, target=0.999)
    assert not pages[0].is_exceeded(None, target=0.999) and not pages[0].is_exceeded(float("nan"), target=0.999)


# --- the PromQL the alerts are written in ------------------------------------------------------------------


def alert_expressions(days: int | None) -> list[str]:
    window = CalendarMonthWindow() if days is None else rolling(days)
    objective = Objective("checkout", "svc", 0.999, window, INDICATOR)
    return [objective.alert_expression(alert) for alert in rule_alerts(window).alerts]


def condition(short: str, long: str, factor: str) -> str:
    return (
        f'slo:sli_error:ratio_rate{short}{{slo="checkout"}} > ({factor} * (1 - 0.999))\n'
        "and ignoring (window)\n"
        f'slo:sli_error:ratio_rate{long}{{slo="checkout"}} > ({factor} * (1 - 0.999))'
    )


def test_promql_of_a_seven_day_slo() -> None:
    assert alert_expressions(7) == [
        'slo:sli_error:ratio_rate2m{slo="checkout"} > (14.4 * (1 - 0.999))\n'
        "and ignoring (window)\n"
        'slo:sli_error:ratio_rate14m{slo="checkout"} > (14.4 * (1 - 0.999))',
        'slo:sli_error:ratio_rate7m{slo="checkout"} > (6 * (1 - 0.999))\n'
        "and ignoring (window)\n"
        'slo:sli_error:ratio_rate84m{slo="checkout"} > (6 * (1 - 0.999))',
        'slo:sli_error:ratio_rate28m{slo="checkout"} > (3 * (1 - 0.999))\n'
        "and ignoring (window)\n"
        'slo:sli_error:ratio_rate336m{slo="checkout"} > (3 * (1 - 0.999))',
        'slo:sli_error:ratio_rate84m{slo="checkout"} > (1 * (1 - 0.999))\n'
        "and ignoring (window)\n"
        'slo:sli_error:ratio_rate1008m{slo="checkout"} > (1 * (1 - 0.999))',
    ]


def test_promql_of_a_28_day_slo() -> None:
    assert alert_expressions(28) == [
        condition("5m", "56m", "14.4"),
        condition("28m", "336m", "6"),
        condition("112m", "1344m", "3"),
        condition("336m", "4032m", "1"),
    ]


def test_promql_of_a_30_day_slo_is_the_workbooks_table() -> None:
    assert alert_expressions(30) == [
        condition("5m", "1h", "14.4"),
        condition("30m", "6h", "6"),
        condition("2h", "1d", "3"),
        condition("6h", "3d", "1"),
    ]


def test_promql_of_a_calendar_month_computes_its_factor_from_the_days_of_the_month() -> None:
    assert alert_expressions(None) == [
        condition("5m", "1h", "0.48 * scalar(days_in_month())"),
        condition("30m", "6h", "0.2 * scalar(days_in_month())"),
        condition("2h", "1d", "0.1 * scalar(days_in_month())"),
        condition("6h", "3d", "0.03333333333333333 * scalar(days_in_month())"),
    ]
