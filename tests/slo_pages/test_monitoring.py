"""The sandbox's Prometheus world: 30 days of history lined up with the demo rollouts, recorded series for the
past, and an exporter whose errors follow the Deployments' live state."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from console.adapters.prometheus import PrometheusClient
from console.domain.slo import promql_string
from console.sandbox import monitoring
from console.sandbox.kube import KubeApiServer, seed_demo_world
from console.sandbox.kube.demo import demo_revision_times
from console.sandbox.prometheus import PrometheusHandle



def test_history_incidents_line_up_with_the_demo_rollouts() -> None:
    now = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
    incidents = monitoring.history_incidents(now)
    wine = [r for r in demo_revision_times(now) if r.service.deployment == "wine-quality"]
    broken = wine[-1]
    # The current broken revision burns from its creation until now, as its crash-looping surge pod does live.
    assert any(i.start == broken.created_at.timestamp() and i.end == now.timestamp()
               and i.condition.error_ratio > 0.2 for i in incidents["wine-quality"])
    # Revision 3 (v3) was rolled back by revision 4 (v2): it burns until the rollback.
    regressed, rollback = wine[2], wine[3]
    assert any(i.end == rollback.created_at.timestamp() and i.start > regressed.created_at.timestamp()
               and i.condition.error_ratio == monitoring.REGRESSION_ERROR_RATIO for i in incidents["wine-quality"])
    steps = monitoring.history_steps(now)
    assert steps[-1] - steps[0] == 30 * 86_400


def test_backfill_covers_30_days_and_the_rules_recorded_the_past(prometheus: PrometheusHandle,
                                                                  prepared_at: datetime) -> None:
    with PrometheusClient(prometheus.url, timeout_seconds=20) as client:
        selector = 'http_requests_total{namespace="ml-serving",service="iris-classifier",code="200"}'
        [oldest] = client.instant(f"min_over_time(timestamp({selector})[31d:10m])", at=prepared_at)
        assert prepared_at - datetime.fromtimestamp(oldest.value, UTC) >= timedelta(days=29, hours=23)
        wine = [r for r in demo_revision_times(prepared_at) if r.service.deployment == "wine-quality"]
        burning = wine[-1].created_at + timedelta(hours=1)
        recorded = client.instant(
            f'slo:sli_error:ratio_rate5m{{slo={promql_string("wine-quality-availability")}}}', at=burning)
        assert recorded and recorded[0].labels["service"] == "wine-quality" and recorded[0].labels["window"] == "5m"
        assert recorded[0].value > 0.2  # the crash-looping revision burns
        quiet = client.instant('slo:sli_error:ratio_rate5m{slo="iris-classifier-availability"}',
                               at=prepared_at - timedelta(days=25, minutes=7))
        assert quiet and quiet[0].value < 0.01


def test_the_sandboxs_prometheus_fires_the_exported_alerts_with_their_links(prometheus: PrometheusHandle) -> None:
    """The crash-looping wine-quality revision pages through the rules the sandbox wrote, and the alert that
    reaches Alertmanager names the service, its window and the budget at risk, and links to the SLO's page."""
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(f"{prometheus.url}/api/v1/alerts", timeout=10) as response:
            alerts = [alert for alert in json.load(response)["data"]["alerts"] if alert["state"] == "firing"]
        quick = [alert for alert in alerts if alert["labels"]["slo"] == "wine-quality-availability"
                 and alert["labels"]["long_window"] == "1h"]
        if quick or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert quick, [alert["labels"] for alert in alerts]
    (alert,) = quick
    assert alert["labels"]["severity"] == "page" and alert["labels"]["service"] == "wine-quality"
    assert alert["annotations"]["summary"] == (
        "wine-quality: SLO wine-quality-availability burned over 2% of its 30d error budget in the last 1h"
    )
    assert alert["annotations"]["console_url"] == (
        f"{monitoring.CONSOLE_URL}/slos?slo=wine-quality-availability"
    )
    assert alert["annotations"]["description"].startswith("Error ratio ")
    # The calendar-month SLOs' rules evaluate too: their factor comes from days_in_month() at every evaluation.
    with urllib.request.urlopen(f"{prometheus.url}/api/v1/rules?type=alert", timeout=10) as response:
        groups = {group["name"]: group for group in json.load(response)["data"]["groups"]}
    calendar = groups["slo-diabetes-regressor-availability"]["rules"]
    assert len(calendar) == 4 and all(rule["health"] == "ok" for rule in calendar), calendar
    assert "scalar(days_in_month())" in calendar[0]["query"]


@pytest.fixture()
def kube() -> KubeApiServer:
    server = KubeApiServer(crash_after_seconds=0.3, crash_backoff_seconds=0.5, pod_ready_seconds=0.2,
                           pod_start_seconds=0.1, pod_terminate_seconds=0.1).start()
    seed_demo_world(server, now=datetime.now(UTC))
    yield server
    server.stop()


def _set_image(kube: KubeApiServer, image: str) -> None:
    def change(deployment: dict) -> None:
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = image

    kube.store.mutate("deployments", "ml-serving", "iris-classifier", change)


def _error_ratio(exporter: monitoring.TrafficExporter, seconds: float = 1.5) -> float:
    before = monitoring.read_exporter(exporter.url)
    time.sleep(seconds)
    after = monitoring.read_exporter(exporter.url)
    ratio = monitoring.error_ratio_between(before, after, namespace="ml-serving", service="iris-classifier")
    assert ratio is not None
    return ratio


def _wait_for(condition, timeout_seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, "the sandbox did not reach the expected state"
        time.sleep(0.2)


def test_exporter_errors_rise_with_a_crash_loop_and_fall_after_the_rollback(kube: KubeApiServer) -> None:
    start = {"http_requests_total{namespace=\"ml-serving\",service=\"iris-classifier\",code=\"200\"}": 1000.0}
    exporter = monitoring.TrafficExporter(kube, counters=start, tick_seconds=0.2).start()
    try:
        values = monitoring.read_exporter(exporter.url)
        assert values[next(iter(start))] >= 1000.0  # continues from the history's last value
        assert _error_ratio(exporter) < 0.01

        _set_image(kube, "quay.io/mlops-demo/iris-classifier:v4-broken")
        _wait_for(lambda: any(s.crashing for s in monitoring.live_states(kube) if s.name == "iris-classifier"))
        assert _error_ratio(exporter) > 0.1

        _set_image(kube, "quay.io/mlops-demo/iris-classifier:v4")  # the rollback
        _wait_for(lambda: not any(s.crashing for s in monitoring.live_states(kube) if s.name == "iris-classifier"))
        assert _error_ratio(exporter) < 0.01
    finally:
        exporter.stop()
