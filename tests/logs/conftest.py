"""A sandbox Kubernetes API server with the demo world, shared by the service and page tests of this package."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Role
from console.sandbox.kube import KubeApiServer, seed_demo_world
from tests.helpers import validated_kube_server

NAMESPACES = ("ml-serving", "ml-staging")


@pytest.fixture(scope="package")
def kube_server() -> Iterator[KubeApiServer]:
    with validated_kube_server() as server:
        seed_demo_world(server, now=datetime.now(timezone.utc))
        yield server


@pytest.fixture(scope="package")
def kubeconfig(kube_server: KubeApiServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kube_server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")


@pytest.fixture()
def kube(kube_server: KubeApiServer) -> Iterator[KubeApiServer]:
    """The shared server, with any fault or denial a test adds removed afterwards."""
    yield kube_server
    kube_server.faults.clear()
    kube_server.policy.clear()


@pytest.fixture()
def cluster(kube: KubeApiServer, kubeconfig: Path) -> Iterator[KubernetesCluster]:
    adapter = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=kubeconfig, timeout_seconds=2)
    yield adapter
    adapter.close()


@pytest.fixture()
def viewer() -> Actor:
    return Actor("viewer", "Viewer", Role.VIEWER)


def write_unreachable_kubeconfig(path: Path) -> Path:
    """A kubeconfig whose API server address has nobody listening."""
    import yaml

    from tests.helpers import free_port

    path.write_text(yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "someone", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "someone"}}],
        "current-context": "gone",
    }))
    return path
