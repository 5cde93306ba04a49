"""Pod logs through the official client: parameters, real error messages, previous containers, follow."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes.client.exceptions import ApiException

from console.sandbox.kube.server import replace_timing

from .helpers import simple_deployment, wait_for


def two_container_pod(name: str, image: str = "registry.local/app:v1") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": image}, {"name": "proxy", "image": "registry.local/proxy:v1"}]},
    }


def running(kube_server, name: str) -> bool:
    pod = kube_server.get("pods", "default", name)
    return bool(pod) and all("running" in c["state"] for c in pod["status"].get("containerStatuses") or [{"state": {}}])


def test_log_parameters(kube_server, core) -> None:
    fast = kube_server.timing
    replace_timing(kube_server, pod_start_seconds=30.0)  # hold the containers in ContainerCreating
    core.create_namespaced_pod("default", two_container_pod("multi"))
    wait_for(lambda: kube_server.get("pods", "default", "multi")["spec"].get("nodeName"), what="scheduled")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("multi", "default", container="app")
    assert err.value.status == 400
    assert json.loads(err.value.body)["message"] == 'container "app" in pod "multi" is waiting to start: ContainerCreating'
    replace_timing(kube_server, pod_start_seconds=fast.pod_start_seconds)
    kube_server.controllers.mark_all()
    wait_for(lambda: running(kube_server, "multi"))
    time.sleep(1.2)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("multi", "default")
    body = json.loads(err.value.body)
    assert (err.value.status, body["reason"]) == (400, "BadRequest")
    assert body["message"] == "a container name must be specified for pod multi, choose one of: [app proxy]"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("multi", "default", container="db")
    assert json.loads(err.value.body)["message"] == "container db is not valid for pod multi"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("multi", "default", container="app", previous=True)
    assert json.loads(err.value.body)["message"] == 'previous terminated container "app" in pod "multi" not found'

    full = core.read_namespaced_pod_log("multi", "default", container="app", timestamps=True).splitlines()
    assert full[0].endswith("INFO:     Started server process [1]")
    assert any('"msg": "model loaded"' in line for line in full)
    tail = core.read_namespaced_pod_log("multi", "default", container="app", tail_lines=2, timestamps=True).splitlines()
    assert len(tail) == 2 and full.index(tail[0]) >= len(full) - 4
    since = core.read_namespaced_pod_log("multi", "default", container="app", since_seconds=1).splitlines()
    assert 0 < len(since) < len(full) + 10
    stamps = [line.split(" ", 1)[0] for line in full]
    cut = stamps[len(stamps) // 2]
    limited = core.read_namespaced_pod_log("multi", "default", container="proxy", limit_bytes=10)
    assert len(limited.encode()) == 10
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("multi", "default", container="app", tail_lines=-1)
    assert err.value.status == 422
    assert cut  # timestamps are RFC 3339 with nanoseconds
    assert len(cut) == len("2026-01-01T00:00:00.000000000Z") and cut.endswith("Z")


def test_since_time_filters_by_timestamp(kube_server, api_client) -> None:
    kube_server.create({**two_container_pod("solo"), "spec": {"containers": [{"name": "app", "image": "registry.local/app:v1"}]}})
    wait_for(lambda: running(kube_server, "solo"))
    time.sleep(1.5)
    from kubernetes.client import CoreV1Api

    core = CoreV1Api(api_client)
    full = core.read_namespaced_pod_log("solo", "default", timestamps=True).splitlines()
    cut = full[len(full) // 2].split(" ", 1)[0]
    # The client has no sinceTime parameter; kubectl --since-time sends it as a query parameter.
    response = api_client.call_api(
        *api_client.param_serialize(
            "GET", "/api/v1/namespaces/{namespace}/pods/{name}/log",
            path_params={"namespace": "default", "name": "solo"},
            query_params=[("sinceTime", cut), ("timestamps", "true")],
            auth_settings=["BearerToken"],
        )
    )
    response.read()
    lines = response.data.decode().splitlines()
    assert lines and all(line.split(" ", 1)[0] >= cut for line in lines)
    assert lines[0] == full[len(full) // 2]


def test_crash_looping_container_logs(kube_server, core) -> None:
    kube_server.create(simple_deployment("bad", replicas=1, image="registry.local/model:v7-broken"))
    pod = wait_for(lambda: next((p for p in kube_server.list("pods", "default", "app=bad")
                                 if p["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 1), None),
                   what="a restart")
    name = pod["metadata"]["name"]
    previous = core.read_namespaced_pod_log(name, "default", previous=True)
    assert "Traceback (most recent call last):" in previous
    assert previous.rstrip().endswith("ERROR:    Application startup failed. Exiting.")
    assert '"level": "error"' in previous
    # Waiting in back-off: the current log is the last terminated container's.
    status = kube_server.get("pods", "default", name)["status"]["containerStatuses"][0]
    if "waiting" in status["state"]:
        assert "Traceback" in core.read_namespaced_pod_log(name, "default")


def test_follow_streams_until_the_client_leaves(kube_server, core) -> None:
    kube_server.create({**two_container_pod("solo"), "spec": {"containers": [{"name": "app", "image": "registry.local/app:v1"}]}})
    wait_for(lambda: running(kube_server, "solo"))
    response = core.read_namespaced_pod_log("solo", "default", follow=True, tail_lines=1, _preload_content=False)
    assert response.headers.get("Transfer-Encoding") == "chunked"
    lines: list[str] = []
    deadline = time.monotonic() + 5
    for chunk in response.stream(1024):
        lines += chunk.decode().splitlines()
        if len(lines) >= 5 or time.monotonic() > deadline:
            break
    response.release_conn()
    assert len(lines) >= 5


def test_follow_ends_when_the_container_crashes(kube_server, core) -> None:
    kube_server.create(simple_deployment("bad", replicas=1, image="registry.local/model:v7-broken"))
    pod = wait_for(lambda: next((p for p in kube_server.list("pods", "default", "app=bad")
                                 if "running" in (p["status"].get("containerStatuses") or [{"state": {}}])[0]["state"]), None))
    started = time.monotonic()
    response = core.read_namespaced_pod_log(pod["metadata"]["name"], "default", follow=True, _preload_content=False)
    text = b"".join(response.stream(1024)).decode()
    assert time.monotonic() - started < 5
    assert "Application startup failed" in text or "Started server process" in text
