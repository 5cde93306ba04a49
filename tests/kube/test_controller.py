"""The deployment controller, replica set controller and kubelet on a manual clock: minutes of rollout in no time."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from console.sandbox.kube import ManualClock

from .helpers import DESIRED, MAX, REVISION, by_revision, condition, rolled_out, simple_deployment

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def cluster(make_kube_server):
    """A server whose controllers only run on ``tick`` and whose clock only moves on ``advance``."""
    clock = ManualClock(START)
    server = make_kube_server(
        clock=clock, run_controllers=False, pod_start_seconds=1.0, pod_ready_seconds=2.0,
        crash_after_seconds=3.0, crash_backoff_seconds=10.0, pod_terminate_seconds=1.0,
    )
    server.clock_ = clock
    return server


def run(server, seconds: float, step: float = 0.5, check=None) -> None:
    elapsed = 0.0
    while elapsed < seconds:
        server.tick()
        if check is not None:
            check()
        server.clock_.advance(step)
        elapsed += step
    server.tick()


def set_image(server, name: str, image: str, namespace: str = "default") -> None:
    server.store.mutate("deployments", namespace, name,
                        lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__("image", image))


def test_rolling_update_respects_max_surge_and_max_unavailable(cluster) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    cluster.create(simple_deployment("web", replicas=4, strategy=strategy))
    run(cluster, 10)
    assert rolled_out(cluster, "default", "web")
    set_image(cluster, "web", "registry.local/app:v2")
    seen = {"max_total": 0, "min_available": 99, "steps": 0}

    def invariants() -> None:
        sets = cluster.list("replicasets", "default", "app=web")
        total = sum(rs["spec"]["replicas"] for rs in sets)
        available = sum(rs.get("status", {}).get("availableReplicas", 0) for rs in sets)
        assert total <= 4 + 1, "more pods than replicas + maxSurge"
        assert available >= 4 - 1, "fewer available pods than replicas - maxUnavailable"
        seen["max_total"] = max(seen["max_total"], total)
        seen["min_available"] = min(seen["min_available"], available)
        seen["steps"] += 1

    run(cluster, 30, step=0.25, check=invariants)
    assert rolled_out(cluster, "default", "web")
    # The rollout used its whole budget: it surged to 5 and dipped to 3 available.
    assert (seen["max_total"], seen["min_available"]) == (5, 3)
    revisions = by_revision(cluster, "default", "web")
    assert revisions[1]["spec"]["replicas"] == 0 and revisions[2]["spec"]["replicas"] == 4
    assert revisions[2]["metadata"]["annotations"][DESIRED] == "4" and revisions[2]["metadata"]["annotations"][MAX] == "5"
    d = cluster.get("deployments", "default", "web")
    assert d["status"] == {
        "observedGeneration": 2,
        "replicas": 4,
        "updatedReplicas": 4,
        "readyReplicas": 4,
        "availableReplicas": 4,
        "conditions": d["status"]["conditions"],
    }
    assert [c["type"] for c in d["status"]["conditions"]] == ["Available", "Progressing"]


def test_pods_become_ready_after_the_node_delays(cluster) -> None:
    cluster.create(simple_deployment("web", replicas=1))
    cluster.tick()
    [pod] = cluster.list("pods", "default", "app=web")
    rs_name = pod["metadata"]["ownerReferences"][0]["name"]
    assert pod["metadata"]["name"].startswith(rs_name + "-") and len(pod["metadata"]["name"]) == len(rs_name) + 6
    assert pod["spec"]["nodeName"] and pod["status"]["phase"] == "Pending"
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    run(cluster, 1.5)
    [pod] = cluster.list("pods", "default", "app=web")
    assert pod["status"]["phase"] == "Running" and "running" in pod["status"]["containerStatuses"][0]["state"]
    assert condition(pod, "Ready")["status"] == "False"
    assert condition(pod, "Ready")["message"] == "containers with unready status: [app]"
    run(cluster, 2)
    [pod] = cluster.list("pods", "default", "app=web")
    assert condition(pod, "Ready")["status"] == "True" and pod["status"]["containerStatuses"][0]["ready"] is True
    assert pod["status"]["podIP"].startswith("10.128.")


def test_broken_image_crash_loops_with_growing_back_off(cluster) -> None:
    cluster.create(simple_deployment("bad", replicas=1, image="registry.local/app:v2-broken"))
    run(cluster, 4.5, step=0.25)
    [pod] = cluster.list("pods", "default", "app=bad")
    status = pod["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1 and status["ready"] is False
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=app pod=")
    assert status["lastState"]["terminated"]["exitCode"] == 1 and status["lastState"]["terminated"]["reason"] == "Error"
    assert pod["status"]["phase"] == "Running"
    counts = []
    for _ in range(6):
        run(cluster, 20, step=1)
        [pod] = cluster.list("pods", "default", "app=bad")
        counts.append(pod["status"]["containerStatuses"][0]["restartCount"])
    assert counts == sorted(counts) and counts[-1] > counts[0] >= 2
    run(cluster, 60, step=1)
    [pod] = cluster.list("pods", "default", "app=bad")
    waiting = pod["status"]["containerStatuses"][0]["state"].get("waiting")
    if waiting:
        assert waiting["message"].split()[1] in ("40s", "1m20s", "2m40s", "5m0s")


def test_progress_deadline_exceeded_and_kept_once_reported(cluster) -> None:
    cluster.create(simple_deployment("web", replicas=2, progressDeadlineSeconds=60))
    run(cluster, 10)
    set_image(cluster, "web", "registry.local/app:v2-broken")
    run(cluster, 30, step=1)
    d = cluster.get("deployments", "default", "web")
    # The new ReplicaSet's first pod counted as progress; no progress since.
    assert (condition(d, "Progressing")["status"], condition(d, "Progressing")["reason"]) == ("True", "ReplicaSetUpdated")
    run(cluster, 40, step=1)
    d = cluster.get("deployments", "default", "web")
    progressing = condition(d, "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    new_rs = by_revision(cluster, "default", "web")[2]
    assert progressing["message"] == f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.'
    # replicas 2: maxSurge rounds up to 1, maxUnavailable down to 0 - the old pods keep serving.
    assert new_rs["spec"]["replicas"] == 1 and by_revision(cluster, "default", "web")[1]["spec"]["replicas"] == 2
    assert condition(d, "Available")["status"] == "True"
    run(cluster, 30, step=1)
    assert condition(cluster.get("deployments", "default", "web"), "Progressing")["reason"] == "ProgressDeadlineExceeded"


def test_scaling_mid_rollout_is_proportional(cluster) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    cluster.create(simple_deployment("web", replicas=10, strategy=strategy))
    run(cluster, 10)
    set_image(cluster, "web", "registry.local/app:v2-broken")
    run(cluster, 10)
    revisions = by_revision(cluster, "default", "web")
    assert (revisions[1]["spec"]["replicas"], revisions[2]["spec"]["replicas"]) == (8, 5)
    cluster.store.mutate("deployments", "default", "web", lambda d: d["spec"].__setitem__("replicas", 20))
    run(cluster, 1)
    revisions = by_revision(cluster, "default", "web")
    # The controller's proportional scaling: 8 * 23/13 -> 14 and 5 * 23/13 -> 9.
    assert (revisions[1]["spec"]["replicas"], revisions[2]["spec"]["replicas"]) == (14, 9)
    assert revisions[1]["metadata"]["annotations"][DESIRED] == "20" and revisions[1]["metadata"]["annotations"][MAX] == "23"


def test_revision_history_limit_prunes_the_oldest(cluster) -> None:
    cluster.create(simple_deployment("web", replicas=1, revisionHistoryLimit=2))
    run(cluster, 6)
    for version in range(2, 6):
        set_image(cluster, "web", f"registry.local/app:v{version}")
        run(cluster, 8)
    revisions = by_revision(cluster, "default", "web")
    assert sorted(revisions) == [3, 4, 5]
    assert cluster.get("deployments", "default", "web")["metadata"]["annotations"][REVISION] == "5"


def test_recreate_strategy_stops_old_pods_first(cluster) -> None:
    cluster.create(simple_deployment("web", replicas=2, strategy={"type": "Recreate"}))
    run(cluster, 6)
    set_image(cluster, "web", "registry.local/app:v2")
    cluster.tick()
    assert len(by_revision(cluster, "default", "web")) == 1
    assert by_revision(cluster, "default", "web")[1]["spec"]["replicas"] == 0
    run(cluster, 10)
    revisions = by_revision(cluster, "default", "web")
    assert revisions[2]["spec"]["replicas"] == 2 and rolled_out(cluster, "default", "web")


def test_paused_deployment_scales_but_does_not_roll(cluster) -> None:
    cluster.create(simple_deployment("web", replicas=2))
    run(cluster, 6)
    cluster.store.mutate("deployments", "default", "web", lambda d: d["spec"].__setitem__("paused", True))
    set_image(cluster, "web", "registry.local/app:v2")
    cluster.store.mutate("deployments", "default", "web", lambda d: d["spec"].__setitem__("replicas", 3))
    run(cluster, 6)
    revisions = by_revision(cluster, "default", "web")
    assert list(revisions) == [1] and revisions[1]["spec"]["replicas"] == 3
    d = cluster.get("deployments", "default", "web")
    assert condition(d, "Progressing")["reason"] == "DeploymentPaused"
    cluster.store.mutate("deployments", "default", "web", lambda d: d["spec"].__setitem__("paused", False))
    run(cluster, 15)
    assert sorted(by_revision(cluster, "default", "web")) == [1, 2] and rolled_out(cluster, "default", "web")
    assert condition(cluster.get("deployments", "default", "web"), "Progressing")["reason"] == "NewReplicaSetAvailable"
