"""Server-side apply with real kubectl and over HTTP: managers, conflicts, force, pruning and the Status a cluster
sends for each mistake (structured-merge-diff and apimachinery's field manager are the reference)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from .helpers import wait_for

MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: ml-staging
  labels: {labels}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: nginx:1
"""


def _write(tmp_path, name: str, replicas: int = 2, labels: str = "{team: ml}"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(MANIFEST.format(name=name, replicas=replicas, labels=labels))
    return path


def _entries(server, name: str) -> dict[tuple[str, str, str], dict]:
    d = server.get("deployments", "ml-staging", name)
    return {(e["manager"], e["operation"], e.get("subresource", "")): e for e in d["metadata"].get("managedFields", [])}


def _http(server, method: str, path: str, body: bytes, content_type: str) -> tuple[int, dict]:
    request = urllib.request.Request(server.url + path, data=body, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_apply_creates_and_owns_exactly_the_applied_fields(shared_server, shared_kubectl, tmp_path) -> None:
    out = shared_kubectl("apply", "--server-side", "-f", str(_write(tmp_path, "owned")))
    assert out.stdout.strip() == "deployment.apps/owned serverside-applied"
    entries = _entries(shared_server, "owned")
    applied = entries[("kubectl", "Apply", "")]
    assert applied["apiVersion"] == "apps/v1" and applied["fieldsType"] == "FieldsV1"
    assert applied["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:team": {}}},
        "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:image": {}, "f:name": {}}}}}}}
    # Defaults are in the object but nobody applied them.
    d = shared_server.get("deployments", "ml-staging", "owned")
    assert d["spec"]["progressDeadlineSeconds"] == 600 and "f:progressDeadlineSeconds" not in json.dumps(applied)
    shared_kubectl("wait", "--for=condition=Available", "deployment/owned", "-n", "ml-staging", "--timeout=20s")
    assert ("kube-controller-manager", "Update", "status") in _entries(shared_server, "owned")
    again = shared_kubectl("apply", "--server-side", "-f", str(_write(tmp_path, "owned")))
    assert again.stdout.strip() == "deployment.apps/owned serverside-applied"


def test_a_field_another_manager_changed_conflicts_until_forced(shared_server, shared_kubectl, tmp_path) -> None:
    shared_kubectl("apply", "--server-side", "-f", str(_write(tmp_path, "contested")))
    shared_kubectl("scale", "deployment/contested", "-n", "ml-staging", "--replicas=3")
    scaled = _entries(shared_server, "contested")[("kubectl", "Update", "scale")]
    assert scaled["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    refused = shared_kubectl("apply", "--server-side", "-f", str(_write(tmp_path, "contested", replicas=4)), check=False)
    assert refused.returncode == 1
    first_line = refused.stderr.splitlines()[0]
    assert first_line.startswith('error: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" '
                                 "using apps/v1 at ") and first_line.endswith(": .spec.replicas")
    assert shared_server.get("deployments", "ml-staging", "contested")["spec"]["replicas"] == 3
    # Applying the value the field already has is not a conflict: the field becomes co-owned.
    shared_kubectl("apply", "--server-side", "-f", str(_write(tmp_path, "contested", replicas=3)))
    shared_kubectl("apply", "--server-side", "--force-conflicts", "-f", str(_write(tmp_path, "contested", replicas=4)))
    assert shared_server.get("deployments", "ml-staging", "contested")["spec"]["replicas"] == 4
    entries = _entries(shared_server, "contested")
    assert ("kubectl", "Update", "scale") not in entries  # its only field was taken


def test_a_field_left_out_of_the_next_apply_is_removed(shared_server, shared_kubectl, tmp_path) -> None:
    shared_kubectl("apply", "--server-side", "-f", str(_write(tmp_path, "pruned", labels="{team: ml, tier: gold}")))
    assert shared_server.get("deployments", "ml-staging", "pruned")["metadata"]["labels"] == {"team": "ml", "tier": "gold"}
    shared_kubectl("label", "deployment/pruned", "-n", "ml-staging", "owner=ops")
    shared_kubectl("apply", "--server-side", "-f", str(_write(tmp_path, "pruned", labels="{team: ml}")))
    # tier was only the applier's: it goes; owner belongs to kubectl-label: it stays.
    assert shared_server.get("deployments", "ml-staging", "pruned")["metadata"]["labels"] == {"team": "ml", "owner": "ops"}


def test_client_side_apply_migrates_to_server_side(shared_server, shared_kubectl, tmp_path) -> None:
    manifest = _write(tmp_path, "migrated")
    shared_kubectl("apply", "-f", str(manifest))
    out = shared_kubectl("apply", "--server-side", "-f", str(manifest))
    assert out.stderr == "" and out.stdout.strip() == "deployment.apps/migrated serverside-applied"
    entries = _entries(shared_server, "migrated")
    assert ("kubectl-client-side-apply", "Update", "") not in entries
    assert ("kubectl", "Apply", "") in entries and ("kubectl-last-applied", "Apply", "") in entries
    assert shared_server.get("deployments", "ml-staging", "migrated")["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"


def test_apply_mistakes_get_the_status_a_cluster_sends(shared_server) -> None:
    path = "/apis/apps/v1/namespaces/ml-staging/deployments/http-applied"
    body = MANIFEST.format(name="http-applied", replicas=1, labels="{team: ml}").encode()
    status, answer = _http(shared_server, "PATCH", path, body, "application/apply-patch+yaml")
    assert (status, answer["reason"]) == (422, "Invalid")
    assert answer["message"] == 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    status, created = _http(shared_server, "PATCH", path + "?fieldManager=robot", body, "application/apply-patch+yaml")
    assert status == 201 and created["metadata"]["managedFields"][0]["manager"] == "robot"
    status, answer = _http(shared_server, "PATCH", path + "?fieldManager=other",
                           body.replace(b"replicas: 1", b"replicas: 2"), "application/apply-patch+yaml")
    assert (status, answer["reason"], answer["code"]) == (409, "Conflict", 409)
    assert answer["details"]["causes"] == [{"reason": "FieldManagerConflict", "message": 'conflict with "robot"',
                                            "field": ".spec.replicas"}]
    assert answer["message"] == 'Apply failed with 1 conflict: conflict with "robot": .spec.replicas'
    status, answer = _http(shared_server, "PATCH", path + "?fieldManager=other&force=true",
                           b'{"spec":{"replicas":2}}', "application/merge-patch+json")
    assert (status, answer["reason"]) == (422, "Invalid") and "force: Forbidden" in answer["message"]
    status, answer = _http(shared_server, "PATCH", path + "?fieldManager=robot&fieldValidation=Strict",
                           body.replace(b"replicas: 1", b"replicaz: 1"), "application/apply-patch+yaml")
    assert status == 400 and 'strict decoding error: unknown field "spec.replicaz"' in answer["message"]
    status, answer = _http(shared_server, "PATCH", path + "?fieldManager=robot", b"- not a map", "application/apply-patch+yaml")
    assert status == 400 and answer["kind"] == "Status"
    wait_for(lambda: shared_server.get("deployments", "ml-staging", "http-applied")["spec"]["replicas"] == 1)
