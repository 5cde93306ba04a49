"""The promotion through a real ``mlflow server`` on loopback, and the pure patch rules."""

from __future__ import annotations

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.adapters.mlflow_registry import MlflowRegistry
from console.domain.audit import Outcome
from console.adapters.kubernetes_decoding import from_document
from console.domain.kubernetes_objects import Deployment, ReplicaSet
from console.domain.workload_patches import model_version_patch
from console.domain.workloads import DeploymentInfo, newest_revision_serving, revision_of
from console.sandbox.kube import KubeApiServer
from console.services.promotion import ModelRollbackRequest, PromoteRequest, Promotions
from tests.mlflow.conftest import MlflowServer
from tests.promotion.conftest import OPERATOR, served_version


def test_promote_and_roll_back_through_a_real_mlflow_server(
    mlflow_server: MlflowServer, cluster: KubernetesCluster, kube: KubeApiServer, audit: AuditStore
) -> None:
    registry = MlflowRegistry(mlflow_server.url, timeout_seconds=30)
    promotions = Promotions(registry=registry, cluster=cluster, audit=audit)
    promotions.promote(PromoteRequest(actor=OPERATOR, model="iris-classifier", version=5,
                                      reason="served by the real server"))
    assert registry.get_registered_model("iris-classifier").aliases["champion"] == 5
    assert served_version(kube, "ml-serving", "iris-classifier")[0] == "5"
    promotions.roll_back(ModelRollbackRequest(actor=OPERATOR, model="iris-classifier", reason="back again"))
    assert registry.get_registered_model("iris-classifier").aliases["champion"] == 4
    assert served_version(kube, "ml-serving", "iris-classifier")[0] == "4"
    assert [r.outcome for r in audit.query()] == [Outcome.SUCCEEDED, Outcome.SUCCEEDED]


def test_model_version_patch_replaces_model_uri_and_guards_the_resource_version(kube: KubeApiServer) -> None:
    deployment = DeploymentInfo(from_document(Deployment, kube.get("deployments", "ml-serving", "iris-classifier")))
    operations = model_version_patch(deployment, model="iris-classifier", version=7, cause="u: promote - r")
    assert operations[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": deployment.resource_version}
    assert operations[1] == {"op": "replace", "path": "/spec/template/spec/containers/0/env/0",
                             "value": {"name": "MODEL_URI", "value": "models:/iris-classifier/7"}}
    assert operations[2]["path"] == "/spec/template/metadata/annotations/mlops.console~1model-version"
    assert operations[3]["value"] == "u: promote - r"


def test_newest_revision_serving_a_version(kube: KubeApiServer) -> None:
    revisions = [revision_of(from_document(ReplicaSet, rs), is_current=False) for rs in kube.list("replicasets", "ml-serving")
                 if rs["metadata"]["name"].startswith("wine-quality")]
    assert newest_revision_serving(revisions, 2).number == 4  # type: ignore[union-attr]
    assert newest_revision_serving(revisions, 9) is None


def test_compare_figures_use_webgl_above_500_points() -> None:
    from datetime import UTC, datetime

    from console.domain.mlflow_models import MetricHistory, MetricPoint, RunSummary
    from console.ui.figures import compare_figures

    def run(i: int) -> RunSummary:
        return RunSummary(f"r{i}", f"run-{i}", "1", "FINISHED", None, None, "u", "", params={"model": "xgb" if i % 2 else "rf"},
                          metrics={"auc": i / 1000, "loss": 1 - i / 1000})

    at = datetime(2026, 1, 1, tzinfo=UTC)
    for count, kind in ((10, "scatter"), (600, "scattergl")):
        runs = [run(i) for i in range(count)]
        histories = {(r.run_id, "auc"): MetricHistory(r.run_id, "auc", (MetricPoint(0, 0.5, at), MetricPoint(1, 0.6, at)))
                     for r in runs}
        history, parallel, scatter = compare_figures(runs, histories, metric_keys=["auc"], param_keys=["model"],
                                                     scatter=("auc", "loss"))
        assert scatter.data[0].type == kind and len(scatter.data[0].x) == count
        assert parallel.data[0].type == "parcoords" and len(parallel.data[0].dimensions) == 2
        assert len(history.data) == (count if count <= 20 else 1)
