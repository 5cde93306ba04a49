"""Benchmark: the Deployments page's server-side render against the cost of its Kubernetes calls.

World: 200 Deployments x 10 revisions x 3 pods in the sandbox API server (seeded straight into the store), spread
over 10 namespaces. For each run the page's cache is cleared, so every render pays for its list calls. Prints
the page's median render time (AppTest), the number of HTTP requests one render makes (counted by the server),
and the median time of the same list calls made directly with the official client (the floor).

    .venv/bin/python bench/bench_deployments_page.py [--deployments 200] [--revisions 10] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import kubernetes  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench_kube_list import seed  # noqa: E402
from console.sandbox.kube import KubeApiServer  # noqa: E402
from console.sandbox.users import write_demo_credentials  # noqa: E402

NAMESPACES = 10


def floor_calls(kubeconfig: Path, runs: int) -> float:
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with kubernetes.client.ApiClient(configuration) as api_client:
        apps, core = kubernetes.client.AppsV1Api(api_client), kubernetes.client.CoreV1Api(api_client)
        times = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            apps.list_deployment_for_all_namespaces()
            apps.list_replica_set_for_all_namespaces()
            core.list_pod_for_all_namespaces()
            times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--revisions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    server = KubeApiServer(port=0, record_responses=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        try:
            seed(server, args.deployments, args.revisions, 3, namespaces=NAMESPACES)
            server.tick()
            kubeconfig = server.write_kubeconfig(directory / "kubeconfig")
            write_demo_credentials(directory / "users.yaml", rounds=4)
            os.environ.update(
                CONSOLE_ENV="demo",
                CONSOLE_AUTH_FILE=str(directory / "users.yaml"),
                CONSOLE_COOKIE_KEY="k" * 48,
                CONSOLE_AUDIT_DATABASE_URL=f"sqlite:///{directory / 'audit.db'}",
                KUBECONFIG=str(kubeconfig),
                CONSOLE_NAMESPACES=",".join(f"bench-{i}" for i in range(NAMESPACES)),
            )
            app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
            app.session_state["authentication_status"] = True
            app.session_state["username"] = "viewer"
            app.run()
            app.switch_page("pages/deployments.py").run()
            assert not app.exception, app.exception
            assert app.caption[0].value == f"{args.deployments} of {args.deployments} deployments", app.caption[0].value

            render_times, request_counts = [], []
            for _ in range(args.runs):
                st.cache_data.clear()
                before = len(server.recorded())
                started = time.perf_counter()
                app.run()
                render_times.append(time.perf_counter() - started)
                request_counts.append(len(server.recorded()) - before)
                assert not app.exception
            floor = floor_calls(kubeconfig, args.runs)
        finally:
            server.stop()

    render = statistics.median(render_times)
    print(f"world: {args.deployments} deployments x {args.revisions} revisions x 3 pods in {NAMESPACES} namespaces")
    print(f"{'':38}{'median':>10}")
    print(f"{'Deployments page render (cold cache)':38}{render * 1000:>8.0f} ms")
    print(f"{'floor: the 3 list calls via the client':38}{floor * 1000:>8.0f} ms")
    print(f"ratio render / floor: {render / floor:.2f}   API requests per render: {sorted(set(request_counts))}")


if __name__ == "__main__":
    main()
