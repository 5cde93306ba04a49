"""A seeded MLflow store (session, copied per test), the sandbox Kubernetes API server and an audit store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.adapters.kubernetes import KubernetesCluster
from console.adapters.mlflow_registry import MlflowRegistry
from console.domain.access import Actor, Role
from console.sandbox.kube import KubeApiServer
from console.sandbox.mlflow_seed import seed_mlflow
from tests.mlflow.conftest import (  # noqa: F401 - fixtures shared with the MLflow tests
    SEED_NOW,
    SeededStore,
    _restore_mlflow_environment,
    mlflow_server,
    registry,
    store_copy,
)

NAMESPACES = ("ml-serving", "ml-staging")
VIEWER = Actor("vera", "Vera", Role.VIEWER)
OPERATOR = Actor("oscar", "Oscar", Role.OPERATOR)
ADMIN = Actor("ada", "Ada", Role.ADMIN)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededStore:
    """The demo registry with the fewest runs the seed allows: the promotion tests need versions, not runs."""
    db_path = tmp_path_factory.mktemp("promotion-seed") / "mlflow.db"
    summary = seed_mlflow(f"sqlite:///{db_path}", now=SEED_NOW, runs_per_experiment=8)
    return SeededStore(db_path=db_path, summary=summary)


@pytest.fixture()
def cluster(kube: KubeApiServer, tmp_path: Path) -> Iterator[KubernetesCluster]:
    adapter = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=tmp_path / "kubeconfig", timeout_seconds=10)
    yield adapter
    adapter.close()


def template_of(kube: KubeApiServer, namespace: str, name: str) -> dict[str, Any]:
    obj = kube.get("deployments", namespace, name)
    assert obj is not None
    return obj["spec"]["template"]


def served_version(kube: KubeApiServer, namespace: str, name: str) -> tuple[str, str]:
    """(model-version annotation, MODEL_URI) of a deployment's pod template."""
    template = template_of(kube, namespace, name)
    uri = next(item["value"] for c in template["spec"]["containers"] for item in c.get("env", [])
               if item["name"] == "MODEL_URI")
    return template["metadata"]["annotations"]["mlops.console/model-version"], uri


def holder(registry: MlflowRegistry, model: str, alias: str = "champion") -> int | None:
    return registry.get_registered_model(model).aliases.get(alias)
