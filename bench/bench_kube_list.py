"""Benchmark: list every Deployment across namespaces through the official client against the sandbox API server.

World: 200 Deployments x 10 revisions (ReplicaSets) x 3 pods on the current revision, seeded straight into the
store (no rollouts over wall-clock time). Prints the seeding time and the median of
``AppsV1Api.list_deployment_for_all_namespaces``, plus the raw HTTP time for comparison.

    .venv/bin/python bench/bench_kube_list.py [--deployments 200] [--revisions 10] [--replicas 3] [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kubernetes  # noqa: E402

from console.sandbox.kube import KubeApiServer  # noqa: E402
from console.sandbox.kube.demo import RevisionSpec, seed_deployment  # noqa: E402
from console.sandbox.kube.resources import default_template  # noqa: E402


def template(name: str, version: int) -> dict:
    spec = {
        "metadata": {
            "labels": {"app": name, "mlops.console/model": name},
            "annotations": {"mlops.console/model-version": str(version)},
        },
        "spec": {
            "containers": [
                {
                    "name": "model-server",
                    "image": f"quay.io/mlops-bench/{name}:v{version}",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "env": [{"name": "MODEL_URI", "value": f"models:/{name}/{version}"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
                }
            ]
        },
    }
    default_template(spec)
    return spec


def seed(server: KubeApiServer, deployments: int, revisions: int, replicas: int, *, namespaces: int = 4) -> None:
    now = datetime.now(timezone.utc)
    namespaces = [f"bench-{i}" for i in range(namespaces)]
    for namespace in namespaces:
        server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for index in range(deployments):
        name = f"model-{index:03d}"
        history = [
            RevisionSpec(template(name, version), now - timedelta(days=30) + timedelta(hours=3 * version, minutes=index),
                         f"admin: promote - v{version} of {name}")
            for version in range(1, revisions + 1)
        ]
        seed_deployment(server, namespace=namespaces[index % len(namespaces)], name=name,
                        labels={"app": name, "mlops.console/model": name},
                        annotations={"mlops.console/alias": "champion"}, replicas=replicas, revisions=history)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--revisions", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    server = KubeApiServer(port=0).start()
    try:
        started = time.perf_counter()
        seed(server, args.deployments, args.revisions, args.replicas)
        seeded = time.perf_counter() - started
        server.tick()  # let the controllers look at everything once, as after a restart
        counts = {r: len(server.list(r)) for r in ("deployments", "replicasets", "pods")}
        print(f"seeded {counts['deployments']} deployments, {counts['replicasets']} replica sets, "
              f"{counts['pods']} pods in {seeded:.2f}s")

        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = server.write_kubeconfig(Path(tmp) / "kubeconfig")
            configuration = kubernetes.client.Configuration()
            kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
        with kubernetes.client.ApiClient(configuration) as api_client:
            apps = kubernetes.client.AppsV1Api(api_client)
            assert len(apps.list_deployment_for_all_namespaces().items) == args.deployments  # warm-up
            client_times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                apps.list_deployment_for_all_namespaces()
                client_times.append(time.perf_counter() - t0)

        raw_times = []
        url = server.url + "/apis/apps/v1/deployments"
        for _ in range(args.runs):
            t0 = time.perf_counter()
            with urllib.request.urlopen(url) as response:
                size = len(response.read())
            raw_times.append(time.perf_counter() - t0)

        print(f"list_deployment_for_all_namespaces ({args.runs} runs): median {statistics.median(client_times) * 1000:.1f} ms, "
              f"min {min(client_times) * 1000:.1f} ms, max {max(client_times) * 1000:.1f} ms")
        print(f"raw GET /apis/apps/v1/deployments ({size / 1024:.0f} KiB): median {statistics.median(raw_times) * 1000:.1f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
