"""Concurrency probe: many operators and pipelines acting on the same models at once, then a consistency check.

    .venv/bin/python bench/bench_concurrency.py [--calls 200] [--threads 16] [--seed 7]

Against real local backends (a seeded SQLite MLflow store, the sandbox Kubernetes API server with the demo world,
a SQLite audit store), ``--threads`` workers make ``--calls`` mixed service calls at once: promotions to random
versions with the holder each one last saw, model rollbacks, scales and restarts of the followers, and plain
rollbacks of them. Afterwards it counts, per model: whether the alias holder is what every following Deployment
serves, whether every successful move is in the alias history, and whether every attempt left exactly one audit
record. Prints one JSON object; exits 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.adapters.audit_store import AuditStore  # noqa: E402
from console.adapters.kubernetes import KubernetesCluster  # noqa: E402
from console.adapters.mlflow_registry import MlflowRegistry  # noqa: E402
from console.domain.access import Actor, Role  # noqa: E402
from console.domain.audit import Outcome  # noqa: E402
from console.errors import ConsoleError  # noqa: E402
from console.sandbox.catalog import DEMO_SERVICES  # noqa: E402
from console.sandbox.kube import KubeApiServer, seed_demo_world  # noqa: E402
from console.sandbox.mlflow_seed import seed_mlflow  # noqa: E402
from console.services import deployments, models  # noqa: E402
from console.services.promotion import ModelRollbackRequest, PromoteRequest, Promotions  # noqa: E402

OPERATORS = [Actor(f"op{i}", f"Operator {i}", Role.ADMIN) for i in range(4)]
VIEWER = Actor("probe", "Probe", Role.VIEWER)
NAMESPACES = ("ml-serving", "ml-staging")


def one_call(rng: random.Random, registry: MlflowRegistry, cluster: KubernetesCluster, audit: AuditStore) -> str:
    """One random operator action; returns its kind and how it ended."""
    service = rng.choice(DEMO_SERVICES)
    actor = rng.choice(OPERATORS)
    promotions = Promotions(registry=registry, cluster=cluster, audit=audit)
    kind = rng.choice(["promote", "promote", "promote", "model-rollback", "scale", "restart", "rollback"])
    try:
        if kind == "promote":
            seen = registry.get_registered_model(service.model).aliases.get("champion")
            version = rng.choice(service.revision_versions + (service.revision_versions[-1] + 1,))
            promotions.promote(PromoteRequest(actor=actor, model=service.model, version=version, reason="probe",
                                              override_gate=True, expected_holder=seen))
        elif kind == "model-rollback":
            promotions.roll_back(ModelRollbackRequest(actor=actor, model=service.model, reason="probe"))
        elif kind == "scale":
            deployments.scale(cluster, audit, actor, namespace=service.namespace, name=service.deployment,
                              replicas=rng.randint(1, 4), seen_resource_version="", reason="probe", max_replicas=50)
        elif kind == "restart":
            deployments.restart(cluster, audit, actor, namespace=service.namespace, name=service.deployment,
                                seen_resource_version="", reason="probe")
        else:
            deployments.rollback(cluster, audit, actor, namespace=service.namespace, name=service.deployment,
                                 to_revision=None, seen_resource_version="", reason="probe")
        return f"{kind} succeeded"
    except ConsoleError as err:
        return f"{kind} refused ({err.title})"


def check(registry: MlflowRegistry, cluster: KubernetesCluster, audit: AuditStore, attempts: int) -> dict:
    """Per model: alias holder against what the followers serve, history against the successful moves."""
    report: dict = {"models": {}, "disagreements": 0, "missing_history": 0}
    records = audit.query()
    report["audit_records"] = len(records)
    report["records_match_attempts"] = len(records) == attempts
    for service in DEMO_SERVICES:
        holder = registry.get_registered_model(service.model).aliases.get("champion")
        served = {d.model_version for d in Promotions(registry=registry, cluster=cluster, audit=audit)
                  .following_deployments(VIEWER, model=service.model, alias="champion")}
        agree = served == {str(holder)}
        [history] = [h for h in models.promotion_history(registry, audit, VIEWER, model=service.model)
                     if h.alias == "champion"]
        moved = [r for r in records if r.target == f"{service.model}@champion" and r.outcome is Outcome.SUCCEEDED]
        recorded = [r for r in history.records if r.actor.startswith("op")]
        missing = len(moved) - len([r for r in recorded if r.action in ("promote", "model-rollback")])
        report["models"][service.model] = {"holder": holder, "served": sorted(served), "agree": agree,
                                           "moves": len(moved), "history_missing": missing,
                                           "history_ends_with_holder": history.records[-1].version == holder}
        report["disagreements"] += 0 if agree and history.records[-1].version == holder else 1
        report["missing_history"] += max(0, missing)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="console-concurrency-") as folder:
        root = Path(folder)
        store = f"sqlite:///{root / 'mlflow.db'}"
        seed_mlflow(store, now=datetime.now(UTC), runs_per_experiment=8)
        registry = MlflowRegistry(store)
        server = KubeApiServer(host="127.0.0.1", port=0, pod_start_seconds=0.05, pod_ready_seconds=0.1).start()
        seed_demo_world(server, now=datetime.now(UTC))
        cluster = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=server.write_kubeconfig(root / "kubeconfig"),
                                    timeout_seconds=10)
        audit = AuditStore(f"sqlite:///{root / 'audit.db'}")
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()
        remaining = iter(range(args.calls))
        started = time.perf_counter()

        def worker(index: int) -> None:
            rng = random.Random(args.seed * 1000 + index)
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                outcome = one_call(rng, registry, cluster, audit)
                with lock:
                    outcomes[outcome] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        report = check(registry, cluster, audit, args.calls)
        report.update(calls=args.calls, threads=args.threads, seconds=round(elapsed, 1),
                      outcomes=dict(sorted(outcomes.items())))
        server.stop()
    print(json.dumps(report, indent=2))
    return 1 if report["disagreements"] or report["missing_history"] or not report["records_match_attempts"] else 0


if __name__ == "__main__":
    sys.exit(main())
