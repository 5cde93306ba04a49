from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Role
from console.sandbox.kube import KubeApiServer

NAMESPACES = ("ml-serving", "ml-staging")
VIEWER = Actor("vera", "Vera", Role.VIEWER)
OPERATOR = Actor("oscar", "Oscar", Role.OPERATOR)


@pytest.fixture()
def cluster(kube: KubeApiServer, tmp_path: Path) -> Iterator[KubernetesCluster]:
    adapter = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=tmp_path / "kubeconfig", timeout_seconds=2)
    yield adapter
    adapter.close()
