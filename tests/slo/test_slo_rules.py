"""Generated rules: their shape and annotations, promtool's verdict, and the alerts firing in promtool's rule tests."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from console.domain.slo import LabelMatcher, LatencyIndicator, Objective, RatioIndicator, Selector
from console.domain.slo_rules import prometheus_rule, render_rules, rule_group, rules_file, slo_page_url
from console.domain.slo_windows import CalendarMonthWindow, RollingWindow
from console.errors import InvalidInput
from console.sandbox.prometheus import check_rules
from console.services.slo import load_slo_directory, write_rules

from .conftest import AVAILABILITY_SPEC, EXAMPLES, one_objective, promtool, spec_with

CONSOLE = "https://mlops-console.apps.example.com"
WEIRD_NAME = 'odd "name" \\ with $1 and {{ braces }}'
RUNBOOK = "https://runbooks.example.com/iris-classifier"


def weird_objective() -> Objective:
    return Objective(
        name=WEIRD_NAME,
        service='svc "quoted"',
        target=0.99,
        window=RollingWindow(timedelta(days=7)),
        indicator=LatencyIndicator(Selector("h_seconds"), threshold_seconds=1.0, bucket_bounds_seconds=(0.5, 1.0)),
    )


def counters(name: str, window: RollingWindow | CalendarMonthWindow, *, runbook: str = "") -> Objective:
    """A 99.9% SLO over the counters ``b_total`` and ``t_total`` of the series labelled ``slo=<name>``."""
    mine = (LabelMatcher("slo", "=", name),)
    return Objective(
        name=name, service=f"{name}-svc", target=0.999, window=window,
        indicator=RatioIndicator(total=Selector("t_total", mine), bad=Selector("b_total", mine)), runbook_url=runbook,
    )


def alerts_of(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for rule in group["rules"] if "alert" in rule]


def test_group_records_every_window_of_the_slos_table_then_its_four_alerts(availability: Objective) -> None:
    group = rule_group(availability, console_url=CONSOLE)
    assert group["name"] == "slo-iris-availability"
    assert group["interval"] == "30s"
    records = [rule.get("record") for rule in group["rules"] if "record" in rule]
    # A 28-day SLO: the SLI's 5m, then the workbook's windows times 28/30.
    assert records == [
        "slo:sli_error:ratio_rate5m",
        "slo:sli_error:ratio_rate28m",
        "slo:sli_error:ratio_rate56m",
        "slo:sli_error:ratio_rate112m",
        "slo:sli_error:ratio_rate336m",
        "slo:sli_error:ratio_rate1344m",
        "slo:sli_error:ratio_rate4032m",
        "slo:objective:ratio",
        "slo:sli_error:ratio_period",
        "slo:period_error_budget_remaining:ratio",
    ]
    first = group["rules"][0]
    assert first["expr"] == availability.error_ratio_query(timedelta(minutes=5))
    assert first["labels"] == {"slo": "iris-availability", "service": "iris-classifier", "window": "5m"}
    assert group["rules"][7]["labels"] == {
        "slo": "iris-availability", "service": "iris-classifier", "windows": "5m,28m,56m,112m,336m,1344m,4032m"
    }
    period = group["rules"][8]
    assert period["labels"]["window"] == "28d"
    assert group["rules"][9]["expr"] == '1 - slo:sli_error:ratio_period{slo="iris-availability"} / (1 - 0.999)'
    alerts = alerts_of(group)
    assert [(rule["alert"], rule["labels"]["severity"], rule["labels"]["long_window"]) for rule in alerts] == [
        ("SLOErrorBudgetBurn", "page", "56m"),
        ("SLOErrorBudgetBurn", "page", "336m"),
        ("SLOErrorBudgetBurn", "ticket", "1344m"),
        ("SLOErrorBudgetBurn", "ticket", "4032m"),
    ]
    assert all("for" not in rule for rule in alerts)


def test_alerts_say_what_burned_and_lead_back_to_the_console(availability: Objective) -> None:
    quick, slow, _, ticket_slow = alerts_of(rule_group(availability, console_url=CONSOLE + "/"))
    assert quick["annotations"] == {
        "summary": "{{ $labels.service }}: SLO {{ $labels.slo }} burned over 2% of its 28d error budget in the "
        "last 56m",
        "description": "Error ratio {{ $value | humanizePercentage }} over the last 5m, and above 14.4 times the "
        "rate the budget allows over the last 56m too: 2% of its 28d error budget went in 56m. At this rate the "
        "whole budget lasts 1d22h40m.",
        "console_url": f"{CONSOLE}/slos?slo=iris-availability",
    }
    assert slow["annotations"]["summary"].endswith("burned over 5% of its 28d error budget in the last 5h36m")
    assert ticket_slow["annotations"]["description"].endswith("At this rate the whole budget lasts 28d.")


def test_the_runbook_of_the_spec_is_linked_from_every_alert() -> None:
    document = spec_with(AVAILABILITY_SPEC, **{"metadata.annotations": {"mlops.console/runbook-url": RUNBOOK}})
    alerts = alerts_of(rule_group(one_objective(document), console_url=CONSOLE))
    assert [rule["annotations"]["runbook_url"] for rule in alerts] == [RUNBOOK] * 4
    assert all(rule["annotations"]["console_url"] == f"{CONSOLE}/slos?slo=iris-availability" for rule in alerts)


def test_a_calendar_month_has_no_period_rule_and_says_so_in_its_alerts(availability: Objective) -> None:
    calendar = Objective("m", "s", 0.99, CalendarMonthWindow(), availability.indicator)
    group = rule_group(calendar, console_url=CONSOLE)
    records = [rule.get("record") for rule in group["rules"]]
    assert "slo:sli_error:ratio_period" not in records
    quick = alerts_of(group)[0]
    assert quick["annotations"]["summary"] == (
        "{{ $labels.service }}: SLO {{ $labels.slo }} burned over 2% of this calendar month's error budget in the "
        "last 1h"
    )
    assert "above 13.4 to 14.9 times (by the month's length) the rate" in quick["annotations"]["description"]


def test_prometheus_rule_resource(availability: Objective) -> None:
    resource = prometheus_rule([availability], console_url=CONSOLE, namespace="ml-serving")
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["metadata"]["name"] == "mlops-console-slos"
    assert resource["metadata"]["namespace"] == "ml-serving"
    assert resource["spec"] == rules_file([availability], console_url=CONSOLE)
    text = write_rules([availability], console_url=CONSOLE, format="prometheusrule")
    assert yaml.safe_load(text) == prometheus_rule([availability], console_url=CONSOLE)
    assert text.startswith("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n")


def test_unknown_format_is_invalid_input(availability: Objective) -> None:
    with pytest.raises(InvalidInput):
        write_rules([availability], console_url=CONSOLE, format="json")


def test_names_survive_yaml_and_annotations_never_run_them() -> None:
    text = render_rules([weird_objective()], console_url=CONSOLE, format="rules")
    group = yaml.safe_load(text)["groups"][0]
    assert group["rules"][0]["labels"]["slo"] == WEIRD_NAME
    # Alert labels are Go templates: a name with {{ is written as one template action printing it.
    alert = alerts_of(group)[0]
    assert alert["labels"]["slo"] == '{{ "odd \\"name\\" \\\\ with $1 and {{ braces }}" }}'
    assert alert["labels"]["service"] == 'svc "quoted"'
    for rule in alerts_of(group):
        assert "braces" not in rule["annotations"]["summary"] + rule["annotations"]["description"]
        # In the link the name is URL-encoded: no braces are left for a template to run.
        assert rule["annotations"]["console_url"] == slo_page_url(CONSOLE, WEIRD_NAME)
    assert slo_page_url(CONSOLE, WEIRD_NAME) == (
        f"{CONSOLE}/slos?slo=odd+%22name%22+%5C+with+%241+and+%7B%7B+braces+%7D%7D"
    )


def every_kind_of_objective() -> list[Objective]:
    """The examples (28d, 30d, calendar month) and windows at both ends of the range, a zone and a runbook."""
    return [
        *load_slo_directory(EXAMPLES).objectives,
        weird_objective(),
        counters("one-day", RollingWindow(timedelta(days=1))),
        counters("thirty-six-hours", RollingWindow(timedelta(hours=36))),
        counters("ninety-days", RollingWindow(timedelta(days=90)), runbook=RUNBOOK),
        counters("berlin-month", CalendarMonthWindow("Europe/Berlin")),
    ]


@pytest.mark.parametrize("form", ["rules", "prometheusrule"])
def test_promtool_accepts_every_generated_rules_file(tmp_path: Path, form: str) -> None:
    objectives = every_kind_of_objective()
    text = write_rules(objectives, console_url=CONSOLE, format=form)
    document = yaml.safe_load(text)
    groups = document if form == "rules" else document["spec"]
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(yaml.safe_dump(groups) if form == "prometheusrule" else text)
    result = check_rules(rule_file)
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(group["rules"]) for group in groups["groups"])
    assert f"SUCCESS: {count} rules found" in result.stdout
    assert len(groups["groups"]) == len(objectives)


def test_promtool_rejects_a_broken_rules_file(tmp_path: Path) -> None:
    rule_file = tmp_path / "bad.yml"
    rule_file.write_text("groups:\n- name: x\n  rules:\n  - record: a\n    expr: sum(rate(x[5m])\n")
    assert check_rules(rule_file).returncode != 0


def promtool_test(tmp_path: Path, objectives: list[Objective], tests: str) -> subprocess.CompletedProcess:
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules(objectives, console_url=CONSOLE, format="rules", interval=timedelta(minutes=1)))
    test_file = tmp_path / "test.yml"
    test_file.write_text(f"rule_files:\n  - {rules}\nevaluation_interval: 1m\ntests:\n{tests}")
    return subprocess.run(
        [promtool(), "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60
    )


def expected_alert(severity: str, window: str, short_text: str, long_window: str, share: str, long_text: str,
                   factor: str, lasts: str) -> str:
    return f"""
          - exp_labels:
              slo: iris-availability
              service: iris-classifier
              severity: {severity}
              window: {window}
              long_window: {long_window}
            exp_annotations:
              summary: 'iris-classifier: SLO iris-availability burned over {share} of its 28d error budget in the last {long_text}'
              description: >-
                Error ratio 10% over the last {short_text}, and above {factor} times the rate the budget allows over the last
                {long_text} too: {share} of its 28d error budget went in {long_text}. At this rate the whole budget lasts {lasts}.
              console_url: {CONSOLE}/slos?slo=iris-availability"""


def test_every_alert_of_a_28_day_slo_fires_in_promtools_rule_tests(tmp_path: Path, availability: Objective) -> None:
    ratio = "spec.indicator.spec.ratioMetric"
    wine = one_objective(
        spec_with(
            AVAILABILITY_SPEC,
            **{
                "metadata.name": "wine-availability",
                "spec.service": "wine-quality",
                f"{ratio}.bad.metricSource.spec.query": 'http_requests_total{service="wine",code=~"5.."}',
                f"{ratio}.total.metricSource.spec.query": 'http_requests_total{service="wine"}',
            },
        )
    )
    tests = """
  - interval: 1m
    input_series:
      # 10% errors from the start: 100x the budget of a 99.9% objective
      - series: 'http_requests_total{service="iris",code="500"}'
        values: '0+10x120'
      - series: 'http_requests_total{service="iris",code="200"}'
        values: '0+90x120'
      # a healthy neighbour
      - series: 'http_requests_total{service="wine",code="200"}'
        values: '0+100x120'
    alert_rule_test:
      - eval_time: 30m
        alertname: SLOErrorBudgetBurn
        exp_alerts:""" + "".join([
        expected_alert("page", "5m", "5m", "56m", "2%", "56m", "14.4", "1d22h40m"),
        expected_alert("page", "28m", "28m", "336m", "5%", "5h36m", "6", "4d16h"),
        expected_alert("ticket", "112m", "1h52m", "1344m", "10%", "22h24m", "3", "9d8h"),
        expected_alert("ticket", "336m", "5h36m", "4032m", "10%", "2d19h12m", "1", "28d"),
    ]) + """
    promql_expr_test:
      # per mille, rounded: 0.1 arrives as 0.09999999999999999
      - expr: round(slo:sli_error:ratio_rate56m * 1000)
        eval_time: 30m
        exp_samples:
          - labels: '{slo="iris-availability",service="iris-classifier",window="56m"}'
            value: 100
          - labels: '{slo="wine-availability",service="wine-quality",window="56m"}'
            value: 0
"""
    result = promtool_test(tmp_path, [availability, wine], tests)
    assert result.returncode == 0, result.stdout + result.stderr


def firing(*labels: str) -> str:
    return "".join(
        f"""
          - labels: '{{__name__="ALERTS",alertname="SLOErrorBudgetBurn",alertstate="firing",{label}}}'
            value: 1"""
        for label in labels
    )


def test_a_seven_day_slo_pages_once_two_percent_of_its_budget_burned(tmp_path: Path) -> None:
    """3% errors (30x a 99.9% budget) after two calm hours. The 7-day SLO's quick page (14.4x over 14m and 2m)
    fires once 2% of its week's budget has gone: 14.4 / 30 x 14m = 6.7 minutes in. The 30-day table's 1h
    window would still average 0.45% at 9 minutes (9/60 x 3%), under its 1.44%, and stay silent."""
    week = counters("week", RollingWindow(timedelta(days=7)))
    labels = 'long_window="14m",service="week-svc",severity="page",slo="week",window="2m"'
    tests = f"""
  - interval: 1m
    input_series:
      - series: 'b_total{{slo="week"}}'
        values: '0x120 0+3x30'
      - series: 't_total{{slo="week"}}'
        values: '0+100x150'
    promql_expr_test:
      - expr: ALERTS{{alertstate="firing",severity="page"}}
        eval_time: 125m
        exp_samples: []
      - expr: ALERTS{{alertstate="firing",severity="page"}}
        eval_time: 129m
        exp_samples:{firing(labels)}
"""
    result = promtool_test(tmp_path, [week], tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_calendar_months_factor_follows_the_days_of_the_month(tmp_path: Path) -> None:
    """promtool's clock starts on 1 January 1970, a 31-day month: the quick page needs 0.48 x 31 = 14.88x.
    14.6x pages under the 30-day table (14.4x) but burns only 14.6 / 744 = 1.96% of January's budget an hour."""
    under = counters("under", CalendarMonthWindow())
    over = counters("over", CalendarMonthWindow())
    tests = f"""
  - interval: 1m
    input_series:
      - series: 'b_total{{slo="under"}}'
        values: '0+146x120'
      - series: 't_total{{slo="under"}}'
        values: '0+10000x120'
      - series: 'b_total{{slo="over"}}'
        values: '0+152x120'
      - series: 't_total{{slo="over"}}'
        values: '0+10000x120'
    promql_expr_test:
      - expr: days_in_month()
        eval_time: 90m
        exp_samples:
          - labels: '{{}}'
            value: 31
      - expr: ALERTS{{alertstate="firing",long_window="1h"}}
        eval_time: 90m
        exp_samples:{firing('long_window="1h",service="over-svc",severity="page",slo="over",window="5m"')}
"""
    # Budget 0.1%: 146 errors in 10,000 requests are 14.6x, 152 are 15.2x.
    result = promtool_test(tmp_path, [under, over], tests)
    assert result.returncode == 0, result.stdout + result.stderr
