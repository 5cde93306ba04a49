"""The rendered Deployment and Service, created through the official client in the sandbox API server, are
accepted as they are and the Deployment becomes available with both replicas ready."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from console.sandbox.kube import KubeApiServer
from tests.helpers import wait_for
from tests.kube import validation

from .conftest import CONSOLE_NAMESPACE, OVERLAYS, one, rendered


@pytest.fixture
def server() -> Iterator[KubeApiServer]:
    server = KubeApiServer(pod_start_seconds=0.05, pod_ready_seconds=0.15, pod_terminate_seconds=0.05,
                           log_interval_seconds=0.2, record_responses=True).start()
    yield server
    server.stop()
    problems = validation.ResponseChecker().check(server)
    assert not problems, "invalid API responses:\n" + "\n".join(problems[:20])


@pytest.fixture
def api(server: KubeApiServer, tmp_path: Path) -> Iterator[kubernetes.client.ApiClient]:
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(server.write_kubeconfig(tmp_path / "kubeconfig")),
                                       client_configuration=configuration)
    client = kubernetes.client.ApiClient(configuration)
    yield client
    client.close()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_deployment_and_service_become_available(overlay: str, api: kubernetes.client.ApiClient) -> None:
    objects = rendered(overlay)
    core, apps = kubernetes.client.CoreV1Api(api), kubernetes.client.AppsV1Api(api)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CONSOLE_NAMESPACE}})

    manifest = one(objects, "Service", "mlops-console")
    service = core.create_namespaced_service(CONSOLE_NAMESPACE, manifest)
    assert service.spec.cluster_ip and service.spec.type == "ClusterIP"
    assert service.spec.session_affinity == "ClientIP"
    assert service.spec.session_affinity_config.client_ip.timeout_seconds == 10800
    assert [(p.port, p.target_port) for p in service.spec.ports] == [(8501, "http")]

    deployment_manifest = one(objects, "Deployment", "mlops-console")
    apps.create_namespaced_deployment(CONSOLE_NAMESPACE, deployment_manifest)

    def available() -> Any:
        status = apps.read_namespaced_deployment_status("mlops-console", CONSOLE_NAMESPACE).status
        conditions = {c.type: c.status for c in status.conditions or []}
        return conditions.get("Available") == "True" and status.ready_replicas == 2 and status

    status = wait_for(available, what="the rendered deployment to become available")
    assert status.available_replicas == 2 and status.updated_replicas == 2

    selector = ",".join(f"{k}={v}" for k, v in manifest["spec"]["selector"].items())
    pods = core.list_namespaced_pod(CONSOLE_NAMESPACE, label_selector=selector).items
    assert len(pods) == 2 and all(p.status.phase == "Running" for p in pods)
    container = pods[0].spec.containers[0]
    assert container.security_context.read_only_root_filesystem is True
    assert container.security_context.capabilities.drop == ["ALL"]
    assert pods[0].spec.service_account_name == "mlops-console"
    assert core.read_namespaced_service("mlops-console", CONSOLE_NAMESPACE).spec.cluster_ip == service.spec.cluster_ip
