"""Differential tests: kubectl create, run, apply (client-side, validated), explain and diff against the sandbox.

kubectl's typed clients send protobuf (``kubectl create``) and never fall back to JSON (client-go falls back only
from CBOR); ``kubectl apply`` validates through the server's ``fieldValidation`` once ``/openapi/v3`` says the
server supports it. The expected managedFields are what kube-apiserver writes for the same requests.
"""

from __future__ import annotations

import json
from pathlib import Path

from console.sandbox.kube import schemas

from .helpers import wait_for

REPO = Path(__file__).resolve().parents[2]
SERVICE = REPO / "openshift" / "base" / "service.yaml"


def _managed(obj: dict, manager: str) -> dict:
    [entry] = [e for e in obj["metadata"]["managedFields"] if e["manager"] == manager]
    return entry


def test_create_deployment_sends_protobuf_and_stores_what_a_cluster_does(shared_server, shared_kubectl) -> None:
    out = shared_kubectl("create", "deployment", "probe", "--image=nginx:1", "-n", "ml-staging")
    assert out.stdout.strip() == "deployment.apps/probe created"
    [post] = [r for r in shared_server.recorded() if r.method == "POST" and r.path.startswith("/apis/apps/v1/namespaces/ml-staging/deployments?")]
    assert post.status == 201 and post.content_type == "application/vnd.kubernetes.protobuf"
    assert "fieldManager=kubectl-create" in post.path and "fieldValidation=Strict" in post.path
    d = shared_server.get("deployments", "ml-staging", "probe")
    assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}
    assert d["spec"]["template"]["spec"]["containers"] == [{
        "name": "nginx", "image": "nginx:1", "resources": {}, "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}]
    entry = _managed(d, "kubectl-create")
    assert (entry["operation"], entry["apiVersion"], entry["fieldsType"]) == ("Update", "apps/v1", "FieldsV1")
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {}, "f:selector": {},
            "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
            "f:template": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:containers": {'k:{"name":"nginx"}': {
                        ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:resources": {},
                        "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}},
                    "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {},
                    "f:terminationGracePeriodSeconds": {}}}}}
    # An explicit zero in a pointer field survives the protobuf round trip.
    shared_kubectl("create", "deployment", "idle", "--image=nginx:1", "--replicas=0", "-n", "ml-staging")
    assert shared_server.get("deployments", "ml-staging", "idle")["spec"]["replicas"] == 0
    shared_kubectl("wait", "--for=condition=Available", "deployment/probe", "-n", "ml-staging", "--timeout=20s")
    again = shared_kubectl("create", "deployment", "probe", "--image=nginx:1", "-n", "ml-staging", check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == 'error: failed to create deployment: deployments.apps "probe" already exists'


def test_create_every_kind_of_the_console_manifests(shared_server, shared_kubectl) -> None:
    ns = "ml-staging"
    for args in (("configmap", "settings", "--from-literal=A=1"), ("secret", "generic", "creds", "--from-literal=k=v"),
                 ("serviceaccount", "robot"), ("service", "clusterip", "web", "--tcp=80:8080"),
                 ("role", "reader", "--verb=get", "--resource=pods"),
                 ("rolebinding", "reader", "--role=reader", f"--serviceaccount={ns}:robot"),
                 ("poddisruptionbudget", "web", "--selector=app=web", "--min-available=1")):
        shared_kubectl("create", *args, "-n", ns)
    shared_kubectl("create", "namespace", "scratch")
    assert shared_server.get("configmaps", ns, "settings")["data"] == {"A": "1"}
    secret = shared_server.get("secrets", ns, "creds")
    assert (secret["type"], secret["data"]) == ("Opaque", {"k": "dg=="})
    service = shared_server.get("services", ns, "web")
    assert service["spec"]["ports"] == [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}]
    binding = shared_server.get("rolebindings", ns, "reader")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "robot", "namespace": ns}]
    pdb = shared_server.get("poddisruptionbudgets", ns, "web")
    assert pdb["spec"]["minAvailable"] == 1 and pdb["status"]["disruptionsAllowed"] == 0
    assert shared_server.get("namespaces", "", "scratch")["status"] == {"phase": "Active"}
    table = shared_kubectl("get", "cm,secret,sa,pdb,role,rolebinding", "-n", ns, "--no-headers").stdout
    assert "configmap/settings" in table and "secret/creds" in table and "Opaque" in table
    shared_kubectl("delete", "namespace", "scratch", "--wait=false")


def test_run_creates_a_pod_that_becomes_ready(shared_server, shared_kubectl) -> None:
    shared_kubectl("run", "probe-pod", "--image=nginx:1", "-n", "ml-staging", "--labels=probe=yes")
    shared_kubectl("wait", "--for=condition=Ready", "pod/probe-pod", "-n", "ml-staging", "--timeout=20s")
    pod = shared_server.get("pods", "ml-staging", "probe-pod")
    assert pod["metadata"]["labels"] == {"probe": "yes"} and pod["status"]["phase"] == "Running"
    assert [e["manager"] for e in pod["metadata"]["managedFields"]] == ["kubectl-run", "kubelet"]


def test_apply_validates_against_the_servers_schema(shared_server, shared_kubectl, tmp_path) -> None:
    out = shared_kubectl("apply", "-f", str(SERVICE), "-n", "ml-staging")
    assert out.stdout.strip() == "service/mlops-console created"
    assert shared_kubectl("apply", "-f", str(SERVICE), "-n", "ml-staging").stdout.strip() == "service/mlops-console unchanged"
    bad = tmp_path / "bad.yaml"
    bad.write_text(SERVICE.read_text().replace("name: mlops-console\n", "name: typo\n", 1).replace("  type: ClusterIP", "  tyep: ClusterIP"))
    refused = shared_kubectl("apply", "-f", str(bad), "-n", "ml-staging", check=False)
    assert refused.returncode == 1
    assert ('Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.tyep"'
            in refused.stderr)
    assert shared_server.get("services", "ml-staging", "typo") is None
    warned = shared_kubectl("apply", "-f", str(bad), "-n", "ml-staging", "--validate=warn")
    assert 'Warning: unknown field "spec.tyep"' in warned.stderr
    assert "tyep" not in shared_server.get("services", "ml-staging", "typo")["spec"]  # dropped, as Go decoding drops it
    wrong_type = tmp_path / "wrong.yaml"
    wrong_type.write_text(SERVICE.read_text().replace("name: mlops-console\n", "name: wrong\n", 1).replace("port: 8501", "port: eighty"))
    typed = shared_kubectl("apply", "-f", str(wrong_type), "-n", "ml-staging", check=False)
    assert "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32" in typed.stderr


def test_explain_answers_from_the_published_schemas(shared_kubectl) -> None:
    out = shared_kubectl("explain", "deployment.spec.replicas").stdout
    published = schemas.published()["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["replicas"]["description"]
    assert "KIND:       Deployment" in out and "FIELD: replicas <integer>" in out
    assert " ".join(out.split("DESCRIPTION:")[1].split()) == " ".join(published.split())
    route = shared_kubectl("explain", "route.spec.to").stdout
    assert "GROUP:      route.openshift.io" in route and "weight\t<integer>" in route
    recursive = shared_kubectl("explain", "prometheusrules.spec", "--recursive").stdout
    assert "rules\t<[]Object>" in recursive
    # The v2 document, read from its protobuf form as kubectl reads it.
    v2 = shared_kubectl("explain", "deployment.spec.strategy", "--output=plaintext-openapiv2").stdout
    assert "RESOURCE: strategy <Object>" in v2 and "rollingUpdate\t<Object>" in v2
    missing = shared_kubectl("explain", "deployment.spec.replicaz", check=False)
    assert missing.returncode == 1 and 'field "replicaz" does not exist' in missing.stderr


def test_diff_shows_what_apply_would_change(shared_server, shared_kubectl, tmp_path) -> None:
    manifest = tmp_path / "d.yaml"
    body = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: differ\n  namespace: ml-staging\nspec:\n"
            "  replicas: 1\n  selector:\n    matchLabels: {app: differ}\n  template:\n    metadata:\n"
            "      labels: {app: differ}\n    spec:\n      containers:\n      - {name: app, image: nginx:1}\n")
    manifest.write_text(body)
    created = shared_kubectl("diff", "-f", str(manifest), check=False)
    assert created.returncode == 1 and "+  name: differ" in created.stdout
    assert shared_server.get("deployments", "ml-staging", "differ") is None  # a dry run stores nothing
    shared_kubectl("apply", "-f", str(manifest))
    wait_for(lambda: shared_server.get("deployments", "ml-staging", "differ")["status"].get("availableReplicas") == 1)
    assert shared_kubectl("diff", "-f", str(manifest)).stdout == ""
    manifest.write_text(body.replace("replicas: 1", "replicas: 3"))
    changed = shared_kubectl("diff", "-f", str(manifest), check=False)
    assert changed.returncode == 1 and "-  replicas: 1\n+  replicas: 3" in changed.stdout
    assert shared_server.get("deployments", "ml-staging", "differ")["spec"]["replicas"] == 1


def test_events_for_an_object_after_a_restart(shared_server, shared_kubectl) -> None:
    shared_kubectl("rollout", "restart", "deployment/iris-classifier")
    shared_kubectl("rollout", "status", "deployment/iris-classifier", "--timeout=60s")
    out = shared_kubectl("events", "--for", "deployment/iris-classifier").stdout.splitlines()
    assert out[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("ScalingReplicaSet" in line and "Scaled up replica set iris-classifier-" in line for line in out[1:])
    listed = json.loads(shared_kubectl("events", "-o", "json").stdout)
    assert listed["kind"] == "EventList" and all(e["involvedObject"]["namespace"] == "ml-serving" for e in listed["items"])

    def backing_off() -> bool:
        warnings = shared_kubectl("events", "--types=Warning").stdout
        return "BackOff" in warnings and "Pod/wine-quality-" in warnings

    wait_for(backing_off, timeout_seconds=30, what="the crash-looping pod's BackOff event")


def test_crds_are_served_and_cannot_be_changed(shared_kubectl) -> None:
    names = shared_kubectl("get", "crd", "-o", "name").stdout.split()
    assert names == ["customresourcedefinition.apiextensions.k8s.io/prometheusrules.monitoring.coreos.com",
                     "customresourcedefinition.apiextensions.k8s.io/routes.route.openshift.io"]
    established = shared_kubectl("wait", "--for=condition=Established", "crd/routes.route.openshift.io", "--timeout=5s")
    assert established.stdout.strip() == "customresourcedefinition.apiextensions.k8s.io/routes.route.openshift.io condition met"
    denied = shared_kubectl("delete", "crd", "routes.route.openshift.io", check=False)
    assert denied.returncode == 1 and 'cannot delete resource "customresourcedefinitions" in API group "apiextensions.k8s.io"' in denied.stderr
    assert shared_kubectl("auth", "can-i", "create", "crd", check=False).stdout.strip() == "no"


def test_api_resources_from_aggregated_discovery(shared_server, shared_kubectl) -> None:
    out = shared_kubectl("api-resources", "--api-group=route.openshift.io", "--no-headers").stdout.split()
    assert out == ["routes", "route.openshift.io/v1", "true", "Route"]
    pdb = shared_kubectl("api-resources", "--api-group=policy", "-o", "wide", "--no-headers").stdout.split()
    assert pdb[:5] == ["poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget"]
    discovered = [r for r in shared_server.recorded() if r.path.split("?")[0] in ("/api", "/apis")]
    assert discovered and all(r.content_type.startswith("application/json;g=apidiscovery.k8s.io;v=v2") for r in discovered)
