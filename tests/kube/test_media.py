"""Media types: protobuf bodies as kubectl's typed clients send them, protobuf, YAML and JSON answers chosen from
Accept, protobuf lists and watches, and the 406/415 a cluster sends for what it cannot read or write."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from console.sandbox.kube import wire

from .validation import validate_object

FIXTURES = Path(__file__).with_name("fixtures") / "kubectl-protobuf"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def _call(server, method: str, path: str, body: bytes | None = None, content_type: str = "application/json",
          accept: str = "application/json") -> tuple[int, str, bytes]:
    request = urllib.request.Request(server.url + path, data=body, method=method,
                                     headers={"Content-Type": content_type, "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.bin")))
def test_kubectl_bodies_decode_validate_and_encode_back_byte_for_byte(fixture: str) -> None:
    body = (FIXTURES / fixture).read_bytes()
    obj = wire.decode_object(body)
    validate_object(obj)
    assert wire.encode_object(obj) == body


def test_decoded_protobuf_is_the_json_go_would_write() -> None:
    obj = wire.decode_object((FIXTURES / "apps_v1_namespaces_ml-staging_deployments.bin").read_bytes())
    assert obj == {
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "probe", "labels": {"app": "probe"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "probe"}},
                 "template": {"metadata": {"labels": {"app": "probe"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1",
                                                       "ports": [{"containerPort": 80}], "resources": {}}]}},
                 "strategy": {}},
        "status": {}}


def test_protobuf_in_and_out_of_the_server(shared_server) -> None:
    body = (FIXTURES / "v1_namespaces_ml-staging_configmaps.bin").read_bytes()
    status, content_type, answer = _call(shared_server, "POST", "/api/v1/namespaces/ml-staging/configmaps?fieldManager=t",
                                         body, PROTOBUF, f"{PROTOBUF},application/json")
    assert (status, content_type) == (201, PROTOBUF)
    created = wire.decode_object(answer)
    assert created["data"] == {"a": "b"} and created["metadata"]["managedFields"][0]["manager"] == "t"
    path = "/api/v1/namespaces/ml-staging/configmaps/cm1"
    as_json = json.loads(_call(shared_server, "GET", path)[2])
    assert wire.decode_object(_call(shared_server, "GET", path, accept=PROTOBUF)[2]) == as_json
    status, content_type, listed = _call(shared_server, "GET", "/api/v1/namespaces/ml-staging/configmaps", accept=PROTOBUF)
    items = wire.decode_object(listed)
    assert (status, items["kind"]) == (200, "ConfigMapList") and [i["metadata"]["name"] for i in items["items"]] == ["cm1"]
    status, content_type, missing = _call(shared_server, "GET", path + "x", accept=PROTOBUF)
    error = wire.decode_object(missing)
    assert (status, content_type, error["kind"], error["reason"]) == (404, PROTOBUF, "Status", "NotFound")
    status, content_type, text = _call(shared_server, "GET", path, accept="application/yaml")
    assert (status, content_type) == (200, "application/yaml") and "name: cm1" in text.decode()


def test_a_protobuf_watch_sends_length_prefixed_events(shared_server) -> None:
    status, content_type, stream = _call(
        shared_server, "GET", "/api/v1/namespaces/ml-staging/configmaps?watch=true&timeoutSeconds=1",
        accept=f"{PROTOBUF};stream=watch,{PROTOBUF}")
    assert (status, content_type) == (200, f"{PROTOBUF};stream=watch")
    events = wire.decode_watch_frames(stream)
    assert {e["type"] for e in events} <= {"ADDED", "MODIFIED"} and all(e["object"]["kind"] == "ConfigMap" for e in events)


def test_what_the_server_cannot_read_or_write(shared_server) -> None:
    route_path = "/apis/route.openshift.io/v1/namespaces/ml-staging/routes"
    status, _, answer = _call(shared_server, "POST", route_path, b"k8s\x00", PROTOBUF)
    assert status == 415 and json.loads(answer)["message"] == (
        "the body of the request was in an unknown format - accepted media types include: application/json, "
        "application/yaml")
    status, _, answer = _call(shared_server, "GET", route_path, accept=PROTOBUF)
    assert status == 406 and json.loads(answer)["reason"] == "NotAcceptable"
    status, _, answer = _call(shared_server, "POST", "/api/v1/namespaces/ml-staging/configmaps", b"k8s\x00\x0a\x03abc",
                              PROTOBUF)
    assert status == 400 and "error decoding protobuf body" in json.loads(answer)["message"]
    status, _, answer = _call(shared_server, "POST", "/api/v1/namespaces/ml-staging/configmaps", b"a: b", "text/csv")
    assert status == 415
    status, _, answer = _call(shared_server, "PATCH", "/api/v1/namespaces/ml-staging/configmaps/cm1", b"{}",
                              "application/cbor")
    assert status == 415 and "application/strategic-merge-patch+json" in json.loads(answer)["message"]
    status, _, answer = _call(shared_server, "POST", "/api/v1/namespaces/ml-staging/configmaps?fieldValidation=Loose",
                              b'{"metadata": {"name": "x"}}')
    assert status == 422 and json.loads(answer)["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: '
        '"", "Ignore", "Strict", "Warn"')
    status, _, answer = _call(shared_server, "POST", "/api/v1/namespaces/ml-staging/configmaps?fieldValidation=Strict",
                              b'{"metadata": {"name": "x"}, "data": {"a": "1"}, "data": {"b": "2"}}')
    assert status == 400 and 'strict decoding error: duplicate field "data"' in json.loads(answer)["message"]
    assert shared_server.get("configmaps", "ml-staging", "x") is None
