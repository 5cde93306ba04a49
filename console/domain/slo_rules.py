"""Recording and alerting rules for the console's SLOs, as a PrometheusRule or a plain Prometheus rules file.

One rule group per SLO (as Sloth and Pyrra do: a slow or broken SLO does not delay the others). Each group
records, in this order:

- ``slo:sli_error:ratio_rate<w>`` for every alert window w (5m 30m 1h 2h 6h 1d 3d), labels ``slo``,
  ``service`` and ``window``;
- ``slo:sli_error:ratio_period``, the traffic-weighted error ratio over the whole rolling window (not written
  for calendar-month SLOs: a recording rule cannot have a range that grows through the month, so the console
  queries those from the raw counters);
- ``slo:objective:ratio`` and ``slo:period_error_budget_remaining:ratio`` for dashboards;

and then the alert ``SLOErrorBudgetBurn`` twice, ``severity: page`` and ``severity: ticket``, on the recorded
ratios (SRE workbook: page at 14.4x over 1h and 5m or 6x over 6h and 30m; ticket at 3x over 1d and 2h or 1x
over 3d and 6h). The alerts have no ``for``: the short window already filters blips, and the console's alert
state, computed from the same series, then agrees with Alertmanager at every evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import yaml

from console.domain.slo import (
    ALERT_NAME,
    ALERT_WINDOWS,
    OBJECTIVE_METRIC,
    PERIOD_ERROR_BUDGET_REMAINING_METRIC,
    PERIOD_ERROR_RATIO_METRIC,
    SEVERITY_LABEL,
    SLO_LABEL,
    WINDOW_LABEL,
    AlertState,
    Objective,
    RollingWindow,
    error_ratio_metric,
    promql_duration,
    promql_number,
    promql_string,
)

DEFAULT_INTERVAL = timedelta(seconds=30)
DEFAULT_RESOURCE_NAME = "mlops-console-slos"
RULE_FORMATS = ("prometheusrule", "rules")


def rule_group(objective: Objective, *, interval: timedelta = DEFAULT_INTERVAL) -> dict[str, Any]:
    """The recording rules and alerts of one SLO."""
    labels = objective.rule_labels
    rules: list[dict[str, Any]] = []
    for window in ALERT_WINDOWS:
        rules.append(
            {
                "record": error_ratio_metric(window),
                "expr": objective.error_ratio_query(window),
                "labels": {**labels, WINDOW_LABEL: promql_duration(window)},
            }
        )
    rules.append({"record": OBJECTIVE_METRIC, "expr": f"vector({promql_number(objective.target)})", "labels": labels})
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
    for severity in (AlertState.PAGE, AlertState.TICKET):
        rules.append(
            {
                "alert": ALERT_NAME,
                "expr": objective.alert_expression(severity),
                "labels": {
                    **{key: template_literal(value) for key, value in labels.items()},
                    SEVERITY_LABEL: severity.value,
                },
                "annotations": {
                    # Templates, never the names themselves: a name containing {{ must not be run as a template.
                    "summary": "{{ $labels.service }}: SLO {{ $labels.slo }} burns its error budget too fast",
                    "description": (
                        f"The error ratio of SLO {{{{ $labels.slo }}}} is {{{{ $value | humanizePercentage }}}} "
                        f"over the short window; at this rate the {severity.value} burn-rate threshold of the "
                        "SRE workbook is crossed on both windows."
                    ),
                },
            }
        )
    return {"name": f"slo-{objective.name}", "interval": promql_duration(interval), "rules": rules}


def template_literal(text: str) -> str:
    """``text`` for an alert label or annotation, which Prometheus runs as a Go template.

    Text without ``{{`` is printed as it is; otherwise it becomes one template action printing a quoted Go
    string (JSON's escapes are valid Go), so a name cannot run template code.
    """
    if "{{" not in text:
        return text
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}"


def rules_file(objectives: Iterable[Objective], *, interval: timedelta = DEFAULT_INTERVAL) -> dict[str, Any]:
    """A plain Prometheus rules file (``rule_files:``), as a dict."""
    return {"groups": [rule_group(objective, interval=interval) for objective in objectives]}


def prometheus_rule(
    objectives: Iterable[Objective],
    *,
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
        "spec": rules_file(objectives, interval=interval),
    }


def render_rules(
    objectives: Iterable[Objective],
    *,
    format: str = "prometheusrule",
    interval: timedelta = DEFAULT_INTERVAL,
    name: str = DEFAULT_RESOURCE_NAME,
    namespace: str | None = None,
) -> str:
    """The rules as YAML text, ``format`` being ``prometheusrule`` or ``rules``."""
    if format == "prometheusrule":
        document = prometheus_rule(objectives, name=name, namespace=namespace, interval=interval)
    elif format == "rules":
        document = rules_file(objectives, interval=interval)
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
