from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Role
from console.sandbox.kube import KubeApiServer, seed_demo_world
from tests.helpers import validated_kube_server

NAMESPACES = ("ml-serving", "ml-staging")
VIEWER = Actor("vera", "Vera", Role.VIEWER)
OPERATOR = Actor("oscar", "Oscar", Role.OPERATOR)


@pytest.fixture()
def kube(tmp_path: Path) -> Iterator[KubeApiServer]:
    """A sandbox API server with the demo world, on a free port."""
    with validated_kube_server() as server:
        seed_demo_world(server, now=datetime.now(UTC))
        server.write_kubeconfig(tmp_path / "kubeconfig")
        yield server


@pytest.fixture()
def cluster(kube: KubeApiServer, tmp_path: Path) -> Iterator[KubernetesCluster]:
    adapter = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=tmp_path / "kubeconfig", timeout_seconds=2)
    yield adapter
    adapter.close()


@pytest.fixture()
def audit(tmp_path: Path) -> AuditStore:
    return AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
