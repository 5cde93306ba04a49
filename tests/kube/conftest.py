"""Fixtures for the sandbox Kubernetes API server tests.

``kube_server`` starts a server on a free port with short node delays and, when the test ends, validates
every response body it sent (strict kubernetes-validate schemas plus the official client's models).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from console.sandbox.kube import KubeApiServer, seed_demo_world

from tests.helpers import kubectl_binary

from .validation import ResponseChecker

FAST_NODE = {
    "pod_start_seconds": 0.05,
    "pod_ready_seconds": 0.15,
    "pod_terminate_seconds": 0.05,
    "crash_after_seconds": 0.3,
    "crash_backoff_seconds": 0.4,
    "log_interval_seconds": 0.2,
}


@pytest.fixture
def make_kube_server() -> Iterator[Callable[..., KubeApiServer]]:
    """Start servers with custom options; each is stopped and its responses validated at the end."""
    servers: list[KubeApiServer] = []

    def make(**options: Any) -> KubeApiServer:
        settings = {**FAST_NODE, "record_responses": True, **options}
        server = KubeApiServer(host="127.0.0.1", port=0, **settings).start()
        servers.append(server)
        return server

    yield make
    problems = []
    for server in servers:
        server.stop()
        problems += ResponseChecker().check(server)
    if problems:
        pytest.fail("invalid API responses:\n" + "\n".join(problems[:20]), pytrace=False)


@pytest.fixture
def kube_server(make_kube_server: Callable[..., KubeApiServer]) -> KubeApiServer:
    return make_kube_server()


@pytest.fixture
def demo_now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def demo_server(kube_server: KubeApiServer, demo_now: datetime) -> KubeApiServer:
    seed_demo_world(kube_server, now=demo_now)
    kube_server.tick()
    return kube_server


@pytest.fixture
def kubeconfig(kube_server: KubeApiServer, tmp_path: Path) -> Path:
    return kube_server.write_kubeconfig(tmp_path / "kubeconfig", namespace="ml-serving")


@pytest.fixture
def kubectl(kubeconfig: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = kubectl_binary()

    def run(*args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [binary, "--kubeconfig", str(kubeconfig), *args],
            capture_output=True, text=True, timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    return run


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[kubernetes.client.ApiClient]:
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    client = kubernetes.client.ApiClient(configuration)
    yield client
    client.close()


@pytest.fixture
def apps(api_client: kubernetes.client.ApiClient) -> kubernetes.client.AppsV1Api:
    return kubernetes.client.AppsV1Api(api_client)


@pytest.fixture
def core(api_client: kubernetes.client.ApiClient) -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeApiServer]:
    """One demo-world server for a whole test module (its tests keep to their own objects); validated at the end."""
    server = KubeApiServer(host="127.0.0.1", port=0, record_responses=True, **FAST_NODE).start()
    seed_demo_world(server, now=datetime.now(timezone.utc))
    server.tick()
    yield server
    server.stop()
    problems = ResponseChecker().check(server)
    if problems:
        pytest.fail("invalid API responses:\n" + "\n".join(problems[:20]), pytrace=False)


@pytest.fixture(scope="module")
def shared_kubectl(shared_server: KubeApiServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess[str]]:
    """kubectl against ``shared_server``, with a cache directory of its own (discovery and OpenAPI are re-read)."""
    binary = kubectl_binary()
    root = tmp_path_factory.mktemp("kubectl")
    config = shared_server.write_kubeconfig(root / "kubeconfig", namespace="ml-serving")

    def run(*args: str, timeout: float = 30, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([binary, "--kubeconfig", str(config), "--cache-dir", str(root / "cache"), *args],
                                capture_output=True, text=True, timeout=timeout, input=stdin)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    return run
