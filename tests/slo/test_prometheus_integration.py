"""A real Prometheus with known history and the generated rules: recorded, raw and true numbers agree.

History: 3.5 days of counters for the three demo services (10-minute samples, then 1-minute samples for the
last 7 hours), backfilled with promtool. The rules run live with a 1-second interval. For each SLO the test
takes the timestamp of its latest rule evaluation and evaluates there (a) the raw-counter path, (b) the
recording-rule path, and (c) the truth, computed here from the generated samples: over a window [t - w, t]
Prometheus's rate() scales every series' increase by the same factor (all series share their sample times),
so bad/total is exactly (last - first bad sample) / (last - first total sample) inside the window.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pytest

from console.adapters.prometheus import PrometheusClient
from console.domain.access import Actor, Role
from console.domain.slo import LabelMatcher, LatencyIndicator, Objective, Selector
from console.domain.slo_alerts import AlertState
from console.domain.slo_promql import promql_string
from console.domain.slo_rules import render_rules
from console.domain.slo_windows import RollingWindow
from console.sandbox.prometheus import PrometheusHandle, backfill_openmetrics, openmetrics_text, start_prometheus
from console.services.slo import load_slo_directory, sla_report, slo_history, slo_overview

from .conftest import EXAMPLES

VIEWER = Actor("vera", "Vera", Role.VIEWER)

CONSOLE = "https://mlops-console.apps.example.com"

BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf")  # as a Python client writes them
OFFSET = 1_000_000  # counters that started long ago: keeps rate()'s extrapolation from clamping at zero
WEIRD = Objective(
    name='weird "slo" \\ $1 {{ x }}',
    service="iris-classifier",
    target=0.995,  # 2% of iris requests take over 0.5s: 4x the budget, a ticket
    window=RollingWindow(timedelta(days=7)),
    indicator=LatencyIndicator(
        Selector(
            "http_request_duration_seconds",
            (LabelMatcher("namespace", "=", "ml-serving"), LabelMatcher("service", "=", "iris-classifier")),
        ),
        threshold_seconds=0.5,
        bucket_bounds_seconds=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    ),
)


@dataclass
class Profile:
    namespace: str
    requests_per_minute: int
    error_ratio: float
    latency_shares: tuple[float, ...]  # share of requests per bucket (last share: slower than 5s)
    incident_minutes: int = 0  # the last n minutes run at incident_error_ratio
    incident_error_ratio: float = 0.0


PROFILES = {
    # pages: a 2-hour incident at 30% errors
    "iris-classifier": Profile("ml-serving", 120, 0.001, (0.5, 0.3, 0.15, 0.03, 0.01, 0.005, 0.003, 0.002), 120, 0.3),
    # tickets: 5% errors for 30 hours against a 99% objective (3x over 1d and 2h, under 6x over 6h)
    "wine-quality": Profile("ml-serving", 80, 0.002, (0.2, 0.3, 0.3, 0.12, 0.05, 0.02, 0.01, 0.0), 30 * 60, 0.05),
    # healthy
    "diabetes-regressor": Profile("ml-staging", 40, 0.001, (0.1, 0.2, 0.3, 0.2, 0.17, 0.02, 0.01, 0.0)),
}


@dataclass
class History:
    """Cumulative counter samples per series: (namespace, service, kind, label) -> [(ms, value)]."""

    series: dict[tuple[str, str, str, str], list[tuple[int, float]]] = field(default_factory=dict)

    def delta(self, key: tuple[str, str, str, str], start_ms: int, end_ms: int) -> float | None:
        inside = [value for moment, value in self.series[key] if start_ms <= moment <= end_ms]
        return inside[-1] - inside[0] if len(inside) >= 2 else None


def split(total: int, shares: tuple[float, ...], rng: random.Random) -> list[int]:
    counts = [int(total * share) for share in shares]
    for _ in range(total - sum(counts)):
        counts[rng.choices(range(len(shares)), weights=[s or 1e-9 for s in shares])[0]] += 1
    return counts


def generate(last_ms: int) -> History:
    rng = random.Random(20240517)
    coarse = list(range(last_ms - int(3.5 * 86_400_000), last_ms - 7 * 3_600_000, 600_000))
    fine = list(range(coarse[-1] + 60_000, last_ms + 1, 60_000))
    history = History()
    for service, profile in PROFILES.items():
        totals = {"200": OFFSET, "500": OFFSET}
        buckets = [OFFSET] * len(BUCKETS)
        previous = None
        for moment in [*coarse, *fine]:
            minutes = 0 if previous is None else (moment - previous) // 60_000
            previous = moment
            for minute in range(minutes):
                minutes_before_end = (last_ms - moment) // 60_000 + minutes - minute - 1
                ratio = (
                    profile.incident_error_ratio
                    if minutes_before_end < profile.incident_minutes
                    else profile.error_ratio
                )
                requests = profile.requests_per_minute + rng.randint(-10, 10)
                errors = int(requests * ratio) + (1 if rng.random() < (requests * ratio) % 1 else 0)
                totals["500"] += errors
                totals["200"] += requests - errors
                per_bucket = split(requests, profile.latency_shares, rng)
                cumulative = 0
                for index in range(len(BUCKETS) - 1):
                    cumulative += per_bucket[index]
                    buckets[index] += cumulative
                buckets[-1] += requests
            for code, value in totals.items():
                history.series.setdefault((profile.namespace, service, "code", code), []).append((moment, value))
            for le, value in zip(BUCKETS, buckets):
                history.series.setdefault((profile.namespace, service, "le", le), []).append((moment, value))
    return history


def openmetrics(history: History) -> str:
    requests: list = []
    durations: list = []
    for (namespace, service, kind, label), points in history.series.items():
        labels = {"namespace": namespace, "service": service}
        for moment, value in points:
            if kind == "code":
                requests.append(("http_requests_total", {**labels, "code": label}, moment / 1000, value))
                continue
            durations.append(("http_request_duration_seconds_bucket", {**labels, "le": label}, moment / 1000, value))
            if label == "+Inf":
                durations.append(("http_request_duration_seconds_count", labels, moment / 1000, value))
    return openmetrics_text(
        [("http_requests", "counter", requests), ("http_request_duration_seconds", "histogram", durations)]
    )


def true_error_ratio(history: History, objective: Objective, start_ms: int, end_ms: int) -> float | None:
    service = objective.indicator.histogram if isinstance(objective.indicator, LatencyIndicator) else None
    name = _service_of(objective)
    namespace = PROFILES[name].namespace
    if service is not None:
        threshold = {0.05: "0.05", 0.1: "0.1", 0.25: "0.25", 0.5: "0.5", 1.0: "1.0"}[objective.indicator.threshold_seconds]
        fast = history.delta((namespace, name, "le", threshold), start_ms, end_ms)
        total = history.delta((namespace, name, "le", "+Inf"), start_ms, end_ms)
        return None if not total else 1 - fast / total
    bad = history.delta((namespace, name, "code", "500"), start_ms, end_ms)
    good = history.delta((namespace, name, "code", "200"), start_ms, end_ms)
    return None if bad is None or not (bad + good) else bad / (bad + good)


def _service_of(objective: Objective) -> str:
    indicator = objective.indicator
    selector = indicator.histogram if isinstance(indicator, LatencyIndicator) else indicator.total
    return next(matcher.value for matcher in selector.matchers if matcher.name == "service")


@dataclass
class World:
    prometheus: PrometheusHandle
    client: PrometheusClient
    history: History
    objectives: list[Objective]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("prometheus")
    last_ms = (int(time.time()) // 60) * 60_000
    history = generate(last_ms)
    blocks = backfill_openmetrics(openmetrics(history), root / "blocks")
    objectives = [*load_slo_directory(EXAMPLES).objectives, WEIRD]
    rules = root / "rules.yml"
    rules.write_text(render_rules(objectives, console_url=CONSOLE, format="rules", interval=timedelta(seconds=1)))
    handle = start_prometheus(
        root / "server", rule_files=[rules], blocks_dir=blocks, evaluation_interval=timedelta(seconds=1)
    )
    client = PrometheusClient(handle.url, timeout_seconds=10)
    try:
        # Four evaluations of every group: the test compares at the one before the newest, and Prometheus writes
        # ALERTS only from the third evaluation after start (it first restores alert state).
        deadline = time.monotonic() + 20
        evaluations = "min(count_over_time(slo:sli_error:ratio_rate5m[1m])) >= 4 and count(slo:sli_error:ratio_rate5m) >= "
        while not world_ready(client, evaluations + str(len(objectives))):
            if time.monotonic() > deadline:
                pytest.fail("the recording rules were not evaluated in time:\n" + handle.log()[-2000:])
            time.sleep(0.2)
        yield World(handle, client, history, objectives)
    finally:
        client.close()
        handle.stop()


def world_ready(client: PrometheusClient, condition: str) -> bool:
    return bool(client.instant(condition))


def last_evaluation(world: World, objective: Objective) -> datetime:
    """A finished evaluation of the SLO's rule group; recorded and raw numbers are compared at that instant.

    Prometheus commits each rule's samples as it goes, so the newest evaluation may still be half-written; the
    one before it (one interval earlier, as groups run at a fixed period) is complete.
    """
    query = f"timestamp(slo:sli_error:ratio_rate5m{{slo={promql_string(objective.name)}}})"
    (newest,) = world.client.instant(query)
    previous_ms = round(newest.value * 1000) - 1000
    previous = datetime.fromtimestamp(previous_ms / 1000, tz=timezone.utc)
    (check,) = world.client.instant(query, at=previous)
    assert round(check.value * 1000) == previous_ms, "the rule group skipped an evaluation"
    return previous


def test_recorded_raw_and_true_numbers_agree(world: World) -> None:
    for objective in world.objectives:
        at = last_evaluation(world, objective)
        (recorded,) = slo_overview(world.client, VIEWER, [objective], now=at)
        (raw,) = slo_overview(world.client, VIEWER, [objective], now=at, use_recording_rules=False)
        assert recorded.from_recording_rules and not raw.from_recording_rules
        end_ms = round(at.timestamp() * 1000)
        for window in objective.recorded_windows:
            truth = true_error_ratio(world.history, objective, end_ms - int(window.total_seconds() * 1000), end_ms)
            if truth is None:
                # The history ended more than this window ago (the 7-day SLO's 2m, a slow run's 5m): no traffic,
                # so no ratio, and the SLO's rules are still read as loaded.
                assert raw.error_ratio(window) is None and recorded.error_ratio(window) is None, (objective.name, window)
                continue
            assert raw.error_ratio(window) == pytest.approx(truth, rel=1e-9, abs=1e-15), (objective.name, window)
            assert recorded.error_ratio(window) == pytest.approx(raw.error_ratio(window), rel=1e-12, abs=1e-15)
        period_ms = int(objective.period_range(now=at).total_seconds() * 1000)
        truth = true_error_ratio(world.history, objective, end_ms - period_ms, end_ms)
        assert raw.period_error_ratio == pytest.approx(truth, rel=1e-9, abs=1e-15), objective.name
        assert recorded.period_error_ratio == pytest.approx(raw.period_error_ratio, rel=1e-12, abs=1e-15)
        for attribute in ("attainment", "error_budget_remaining", "current_burn_rate"):
            assert getattr(recorded, attribute) == pytest.approx(getattr(raw, attribute), rel=1e-12, abs=1e-15)
        assert [burn for _, burn in recorded.alert_burn_rates] == pytest.approx(
            [burn for _, burn in raw.alert_burn_rates], rel=1e-12, abs=1e-15
        )
        assert recorded.alert_state is raw.alert_state


def test_alert_state_agrees_with_prometheus_alerts(world: World) -> None:
    states = {}
    for objective in world.objectives:
        at = last_evaluation(world, objective)
        (status,) = slo_overview(world.client, VIEWER, [objective], now=at)
        firing = world.client.instant(
            f'ALERTS{{alertname="SLOErrorBudgetBurn",alertstate="firing",slo={promql_string(objective.name)}}}', at=at
        )
        severities = {sample.labels["severity"] for sample in firing}
        expected = AlertState.PAGE if "page" in severities else AlertState.TICKET if severities else AlertState.OK
        assert status.alert_state is expected, (objective.name, severities)
        states[objective.name] = status.alert_state
    assert states["iris-classifier-availability"] is AlertState.PAGE
    assert states["wine-quality-availability"] is AlertState.TICKET
    assert states["diabetes-regressor-availability"] is AlertState.OK
    # Its alert labels went through Prometheus's templating and still name it exactly.
    assert states[WEIRD.name] is AlertState.TICKET


def test_firing_alerts_carry_their_summary_and_the_link_to_the_slos_page(world: World) -> None:
    """Prometheus's own rendering of the annotations, as Alertmanager receives them."""
    with urllib.request.urlopen(f"{world.prometheus.url}/api/v1/alerts", timeout=10) as response:
        alerts = [alert for alert in json.load(response)["data"]["alerts"] if alert["state"] == "firing"]
    quick = next(alert for alert in alerts if alert["labels"]["slo"] == "iris-classifier-availability"
                 and alert["labels"]["long_window"] == "56m")
    assert quick["labels"]["severity"] == "page"
    assert quick["annotations"]["summary"] == (
        "iris-classifier: SLO iris-classifier-availability burned over 2% of its 28d error budget in the last 56m"
    )
    assert quick["annotations"]["console_url"] == f"{CONSOLE}/slos?slo=iris-classifier-availability"
    # The example spec names a runbook; Alertmanager gets it as it is.
    assert quick["annotations"]["runbook_url"] == "https://runbooks.example.com/ml-serving/iris-classifier#availability"
    weird = next(alert for alert in alerts if alert["labels"]["slo"] == WEIRD.name)
    assert "runbook_url" not in weird["annotations"]
    assert weird["annotations"]["summary"].startswith(f"iris-classifier: SLO {WEIRD.name} burned over 10% of its 7d")
    assert weird["annotations"]["console_url"].startswith(f"{CONSOLE}/slos?slo=weird+%22slo%22")


def test_overview_of_every_slo_takes_two_queries(world: World) -> None:
    calls: list[str] = []

    class Counting:
        def instant(self, query: str, *, at: datetime | None = None):
            calls.append(query)
            return world.client.instant(query, at=at)

        def range(self, query: str, **kwargs):
            calls.append(query)
            return world.client.range(query, **kwargs)

    statuses = slo_overview(Counting(), VIEWER, world.objectives, now=datetime.now(timezone.utc))
    assert all(status.from_recording_rules for status in statuses)
    assert len(calls) == 2  # every recorded ratio, and the month so far of the calendar-month SLOs
    assert statuses[0].name == "iris-classifier-availability"  # the paging one first


def test_sla_report_matches_truth(world: World) -> None:
    iris = next(o for o in world.objectives if o.name == "iris-classifier-availability")
    now = last_evaluation(world, iris)
    month = now.date().replace(day=1)
    (sla,) = [row for row in sla_report(world.client, VIEWER, world.objectives, month=month, now=now) if row.objective is iris]
    month_start_ms = round(datetime(month.year, month.month, 1, tzinfo=timezone.utc).timestamp() * 1000)
    end_ms = month_start_ms + int((now - datetime(month.year, month.month, 1, tzinfo=timezone.utc)).total_seconds()) * 1000
    truth = true_error_ratio(world.history, iris, month_start_ms, end_ms)
    assert truth is not None
    assert sla.attainment == pytest.approx(1 - truth, rel=1e-9)
    assert sla.complete is False
    previous = sla_report(world.client, VIEWER, [iris], month=date(2000, 1, 1), now=now)
    assert previous[0].attainment is None and previous[0].breached is None


def test_history_from_raw_counters(world: World) -> None:
    iris = next(o for o in world.objectives if o.name == "iris-classifier-availability")
    end = datetime.now(timezone.utc)
    history = slo_history(world.client, VIEWER, iris, start=end - timedelta(hours=3), end=end,
                          step=timedelta(minutes=5), use_recording_rules=False)
    assert not history.from_recording_rules
    assert len(history.sli) >= 30
    # The incident started two hours ago: the SLI before it is near 99.9%, after it near 70%.
    assert history.sli[0][1] > 0.99
    assert history.sli[-1][1] == pytest.approx(0.7, abs=0.05)
    (quick, burn_rates), _slow = history.page_burn_rates
    assert quick.long_window == timedelta(minutes=56)
    assert burn_rates[-1][1] == pytest.approx(0.3 / 0.005, rel=0.1)
    recorded = slo_history(world.client, VIEWER, iris, start=end - timedelta(seconds=10), end=end, step=timedelta(seconds=1))
    assert recorded.from_recording_rules and recorded.sli
