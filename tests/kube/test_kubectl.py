"""Differential tests: the real kubectl against the sandbox, asserting the objects a real cluster would leave.

What kubectl sends was read from its source (pkg/polymorphichelpers/rollback.go, history.go,
objectrestarter.go, rollout_status.go, pkg/cmd/set/set_image.go, pkg/cmd/logs) and the controller
semantics from kubernetes/pkg/controller/deployment.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from console.sandbox.catalog import DEMO_SERVICES

from .helpers import (
    CHANGE_CAUSE,
    DESIRED,
    HASH,
    MAX,
    REVISION,
    REVISION_HISTORY,
    by_revision,
    condition,
    replica_sets,
    rolled_out,
    simple_deployment,
    wait_for,
)

NS = "ml-serving"


def test_get_reads_what_the_server_stores(demo_server, kubectl) -> None:
    listed = json.loads(kubectl("get", "deployments", "-A", "-o", "json").stdout)
    names = sorted((d["metadata"]["namespace"], d["metadata"]["name"]) for d in listed["items"])
    assert names == sorted((s.namespace, s.deployment) for s in DEMO_SERVICES)
    one = json.loads(kubectl("get", "deployment", "iris-classifier", "-o", "json").stdout)
    assert one == demo_server.get("deployments", NS, "iris-classifier")
    assert one["metadata"]["labels"]["mlops.console/model"] == "iris-classifier"
    assert one["metadata"]["annotations"]["mlops.console/alias"] == "champion"

    table = kubectl("get", "deployments", "-o", "wide").stdout.splitlines()
    assert table[0].split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    iris = next(line for line in table if line.startswith("iris-classifier")).split()
    assert iris[1:4] == ["3/3", "3", "3"] and iris[6] == "quay.io/mlops-demo/iris-classifier:v4"

    # The broken pod runs a few seconds before each crash and waits in back-off in between: wait for the back-off.
    def in_back_off() -> str | None:
        out = kubectl("get", "pods", "-l", "app=wine-quality", "--no-headers").stdout
        return out if "CrashLoopBackOff" in out else None

    pods = wait_for(in_back_off, timeout_seconds=30, what="the broken pod in CrashLoopBackOff")
    assert "Running" in pods
    by_field = json.loads(kubectl("get", "pods", "--field-selector", "status.phase=Running", "-o", "json").stdout)
    assert by_field["items"] and all(p["status"]["phase"] == "Running" for p in by_field["items"])
    missing = kubectl("get", "deployment", "nope", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in missing.stderr


def test_scale_updates_spec_generation_and_replica_set_annotations(demo_server, kubectl) -> None:
    before = demo_server.get("deployments", NS, "iris-classifier")
    assert kubectl("scale", "deployment/iris-classifier", "--replicas=5").stdout.strip() == "deployment.apps/iris-classifier scaled"
    after = demo_server.get("deployments", NS, "iris-classifier")
    assert after["spec"]["replicas"] == 5
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    wait_for(lambda: rolled_out(demo_server, NS, "iris-classifier"), what="scale-up")
    current = by_revision(demo_server, NS, "iris-classifier")[4]
    assert current["spec"]["replicas"] == 5 and current["status"]["readyReplicas"] == 5
    # A scaling event rewrites desired/max replicas (5 + maxSurge 25% rounded up = 7).
    assert current["metadata"]["annotations"][DESIRED] == "5"
    assert current["metadata"]["annotations"][MAX] == "7"
    assert len(demo_server.list("pods", NS, "app=iris-classifier")) == 5
    wrong = kubectl("scale", "deployment/iris-classifier", "--replicas=2", "--resource-version=1", check=False)
    assert wrong.returncode == 1
    # kubectl checks --resource-version itself before it sends the scale patch.
    current_rv = demo_server.get("deployments", NS, "iris-classifier")["metadata"]["resourceVersion"]
    assert wrong.stderr.strip() == f"error: Expected resource version to be 1, was {current_rv}"


def test_set_image_and_rollout_status(kube_server, kubectl) -> None:
    kube_server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube_server.create(simple_deployment("web", namespace=NS, replicas=4))
    kubectl("rollout", "status", "deployment/web", "--timeout=20s")
    [first] = replica_sets(kube_server, NS, "web")
    assert first["metadata"]["name"] == f"web-{first['metadata']['labels'][HASH]}"

    kubectl("set", "image", "deployment/web", "app=registry.local/app:v2")
    status = kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    assert status.stdout.strip().endswith('deployment "web" successfully rolled out')
    d = kube_server.get("deployments", NS, "web")
    revisions = by_revision(kube_server, NS, "web")
    assert sorted(revisions) == [1, 2] and revisions[1]["metadata"]["uid"] == first["metadata"]["uid"]
    new = revisions[2]
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/app:v2"
    assert new["spec"]["selector"]["matchLabels"][HASH] == new["metadata"]["labels"][HASH]
    assert new["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]
    assert new["metadata"]["ownerReferences"][0]["controller"] is True
    assert revisions[1]["spec"]["replicas"] == 0
    assert d["metadata"]["annotations"][REVISION] == "2"
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"] == 2
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert condition(d, "Progressing")["message"] == f'ReplicaSet "{new["metadata"]["name"]}" has successfully progressed.'
    assert condition(d, "Available")["status"] == "True"
    pods = kube_server.list("pods", NS, "app=web")
    wait_for(lambda: len(kube_server.list("pods", NS, "app=web")) == 4, what="old pods gone")
    pods = kube_server.list("pods", NS, "app=web")
    new_hash = new["metadata"]["labels"][HASH]
    assert all(p["metadata"]["name"].startswith(f"web-{new_hash}-") and len(p["metadata"]["name"]) == len(f"web-{new_hash}-") + 5
               for p in pods)
    assert all(p["metadata"]["labels"][HASH] == new_hash for p in pods)
    events = kubectl("get", "events", "--field-selector", "involvedObject.name=web", "-o", "json").stdout
    messages = [e["message"] for e in json.loads(events)["items"]]
    assert f'Scaled up replica set {new["metadata"]["name"]} from 0 to 1' in messages


def test_rollout_history_lists_change_causes_and_templates(demo_server, kubectl) -> None:
    out = kubectl("rollout", "history", "deployment/wine-quality").stdout
    lines = [line.split(None, 1) for line in out.splitlines()[2:] if line.strip()]
    # wine-quality served v2 twice: revision 2's ReplicaSet was reused as revision 4.
    assert [int(number) for number, _ in lines] == [1, 3, 4, 5]
    assert dict(lines)["4"] == "operator: rollback - v3 regressed on accuracy, back to v2"
    detail = kubectl("rollout", "history", "deployment/wine-quality", "--revision=4").stdout
    assert "deployment.apps/wine-quality with revision #4" in detail
    assert "quay.io/mlops-demo/wine-quality:v2" in detail and "models:/wine-quality/2" in detail
    reused = by_revision(demo_server, NS, "wine-quality")[4]
    assert reused["metadata"]["annotations"][REVISION_HISTORY] == "2"
    gone = kubectl("rollout", "history", "deployment/wine-quality", "--revision=2", check=False)
    assert gone.returncode == 1 and "unable to find the specified revision" in gone.stderr


def test_rollout_undo_reuses_the_previous_replica_set_at_max_plus_one(demo_server, kubectl) -> None:
    before = by_revision(demo_server, NS, "wine-quality")
    previous = before[4]
    out = kubectl("rollout", "undo", "deployment/wine-quality")
    assert out.stdout.strip() == "deployment.apps/wine-quality rolled back"
    kubectl("rollout", "status", "deployment/wine-quality", "--timeout=30s")
    after = by_revision(demo_server, NS, "wine-quality")
    reused = after[6]
    assert reused["metadata"]["uid"] == previous["metadata"]["uid"]
    assert reused["metadata"]["annotations"][REVISION_HISTORY] == "2,4"
    assert reused["spec"]["replicas"] == 2 and reused["status"]["availableReplicas"] == 2
    assert after[5]["spec"]["replicas"] == 0
    assert len(after) == len(before)  # no new ReplicaSet
    d = demo_server.get("deployments", NS, "wine-quality")
    assert d["metadata"]["annotations"][REVISION] == "6"
    # kubectl copies the ReplicaSet's annotations (the change cause among them) onto the Deployment.
    assert d["metadata"]["annotations"][CHANGE_CAUSE] == previous["metadata"]["annotations"][CHANGE_CAUSE]
    assert d["spec"]["template"]["metadata"]["annotations"]["mlops.console/model-version"] == "2"
    assert HASH not in d["spec"]["template"]["metadata"]["labels"]
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


def test_rollout_undo_to_revision(demo_server, kubectl) -> None:
    first = by_revision(demo_server, NS, "iris-classifier")[1]
    kubectl("rollout", "undo", "deployment/iris-classifier", "--to-revision=1")
    kubectl("rollout", "status", "deployment/iris-classifier", "--timeout=30s")
    after = by_revision(demo_server, NS, "iris-classifier")
    assert sorted(after) == [2, 3, 4, 5]
    assert after[5]["metadata"]["uid"] == first["metadata"]["uid"]
    assert after[5]["metadata"]["annotations"][REVISION_HISTORY] == "1"
    assert after[5]["spec"]["template"]["spec"]["containers"][0]["image"] == "quay.io/mlops-demo/iris-classifier:v1"
    assert all(rs["spec"]["replicas"] == 0 for number, rs in after.items() if number != 5)
    same = kubectl("rollout", "undo", "deployment/iris-classifier", "--to-revision=5")
    assert "skipped rollback (current template already matches revision 5)" in same.stdout
    missing = kubectl("rollout", "undo", "deployment/iris-classifier", "--to-revision=99", check=False)
    assert missing.returncode == 1 and "unable to find specified revision 99 in history" in missing.stderr


def test_rollout_restart_creates_a_new_revision(demo_server, kubectl) -> None:
    kubectl("rollout", "restart", "deployment/diabetes-regressor", "-n", "ml-staging")
    d = demo_server.get("deployments", "ml-staging", "diabetes-regressor")
    restarted = d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert restarted.endswith("Z") or "+" in restarted
    kubectl("rollout", "status", "deployment/diabetes-regressor", "-n", "ml-staging", "--timeout=30s")
    revisions = by_revision(demo_server, "ml-staging", "diabetes-regressor")
    assert max(revisions) == 4
    newest = revisions[4]
    assert newest["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == restarted
    assert newest["spec"]["template"]["metadata"]["annotations"]["mlops.console/model-version"] == "3"


def test_pause_holds_template_changes_until_resume(kube_server, kubectl) -> None:
    kube_server.create(simple_deployment("paused-app", replicas=2))
    wait_for(lambda: rolled_out(kube_server, "default", "paused-app"))
    assert kubectl("rollout", "pause", "deployment/paused-app", "-n", "default").stdout.strip() == "deployment.apps/paused-app paused"
    d = wait_for(lambda: (x := kube_server.get("deployments", "default", "paused-app"))
                 and condition(x, "Progressing")["reason"] == "DeploymentPaused" and x)
    assert d["spec"]["paused"] is True
    assert condition(d, "Progressing")["status"] == "Unknown" and condition(d, "Progressing")["message"] == "Deployment is paused"
    kubectl("set", "image", "deployment/paused-app", "app=registry.local/app:v3", "-n", "default")
    time.sleep(0.5)
    assert len(replica_sets(kube_server, "default", "paused-app")) == 1
    undo = kubectl("rollout", "undo", "deployment/paused-app", "--to-revision=1", "-n", "default", check=False)
    assert "you cannot rollback a paused deployment; resume it first" in undo.stderr
    kubectl("rollout", "resume", "deployment/paused-app", "-n", "default")
    kubectl("rollout", "status", "deployment/paused-app", "-n", "default", "--timeout=30s")
    assert sorted(by_revision(kube_server, "default", "paused-app")) == [1, 2]
    assert condition(kube_server.get("deployments", "default", "paused-app"), "Progressing")["reason"] == "NewReplicaSetAvailable"


def test_rollout_status_reports_an_exceeded_progress_deadline(kube_server, kubectl) -> None:
    kube_server.create(simple_deployment("stuck", replicas=1, progressDeadlineSeconds=2))
    wait_for(lambda: rolled_out(kube_server, "default", "stuck"))
    kubectl("set", "image", "deployment/stuck", "app=registry.local/app:v2-broken", "-n", "default")
    result = kubectl("rollout", "status", "deployment/stuck", "-n", "default", "--timeout=20s", check=False)
    assert result.returncode == 1
    assert 'error: deployment "stuck" exceeded its progress deadline' in result.stderr
    d = kube_server.get("deployments", "default", "stuck")
    progressing = condition(d, "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    # maxUnavailable rounds down to 0 for one replica: the old pod keeps serving.
    assert d["status"]["availableReplicas"] == 1 and d["status"]["updatedReplicas"] == 1


def test_logs(demo_server, kubectl) -> None:
    pods = kubectl("get", "pods", "-l", "app=iris-classifier", "-o", "name").stdout.split()
    pod = pods[0]
    # New lines arrive every ~0.2 s here, so compare through the timestamps kubectl can print.
    tail = kubectl("logs", pod, "--tail=3").stdout.splitlines()
    assert len(tail) == 3
    stamped_tail = kubectl("logs", pod, "--tail=3", "--timestamps").stdout.splitlines()
    full = kubectl("logs", pod, "--timestamps").stdout.splitlines()
    start = full.index(stamped_tail[0])
    assert full[start:start + 3] == stamped_tail and len(full) > 3
    assert all(len(line.split(" ", 1)[0]) == len("2026-01-01T00:00:00.000000000Z") for line in stamped_tail)
    texts = [line.split(" ", 1)[1] for line in full]
    # A two-day-old pod: only the current log file is served (start-up lines have been rotated away).
    assert not any(t.startswith("INFO:     Uvicorn running") for t in texts)
    assert any(t.startswith("{") and '"latency_ms"' in t for t in texts)
    assert any('"POST /v2/models/iris-classifier/infer HTTP/1.1" 200 OK latency_ms=' in t for t in texts)
    recent = kubectl("logs", pod, "--since=2s").stdout.splitlines()
    assert 0 < len(recent) < len(full)
    limited = kubectl("logs", pod, "--limit-bytes=40").stdout
    assert len(limited.encode()) == 40
    by_deployment = kubectl("logs", "deployment/iris-classifier", "--tail=1")
    assert "Found 3 pods, using pod/" in by_deployment.stderr
    assert len(kubectl("logs", pod, "-c", "model-server", "--tail=3").stdout.splitlines()) == 3

    broken_hash = by_revision(demo_server, NS, "wine-quality")[5]["metadata"]["labels"][HASH]
    [broken] = kubectl("get", "pods", "-l", f"app=wine-quality,{HASH}={broken_hash}", "-o", "name").stdout.split()
    previous = kubectl("logs", broken, "--previous").stdout
    assert "Traceback (most recent call last):" in previous and "ModelSignatureError" in previous
    no_previous = kubectl("logs", pod, "--previous", check=False)
    name = pod.split("/", 1)[1]
    assert f'previous terminated container "model-server" in pod "{name}" not found' in no_previous.stderr
    wrong = kubectl("logs", pod, "-c", "sidecar", check=False)
    assert f"container sidecar is not valid for pod {name}" in wrong.stderr


def test_logs_follow_streams_new_lines(demo_server, kubectl, kubeconfig) -> None:
    from tests.helpers import kubectl_binary

    pod = kubectl("get", "pods", "-l", "app=iris-classifier", "-o", "name").stdout.split()[0]
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as stopped:
        subprocess.run([kubectl_binary(), "--kubeconfig", str(kubeconfig), "logs", "-f", "--tail=1", pod],
                       capture_output=True, timeout=2.5)
    assert time.monotonic() - started >= 2.5
    lines = (stopped.value.stdout or b"").decode().splitlines()
    # One line from the tail, then lines written while following (one every ~0.2 s in these tests).
    assert len(lines) >= 4


def test_access_policy_is_what_kubectl_sees(kube_server, kubectl) -> None:
    kube_server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube_server.create(simple_deployment("web", namespace=NS, replicas=1))
    assert kubectl("auth", "can-i", "patch", "deployments").stdout.strip() == "yes"
    kube_server.policy.deny(verb="patch", resource="deployments", namespace=NS)
    answer = kubectl("auth", "can-i", "patch", "deployments", check=False)
    assert (answer.returncode, answer.stdout.strip()) == (1, "no")
    assert kubectl("auth", "can-i", "patch", "deployments", "-n", "default").stdout.strip() == "yes"
    # As in RBAC, the scale subresource is a separate permission: kubectl scale patches deployments/scale.
    assert kubectl("scale", "deployment/web", "--replicas=2").returncode == 0
    kube_server.policy.deny(verb="patch", resource="deployments/scale", namespace=NS)
    denied = kubectl("scale", "deployment/web", "--replicas=3", check=False)
    assert denied.stderr.strip() == (
        'Error from server (Forbidden): deployments.apps "web" is forbidden: User '
        '"system:serviceaccount:mlops-console:mlops-console" cannot patch resource "deployments/scale" '
        'in API group "apps" in the namespace "ml-serving"'
    )
    restart = kubectl("rollout", "restart", "deployment/web", check=False)
    assert 'cannot patch resource "deployments" in API group "apps" in the namespace "ml-serving"' in restart.stderr


def test_get_watch_prints_changes(kube_server, kubeconfig) -> None:
    from tests.helpers import kubectl_binary

    kube_server.create(simple_deployment("web", replicas=1))
    wait_for(lambda: rolled_out(kube_server, "default", "web"))
    process = subprocess.Popen([kubectl_binary(), "--kubeconfig", str(kubeconfig), "get", "deployments", "-n", "default",
                                "--watch", "--no-headers"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rows: list[list[str]] = []
    reader = threading.Thread(target=lambda: rows.extend(line.split() for line in process.stdout if line.strip()),
                              daemon=True)
    reader.start()
    try:
        wait_for(lambda: rows, what="the initial listing")
        assert rows[0][:2] == ["web", "1/1"]
        kube_server.store.mutate("deployments", "default", "web", lambda d: d["spec"].__setitem__("replicas", 2))
        wait_for(lambda: ["web", "2/2", "2", "2"] in [row[:4] for row in rows], what="the watched change")
    finally:
        process.terminate()
        process.communicate(timeout=5)
