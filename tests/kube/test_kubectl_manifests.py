"""The console's own manifests: ``kubectl apply -k openshift/overlays/demo`` creates every object (Route and
PrometheusRule as the CRDs they are on OpenShift), the console's Deployment becomes available, a second apply
and a diff find nothing to change, and ``kubectl delete -k`` removes it all."""

from __future__ import annotations

from pathlib import Path

from .helpers import wait_for

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "openshift" / "overlays" / "demo")
NS = "mlops-console"
EXPECTED = {
    "serviceaccount/mlops-console", "role.rbac.authorization.k8s.io/mlops-console",
    "rolebinding.rbac.authorization.k8s.io/mlops-console",
    "clusterrolebinding.rbac.authorization.k8s.io/mlops-console-cluster-monitoring-view",
    "service/mlops-console", "deployment.apps/mlops-console", "poddisruptionbudget.policy/mlops-console",
    "prometheusrule.monitoring.coreos.com/mlops-console-slos", "networkpolicy.networking.k8s.io/mlops-console",
    "route.route.openshift.io/mlops-console",
}


def test_apply_k_demo_overlay_then_delete_k(shared_server, shared_kubectl) -> None:
    shared_kubectl("create", "namespace", NS)
    # The Secret is made by hand, as docs/openshift.md says; the kustomization leaves it out on purpose.
    shared_kubectl("apply", "-f", str(REPO / "openshift" / "secret.example.yaml"), "-n", NS)
    applied = shared_kubectl("apply", "-k", DEMO).stdout.splitlines()
    created = {line.rsplit(" ", 1)[0] for line in applied}
    assert all(line.endswith(" created") for line in applied)
    assert EXPECTED <= created and sum(1 for c in created if c.startswith("configmap/mlops-console-")) == 2
    assert len([line for line in applied if line.startswith("role.rbac")]) == 2  # ml-serving and ml-staging

    shared_kubectl("wait", "--for=condition=Available", "deployment/mlops-console", "-n", NS, "--timeout=30s")
    d = shared_server.get("deployments", NS, "mlops-console")
    assert d["status"]["readyReplicas"] == 2 and d["spec"]["template"]["spec"]["serviceAccountName"] == "mlops-console"
    # The disruption controller: two ready replicas, minAvailable 1.
    pdb = wait_for(lambda: (p := shared_server.get("poddisruptionbudgets", NS, "mlops-console"))["status"]["currentHealthy"] == 2 and p)
    assert {k: pdb["status"][k] for k in ("disruptionsAllowed", "desiredHealthy", "expectedPods")} == {
        "disruptionsAllowed": 1, "desiredHealthy": 1, "expectedPods": 2}
    assert shared_kubectl("get", "pdb", "-n", NS, "--no-headers").stdout.split()[:4] == ["mlops-console", "1", "N/A", "1"]
    route = shared_server.get("routes", NS, "mlops-console")
    assert route["spec"]["to"] == {"kind": "Service", "name": "mlops-console", "weight": 100}  # the CRD's defaults
    assert route["spec"]["host"] == "mlops-console-mlops-console.apps.sandbox.local"
    routes = shared_kubectl("get", "routes", "-n", NS).stdout.split()
    assert routes[:5] == ["NAME", "HOST", "ADMITTED", "SERVICE", "TLS"] and "True" in routes
    rules = shared_server.get("prometheusrules", NS, "mlops-console-slos")
    assert {g["name"] for g in rules["spec"]["groups"]} >= {"slo-iris-classifier-availability"}
    assert shared_server.get("rolebindings", "ml-staging", "mlops-console")["roleRef"]["name"] == "mlops-console"

    pdb = shared_server.get("poddisruptionbudgets", NS, "mlops-console")["metadata"]["resourceVersion"]
    again = shared_kubectl("apply", "-k", DEMO).stdout.splitlines()
    # kubectl's three-way patch always carries a field whose patch strategy is "replace" (the PDB's selector), so it
    # sends that one patch and reports it configured; the object does not change.
    assert {line.rsplit(" ", 1)[1] for line in again if not line.startswith("poddisruptionbudget")} == {"unchanged"}
    assert shared_server.get("poddisruptionbudgets", NS, "mlops-console")["metadata"]["resourceVersion"] == pdb
    assert shared_kubectl("diff", "-k", DEMO).stdout == ""

    deleted = shared_kubectl("delete", "-k", DEMO).stdout.splitlines()
    assert len(deleted) == len(applied) and all(" deleted" in line for line in deleted)
    for resource in ("deployments", "services", "routes", "prometheusrules", "configmaps", "poddisruptionbudgets",
                     "networkpolicies", "serviceaccounts"):
        assert shared_server.list(resource, NS) == [], resource
    assert shared_server.get("clusterrolebindings", "", "mlops-console-cluster-monitoring-view") is None
    wait_for(lambda: shared_server.list("pods", NS) == [], what="the console's pods gone")
    shared_kubectl("delete", "namespace", NS)
    assert shared_server.get("namespaces", "", NS) is None
