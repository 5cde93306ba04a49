"""Benchmark: the SLOs overview over 50 SLOs with 30 days of history, and the sandbox's first start and restart.

World: 25 services x (availability + latency) = 50 SLOs, 30 days of counters (every 10 minutes, the last day
every minute) backfilled with promtool into a fresh Prometheus that evaluates the console's recording rules.
Measured: PromQL queries per overview render (recording rules present), the median server-side render of the
SLOs page in AppTest, and the median time of the same queries made directly; then ``Sandbox.prepare()`` +
``start()`` on an empty root (first start) and ``start()`` again on the kept root (restart).

    .venv/bin/python bench/bench_slo.py [--services 25] [--runs 5] [--skip-sandbox]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402
import yaml  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from console.adapters.prometheus import PrometheusClient  # noqa: E402
from console.domain.access import Actor, Role  # noqa: E402
from console.sandbox import monitoring  # noqa: E402
from console.sandbox.prometheus import start_prometheus  # noqa: E402
from console.services.slo import load_slo_directory, slo_overview  # noqa: E402
from tests.helpers import REPOSITORY_ROOT, demo_environment  # noqa: E402

VIEWER = Actor("vera", "Vera", Role.VIEWER)


def spec(service: str, kind: str) -> dict:
    selector = f'namespace="bench",service="{service}"'
    if kind == "availability":
        indicator = {"ratioMetric": {"counter": True,
                                     "bad": {"metricSource": {"type": "Prometheus", "spec": {
                                         "query": f'http_requests_total{{{selector},code=~"5.."}}'}}},
                                     "total": {"metricSource": {"type": "Prometheus", "spec": {
                                         "query": f"http_requests_total{{{selector}}}"}}}}}
        target = 0.995
    else:
        indicator = {"latencyMetric": {"histogram": {"metricSource": {"type": "Prometheus", "spec": {
            "query": f"http_request_duration_seconds{{{selector}}}"}}},
            "threshold": 0.25, "bucketBounds": list(monitoring.BUCKET_BOUNDS)}}
        target = 0.99
    return {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": f"{service}-{kind}"},
            "spec": {"service": service, "budgetingMethod": "Occurrences",
                     "timeWindow": [{"duration": "28d", "isRolling": True}],
                     "indicator": {"metadata": {"name": f"{service}-{kind}"}, "spec": indicator},
                     "objectives": [{"target": target}]}}


def write_history(directory: Path, services: list[str], now: datetime) -> list[Path]:
    """OpenMetrics files of 6 hours each; samples every 10 minutes, every minute over the last day."""
    end = int(now.timestamp()) // 60 * 60
    steps = [t for t in range(end - 30 * 86_400, end - 86_400, 600)] + list(range(end - 86_400, end + 1, 60))
    values = {service: [0.0] * len(monitoring.series_keys("bench", service)) for service in services}
    bad = monitoring.Condition(0.02, True)
    files, chunk, lines, previous = [], None, [], steps[0]
    span = 6 * 3600

    def flush() -> None:
        if lines:
            path = directory / f"bench-{chunk}.om.txt"
            path.write_text("".join(lines) + "# EOF\n")
            files.append(path)

    # One family per file part would need two passes; a single untyped family per series name is valid too.
    for moment in steps:
        if moment // span != chunk:
            flush()
            chunk, lines = moment // span, []
        for index, service in enumerate(services):
            condition = bad if index % 7 == 0 and moment > end - 3 * 3600 else monitoring.HEALTHY
            grown = monitoring.increments(monitoring.requests_per_second(service, moment) * (moment - previous),
                                          condition)
            row = values[service]
            for position, key in enumerate(monitoring.series_keys("bench", service)):
                row[position] += grown[position]
                lines.append(f"{key} {row[position]:.3f} {moment}\n")
        previous = moment
    flush()
    return files


class Counting:
    """Counts and times the Prometheus calls of every client in this process."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self._instant = PrometheusClient.instant
        self._range = PrometheusClient.range

    def install(self) -> None:
        counting = self

        def instant(client, query, **kwargs):  # type: ignore[no-untyped-def]
            counting.queries.append(query)
            return counting._instant(client, query, **kwargs)

        def range_(client, query, **kwargs):  # type: ignore[no-untyped-def]
            counting.queries.append(query)
            return counting._range(client, query, **kwargs)

        PrometheusClient.instant = instant  # type: ignore[method-assign]
        PrometheusClient.range = range_  # type: ignore[method-assign]


def bench_overview(services: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        names = [f"svc-{index:02d}" for index in range(services)]
        slo_dir = work / "slos"
        slo_dir.mkdir()
        for name in names:
            (slo_dir / f"{name}.yaml").write_text(yaml.safe_dump_all([spec(name, "availability"),
                                                                      spec(name, "latency")]))
        objectives = load_slo_directory(slo_dir).objectives
        now = datetime.now(UTC)
        started = time.monotonic()
        files = write_history(work, names, now)
        monitoring.backfill_history(files, work / "blocks")
        backfill_seconds = time.monotonic() - started
        rules = monitoring.write_rules_file(work / "rules.yml", slo_directory=slo_dir)
        with start_prometheus(work / "prometheus", rule_files=[rules], blocks_dir=work / "blocks") as prometheus:
            client = PrometheusClient(prometheus.url, timeout_seconds=30)
            deadline = time.monotonic() + 90
            while len(client.instant("slo:sli_error:ratio_period")) < len(objectives):
                if time.monotonic() > deadline:
                    raise RuntimeError("the recording rules did not evaluate")
                time.sleep(1)
            counting = Counting()
            counting.install()
            direct = []
            for _ in range(runs):
                counting.queries.clear()
                moment = datetime.now(UTC)
                started = time.monotonic()
                statuses = slo_overview(client, VIEWER, objectives, now=moment)
                direct.append(time.monotonic() - started)
            assert len(statuses) == len(objectives)
            queries_direct = len(counting.queries)

            env = demo_environment(work, PROMETHEUS_URL=prometheus.url, CONSOLE_SLO_DIR=str(slo_dir))
            import os

            os.environ.update(env)
            st.cache_resource.clear()
            st.cache_data.clear()
            app = AppTest.from_file(str(REPOSITORY_ROOT / "app.py"), default_timeout=60).run()
            app.text_input(key="login_username").input("viewer")
            app.text_input(key="login_password").input("viewer-demo")
            app.button[0].click().run()
            app.switch_page("pages/slos.py")
            renders, per_render = [], []
            for _ in range(runs + 1):
                counting.queries.clear()
                started = time.monotonic()
                app.run()
                renders.append(time.monotonic() - started)
                per_render.append(len(counting.queries))
                assert not app.exception, app.exception
            assert len(app.dataframe[0].value) == len(objectives)
            return {
                "slos": len(objectives),
                "history backfill (s)": backfill_seconds,
                "queries per render": max(per_render[1:]),
                "queries per overview (direct)": queries_direct,
                "overview queries direct, median (s)": statistics.median(direct),
                "page render in AppTest, median (s)": statistics.median(renders[1:]),
            }


def bench_sandbox() -> dict[str, float]:
    from console.sandbox.world import Sandbox

    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / ".sandbox"
        sandbox = Sandbox(root=root)
        started = time.monotonic()
        sandbox.prepare()
        prepared = time.monotonic() - started
        sandbox.start()
        first = time.monotonic() - started
        sandbox.stop()
        sandbox = Sandbox(root=root)
        started = time.monotonic()
        sandbox.start()
        restart = time.monotonic() - started
        sandbox.stop()
    return {"sandbox prepare (s)": prepared, "sandbox first start incl. prepare (s)": first,
            "sandbox restart (s)": restart}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=25)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-sandbox", action="store_true")
    args = parser.parse_args()
    results = bench_overview(args.services, args.runs)
    if not args.skip_sandbox:
        results.update(bench_sandbox())
    width = max(len(name) for name in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:.3f}" if isinstance(value, float) else f"{name:<{width}}  {value}")
    ratio = results["page render in AppTest, median (s)"] / max(results["overview queries direct, median (s)"], 1e-9)
    print(f"{'render / queries':<{width}}  {ratio:.2f}x")


if __name__ == "__main__":
    main()
