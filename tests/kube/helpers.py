"""Small helpers shared by the sandbox API server tests."""

from __future__ import annotations

from typing import Any

from console.sandbox.kube import KubeApiServer
from tests.helpers import wait_for  # noqa: F401 - the one wait_for, re-exported for the kube tests

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH = "pod-template-hash"


def replica_sets(server: KubeApiServer, namespace: str, deployment: str) -> list[dict[str, Any]]:
    uid = server.get("deployments", namespace, deployment)["metadata"]["uid"]
    return [
        rs for rs in server.list("replicasets", namespace)
        if any(ref.get("uid") == uid for ref in rs["metadata"].get("ownerReferences") or [])
    ]


def by_revision(server: KubeApiServer, namespace: str, deployment: str) -> dict[int, dict[str, Any]]:
    return {int(rs["metadata"]["annotations"][REVISION]): rs for rs in replica_sets(server, namespace, deployment)}


def rolled_out(server: KubeApiServer, namespace: str, name: str) -> bool:
    """What ``kubectl rollout status`` calls done."""
    d = server.get("deployments", namespace, name)
    status = d.get("status", {})
    replicas = d["spec"]["replicas"]
    return (
        d["metadata"]["generation"] <= status.get("observedGeneration", 0)
        and status.get("updatedReplicas", 0) == replicas
        and status.get("replicas", 0) == replicas
        and status.get("availableReplicas", 0) == replicas
    )


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in obj.get("status", {}).get("conditions") or [] if c["type"] == type_), None)


def simple_deployment(name: str, *, namespace: str = "default", image: str = "registry.local/app:v1", replicas: int = 2,
                      **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]},
            },
            **spec,
        },
    }
