"""The sandbox's Prometheus world: 30 days of history for the demo services and live traffic that follows the
sandbox's Kubernetes API.

``prepare_monitoring`` (once, while ``.sandbox/`` is built) writes the demo services' request counters and
latency histograms for the last 30 days as OpenMetrics text, backfills them with ``promtool tsdb
create-blocks-from openmetrics``, writes the console's rules for ``examples/slos`` and backfills their recorded
series with ``promtool tsdb create-blocks-from rules`` against a temporary Prometheus serving the raw blocks.
The history lines up with the demo's rollouts (``demo_revision_times``): every rollout has a short warm-up blip,
a revision that was later rolled back burns budget until the rollback, and the current broken wine-quality
revision burns from its creation.

``start_monitoring`` (every start) serves ``/metrics`` from a thread: the same counters, continued from where
the history (or the previous run) left them, growing at a rate that follows each serving Deployment's live
state in the sandbox API - crash-looping pods answer 5xx and slow the rest down, so rolling back in the
console stops the burn. Then it starts Prometheus on the prepared data directory, scraping that exporter.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from console.sandbox.catalog import DEMO_SERVICES, DemoService
from console.sandbox.prometheus import (
    PROMETHEUS_BINARY,
    PROMTOOL_BINARY,
    SandboxPrometheusError,
    find_binary,
    start_prometheus,
)
from console.sandbox.processes import free_port, wait_for_http

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
SLO_DIRECTORY = REPOSITORY_ROOT / "examples" / "slos"

HISTORY = timedelta(days=30)
HISTORY_STEP_SECONDS = 60
HISTORY_FILE_SPAN = timedelta(hours=6)  # a multiple of promtool's 2-hour blocks
# Recorded series of the past: coarser than the live evaluation (which the rules file sets), which is plenty
# for charts and keeps the first start short; still inside Prometheus's 5-minute lookback.
BACKFILL_RULE_INTERVAL = timedelta(minutes=2)
LIVE_RULE_INTERVAL = timedelta(seconds=15)
# The address the demo console serves on (``make demo``): the sandbox's alerts link to its SLO pages there.
CONSOLE_URL = "http://127.0.0.1:8501"
SCRAPE_INTERVAL = "10s"
RETENTION = "45d"
JOB = "model-serving"

REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
BUCKET_BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Bucket labels as a Python client writes them ("1.0", "+Inf"); the SLO queries match either spelling.
BUCKET_LABELS = tuple(repr(bound) for bound in BUCKET_BOUNDS) + ("+Inf",)
# Share of requests per bucket (the last share: slower than the last bound), healthy and degraded.
HEALTHY_SHARES = (0.6, 0.3, 0.097, 0.002, 0.0006, 0.0003, 0.0001, 0.0)
DEGRADED_SHARES = (0.1, 0.15, 0.25, 0.25, 0.15, 0.06, 0.03, 0.01)
BUCKET_MIDPOINTS = (0.03, 0.07, 0.17, 0.37, 0.75, 1.7, 3.7, 7.0)
BASE_ERROR_RATIO = 0.0004
WARMUP = timedelta(minutes=12)  # after every rollout: cold caches, a few errors, slow answers
WARMUP_ERROR_RATIO = 0.03
REGRESSION_ERROR_RATIO = 0.012  # a revision that was rolled back later, until its rollback
DEFAULT_REQUESTS_PER_SECOND = 1.0
REQUESTS_PER_SECOND = {"iris-classifier": 6.0, "wine-quality": 3.0, "diabetes-regressor": 1.5}

MODEL_LABEL = "mlops.console/model"
STATE_FILE = "exporter-state.json"
_CRASHING_REASONS = frozenset({"CrashLoopBackOff", "Error", "ImagePullBackOff", "ErrImagePull", "RunContainerError"})


@dataclass(frozen=True)
class MonitoringPaths:
    root: Path

    @property
    def directory(self) -> Path:
        return self.root / "prometheus"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def rules(self) -> Path:
        return self.directory / "rules.yml"

    @property
    def state(self) -> Path:
        return self.directory / STATE_FILE


@dataclass(frozen=True)
class Condition:
    """How a service answers over a stretch of time: its 5xx ratio and whether it is slow."""

    error_ratio: float
    degraded: bool


HEALTHY = Condition(BASE_ERROR_RATIO, False)


# --- traffic ---------------------------------------------------------------------------------------------


def requests_per_second(service: str, moment: float) -> float:
    """Daily rhythm around the service's mean rate: busiest mid-afternoon UTC, quietest at night."""
    mean = REQUESTS_PER_SECOND.get(service, DEFAULT_REQUESTS_PER_SECOND)
    return mean * (1.0 + 0.35 * math.sin(2 * math.pi * (moment / 86_400 - 0.375)))


def series_keys(namespace: str, service: str) -> list[str]:
    """The exposition names (with labels) of one service's series, in a fixed order."""
    labels = f'namespace="{namespace}",service="{service}"'
    keys = [f'{REQUESTS}{{{labels},code="200"}}', f'{REQUESTS}{{{labels},code="500"}}']
    keys += [f'{DURATION}_bucket{{{labels},le="{le}"}}' for le in BUCKET_LABELS]
    keys += [f"{DURATION}_count{{{labels}}}", f"{DURATION}_sum{{{labels}}}"]
    return keys


def increments(requests: float, condition: Condition) -> list[float]:
    """How much each of :func:`series_keys` grows when ``requests`` requests are served under ``condition``."""
    bad = requests * condition.error_ratio
    shares = DEGRADED_SHARES if condition.degraded else HEALTHY_SHARES
    cumulative, buckets = 0.0, []
    for share in shares[:-1]:
        cumulative += share
        buckets.append(requests * cumulative)
    buckets.append(requests)
    total_seconds = requests * sum(share * mid for share, mid in zip(shares, BUCKET_MIDPOINTS, strict=True))
    return [requests - bad, bad, *buckets, requests, total_seconds]


# --- history ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    start: float
    end: float
    condition: Condition


def history_incidents(now: datetime) -> dict[str, list[Incident]]:
    """Per demo deployment, the stretches of its past that were not healthy, from the demo's rollouts."""
    from console.sandbox.kube.demo import demo_revision_times

    by_service: dict[str, list[Any]] = {}
    for revision in demo_revision_times(now):
        by_service.setdefault(revision.service.deployment, []).append(revision)
    end_of_history = now.timestamp()
    incidents: dict[str, list[Incident]] = {}
    for name, revisions in by_service.items():
        revisions.sort(key=lambda revision: revision.created_at)
        found: list[Incident] = []
        for index, revision in enumerate(revisions):
            start = revision.created_at.timestamp()
            following = revisions[index + 1] if index + 1 < len(revisions) else None
            until = following.created_at.timestamp() if following else end_of_history
            service: DemoService = revision.service
            if following is None and service.broken_current:
                found.append(Incident(start, until, Condition(broken_error_ratio(service.replicas), True)))
                continue
            found.append(Incident(start, min(until, start + WARMUP.total_seconds()), Condition(WARMUP_ERROR_RATIO, True)))
            if following is not None and following.version < revision.version:
                # Rolled back later: it regressed from its start until the rollback.
                found.append(
                    Incident(start + WARMUP.total_seconds(), until, Condition(REGRESSION_ERROR_RATIO, False))
                )
        incidents[name] = found
    return incidents


def broken_error_ratio(replicas: int) -> float:
    """5xx ratio while a rollout's surge pod crash-loops beside the old pods (what the live exporter computes)."""
    surge = max(1, math.ceil(replicas * 0.25))
    return live_error_ratio(ready=replicas, crashing=surge, desired=replicas)


def live_error_ratio(*, ready: int, crashing: int, desired: int) -> float:
    """Requests reaching a crash-looping pod fail; with no ready pod every request fails."""
    if desired > 0 and ready == 0:
        return 1.0
    if crashing == 0:
        return BASE_ERROR_RATIO
    share = crashing / (ready + crashing)
    return BASE_ERROR_RATIO + (1 - BASE_ERROR_RATIO) * share


def _condition_at(incidents: list[Incident], moment: float) -> Condition:
    for incident in incidents:
        if incident.start <= moment < incident.end:
            return incident.condition
    return HEALTHY


def history_steps(now: datetime) -> list[int]:
    """Sample times of the history: every ``HISTORY_STEP_SECONDS`` over the 30 days up to ``now``."""
    end = int(now.timestamp()) // HISTORY_STEP_SECONDS * HISTORY_STEP_SECONDS
    return list(range(end - int(HISTORY.total_seconds()), end + 1, HISTORY_STEP_SECONDS))


def history_values(now: datetime) -> tuple[list[int], dict[tuple[str, str], list[list[float]]]]:
    """The cumulative value of every demo series at every history step, keyed by (namespace, deployment)."""
    steps = history_steps(now)
    incidents = history_incidents(now)
    columns: dict[tuple[str, str], list[list[float]]] = {}
    for service in DEMO_SERVICES:
        name = service.deployment
        values = [0.0] * len(series_keys(service.namespace, name))
        rows = []
        for index, moment in enumerate(steps):
            if index:
                requests = requests_per_second(name, moment) * HISTORY_STEP_SECONDS
                for position, grown in enumerate(increments(requests, _condition_at(incidents.get(name, []), moment))):
                    values[position] += grown
            rows.append(list(values))
        columns[(service.namespace, name)] = rows
    return steps, columns


def write_history(directory: Path, *, now: datetime) -> tuple[list[Path], dict[str, float]]:
    """Write 30 days of the demo services' series as OpenMetrics files (each ending ``# EOF``), one per
    ``HISTORY_FILE_SPAN`` of time; return the files and every series' last value.

    promtool reads its whole input once per 2-hour block it writes, so one 30-day file costs 360 passes over
    30 days of samples; files of 6 hours (cut at block boundaries) cost 3 passes over 6 hours each.
    """
    steps, columns = history_values(now)
    span = int(HISTORY_FILE_SPAN.total_seconds())
    services = list(columns)
    families = (("http_requests", "counter", slice(0, 2)), (DURATION, "histogram", slice(2, None)))
    keys = {service: series_keys(*service) for service in services}
    files: list[Path] = []
    first = 0
    while first < len(steps):
        chunk_start = steps[first] // span * span
        last = first
        while last < len(steps) and steps[last] < chunk_start + span:
            last += 1
        path = directory / f"history-{chunk_start}.om.txt"
        with path.open("w", encoding="utf-8") as out:
            for family, kind, part in families:
                lines = [f"# TYPE {family} {kind}\n"]
                for index in range(first, last):
                    moment = steps[index]
                    for service in services:
                        row = columns[service][index][part]
                        lines.extend(
                            f"{key} {value:.3f} {moment}\n" for key, value in zip(keys[service][part], row, strict=True)
                        )
                out.write("".join(lines))
            out.write("# EOF\n")
        files.append(path)
        first = last
    last_values: dict[str, float] = {}
    for service, rows in columns.items():
        last_values.update(zip(keys[service], rows[-1], strict=True))
    return files, last_values


def backfill_history(files: list[Path], output_dir: Path, *, parallel: int = 2) -> None:
    """``promtool tsdb create-blocks-from openmetrics`` for every file, ``parallel`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def one(path: Path) -> None:
        _promtool("tsdb", "create-blocks-from", "openmetrics", "--quiet", str(path), str(output_dir))

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, files))


# --- prepare -------------------------------------------------------------------------------------------


def write_rules_file(
    path: Path,
    *,
    interval: timedelta = LIVE_RULE_INTERVAL,
    slo_directory: Path = SLO_DIRECTORY,
    console_url: str = CONSOLE_URL,
) -> Path:
    """The console's rules for the SLO specs in ``slo_directory``, as a plain Prometheus rules file."""
    from console.domain.slo_rules import render_rules
    from console.services.slo import load_slo_directory

    catalog = load_slo_directory(slo_directory)
    if catalog.problems:
        raise SandboxPrometheusError("the demo SLO specs have problems: " + "; ".join(map(str, catalog.problems)))
    text = render_rules(catalog.objectives, console_url=console_url, format="rules", interval=interval)
    path.write_text(text, encoding="utf-8")
    return path


def _promtool(*arguments: str, timeout_seconds: float = 300) -> None:
    promtool = find_binary(PROMTOOL_BINARY)
    if promtool is None:
        raise SandboxPrometheusError("the promtool binary is not installed (Debian package 'prometheus')")
    completed = subprocess.run([promtool, *arguments], capture_output=True, text=True, timeout=timeout_seconds)
    if completed.returncode != 0:
        raise SandboxPrometheusError(
            f"promtool {' '.join(arguments[:3])} failed: {(completed.stderr or completed.stdout).strip()[-2000:]}"
        )


def backfilled_windows(objective: Any) -> tuple[timedelta, ...]:
    """The windows whose past an SLO's charts read: the SLI's 5 minutes and its page alerts' long windows."""
    from console.domain.slo import SLI_WINDOW
    from console.domain.slo_alerts import rule_alerts

    return tuple(dict.fromkeys((SLI_WINDOW, *(alert.long_window for alert in rule_alerts(objective.window).pages))))


def backfill_rules_file(path: Path, *, slo_directory: Path = SLO_DIRECTORY) -> Path:
    """Recording rules that write, for the past, the very series the live rules write (same names and labels).

    promtool writes one block per rule and 2 hours, so 30 days cost 360 block writes per rule: one rule per
    window for all SLOs that chart it (each SLO's expression labelled with its ``slo`` and ``service``), and only
    the windows the charts read (:func:`backfilled_windows`; they scale with each SLO's window). The overview
    reads the other windows live, where the rules compute them from the raw history at their first evaluation.
    """
    from console.domain.slo import WINDOW_LABEL, error_ratio_metric, labelled_with_slo
    from console.domain.slo_promql import promql_duration, promql_string
    from console.services.slo import load_slo_directory

    objectives = load_slo_directory(slo_directory).objectives

    def labelled(objective: Any, window: timedelta) -> str:
        query = labelled_with_slo(objective.error_ratio_query(window), objective.name)
        service = objective.service.replace("$", "$$")
        return f'label_replace({query}, "service", {promql_string(service)}, "", "")'

    charted: dict[timedelta, list[Any]] = {}
    for objective in objectives:
        for window in backfilled_windows(objective):
            charted.setdefault(window, []).append(objective)
    rules = [
        {
            "record": error_ratio_metric(window),
            "expr": " or ".join(labelled(objective, window) for objective in charting),
            "labels": {WINDOW_LABEL: promql_duration(window)},
        }
        for window, charting in sorted(charted.items())
    ]
    group = {"name": "slo-backfill", "interval": promql_duration(BACKFILL_RULE_INTERVAL), "rules": rules}
    path.write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False), encoding="utf-8")
    return path


def backfill_rules(
    rules_file: Path, *, prometheus_url: str, start: datetime, end: datetime, output_dir: Path, parallel: int = 2
) -> None:
    """``promtool tsdb create-blocks-from rules`` from ``start`` to ``end``, in ``parallel`` time slices."""
    from concurrent.futures import ThreadPoolExecutor

    block = 7200
    first, last = int(start.timestamp()), int(end.timestamp())
    cuts = [first] + [
        (first + (last - first) * index // parallel) // block * block for index in range(1, parallel)
    ] + [last]

    def one(index: int) -> None:
        _promtool(
            "tsdb", "create-blocks-from", "rules", "--quiet",
            f"--url={prometheus_url}",
            f"--start={cuts[index]}",
            # The end is inclusive; a slice ends a second before the next one starts.
            f"--end={cuts[index + 1] - (1 if index + 1 < parallel else 0)}",
            f"--output-dir={output_dir / str(index)}",
            str(rules_file),
        )

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, range(parallel)))


def prepare_monitoring(root: Path, *, now: datetime) -> None:
    """Build ``root/prometheus``: 30 days of backfilled history, the rules file and the rules' past series."""
    if find_binary(PROMETHEUS_BINARY) is None:
        raise SandboxPrometheusError("the prometheus binary is not installed (Debian package 'prometheus')")
    paths = MonitoringPaths(Path(root))
    paths.data.mkdir(parents=True, exist_ok=True)
    work = paths.directory / "backfill"
    work.mkdir(exist_ok=True)
    try:
        files, last_values = write_history(work, now=now)
        backfill_history(files, paths.data)
        for path in files:
            path.unlink()
        write_rules_file(paths.rules)
        past_rules = backfill_rules_file(work / "backfill-rules.yml")
        end = datetime.fromtimestamp(int(now.timestamp()) // HISTORY_STEP_SECONDS * HISTORY_STEP_SECONDS, UTC)
        rule_blocks = work / "rule-blocks"
        # The temporary Prometheus serves the raw blocks straight from the data directory; it records nothing.
        with start_prometheus(paths.directory, retention=RETENTION) as reader:
            backfill_rules(past_rules, prometheus_url=reader.url, start=end - HISTORY, end=end, output_dir=rule_blocks)
        for block in rule_blocks.glob("*/*"):
            if (block / "meta.json").exists():
                shutil.move(str(block), paths.data / block.name)
        paths.state.write_text(json.dumps({"at": end.timestamp(), "counters": last_values}), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        (paths.directory / "prometheus.yml").unlink(missing_ok=True)


# --- live exporter ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveState:
    """What a serving Deployment's pods look like right now, as far as its traffic is concerned."""

    namespace: str
    name: str
    desired: int
    ready: int
    crashing: int

    @property
    def condition(self) -> Condition:
        ratio = live_error_ratio(ready=self.ready, crashing=self.crashing, desired=self.desired)
        return Condition(ratio, self.crashing > 0 or self.ready < self.desired)


def live_states(kube_server: Any) -> list[LiveState]:
    """Every serving Deployment (the one with a model label) of the sandbox API, with its pods' state."""
    states = []
    pods_by_namespace: dict[str, list[dict[str, Any]]] = {}
    for deployment in kube_server.list("deployments"):
        metadata = deployment.get("metadata", {})
        if MODEL_LABEL not in (metadata.get("labels") or {}):
            continue
        namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
        if namespace not in pods_by_namespace:
            pods_by_namespace[namespace] = kube_server.list("pods", namespace)
        selector = (deployment.get("spec", {}).get("selector", {}) or {}).get("matchLabels") or {}
        ready = crashing = 0
        for pod in pods_by_namespace[namespace]:
            labels = pod.get("metadata", {}).get("labels") or {}
            if not selector or any(labels.get(key) != value for key, value in selector.items()):
                continue
            if pod.get("metadata", {}).get("deletionTimestamp"):
                continue
            statuses = pod.get("status", {}).get("containerStatuses") or []
            if statuses and all(status.get("ready") for status in statuses):
                ready += 1
            elif any(_is_crashing(status) for status in statuses):
                crashing += 1
        desired = int(deployment.get("spec", {}).get("replicas", 1) or 0)
        states.append(LiveState(namespace, name, desired, ready, crashing))
    return states


def _is_crashing(status: Mapping[str, Any]) -> bool:
    waiting = (status.get("state") or {}).get("waiting") or {}
    return waiting.get("reason") in _CRASHING_REASONS or (
        int(status.get("restartCount") or 0) > 0 and not status.get("ready")
    )


class TrafficExporter:
    """Serves ``/metrics``: counters that keep growing at the rate each serving Deployment's state allows.

    ``counters`` starts from the history's (or the previous run's) last values, so the series continue
    without a reset; the time the sandbox was down is not filled in (Prometheus shows a gap, as for any
    target that was down).
    """

    def __init__(
        self,
        kube_server: Any,
        *,
        counters: Mapping[str, float] | None = None,
        state_file: Path | None = None,
        tick_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kube_server = kube_server
        self.counters: dict[str, float] = dict(counters or {})
        self.state_file = state_file
        self.tick_seconds = tick_seconds
        self.clock = clock
        self._last = clock()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._saved_at = self._last

    @classmethod
    def from_state_file(cls, kube_server: Any, state_file: Path, **options: Any) -> TrafficExporter:
        counters: dict[str, float] = {}
        if state_file.exists():
            counters = json.loads(state_file.read_text(encoding="utf-8")).get("counters", {})
        return cls(kube_server, counters=counters, state_file=state_file, **options)

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the exporter is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def advance(self) -> None:
        """Grow every series by the requests served since the last call, under each Deployment's current state."""
        try:
            states = live_states(self.kube_server)
        except Exception:  # noqa: BLE001 - the API server stopping under us; try again on the next tick
            return
        with self._lock:
            moment = self.clock()
            elapsed = max(0.0, moment - self._last)
            self._last = moment
            for state in states:
                # Clients keep calling a Deployment scaled to zero: every request fails then.
                requests = requests_per_second(state.name, moment) * elapsed
                keys = series_keys(state.namespace, state.name)
                for key, grown in zip(keys, increments(requests, state.condition), strict=True):
                    self.counters[key] = self.counters.get(key, 0.0) + grown
            if self.state_file is not None and moment - self._saved_at >= 15:
                self._save(moment)

    def _save(self, moment: float) -> None:
        assert self.state_file is not None
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"at": moment, "counters": self.counters}), encoding="utf-8")
        temporary.replace(self.state_file)
        self._saved_at = moment

    def exposition(self) -> str:
        """The counters in the Prometheus text format."""
        with self._lock:
            items = sorted(self.counters.items())
        lines = [f"# TYPE {REQUESTS} counter", f"# TYPE {DURATION} histogram"]
        requests = [f"{key} {value:.3f}" for key, value in items if key.startswith(REQUESTS + "{")]
        durations = [f"{key} {value:.3f}" for key, value in items if key.startswith(DURATION)]
        return "\n".join([lines[0], *requests, lines[1], *durations]) + "\n"

    def start(self, *, port: int = 0) -> TrafficExporter:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the base class's name
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404)
                    return
                exporter.advance()
                body = exporter.exposition().encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._last = self.clock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        serve = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                 name="traffic-exporter", daemon=True)
        ticker = threading.Thread(target=self._tick, name="traffic-exporter-tick", daemon=True)
        self._threads = [serve, ticker]
        for thread in self._threads:
            thread.start()
        return self

    def _tick(self) -> None:
        while not self._stopping.wait(self.tick_seconds):
            self.advance()

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self.state_file is not None:
            with self._lock:
                self._save(self.clock())


# --- start ---------------------------------------------------------------------------------------------


def write_live_config(paths: MonitoringPaths, *, exporter_url: str) -> Path:
    target = exporter_url.removeprefix("http://")
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": f"{int(LIVE_RULE_INTERVAL.total_seconds())}s"},
        "rule_files": [str(paths.rules.resolve())],
        "scrape_configs": [
            {
                "job_name": JOB,
                "honor_labels": True,
                "scrape_interval": SCRAPE_INTERVAL,
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    path = paths.directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def start_monitoring(
    root: Path, *, kube_server: Any, spawn: Callable[..., subprocess.Popen[bytes]], ready_timeout_seconds: float = 60
) -> tuple[str, Callable[[], None]]:
    """Start the exporter and Prometheus (through ``spawn``, so the sandbox stops it by PID); return its URL and
    a callable that stops the exporter."""
    binary = find_binary(PROMETHEUS_BINARY)
    if binary is None:
        raise SandboxPrometheusError("the prometheus binary is not installed (Debian package 'prometheus')")
    paths = MonitoringPaths(Path(root))
    # Written at every start, not only when the sandbox was built: the rules follow the console's code and specs.
    write_rules_file(paths.rules)
    exporter = TrafficExporter.from_state_file(kube_server, paths.state).start()
    try:
        config = write_live_config(paths, exporter_url=exporter.url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = spawn(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={paths.data}",
                f"--storage.tsdb.retention.time={RETENTION}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            log_name="prometheus",
        )
        if not wait_for_http(f"{url}/-/ready", timeout_seconds=ready_timeout_seconds, process=process):
            raise SandboxPrometheusError(f"Prometheus did not become ready; see {Path(root) / 'prometheus.log'}")
    except BaseException:
        exporter.stop()
        raise
    return url, exporter.stop


def read_exporter(url: str, *, timeout_seconds: float = 5) -> dict[str, float]:
    """The exporter's series as ``{name{labels}: value}`` (for tests and checks)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=timeout_seconds) as response:
        text = response.read().decode("utf-8")
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return values


def error_ratio_between(before: Mapping[str, float], after: Mapping[str, float], *, namespace: str, service: str) -> float | None:
    """5xx over all requests between two readings of the exporter."""
    ok_key, bad_key = series_keys(namespace, service)[:2]
    bad = after.get(bad_key, 0.0) - before.get(bad_key, 0.0)
    total = bad + after.get(ok_key, 0.0) - before.get(ok_key, 0.0)
    return None if total <= 0 else bad / total
