"""The response checker must be able to fail: feed it bodies a real apiserver could not send."""

from __future__ import annotations

import json

import pytest

from .validation import InvalidResponse, validate_response

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
              "spec": {"selector": {"matchLabels": {"a": "b"}},
                       "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def check(body: object, status: int = 200, path: str = "/apis/apps/v1/namespaces/d/deployments/x", streamed: bool = False) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    validate_response("GET", path, status, "application/json", raw, streamed)


def test_a_valid_deployment_passes() -> None:
    check(DEPLOYMENT)


@pytest.mark.parametrize("broken", [
    {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replicaz": 3}},                         # unknown field
    {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replicas": "3"}},                       # wrong type
    {**DEPLOYMENT, "metadata": {"name": 5}},                                               # a number for a string
    {**DEPLOYMENT, "kind": "Deploymant"},                                                  # unknown kind
    {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": "404"},  # Status with a string code
])
def test_invalid_bodies_fail(broken: dict) -> None:
    with pytest.raises(InvalidResponse):
        check(broken)


def test_status_code_must_match_the_http_status() -> None:
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "m",
              "reason": "NotFound", "code": 404}
    check(status, status=404)
    with pytest.raises(InvalidResponse):
        check(status, status=409)
    with pytest.raises(InvalidResponse):
        check(DEPLOYMENT, status=500)


def test_watch_streams_are_checked_event_by_event() -> None:
    good = json.dumps({"type": "ADDED", "object": DEPLOYMENT}).encode()
    check(good + b"\n", streamed=True)
    bad = json.dumps({"type": "MODIFIED", "object": {**DEPLOYMENT, "spec": {"bogus": 1}}}).encode()
    with pytest.raises(InvalidResponse):
        check(good + b"\n" + bad + b"\n", streamed=True)
    with pytest.raises(InvalidResponse):
        check(json.dumps({"type": "CHANGED", "object": DEPLOYMENT}).encode(), streamed=True)


def test_every_response_of_a_session_was_checked(make_kube_server) -> None:
    """The fixture validates what the server recorded; make sure it records everything, streams included."""
    from .validation import ResponseChecker

    server = make_kube_server()
    server.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "namespace": "default"},
                   "spec": DEPLOYMENT["spec"]})
    import urllib.request

    for path in ("/api", "/apis/apps/v1", "/apis/apps/v1/deployments", "/apis/apps/v1/namespaces/default/deployments/x",
                 "/apis/apps/v1/namespaces/default/deployments/missing"):
        try:
            urllib.request.urlopen(server.url + path, timeout=5).read()
        except urllib.error.HTTPError as err:
            err.read()
    urllib.request.urlopen(server.url + "/apis/apps/v1/deployments?watch=true&timeoutSeconds=1", timeout=5).read()
    recorded = server.recorded()
    assert len(recorded) == 6 and recorded[-1].streamed and b'"ADDED"' in recorded[-1].body
    checker = ResponseChecker()
    assert checker.check(server) == [] and checker.checked == 6


def test_protobuf_bodies_are_decoded_and_checked() -> None:
    from console.sandbox.kube import wire

    good = wire.encode_object(DEPLOYMENT)
    validate_response("GET", "/apis/apps/v1/namespaces/d/deployments/x", 200, "application/vnd.kubernetes.protobuf",
                      good, False)
    with pytest.raises(InvalidResponse):  # not an envelope
        validate_response("GET", "/x", 200, "application/vnd.kubernetes.protobuf", b"{}", False)
    broken = wire.encode_object({**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replicas": -1}})[:-3]
    with pytest.raises(InvalidResponse):  # truncated
        validate_response("GET", "/x", 200, "application/vnd.kubernetes.protobuf", broken, False)
    stream = wire.encode_watch_event("ADDED", DEPLOYMENT)
    validate_response("GET", "/x?watch=1", 200, "application/vnd.kubernetes.protobuf;stream=watch", stream, True)
    with pytest.raises(InvalidResponse):
        validate_response("GET", "/x?watch=1", 200, "application/vnd.kubernetes.protobuf;stream=watch", stream[:-1], True)


def test_custom_resources_are_checked_against_their_crd() -> None:
    route = {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": {"name": "r"},
             "spec": {"to": {"kind": "Service", "name": "s"}}}
    check(route, path="/apis/route.openshift.io/v1/namespaces/d/routes/r")
    with pytest.raises(InvalidResponse):
        check({**route, "spec": {**route["spec"], "tooo": 1}}, path="/apis/route.openshift.io/v1/namespaces/d/routes/r")
    with pytest.raises(InvalidResponse):
        check({**route, "spec": {"to": {"kind": "Service", "name": 5}}}, path="/apis/route.openshift.io/v1/namespaces/d/routes/r")


def test_openapi_documents_must_resolve_their_references() -> None:
    document = {"openapi": "3.0.0", "components": {"schemas": {"A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}}}},
                "paths": {}}
    with pytest.raises(InvalidResponse):
        validate_response("GET", "/openapi/v3/apis/x/v1", 200, "application/json", json.dumps(document).encode(), False)
    document["components"]["schemas"]["B"] = {"type": "string"}
    validate_response("GET", "/openapi/v3/apis/x/v1", 200, "application/json", json.dumps(document).encode(), False)
