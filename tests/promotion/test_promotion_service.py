"""Promotion and model rollback as one audited action over a real SQLite MLflow store and the sandbox API server.

After every success and every failure the registry (alias, version tags) and the cluster (pod templates) are
asserted, so that they never disagree.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from mlflow import MlflowClient

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.adapters.mlflow_registry import MlflowRegistry
from console.domain.audit import Outcome
from console.domain.promotion import (
    TAG_GATE_OVERRIDDEN,
    TAG_PREVIOUS_HOLDER,
    TAG_PROMOTED_BY,
    TAG_PROMOTION_REASON,
)
from console.domain.workloads import ALIAS_ANNOTATION, CHANGE_CAUSE, MODEL_LABEL, REVISION
from console.errors import BackendUnavailable, Conflict, Forbidden, InvalidInput, NotFound
from console.sandbox.catalog import DEMO_SERVICES
from console.sandbox.kube import KubeApiServer, RevisionSpec, seed_deployment
from console.sandbox.kube.demo import serving_template
from console.services import models
from console.services.promotion import (
    ModelRollbackRequest,
    PromoteRequest,
    PromotionGateFailed,
    Promotions,
    PromotionUndone,
)
from tests.promotion.conftest import ADMIN, OPERATOR, VIEWER, holder, served_version, template_of

IRIS = "iris-classifier"
DIABETES = "diabetes-regressor"
SERVING = "ml-serving"


def snapshot(registry: MlflowRegistry, kube: KubeApiServer, model: str = IRIS) -> dict[str, object]:
    """Everything a failed action must leave as it was."""
    versions = {v.version: v.tags for v in registry.search_model_versions(model)}
    deployments = {
        f"{d['metadata']['namespace']}/{d['metadata']['name']}": d["spec"]["template"]
        for d in kube.list("deployments") if d["metadata"]["labels"].get(MODEL_LABEL) == model
    }
    return {"aliases": registry.get_registered_model(model).aliases, "version_tags": versions,
            "templates": deployments}


def _promote(registry, cluster, audit, actor=OPERATOR, **options):  # type: ignore[no-untyped-def]
    options.setdefault("model", IRIS)
    options.setdefault("version", 5)
    options.setdefault("reason", "v5 wins offline eval")
    return Promotions(registry=registry, cluster=cluster, audit=audit).promote(PromoteRequest(actor=actor, **options))


def rollback_model(*, registry, cluster, audit, actor, **options):  # type: ignore[no-untyped-def]
    return Promotions(registry=registry, cluster=cluster, audit=audit).roll_back(
        ModelRollbackRequest(actor=actor, **options))


def rollback_target(registry, audit, **options):  # type: ignore[no-untyped-def]
    return Promotions(registry=registry, cluster=None, audit=audit).rollback_target(VIEWER, **options)


def following_deployments(cluster, actor, **options):  # type: ignore[no-untyped-def]
    return Promotions(registry=None, cluster=cluster, audit=None).following_deployments(actor, **options)  # type: ignore[arg-type]


def test_promote_moves_alias_tags_and_the_following_deployment_in_one_record(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    assert [d.key for d in following_deployments(cluster, VIEWER, model=IRIS, alias="champion")] == [
        "ml-serving/iris-classifier"]
    result = _promote(registry, cluster, audit)

    assert holder(registry, IRIS) == 5
    tags = registry.get_model_version(IRIS, 5).tags
    assert tags[TAG_PROMOTED_BY] == "oscar"
    assert tags[TAG_PROMOTION_REASON] == "v5 wins offline eval"
    assert tags[TAG_PREVIOUS_HOLDER] == "4"
    assert served_version(kube, SERVING, IRIS) == ("5", "models:/iris-classifier/5")
    deployment = kube.get("deployments", SERVING, IRIS)
    assert deployment["metadata"]["annotations"][CHANGE_CAUSE] == "oscar: promote - v5 wins offline eval"
    assert result.rollout_targets == ((SERVING, IRIS),)
    assert "rolling out to ml-serving/iris-classifier" in result.message

    [record] = audit.query()
    assert (record.outcome, record.action, record.target) == (Outcome.SUCCEEDED, "promote", "iris-classifier@champion")
    assert record.before["holder"] == 4 and record.after["holder"] == 5
    assert record.before["deployments"]["ml-serving/iris-classifier"]["modelVersion"] == "4"
    assert record.after["deployments"]["ml-serving/iris-classifier"]["modelVersion"] == "5"
    history = models.alias_holder_at(registry, audit, VIEWER, model=IRIS, alias="champion", at=datetime.now(UTC) + timedelta(days=1))
    assert history.version == 5


def test_failed_gate_blocks_an_operator_and_changes_nothing(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    before = snapshot(registry, kube, DIABETES)
    with pytest.raises(PromotionGateFailed) as caught:
        _promote(registry, cluster, audit, model=DIABETES, version=4)
    assert "r2" in caught.value.gate.explanation
    assert snapshot(registry, kube, DIABETES) == before
    assert [r.outcome for r in audit.query()] == [Outcome.FAILED]
    # An operator may not override: denied before anything is read.
    with pytest.raises(Forbidden, match="override a failed promotion gate"):
        _promote(registry, cluster, audit, model=DIABETES, version=4, override_gate=True)
    assert snapshot(registry, kube, DIABETES) == before
    assert audit.query()[0].outcome is Outcome.DENIED


def test_admin_overrides_a_failed_gate_with_a_reason(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    result = _promote(registry, cluster, audit, actor=ADMIN, model=DIABETES, version=4, override_gate=True,
                      reason="latency win outweighs r2")
    assert result.overridden
    assert holder(registry, DIABETES) == 4
    assert registry.get_model_version(DIABETES, 4).tags[TAG_GATE_OVERRIDDEN] == "true"
    # The override says so in the change-cause of the revision it makes and in the version's tags.
    assert registry.get_model_version(DIABETES, 4).tags["mlops.console/change-cause"] == (
        "ada: promote champion (gate overridden) - latency win outweighs r2")
    staging = kube.get("deployments", "ml-staging", DIABETES)
    assert staging["metadata"]["annotations"][CHANGE_CAUSE] == "ada: promote (gate overridden) - latency win outweighs r2"
    assert served_version(kube, "ml-staging", DIABETES) == ("4", "models:/diabetes-regressor/4")
    [record] = audit.query()
    assert record.outcome is Outcome.SUCCEEDED and "gate overridden" in record.error


def test_viewer_is_denied_and_nothing_changes(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    before = snapshot(registry, kube)
    with pytest.raises(Forbidden, match="may not promote models"):
        _promote(registry, cluster, audit, actor=VIEWER)
    with pytest.raises(Forbidden):
        rollback_model(registry=registry, cluster=cluster, audit=audit, actor=VIEWER, model=IRIS, reason="r")
    assert snapshot(registry, kube) == before
    assert cluster.calls == {}
    assert [r.outcome for r in audit.query()] == [Outcome.DENIED, Outcome.DENIED]


def test_kubernetes_refusal_undoes_the_alias_move(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    before = snapshot(registry, kube)
    kube.policy.deny(verb="patch", resource="deployments", namespace=SERVING)
    with pytest.raises(PromotionUndone, match="may not patch deployments in namespace ml-serving") as caught:
        _promote(registry, cluster, audit)
    assert "alias 'champion' back on version 4" in str(caught.value)
    assert snapshot(registry, kube) == before
    [record] = audit.query()
    assert record.outcome is Outcome.FAILED
    assert "undone: alias 'champion' back on version 4" in record.error
    # The history tells the truth: a promotion, then its automatic undo.
    history = {h.alias: h for h in models.promotion_history(registry, audit, VIEWER, model=IRIS)}["champion"]
    assert [r.action for r in history.records[-2:]] == ["promote", "undo"]


def _second_follower(kube: KubeApiServer) -> None:
    """An iris canary in ml-staging that follows champion too, on version 4."""
    service = dataclasses.replace(DEMO_SERVICES[0], namespace="ml-staging", deployment="iris-canary")
    at = datetime.now(UTC) - timedelta(days=2)
    seed_deployment(
        kube, namespace="ml-staging", name="iris-canary",
        labels={"app": "iris-canary", MODEL_LABEL: IRIS}, annotations={ALIAS_ANNOTATION: "champion"}, replicas=1,
        revisions=[RevisionSpec(serving_template(service, v, service.image_repository + f":v{v}"),
                                at + timedelta(hours=i), f"admin: promote - v{v}") for i, v in enumerate((3, 4))],
    )


def test_second_deployment_failing_rolls_the_first_back(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    _second_follower(kube)
    before = snapshot(registry, kube)
    assert len(before["templates"]) == 2  # type: ignore[arg-type]
    kube.faults.add(verb="patch", resource="deployments", namespace="ml-staging", status=500)
    with pytest.raises(PromotionUndone) as caught:
        _promote(registry, cluster, audit)
    assert "ml-serving/iris-classifier rolled back" in str(caught.value)
    after = snapshot(registry, kube)
    assert after["aliases"] == before["aliases"]
    assert after["version_tags"] == before["version_tags"]
    for key, template in before["templates"].items():  # type: ignore[union-attr]
        now = after["templates"][key]  # type: ignore[index]
        assert now["metadata"]["annotations"] == template["metadata"]["annotations"]
        assert now["spec"] == template["spec"]
    assert audit.query()[0].outcome is Outcome.FAILED


def test_model_rollback_moves_alias_back_and_rolls_back_to_the_revision_that_served_it(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    assert rollback_target(registry, audit, model="wine-quality") == (4, 2)
    result = rollback_model(registry=registry, cluster=cluster, audit=audit, actor=OPERATOR, model="wine-quality",
                            reason="v4 crash-loops")
    assert holder(registry, "wine-quality") == 2
    assert served_version(kube, SERVING, "wine-quality") == ("2", "models:/wine-quality/2")
    [change] = result.deployments
    assert (change.method, change.to_revision) == ("rollback", 4)  # revision 4 is the newest that served v2
    deployment = kube.get("deployments", SERVING, "wine-quality")
    assert deployment["metadata"]["annotations"][CHANGE_CAUSE] == "oscar: model-rollback - v4 crash-loops"
    [record] = audit.query()
    assert (record.outcome, record.action) == (Outcome.SUCCEEDED, "model-rollback")
    assert record.before["holder"] == 4 and record.after["holder"] == 2
    assert record.after["deployments"]["ml-serving/wine-quality"]["toRevision"] == 4


def test_promote_then_roll_back(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    _promote(registry, cluster, audit)
    kube.tick()
    result = rollback_model(registry=registry, cluster=cluster, audit=audit, actor=OPERATOR, model=IRIS,
                            reason="v5 regressed live", expected_holder=5)
    assert result.version == 4 and holder(registry, IRIS) == 4
    assert served_version(kube, SERVING, IRIS) == ("4", "models:/iris-classifier/4")
    assert result.deployments[0].method == "rollback"
    assert [r.outcome for r in audit.query()] == [Outcome.SUCCEEDED, Outcome.SUCCEEDED]


def test_model_rollback_undone_when_kubernetes_fails(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    before = snapshot(registry, kube, "wine-quality")
    kube.policy.deny(verb="patch", resource="deployments", namespace=SERVING)
    with pytest.raises(PromotionUndone, match="alias 'champion' back on version 4"):
        rollback_model(registry=registry, cluster=cluster, audit=audit, actor=OPERATOR, model="wine-quality",
                       reason="r")
    assert snapshot(registry, kube, "wine-quality") == before
    [record] = audit.query()
    assert record.outcome is Outcome.FAILED and "undone" in record.error


def test_bad_requests_get_clear_messages_and_change_nothing(
    registry: MlflowRegistry, store_copy: str, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    client = MlflowClient(tracking_uri=store_copy, registry_uri=store_copy)
    client.set_model_version_tag(IRIS, "3", "mlops.console/archived", "true")
    client.delete_model_version(IRIS, "2")
    before = snapshot(registry, kube)
    cases = [
        (dict(model="no-such-model"), NotFound, "no registered model 'no-such-model'"),
        (dict(version=99), NotFound, "has no version 99"),
        (dict(version=2), NotFound, "has no version 2"),
        (dict(version=3), Conflict, "archived"),
        (dict(alias="bad alias!"), InvalidInput, "not valid"),
        (dict(version="abc"), InvalidInput, "not valid"),
        (dict(reason="  "), InvalidInput, "Give a reason"),
        (dict(version=5, expected_holder=3), Conflict, "changed since you loaded it"),
    ]
    for options, error, message in cases:
        with pytest.raises(error, match=message):
            _promote(registry, cluster, audit, **options)
        assert snapshot(registry, kube) == before, options
    with pytest.raises(NotFound, match="nothing to roll back"):
        rollback_model(registry=registry, cluster=cluster, audit=audit, actor=OPERATOR, model=IRIS, alias="staging",
                       reason="r")
    assert snapshot(registry, kube) == before
    assert all(r.outcome is Outcome.FAILED for r in audit.query())
    assert len(audit.query()) == len(cases) + 1


def test_rollback_to_a_deleted_previous_holder_is_refused(
    registry: MlflowRegistry, store_copy: str, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    MlflowClient(tracking_uri=store_copy, registry_uri=store_copy).delete_model_version("wine-quality", "2")
    before = snapshot(registry, kube, "wine-quality")
    with pytest.raises(NotFound, match="previous holder .* no longer exists"):
        rollback_model(registry=registry, cluster=cluster, audit=audit, actor=OPERATOR, model="wine-quality",
                       reason="r")
    assert snapshot(registry, kube, "wine-quality") == before


def test_paused_follower_refuses_the_promotion(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    cluster.patch_deployment(SERVING, IRIS, [{"op": "add", "path": "/spec/paused", "value": True}])
    before = snapshot(registry, kube)
    with pytest.raises(Conflict, match="paused"):
        _promote(registry, cluster, audit)
    assert snapshot(registry, kube) == before


def test_without_kubernetes_only_the_registry_changes(
    registry: MlflowRegistry, kube: KubeApiServer, audit: AuditStore
) -> None:
    result = _promote(registry, None, audit)
    assert holder(registry, IRIS) == 5 and not result.kubernetes_connected and result.deployments == ()
    assert served_version(kube, SERVING, IRIS)[0] == "4"
    assert "Kubernetes not connected" in audit.query()[0].error


@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung server)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def test_mlflow_down_or_slow_changes_nothing(
    silent_port: int, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    before = {key: template_of(kube, SERVING, key) for key in (IRIS, "wine-quality")}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = MlflowRegistry(f"http://127.0.0.1:{closed_port}", timeout_seconds=1)
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        _promote(down, cluster, audit)
    slow = MlflowRegistry(f"http://127.0.0.1:{silent_port}", timeout_seconds=1)
    with pytest.raises(BackendUnavailable, match="did not answer within 1 s"):
        rollback_model(registry=slow, cluster=cluster, audit=audit, actor=OPERATOR, model=IRIS, reason="r")
    assert {key: template_of(kube, SERVING, key) for key in (IRIS, "wine-quality")} == before
    assert [r.outcome for r in audit.query()] == [Outcome.FAILED, Outcome.FAILED]
    assert kube.get("deployments", SERVING, IRIS)["metadata"]["annotations"][REVISION] == "4"


def test_revision_history_stays_true_after_scale_pause_and_resume(
    registry: MlflowRegistry, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from console.services import deployments
    from tests.helpers import kubectl_binary

    _promote(registry, cluster, audit)
    kube.tick()
    for action in ("scale", "pause", "resume"):
        seen = kube.get("deployments", SERVING, IRIS)["metadata"]["resourceVersion"]
        if action == "scale":
            deployments.scale(cluster, audit, OPERATOR, namespace=SERVING, name=IRIS, replicas=4,
                              seen_resource_version=seen, reason="traffic peak", max_replicas=50)
        else:
            deployments.set_paused(cluster, audit, OPERATOR, namespace=SERVING, name=IRIS, paused=action == "pause",
                                   seen_resource_version=seen, reason=f"{action} for a look")
        kube.tick()
    history = subprocess.run([kubectl_binary(), "--kubeconfig", str(tmp_path / "kubeconfig"), "rollout", "history",
                              f"deployment/{IRIS}", "-n", SERVING], capture_output=True, text=True, timeout=30)
    assert history.returncode == 0, history.stderr
    newest = history.stdout.strip().splitlines()[-1]
    assert newest.split(None, 1)[1].strip() == "oscar: promote - v5 wins offline eval", history.stdout
