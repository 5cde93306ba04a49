"""Generated rules: their shape, promtool's verdict, and the alerts firing in promtool's rule tests."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from console.domain.slo import (
    CalendarMonthWindow,
    LatencyIndicator,
    Objective,
    RollingWindow,
    Selector,
)
from console.domain.slo_rules import prometheus_rule, render_rules, rule_group, rules_file
from console.sandbox.prometheus import check_rules, find_binary
from console.errors import InvalidInput
from console.services.slo import load_slo_directory, write_rules

from .conftest import AVAILABILITY_SPEC, EXAMPLES, one_objective, requires_prometheus, spec_with

WEIRD_NAME = 'odd "name" \\ with $1 and {{ braces }}'


def weird_objective() -> Objective:
    return Objective(
        name=WEIRD_NAME,
        service='svc "quoted"',
        target=0.99,
        window=RollingWindow(timedelta(days=7)),
        indicator=LatencyIndicator(Selector("h_seconds"), threshold_seconds=1.0, bucket_bounds_seconds=(0.5, 1.0)),
    )


def test_group_records_every_window_then_alerts(availability: Objective) -> None:
    group = rule_group(availability)
    assert group["name"] == "slo-iris-availability"
    assert group["interval"] == "30s"
    records = [rule.get("record") for rule in group["rules"] if "record" in rule]
    assert records == [
        "slo:sli_error:ratio_rate5m",
        "slo:sli_error:ratio_rate30m",
        "slo:sli_error:ratio_rate1h",
        "slo:sli_error:ratio_rate2h",
        "slo:sli_error:ratio_rate6h",
        "slo:sli_error:ratio_rate1d",
        "slo:sli_error:ratio_rate3d",
        "slo:objective:ratio",
        "slo:sli_error:ratio_period",
        "slo:period_error_budget_remaining:ratio",
    ]
    first = group["rules"][0]
    assert first["expr"] == availability.error_ratio_query(timedelta(minutes=5))
    assert first["labels"] == {"slo": "iris-availability", "service": "iris-classifier", "window": "5m"}
    period = group["rules"][8]
    assert period["labels"]["window"] == "28d"
    assert group["rules"][9]["expr"] == '1 - slo:sli_error:ratio_period{slo="iris-availability"} / (1 - 0.999)'
    alerts = [rule for rule in group["rules"] if "alert" in rule]
    assert [(rule["alert"], rule["labels"]["severity"]) for rule in alerts] == [
        ("SLOErrorBudgetBurn", "page"),
        ("SLOErrorBudgetBurn", "ticket"),
    ]
    assert all("for" not in rule for rule in alerts)


def test_calendar_slo_has_no_period_rule(availability: Objective) -> None:
    calendar = Objective("m", "s", 0.99, CalendarMonthWindow(), availability.indicator)
    records = [rule.get("record") for rule in rule_group(calendar)["rules"]]
    assert "slo:sli_error:ratio_period" not in records


def test_prometheus_rule_resource(availability: Objective) -> None:
    resource = prometheus_rule([availability], namespace="ml-serving")
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["kind"] == "PrometheusRule"
    assert resource["metadata"]["name"] == "mlops-console-slos"
    assert resource["metadata"]["namespace"] == "ml-serving"
    assert resource["spec"] == rules_file([availability])
    text = write_rules([availability], format="prometheusrule")
    assert yaml.safe_load(text) == prometheus_rule([availability])
    assert text.startswith("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n")


def test_unknown_format_is_invalid_input(availability: Objective) -> None:
    with pytest.raises(InvalidInput):
        write_rules([availability], format="json")


def test_names_survive_yaml_and_annotations_never_contain_them() -> None:
    text = render_rules([weird_objective()], format="rules")
    group = yaml.safe_load(text)["groups"][0]
    assert group["rules"][0]["labels"]["slo"] == WEIRD_NAME
    # Alert labels are Go templates: a name with {{ is written as one template action printing it.
    alert = next(rule for rule in group["rules"] if "alert" in rule)
    assert alert["labels"]["slo"] == '{{ "odd \\"name\\" \\\\ with $1 and {{ braces }}" }}'
    assert alert["labels"]["service"] == 'svc "quoted"'
    for rule in group["rules"]:
        for annotation in rule.get("annotations", {}).values():
            assert "braces" not in annotation


@requires_prometheus
@pytest.mark.parametrize("form", ["rules", "prometheusrule"])
def test_promtool_accepts_the_rules_of_the_examples(tmp_path: Path, form: str) -> None:
    catalog = load_slo_directory(EXAMPLES)
    text = write_rules([*catalog.objectives, weird_objective()], format=form)
    document = yaml.safe_load(text)
    groups = document if form == "rules" else document["spec"]
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(yaml.safe_dump(groups) if form == "prometheusrule" else text)
    result = check_rules(rule_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {(len(catalog.objectives) + 1) * 12 - 2 * 2} rules found" in result.stdout


@requires_prometheus
def test_promtool_rejects_a_broken_rules_file(tmp_path: Path) -> None:
    rule_file = tmp_path / "bad.yml"
    rule_file.write_text("groups:\n- name: x\n  rules:\n  - record: a\n    expr: sum(rate(x[5m])\n")
    assert check_rules(rule_file).returncode != 0


PROMTOOL_TEST = """
rule_files:
  - {rules}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # 10% errors from the start: 100x the budget of a 99.9% objective
      - series: 'http_requests_total{{service="iris",code="500"}}'
        values: '0+10x120'
      - series: 'http_requests_total{{service="iris",code="200"}}'
        values: '0+90x120'
      # a healthy neighbour
      - series: 'http_requests_total{{service="wine",code="200"}}'
        values: '0+100x120'
    alert_rule_test:
      - eval_time: 30m
        alertname: SLOErrorBudgetBurn
        exp_alerts:
          - exp_labels:
              slo: iris-availability
              service: iris-classifier
              severity: page
              window: 5m
            exp_annotations:
              summary: 'iris-classifier: SLO iris-availability burns its error budget too fast'
              description: >-
                The error ratio of SLO iris-availability is 10% over the short window; at this rate the page
                burn-rate threshold of the SRE workbook is crossed on both windows.
          - exp_labels:
              slo: iris-availability
              service: iris-classifier
              severity: ticket
              window: 2h
            exp_annotations:
              summary: 'iris-classifier: SLO iris-availability burns its error budget too fast'
              description: >-
                The error ratio of SLO iris-availability is 10% over the short window; at this rate the ticket
                burn-rate threshold of the SRE workbook is crossed on both windows.
    promql_expr_test:
      # per mille, rounded: 0.1 arrives as 0.09999999999999999
      - expr: round(slo:sli_error:ratio_rate1h * 1000)
        eval_time: 30m
        exp_samples:
          - labels: '{{slo="iris-availability",service="iris-classifier",window="1h"}}'
            value: 100
          - labels: '{{slo="wine-availability",service="wine-quality",window="1h"}}'
            value: 0
"""


@requires_prometheus
def test_alerts_fire_in_promtool_rule_tests(tmp_path: Path, availability: Objective) -> None:
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
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules([availability, wine], format="rules", interval=timedelta(minutes=1)))
    test_file = tmp_path / "test.yml"
    test_file.write_text(PROMTOOL_TEST.format(rules=rules))
    result = subprocess.run(
        [find_binary("promtool"), "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
