"""The objective writes its own PromQL; these are the exact strings Prometheus gets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from console.domain.slo import (
    LabelMatcher,
    LatencyIndicator,
    Objective,
    RatioIndicator,
    Selector,
    labelled_with_slo,
    recorded_error_ratios_query,
    union_query,
)
from console.domain.slo_alerts import rule_alerts
from console.domain.slo_promql import promql_duration, promql_string
from console.domain.slo_spec import parse_selector
from console.domain.slo_windows import CalendarMonthWindow, RollingWindow

from .conftest import AVAILABILITY_SPEC, one_objective, spec_with

TOTAL = 'http_requests_total{service="iris"}'
BAD = 'http_requests_total{service="iris",code=~"5.."}'


def test_ratio_of_bad_events(availability: Objective) -> None:
    assert availability.error_ratio_query(timedelta(minutes=5)) == (
        f"(sum(rate({BAD}[5m])) or vector(0)) / sum(rate({TOTAL}[5m]))"
    )


def test_ratio_of_good_events() -> None:
    good = spec_with(
        AVAILABILITY_SPEC,
        **{
            "spec.indicator.spec.ratioMetric.bad": ...,
            "spec.indicator.spec.ratioMetric.good": {
                "metricSource": {"type": "Prometheus", "spec": {"query": 'http_requests_total{service="iris",code!~"5.."}'}}
            },
        },
    )
    objective = one_objective(good)
    assert objective.error_ratio_query(timedelta(hours=1)) == (
        '1 - (sum(rate(http_requests_total{service="iris",code!~"5.."}[1h])) or vector(0))'
        f" / sum(rate({TOTAL}[1h]))"
    )


def test_latency_uses_the_threshold_bucket_and_the_count(latency: Objective) -> None:
    assert latency.error_ratio_query(timedelta(minutes=30)) == (
        '1 - (sum(rate(http_request_duration_seconds_bucket{service="iris",le="0.25"}[30m])) or vector(0))'
        ' / sum(rate(http_request_duration_seconds_count{service="iris"}[30m]))'
    )


def test_integral_latency_bound_matches_go_and_python_spelling() -> None:
    indicator = LatencyIndicator(Selector("h_seconds"), threshold_seconds=1.0, bucket_bounds_seconds=(0.5, 1.0))
    assert indicator.error_ratio("5m") == (
        '1 - (sum(rate(h_seconds_bucket{le=~"1|1\\\\.0"}[5m])) or vector(0)) / sum(rate(h_seconds_count[5m]))'
    )


def test_every_alert_window_and_the_whole_window(availability: Objective) -> None:
    # A 28-day SLO: the SLI's 5 minutes and the workbook's windows times 28/30.
    ranges = [promql_duration(window) for window in availability.recorded_windows]
    assert ranges == ["5m", "28m", "56m", "112m", "336m", "1344m", "4032m"]
    now = datetime(2024, 5, 17, 12, 0, tzinfo=timezone.utc)
    assert availability.period_error_ratio_query(now=now) == (
        f"(sum(rate({BAD}[28d])) or vector(0)) / sum(rate({TOTAL}[28d]))"
    )


def test_calendar_month_covers_the_month_so_far(availability: Objective) -> None:
    objective = Objective(
        name="m", service="s", target=0.99, window=CalendarMonthWindow(), indicator=availability.indicator
    )
    now = datetime(2024, 5, 3, 6, 30, 15, 500_000, tzinfo=timezone.utc)
    # 2 days 6 h 30 min 15 s since 1 May 00:00 UTC, in whole seconds
    assert objective.period_error_ratio_query(now=now) == (
        f"(sum(rate({BAD}[196215s])) or vector(0)) / sum(rate({TOTAL}[196215s]))"
    )


def test_calendar_month_in_a_time_zone_starts_at_local_midnight(availability: Objective) -> None:
    objective = Objective(
        name="m",
        service="s",
        target=0.99,
        window=CalendarMonthWindow("Europe/Berlin"),
        indicator=availability.indicator,
    )
    now = datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc)  # 02:00 on 1 May in Berlin
    assert objective.period_range(now=now) == timedelta(hours=2)
    assert objective.window.length_at(now) == timedelta(days=31)


def test_burn_rate_and_error_budget(availability: Objective) -> None:
    ratio = f"(sum(rate({BAD}[1h])) or vector(0)) / sum(rate({TOTAL}[1h]))"
    assert availability.burn_rate_query(timedelta(hours=1)) == f"({ratio}) / (1 - 0.999)"
    period = f"(sum(rate({BAD}[28d])) or vector(0)) / sum(rate({TOTAL}[28d]))"
    now = datetime(2024, 5, 17, tzinfo=timezone.utc)
    assert availability.error_budget_remaining_query(now=now) == f"1 - ({period}) / (1 - 0.999)"


def test_recorded_series_and_alert_expression(availability: Objective) -> None:
    assert availability.recorded_error_ratio_query(timedelta(minutes=5)) == (
        'slo:sli_error:ratio_rate5m{slo="iris-availability"}'
    )
    page_quick, page_slow, ticket_quick, ticket_slow = rule_alerts(availability.window).alerts
    assert availability.alert_expression(page_quick) == (
        'slo:sli_error:ratio_rate5m{slo="iris-availability"} > (14.4 * (1 - 0.999))\n'
        "and ignoring (window)\n"
        'slo:sli_error:ratio_rate56m{slo="iris-availability"} > (14.4 * (1 - 0.999))'
    )
    assert availability.alert_expression(ticket_slow) == (
        'slo:sli_error:ratio_rate336m{slo="iris-availability"} > (1 * (1 - 0.999))\n'
        "and ignoring (window)\n"
        'slo:sli_error:ratio_rate4032m{slo="iris-availability"} > (1 * (1 - 0.999))'
    )


def test_one_query_reads_every_recorded_ratio() -> None:
    assert recorded_error_ratios_query() == '{__name__=~"slo:sli_error:ratio_.+|slo:objective:ratio",slo!=""}'


def test_batched_query_labels_each_slo() -> None:
    parts = [labelled_with_slo("vector(1)", "a"), labelled_with_slo("vector(2)", "b")]
    assert union_query(parts) == (
        'label_replace(vector(1), "slo", "a", "", "") or label_replace(vector(2), "slo", "b", "", "")'
    )


# --- escaping --------------------------------------------------------------------------------------------

NASTY = 'x"} or vector(1) or {a="\\'


def test_label_values_are_escaped() -> None:
    assert promql_string('say "hi"') == '"say \\"hi\\""'
    assert promql_string("back\\slash") == '"back\\\\slash"'
    assert promql_string("line\nbreak") == '"line\\nbreak"'
    matcher = LabelMatcher("service", "=", NASTY)
    assert matcher.promql() == 'service="x\\"} or vector(1) or {a=\\"\\\\"'


def test_a_name_cannot_change_the_recorded_query() -> None:
    objective = Objective(
        name=NASTY,
        service="s",
        target=0.99,
        window=RollingWindow(timedelta(days=28)),
        indicator=RatioIndicator(total=Selector("t"), bad=Selector("b")),
    )
    assert objective.recorded_error_ratio_query(timedelta(minutes=5)) == (
        'slo:sli_error:ratio_rate5m{slo="x\\"} or vector(1) or {a=\\"\\\\"}'
    )


def test_label_replace_replacement_keeps_dollars_literal() -> None:
    assert labelled_with_slo("vector(1)", "cost-$1-${x}") == (
        'label_replace(vector(1), "slo", "cost-$$1-$${x}", "", "")'
    )


def test_selector_round_trip_keeps_quotes_and_backslashes() -> None:
    selector = parse_selector(r'm{a="q\"uote", b=~"\\d+", c!=' + "'single'" + "}")
    assert selector == Selector(
        "m",
        (LabelMatcher("a", "=", 'q"uote'), LabelMatcher("b", "=~", "\\d+"), LabelMatcher("c", "!=", "single")),
    )
    assert selector.promql() == 'm{a="q\\"uote",b=~"\\\\d+",c!="single"}'


@pytest.mark.parametrize(
    "text",
    ["", "rate(x[5m])", 'x{a="b"}[5m]', 'x{a="b"', 'x{a=b}', 'x{a="b"} + y', 'x{a~"b"}', 'x{a="\\q"}'],
)
def test_selector_rejects_anything_but_a_selector(text: str) -> None:
    with pytest.raises(ValueError):
        parse_selector(text)


def test_durations() -> None:
    assert promql_duration(timedelta(minutes=90)) == "90m"
    assert promql_duration(timedelta(days=28)) == "28d"
    assert promql_duration(timedelta(milliseconds=1500)) == "1500ms"
    with pytest.raises(ValueError):
        promql_duration(timedelta(0))
