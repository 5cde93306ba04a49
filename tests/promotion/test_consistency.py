"""Registry and cluster agree whatever happens at once: many threads and many processes promoting one model, and
a Kubernetes API that stops answering in the middle of a promotion.

After every scenario one invariant is asserted on the real backends: the alias holder is the version every
following Deployment serves, the alias history ends with that holder, and there is exactly one audit record per
attempt, whose outcome matches what the registry shows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import kubernetes
import pytest

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.adapters.mlflow_registry import MlflowRegistry
from console.domain.access import Actor, Role
from console.domain.audit import Outcome
from console.errors import Conflict, ConsoleError
from console.sandbox.kube import KubeApiServer
from console.services import models
from console.services.promotion import ModelRollbackRequest, PromoteRequest, Promotions
from tests.helpers import REPOSITORY_ROOT, demo_environment, wait_for
from tests.promotion.conftest import ADMIN, NAMESPACES, VIEWER, holder

IRIS = "iris-classifier"
SERVING = "ml-serving"


def served_by_cluster(deployments: list[dict]) -> set[str]:  # type: ignore[type-arg]
    """The model versions the Deployments that follow iris-classifier's champion serve."""
    return {d["spec"]["template"]["metadata"]["annotations"]["mlops.console/model-version"] for d in deployments
            if d["metadata"].get("labels", {}).get("mlops.console/model") == IRIS
            and d["metadata"].get("annotations", {}).get("mlops.console/alias") == "champion"}


def assert_agreement(registry: MlflowRegistry, audit: AuditStore, deployments: list[dict],  # type: ignore[type-arg]
                     *, attempts: int, actor: str = ADMIN.username) -> int:
    """The invariant; returns the holder."""
    current = holder(registry, IRIS)
    assert served_by_cluster(deployments) == {str(current)}, (current, served_by_cluster(deployments))
    [champion] = [h for h in models.promotion_history(registry, audit, VIEWER, model=IRIS) if h.alias == "champion"]
    assert champion.records[-1].version == current
    records = audit.query()
    assert len(records) == attempts
    succeeded = [r for r in records if r.outcome is Outcome.SUCCEEDED]
    # Every success is in the history, in the order of its record; nothing else moved the alias for good.
    moves = [r for r in champion.records if r.action == "promote" and r.actor == actor]
    assert [r.version for r in moves] == [int(r.parameters["version"]) for r in reversed(succeeded)]
    return current


def test_threads_promoting_one_model_at_once_never_disagree(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    # Eight operators saw version 4 holding champion; each promotes another version at the same moment.
    versions = [1, 2, 3, 5, 1, 2, 3, 5]
    start = threading.Barrier(len(versions))
    outcomes: list[str] = []

    def promote(version: int) -> None:
        promotions = Promotions(registry=registry, cluster=cluster, audit=audit)
        start.wait()
        try:
            promotions.promote(PromoteRequest(actor=ADMIN, model=IRIS, version=version, reason="race",
                                              override_gate=True, expected_holder=4))
            outcomes.append("promoted")
        except Conflict as err:
            outcomes.append("refused" if "changed since you loaded it" in err.message else err.message)
        except ConsoleError as err:
            outcomes.append(f"other: {err}")

    threads = [threading.Thread(target=promote, args=(version,)) for version in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Exactly one of them found the holder it saw; every other one is told the alias changed.
    assert Counter(outcomes) == {"promoted": 1, "refused": 7}, outcomes
    current = assert_agreement(registry, audit, kube.list("deployments", SERVING), attempts=len(versions))
    assert current != 4
    assert Counter(r.outcome for r in audit.query()) == {Outcome.SUCCEEDED: 1, Outcome.FAILED: 7}


def test_promotions_and_rollbacks_without_a_seen_holder_serialize(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    # Without a holder seen, every request is decided on what holds when its turn comes: all of them succeed,
    # one after the other, and the history has every move.
    requests = [PromoteRequest(actor=ADMIN, model=IRIS, version=v, reason=f"to {v}", override_gate=True)
                for v in (5, 3, 2)]
    start = threading.Barrier(len(requests) + 1)
    failures: list[str] = []

    def run(request: object) -> None:
        promotions = Promotions(registry=registry, cluster=cluster, audit=audit)
        start.wait()
        try:
            if isinstance(request, PromoteRequest):
                promotions.promote(request)
            else:
                promotions.roll_back(request)  # type: ignore[arg-type]
        except ConsoleError as err:
            failures.append(str(err))

    threads = [threading.Thread(target=run, args=(r,)) for r in
               [*requests, ModelRollbackRequest(actor=ADMIN, model=IRIS, reason="back")]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    records = audit.query()
    assert len(records) == 4
    assert len(failures) == sum(r.outcome is Outcome.FAILED for r in records)
    current = holder(registry, IRIS)
    assert served_by_cluster(kube.list("deployments", SERVING)) == {str(current)}
    [champion] = [h for h in models.promotion_history(registry, audit, VIEWER, model=IRIS) if h.alias == "champion"]
    mine = [r for r in champion.records if r.actor == ADMIN.username]
    assert len(mine) == sum(r.outcome is Outcome.SUCCEEDED for r in records) and mine[-1].version == current


def test_command_line_processes_promoting_at_once_never_disagree(
    store_copy: str, registry: MlflowRegistry, kube: KubeApiServer, tmp_path: Path
) -> None:
    env = demo_environment(tmp_path, KUBECONFIG=str(tmp_path / "kubeconfig"), CONSOLE_NAMESPACES=",".join(NAMESPACES),
                           MLFLOW_TRACKING_URI=store_copy, CONSOLE_REQUEST_TIMEOUT_SECONDS="10")
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "KUBECONFIG", "MLFLOW_"))}
    full.update(env, CONSOLE_PASSWORD="admin-demo")
    processes = [
        subprocess.Popen([sys.executable, "-m", "console", "promote", IRIS, str(version), "--reason", f"ci {version}",
                          "--override-gate", "--user", "admin"], env=full, cwd=REPOSITORY_ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for version in (1, 2, 3, 5)
    ]
    results = [process.communicate(timeout=180) for process in processes]
    assert all(process.returncode == 0 for process in processes), results
    audit = AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"])
    current = assert_agreement(registry, audit, kube.list("deployments", SERVING), attempts=4, actor="admin")
    # The last to take the lock holds the alias; each one's record names the holder it replaced.
    records = list(reversed(audit.query()))
    assert [r.before["holder"] for r in records] == [4, *(r.after["holder"] for r in records[:-1])]
    assert records[-1].after["holder"] == current


# --- a Kubernetes API that stops answering mid-promotion ------------------------------------------------------


@pytest.fixture()
def api_process(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The sandbox API server with the demo world in a process of its own, so it can be paused (SIGSTOP)."""
    kubeconfig = tmp_path / "api-kubeconfig"
    process = subprocess.Popen([sys.executable, "-m", "console.sandbox.kube", "--port", "0", "--demo",
                                "--kubeconfig", str(kubeconfig)], cwd=REPOSITORY_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    process.stdout.readline()  # its address, once it serves
    yield process, kubeconfig
    os.kill(process.pid, signal.SIGCONT)
    process.terminate()
    process.wait(timeout=30)


class PausedAtThePatch(KubernetesCluster):
    """The real adapter; the API server's process is stopped the moment the first patch is sent, and resumed
    ``pause_seconds`` later (the request sits in the server's socket meanwhile, as on a hung API server)."""

    def __init__(self, pid: int, pause_seconds: float, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self._pid, self._pause_seconds, self._paused = pid, pause_seconds, False

    def patch_deployment(self, namespace: str, name: str, operations: list[dict]):  # type: ignore[no-untyped-def,type-arg]
        if not self._paused:
            self._paused = True
            os.kill(self._pid, signal.SIGSTOP)
            threading.Timer(self._pause_seconds, os.kill, (self._pid, signal.SIGCONT)).start()
        return super().patch_deployment(namespace, name, operations)


@pytest.mark.parametrize("pause_seconds", [2.5, 4.0])
def test_a_paused_api_mid_promotion_ends_in_agreement(
    registry: MlflowRegistry, audit: AuditStore, api_process, pause_seconds: float  # type: ignore[no-untyped-def]
) -> None:
    process, kubeconfig = api_process
    cluster = PausedAtThePatch(process.pid, pause_seconds, namespaces=NAMESPACES, kubeconfig=kubeconfig,
                               timeout_seconds=1)
    promotions = Promotions(registry=registry, cluster=cluster, audit=audit)
    try:
        response = promotions.promote(PromoteRequest(actor=ADMIN, model=IRIS, version=5, reason="paused API"))
        outcome = "promoted"
        assert response.version == 5
    except ConsoleError as err:
        outcome = err.__class__.__name__
    # Whatever the action decided, the queued patch had its chance to apply: read what really holds.
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with kubernetes.client.ApiClient(configuration) as client:
        apps = kubernetes.client.AppsV1Api(client)
        time.sleep(1.0)

        def served() -> set[str]:
            found = apps.read_namespaced_deployment(IRIS, SERVING).spec.template.metadata.annotations
            return {found["mlops.console/model-version"]}

        [record] = audit.query()
        current = holder(registry, IRIS)
        assert wait_for(lambda: served() == {str(current)}, timeout_seconds=10, what="agreement"), (served(), current)
    assert (outcome, current, record.outcome) in {("promoted", 5, Outcome.SUCCEEDED),
                                                  ("PromotionUndone", 4, Outcome.FAILED)}, (outcome, record)
    # The record says what is true at the end, never what was hoped.
    if record.outcome is Outcome.FAILED:
        assert "alias 'champion' back on version 4" in record.error
    else:
        assert record.after["holder"] == 5
