"""Recording and alerting rules for the console's SLOs, as a PrometheusRule or a plain Prometheus rules file.

One rule group per SLO (as Sloth and Pyrra do: a slow or broken SLO does not delay the others). Each group
records, in this order:

- ``slo:sli_error:ratio_rate<w>`` for the SLI's 5 minutes and every window of the SLO's burn-rate alerts
  (``console.domain.slo_alerts``: 5m 30m 1h 2h 6h 1d 3d for a 30-day window, scaled for others), labels
  ``slo``, ``service`` and ``window``;
- ``slo:sli_error:ratio_period``, the traffic-weighted error ratio over the whole rolling window (not written
  for calendar-month SLOs: a recording rule cannot have a range that grows through the month, so the console
  queries those from the raw counters);
- ``slo:objective:ratio`` (with the label ``windows`` naming the windows recorded above, which tells the console
  these rules are the ones for the SLO's current table) and ``slo:period_error_budget_remaining:ratio``;

and then one ``SLOErrorBudgetBurn`` alert per row of the SLO's alert table (page quick and slow with
``severity: page``, ticket quick and slow with ``severity: ticket``, told apart by ``long_window``), on the
recorded ratios. The alerts have no ``for``: the short window already filters blips, and the console's alert
state, computed from the same series, then agrees with Alertmanager at every evaluation.

Every alert carries what a pager needs to act: a summary naming the service, the SLO, the window and the
share of its error budget at risk; a description with the error ratio and how long the budget lasts at this
rate; ``console_url``, the SLO's page in the console; and ``runbook_url`` when the spec gives one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import yaml

from console.domain.slo import (
    ALERT_NAME,
    OBJECTIVE_METRIC,
    WINDOWS_LABEL,
    PERIOD_ERROR_BUDGET_REMAINING_METRIC,
    PERIOD_ERROR_RATIO_METRIC,
    SEVERITY_LABEL,
    SLO_LABEL,
    WINDOW_LABEL,
    Objective,
    error_ratio_metric,
)
from console.domain.slo_alerts import AlertWindow, rule_alerts
from console.domain.slo_promql import promql_duration, promql_number, promql_string
from console.domain.slo_windows import RollingWindow, duration_text

DEFAULT_INTERVAL = timedelta(seconds=30)
DEFAULT_RESOURCE_NAME = "mlops-console-slos"
RULE_FORMATS = ("prometheusrule", "rules")
LONG_WINDOW_LABEL = "long_window"
RUNBOOK_URL_ANNOTATION = "runbook_url"
CONSOLE_URL_ANNOTATION = "console_url"
SLO_PAGE_PATH = "/slos"


def rule_group(objective: Objective, *, console_url: str, interval: timedelta = DEFAULT_INTERVAL) -> dict[str, Any]:
    """The recording rules and alerts of one SLO; ``console_url`` is the console's public address."""
    labels = objective.rule_labels
    rules: list[dict[str, Any]] = [
        {
            "record": error_ratio_metric(window),
            "expr": objective.error_ratio_query(window),
            "labels": {**labels, WINDOW_LABEL: promql_duration(window)},
        }
        for window in objective.recorded_windows
    ]
    rules.append(
        {
            "record": OBJECTIVE_METRIC,
            "expr": f"vector({promql_number(objective.target)})",
            "labels": {**labels, WINDOWS_LABEL: objective.recorded_windows_label},
        }
    )
    if isinstance(objective.window, RollingWindow):
        period_selector = PERIOD_ERROR_RATIO_METRIC + "{" + f"{SLO_LABEL}={promql_string(objective.name)}" + "}"
        rules.append(
            {
                "record": PERIOD_ERROR_RATIO_METRIC,
                "expr": objective.error_ratio_query(objective.window.length),
                "labels": {**labels, WINDOW_LABEL: objective.window.label},
            }
        )
        rules.append(
            {
                "record": PERIOD_ERROR_BUDGET_REMAINING_METRIC,
                "expr": f"1 - {period_selector} / (1 - {promql_number(objective.target)})",
                "labels": {**labels, WINDOW_LABEL: objective.window.label},
            }
        )
    rules.extend(alert_rule(objective, alert, console_url=console_url) for alert in rule_alerts(objective.window).alerts)
    return {"name": f"slo-{objective.name}", "interval": promql_duration(interval), "rules": rules}


def alert_rule(objective: Objective, alert: AlertWindow, *, console_url: str) -> dict[str, Any]:
    """One burn-rate alert of one SLO, with the labels and annotations a pager follows."""
    labels = {key: template_literal(value) for key, value in objective.rule_labels.items()}
    return {
        "alert": ALERT_NAME,
        "expr": objective.alert_expression(alert),
        "labels": {**labels, SEVERITY_LABEL: alert.severity.value, LONG_WINDOW_LABEL: promql_duration(alert.long_window)},
        "annotations": alert_annotations(objective, alert, console_url=console_url),
    }


def alert_annotations(objective: Objective, alert: AlertWindow, *, console_url: str) -> dict[str, str]:
    """Summary, description and links of one alert.

    Names reach the text as ``$labels`` templates, never as themselves (a name containing ``{{`` must not run
    as a template); links go through :func:`template_literal` for the same reason.
    """
    share = f"{alert.budget_share * 100:g}%"
    budget = (
        "this calendar month's error budget"
        if not isinstance(objective.window, RollingWindow)
        else f"its {objective.window.label} error budget"
    )
    long_text, short_text = duration_text(alert.long_window), duration_text(alert.short_window)
    annotations = {
        "summary": (
            f"{{{{ $labels.service }}}}: SLO {{{{ $labels.slo }}}} burned over {share} of {budget} in the last {long_text}"
        ),
        "description": (
            f"Error ratio {{{{ $value | humanizePercentage }}}} over the last {short_text}, and above "
            f"{_factor_text(alert)} the rate the budget allows over the last {long_text} too: {share} of {budget} "
            f"went in {long_text}. At this rate the whole budget lasts {duration_text(alert.budget_lasts)}."
        ),
        CONSOLE_URL_ANNOTATION: template_literal(slo_page_url(console_url, objective.name)),
    }
    if objective.runbook_url:
        annotations[RUNBOOK_URL_ANNOTATION] = template_literal(objective.runbook_url)
    return annotations


def _factor_text(alert: AlertWindow) -> str:
    if alert.factor_per_day is None:
        return f"{alert.factor:.3g} times"
    # A calendar month's factor follows its length: from February's 28 days to 31.
    return f"{alert.factor_per_day * 28:.3g} to {alert.factor_per_day * 31:.3g} times (by the month's length)"


def slo_page_url(console_url: str, slo_name: str) -> str:
    """The SLO's page in the console: ``<console>/slos?slo=<name>``, the name URL-encoded."""
    return console_url.rstrip("/") + SLO_PAGE_PATH + "?" + urlencode({"slo": slo_name})


def template_literal(text: str) -> str:
    """``text`` for an alert label or annotation, which Prometheus runs as a Go template.

    Text without ``{{`` is printed as it is; otherwise it becomes one template action printing a quoted Go
    string (JSON's escapes are valid Go), so a name cannot run template code.
    """
    if "{{" not in text:
        return text
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}"


def rules_file(
    objectives: Iterable[Objective], *, console_url: str, interval: timedelta = DEFAULT_INTERVAL
) -> dict[str, Any]:
    """A plain Prometheus rules file (``rule_files:``), as a dict."""
    return {"groups": [rule_group(objective, console_url=console_url, interval=interval) for objective in objectives]}


def prometheus_rule(
    objectives: Iterable[Objective],
    *,
    console_url: str,
    name: str = DEFAULT_RESOURCE_NAME,
    namespace: str | None = None,
    interval: timedelta = DEFAULT_INTERVAL,
) -> dict[str, Any]:
    """A PrometheusRule (monitoring.coreos.com/v1) for the Prometheus Operator, as a dict."""
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/managed-by": "mlops-console", "app.kubernetes.io/part-of": "mlops-console"},
    }
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": rules_file(objectives, console_url=console_url, interval=interval),
    }


def render_rules(
    objectives: Iterable[Objective],
    *,
    console_url: str,
    format: str = "prometheusrule",
    interval: timedelta = DEFAULT_INTERVAL,
    name: str = DEFAULT_RESOURCE_NAME,
    namespace: str | None = None,
) -> str:
    """The rules as YAML text, ``format`` being ``prometheusrule`` or ``rules``."""
    if format == "prometheusrule":
        document = prometheus_rule(objectives, console_url=console_url, name=name, namespace=namespace, interval=interval)
    elif format == "rules":
        document = rules_file(objectives, console_url=console_url, interval=interval)
    else:
        raise ValueError(f"unknown rules format {format!r}; use one of {', '.join(RULE_FORMATS)}")
    return dump_yaml(document)


class _RulesDumper(yaml.SafeDumper):
    pass


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line expressions as literal blocks, so the alert conditions read as written.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RulesDumper.add_representer(str, _represent_text)


def dump_yaml(document: dict[str, Any]) -> str:
    """YAML text in the order the dict was built (apiVersion first, record before expr)."""
    return yaml.dump(document, Dumper=_RulesDumper, sort_keys=False, allow_unicode=True, width=1_000_000)
