"""Deployments use cases against the sandbox API server over HTTP: reads, actions, and every bad input."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.adapters.kubernetes_decoding import from_document
from console.domain.audit import Outcome
from console.domain.kubernetes_objects import ObjectMetadata
from console.domain.workload_patches import LAST_ACTION_ANNOTATION
from console.domain.workloads import ALIAS_ANNOTATION, CHANGE_CAUSE, RESTARTED_AT, Health
from console.errors import BackendUnavailable, Conflict, Forbidden, InvalidInput, NotFound
from console.sandbox.kube import KubeApiServer
from console.services import deployments as service
from tests.deployments.conftest import NAMESPACES, OPERATOR, VIEWER
from tests.helpers import wait_for

NS, NAME = "ml-serving", "iris-classifier"


def snapshot(kube: KubeApiServer, name: str = NAME, namespace: str = NS) -> dict[str, Any]:
    obj = kube.get("deployments", namespace, name)
    assert obj is not None
    return obj


def test_overview_makes_three_list_calls_and_reads_the_conventions(cluster: KubernetesCluster,
                                                                    kube: KubeApiServer) -> None:
    rows = service.list_deployments(cluster, VIEWER)
    assert cluster.calls == {"list deployments": 1, "list replicasets": 1, "list pods": 1}
    by_key = {row.deployment.key: row for row in rows}
    assert set(by_key) == {"ml-serving/iris-classifier", "ml-serving/wine-quality", "ml-staging/diabetes-regressor"}
    iris = by_key["ml-serving/iris-classifier"].deployment
    assert (iris.model, iris.alias, iris.model_version) == ("iris-classifier", "champion", "4")
    assert {pod.owner for pod in by_key["ml-serving/iris-classifier"].pods} == {
        rs["metadata"]["name"] for rs in kube.list("replicasets", "ml-serving")
        if rs["metadata"]["ownerReferences"][0]["uid"] == iris.uid and rs["status"].get("replicas")
    }
    revisions = service.deployment_detail(cluster, VIEWER, "ml-serving", "iris-classifier").revisions
    assert [r.number for r in revisions] == sorted((r.number for r in revisions), reverse=True)
    assert [r.is_current for r in revisions].count(True) == 1 and revisions[0].is_current


def test_the_overview_reads_each_replica_sets_metadata_and_skips_the_rest(cluster: KubernetesCluster,
                                                                        kube: KubeApiServer) -> None:
    read = cluster.list_replica_set_metadata()
    stored = [rs for namespace in NAMESPACES for rs in kube.list("replicasets", namespace)]
    assert len(stored) > 3
    assert sorted(read, key=lambda rs: rs.metadata.uid) == sorted(
        (from_document(ObjectMetadata, {"metadata": rs["metadata"]}) for rs in stored),
        key=lambda rs: rs.metadata.uid)
    # The stored metadata's fields, read through the typed objects.
    by_uid = {rs["metadata"]["uid"]: rs["metadata"] for rs in stored}
    for rs in read:
        stored_metadata = by_uid[rs.metadata.uid]
        assert (rs.metadata.name, rs.metadata.resource_version, rs.metadata.annotations) == (
            stored_metadata["name"], stored_metadata["resourceVersion"], stored_metadata.get("annotations", {}))
        assert rs.metadata.controller_uid == stored_metadata["ownerReferences"][0]["uid"]


class _SignInPage(BaseHTTPRequestHandler):
    """What a misconfigured route or an authenticating proxy answers: 200 and a page of HTML (or, for pods,
    JSON that is not a list)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        is_json = "/pods" in self.path
        body = b'{"kind": "Page"}' if is_json else b"<html><body>Please sign in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if is_json else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def test_an_answer_that_is_not_kubernetes_json_is_a_clear_error(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SignInPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "proxy",
        "clusters": [{"name": "proxy", "cluster": {"server": address}}],
        "users": [{"name": "someone", "user": {"token": "t"}}],
        "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "someone"}}],
    }))
    try:
        cluster = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=kubeconfig, timeout_seconds=5)
        expected = (f"The Kubernetes API at {address} answered list replicasets across namespaces with something "
                    "that is not Kubernetes JSON")
        with pytest.raises(BackendUnavailable, match=re.escape(expected)):
            cluster.list_replica_set_metadata()
        with pytest.raises(BackendUnavailable, match="answered list deployments across namespaces with something"):
            service.list_deployments(cluster, VIEWER)
        with pytest.raises(BackendUnavailable, match=r"answered list pods .* not Kubernetes JSON \(Object missing required field `items`\)"):
            cluster.list_pods()
    finally:
        server.shutdown()
        server.server_close()


def test_crash_looping_deployment_is_degraded(cluster: KubernetesCluster) -> None:
    def wine() -> Any:
        return next(r.deployment for r in service.list_deployments(cluster, VIEWER) if r.deployment.name == "wine-quality")

    # Degraded at once (its rollout is past the progress deadline); the pods' reason shows while they are in
    # back-off, not during the seconds each restarted container runs before it crashes again.
    assert wine().health is Health.DEGRADED
    wait_for(lambda: (current := wine()).health is Health.DEGRADED and "CrashLoopBackOff" in current.health_reason)


def test_detail_has_history_pods_and_events(cluster: KubernetesCluster) -> None:
    detail = service.deployment_detail(cluster, VIEWER, NS, NAME)
    assert detail.revisions[0].is_current and detail.revisions[0].model_version == "4"
    assert all(pod.owner == detail.revisions[0].replica_set for pod in detail.pods)
    assert detail.deployment.change_cause


def test_scale_keeps_the_revision_history_true_and_leaves_one_audit_record(
    cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    before = service.deployment_detail(cluster, OPERATOR, NS, NAME)
    cause = before.deployment.change_cause
    result = service.scale(cluster, audit, OPERATOR, namespace=NS, name=NAME, replicas=5,
                           seen_resource_version=before.deployment.resource_version, reason="traffic peak",
                           max_replicas=50)
    obj = snapshot(kube)
    assert obj["spec"]["replicas"] == 5 == result.deployment.desired
    # A scale makes no revision: the change-cause stays the one of the revision (the controller copies it onto
    # the current ReplicaSet), and the scale is noted in the console's own annotation.
    assert obj["metadata"]["annotations"][CHANGE_CAUSE] == cause
    assert obj["metadata"]["annotations"][LAST_ACTION_ANNOTATION] == "oscar: scale to 5 - traffic peak"
    current = service.deployment_detail(cluster, OPERATOR, NS, NAME).revisions[0]
    assert current.change_cause == before.revisions[0].change_cause
    [record] = audit.query()
    assert (record.outcome, record.action, record.target) == (Outcome.SUCCEEDED, "scale", f"{NS}/{NAME}")
    assert record.before["replicas"] == before.deployment.desired and record.after["replicas"] == 5
    wait_for(lambda: snapshot(kube)["status"].get("readyReplicas") == 5)


@pytest.mark.parametrize(
    ("replicas", "message"),
    [(-1, "cannot be negative"), (51, "at most 50"), ("2.5", "whole number"), (2.5, "whole number"),
     ("many", "whole number"), (True, "whole number")],
)
def test_bad_replicas_change_nothing(cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore,
                                     replicas: object, message: str) -> None:
    before = snapshot(kube)
    with pytest.raises(InvalidInput, match=message):
        service.scale(cluster, audit, OPERATOR, namespace=NS, name=NAME, replicas=replicas,
                      seen_resource_version=before["metadata"]["resourceVersion"], reason="r", max_replicas=50)
    assert snapshot(kube)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    [record] = audit.query()
    assert record.outcome is Outcome.FAILED and message in record.error


def test_stale_resource_version_is_a_conflict(cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore) -> None:
    seen = snapshot(kube)["metadata"]["resourceVersion"]
    service.scale(cluster, audit, OPERATOR, namespace=NS, name=NAME, replicas=4, seen_resource_version=seen,
                  reason="first", max_replicas=50)
    after_first = snapshot(kube)
    with pytest.raises(Conflict, match="changed since you loaded it - reload"):
        service.scale(cluster, audit, OPERATOR, namespace=NS, name=NAME, replicas=1, seen_resource_version=seen,
                      reason="second", max_replicas=50)
    assert snapshot(kube)["spec"]["replicas"] == 4
    assert snapshot(kube)["metadata"]["annotations"][CHANGE_CAUSE] == after_first["metadata"]["annotations"][CHANGE_CAUSE]
    assert [r.outcome for r in audit.query()] == [Outcome.FAILED, Outcome.SUCCEEDED]


def test_viewer_is_denied_before_any_request(cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore) -> None:
    before = snapshot(kube)
    with pytest.raises(Forbidden, match="may not operate deployments"):
        service.restart(cluster, audit, VIEWER, namespace=NS, name=NAME,
                        seen_resource_version=before["metadata"]["resourceVersion"], reason="r")
    assert cluster.calls == {}
    assert [r.outcome for r in audit.query()] == [Outcome.DENIED]


def test_namespace_outside_the_allow_list(cluster: KubernetesCluster, audit: AuditStore) -> None:
    with pytest.raises(Forbidden, match="Namespace 'kube-system' is not managed by this console"):
        service.scale(cluster, audit, OPERATOR, namespace="kube-system", name="coredns", replicas=1,
                      seen_resource_version="1", reason="r", max_replicas=50)
    assert cluster.calls == {}


def test_forbidden_by_the_api_names_verb_resource_and_namespace(cluster: KubernetesCluster, kube: KubeApiServer,
                                                                 audit: AuditStore) -> None:
    kube.policy.deny(verb="patch", resource="deployments", namespace=NS)
    before = snapshot(kube)
    with pytest.raises(Forbidden, match="may not patch deployments in namespace ml-serving"):
        service.scale(cluster, audit, OPERATOR, namespace=NS, name=NAME, replicas=2,
                      seen_resource_version=before["metadata"]["resourceVersion"], reason="r", max_replicas=50)
    assert snapshot(kube)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert audit.query()[0].outcome is Outcome.FAILED


def test_deleted_deployment_is_not_found(cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore) -> None:
    with pytest.raises(NotFound, match="gone"):
        service.restart(cluster, audit, OPERATOR, namespace=NS, name="no-such-model", seen_resource_version="1",
                        reason="r")


def test_unreachable_and_slow_api_answer_within_the_timeout(cluster: KubernetesCluster, kube: KubeApiServer,
                                                            tmp_path) -> None:  # type: ignore[no-untyped-def]
    kube.faults.add(verb="list", resource="deployments", latency_seconds=5)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="did not answer in time"):
        service.list_deployments(cluster, VIEWER)
    assert time.monotonic() - started < 4
    kube.faults.clear()
    address = kube.url
    kube.stop()
    fresh = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=tmp_path / "kubeconfig", timeout_seconds=2)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match=f"The Kubernetes API at {address} is not reachable"):
        service.list_deployments(fresh, VIEWER)
    assert time.monotonic() - started < 4


def test_restart_pause_and_resume(cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore) -> None:
    seen = snapshot(kube)["metadata"]["resourceVersion"]
    service.restart(cluster, audit, OPERATOR, namespace=NS, name=NAME, seen_resource_version=seen, reason="stuck")
    obj = snapshot(kube)
    assert RESTARTED_AT in obj["spec"]["template"]["metadata"]["annotations"]
    assert obj["metadata"]["annotations"][CHANGE_CAUSE] == "oscar: restart - stuck"
    result = service.set_paused(cluster, audit, OPERATOR, namespace=NS, name=NAME, paused=True,
                                seen_resource_version=obj["metadata"]["resourceVersion"], reason="investigate")
    assert snapshot(kube)["spec"]["paused"] is True and result.deployment.paused
    with pytest.raises(Conflict, match="paused"):
        service.rollback(cluster, audit, OPERATOR, namespace=NS, name=NAME, to_revision=1,
                         seen_resource_version=result.deployment.resource_version, reason="r")
    resumed = service.set_paused(cluster, audit, OPERATOR, namespace=NS, name=NAME, paused=False,
                                 seen_resource_version=snapshot(kube)["metadata"]["resourceVersion"], reason="done")
    assert snapshot(kube)["spec"]["paused"] is False and resumed.changed
    assert [r.action for r in audit.query()] == ["resume", "rollback", "pause", "restart"]


def follow_no_alias(kube: KubeApiServer) -> None:
    """Make iris-classifier a Deployment that follows no alias: a plain rollback may then change its model."""
    obj = kube.get("deployments", NS, NAME)
    del obj["metadata"]["annotations"][ALIAS_ANNOTATION]
    kube.store.update("deployments", obj)


def test_rollback_reuses_the_old_replica_set_like_kubectl(cluster: KubernetesCluster, kube: KubeApiServer,
                                                          audit: AuditStore) -> None:
    follow_no_alias(kube)
    detail = service.deployment_detail(cluster, OPERATOR, NS, NAME)
    newest = detail.revisions[0].number
    target = detail.revisions[-1]
    plan = service.plan_rollback(cluster, OPERATOR, namespace=NS, name=NAME, to_revision=target.number)
    assert any(change.what == "model version" for change in plan.changes)
    result = service.rollback(cluster, audit, OPERATOR, namespace=NS, name=NAME, to_revision=target.number,
                              seen_resource_version=detail.deployment.resource_version, reason="bad model")
    assert result.changed and result.deployment.model_version == target.model_version

    def reused() -> bool:
        rs = kube.get("replicasets", NS, target.replica_set)
        return rs is not None and rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == str(newest + 1)

    wait_for(reused)
    obj = snapshot(kube)
    assert obj["metadata"]["annotations"][CHANGE_CAUSE] == "oscar: rollback - bad model"
    assert "pod-template-hash" not in obj["spec"]["template"]["metadata"].get("labels", {})
    # Rolling back to what is already current is skipped, with a message and a record.
    again = service.rollback(cluster, audit, OPERATOR, namespace=NS, name=NAME, to_revision=newest + 1,
                             seen_resource_version=obj["metadata"]["resourceVersion"], reason="again")
    assert not again.changed and "already matches" in again.message
    assert snapshot(kube)["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_a_rollback_that_changes_the_served_model_is_refused(cluster: KubernetesCluster, kube: KubeApiServer,
                                                             audit: AuditStore) -> None:
    detail = service.deployment_detail(cluster, OPERATOR, NS, NAME)
    target = detail.revisions[-1]
    plan = service.plan_rollback(cluster, OPERATOR, namespace=NS, name=NAME, to_revision=target.number)
    assert plan.model_change is not None
    assert plan.model_change.text == (f"{NS}/{NAME} would serve iris-classifier version {target.model_version} "
                                      f"while alias 'champion' stays on version {detail.deployment.model_version}")
    before = snapshot(kube)
    with pytest.raises(service.ServedModelWouldChange, match="Roll the model back with it") as refused:
        service.rollback(cluster, audit, OPERATOR, namespace=NS, name=NAME, to_revision=target.number,
                         seen_resource_version=detail.deployment.resource_version, reason="bad model")
    assert refused.value.change.to_revision == target.number
    assert snapshot(kube)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    [record] = audit.query()
    assert record.outcome is Outcome.FAILED and "would make it serve" in record.error


def test_rollback_to_a_missing_revision(cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore) -> None:
    before = snapshot(kube)
    with pytest.raises(NotFound, match="has no revision 99"):
        service.rollback(cluster, audit, OPERATOR, namespace=NS, name=NAME, to_revision=99,
                         seen_resource_version=before["metadata"]["resourceVersion"], reason="r")
    assert snapshot(kube)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert audit.query()[0].outcome is Outcome.FAILED


def test_namespaced_roles_only_fall_back_to_per_namespace_lists(cluster: KubernetesCluster, kube: KubeApiServer) -> None:
    for resource in ("deployments", "replicasets", "pods"):
        kube.policy.deny(verb="list", resource=resource, namespace="")  # cluster-wide lists only
    rows = service.list_deployments(cluster, VIEWER)
    assert len(rows) == 3
    assert set(NAMESPACES) == {row.deployment.namespace for row in rows}
