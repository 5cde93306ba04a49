"""The console's Role grants exactly the Kubernetes requests its adapter makes, derived from the adapter's source.

Every request goes through ``KubernetesCluster._translated(verb, resource, namespace)``; the verbs and
resources are the string literals passed to it, or, where a helper passes its own parameter through (``_list``),
the literals its callers pass for that parameter. The API group comes from the client the same code uses
(``self._apps``: apps, ``self._core``: the core group). A new adapter call without a Role change fails here.

The one grant outside the Roles is the ClusterRoleBinding to ``cluster-monitoring-view``: Thanos Querier's
access check, not a Kubernetes API request the adapter makes.
"""

from __future__ import annotations

import ast
from datetime import datetime, timezone
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import CONSOLE_NAMESPACE, OVERLAYS, ROOT, SERVICE_ACCOUNT, find, one, rendered, settings_of

ADAPTER = ROOT / "console/adapters/kubernetes.py"
CLIENT_GROUPS = {"_apps": "apps", "_core": ""}
MONITORING_GRANT = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-monitoring-view"}

Grant = tuple[str, str, str]  # (API group, resource, verb)


def _is_translated(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "_translated"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    )


def _self_calls(tree: ast.AST, method: str) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"):
            yield node


def _clients_used(node: ast.AST) -> set[str]:
    """API groups of the clients (self._apps, self._core) that a piece of code touches."""
    groups = set()
    for child in ast.walk(node):
        if (isinstance(child, ast.Attribute) and child.attr in CLIENT_GROUPS
                and isinstance(child.value, ast.Name) and child.value.id == "self"):
            groups.add(CLIENT_GROUPS[child.attr])
    return groups


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _literal_values(expr: ast.expr | None, function: ast.FunctionDef, tree: ast.Module) -> list[tuple[str, set[str]]]:
    """The string values an argument can take, each with the API groups in scope where the value is chosen."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [(expr.value, _clients_used(function))]
    if isinstance(expr, ast.Name):
        params = [a.arg for a in function.args.args]
        if expr.id in params:
            index = params.index(expr.id) - 1  # after self
            values = []
            for call in _self_calls(tree, function.name):
                values.append((_argument_value(call, index, expr.id), _clients_used(call)))
            if values:
                return values
    raise AssertionError(f"cannot tell the value of {ast.unparse(expr) if expr else None!r} in {function.name}()")


def _argument_value(call: ast.Call, index: int, keyword: str) -> str:
    value = _argument(call, index, keyword)
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
        raise AssertionError(f"{ast.unparse(call)}: pass {keyword} as a string literal")
    return value.value


def adapter_grants(source: str) -> set[Grant]:
    """(group, resource, verb) of every request in the adapter's source."""
    tree = ast.parse(source)
    grants: set[Grant] = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for call in ast.walk(function):
            if not _is_translated(call):
                continue
            verbs = _literal_values(_argument(call, 0, "verb"), function, tree)
            resources = _literal_values(_argument(call, 1, "resource"), function, tree)
            for verb, verb_groups in verbs:
                for resource, resource_groups in resources:
                    groups = resource_groups or verb_groups
                    if len(groups) != 1:
                        raise AssertionError(f"{function.name}(): {verb} {resource} uses API clients {groups or 'none'}")
                    grants.add((groups.pop(), resource, verb))
    return grants


def role_grants(role: dict[str, Any]) -> set[Grant]:
    grants = set()
    for rule in role["rules"]:
        assert not rule.get("resourceNames") and not rule.get("nonResourceURLs")
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert "*" not in (group, resource, verb), "no wildcards"
                    grants.add((group, resource, verb))
    return grants


# --- the derivation itself --------------------------------------------------------------------------------


def test_the_adapter_makes_the_expected_requests() -> None:
    """A readable statement of today's set; the Role test below is the one that guards changes."""
    assert adapter_grants(ADAPTER.read_text()) == {
        ("apps", "deployments", "get"), ("apps", "deployments", "list"), ("apps", "deployments", "patch"),
        ("apps", "replicasets", "list"),
        ("", "pods", "list"), ("", "pods/log", "get"),
        ("", "events", "list"),
    }


def test_a_new_adapter_call_changes_the_derived_set() -> None:
    extra = '''
    def delete_pod(self, namespace, name):
        with self._translated("delete", "pods", namespace, name):
            return self._json(self._core.delete_namespaced_pod, name, namespace)

    def list_config_maps(self):
        return self._list("configmaps", self._core.list_config_map_for_all_namespaces,
                          self._core.list_namespaced_config_map)
'''
    source = ADAPTER.read_text().replace("    def close(self) -> None:", extra + "\n    def close(self) -> None:")
    derived = adapter_grants(source)
    assert derived - adapter_grants(ADAPTER.read_text()) == {("", "pods", "delete"), ("", "configmaps", "list")}


def test_a_request_the_derivation_cannot_read_fails_loudly() -> None:
    source = ADAPTER.read_text().replace(
        "    def close(self) -> None:",
        "    def dynamic(self, verb):\n        with self._translated(verb.lower(), 'pods', None):\n            pass\n\n"
        "    def close(self) -> None:",
    )
    with pytest.raises(AssertionError):
        adapter_grants(source)


# --- the Roles ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_managed_namespace_grants_exactly_what_the_adapter_calls(overlay: str) -> None:
    objects = rendered(overlay)
    expected = adapter_grants(ADAPTER.read_text())
    namespaces = settings_of(objects)["CONSOLE_NAMESPACES"].split(",")
    roles = find(objects, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == sorted(namespaces)
    for role in roles:
        assert role_grants(role) == expected, role["metadata"]["namespace"]
    bindings = find(objects, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == sorted(namespaces)
    for binding in bindings:
        role = next(r for r in roles if r["metadata"]["namespace"] == binding["metadata"]["namespace"])
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": CONSOLE_NAMESPACE}]
    assert one(objects, "ServiceAccount", SERVICE_ACCOUNT)["metadata"]["namespace"] == CONSOLE_NAMESPACE


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_cluster_wide_kubernetes_rights(overlay: str) -> None:
    """No ClusterRole; the only ClusterRoleBinding is the documented monitoring grant for Thanos Querier."""
    objects = rendered(overlay)
    assert not find(objects, "ClusterRole")
    [binding] = find(objects, "ClusterRoleBinding")
    assert binding["roleRef"] == MONITORING_GRANT
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": CONSOLE_NAMESPACE}]
    assert settings_of(objects)["PROMETHEUS_BEARER_TOKEN_FILE"].endswith("/serviceaccount/token")


def test_the_role_is_enough_for_the_adapter(tmp_path: Path) -> None:
    """Against the sandbox API server with only the Role's grants: cluster-wide lists get 403, the adapter falls
    back to one list per namespace, and every read and the patch succeed."""
    from console.adapters.kubernetes import KubernetesCluster
    from console.sandbox.kube import seed_demo_world
    from tests.helpers import validated_kube_server

    objects = rendered("demo")
    namespaces = tuple(settings_of(objects)["CONSOLE_NAMESPACES"].split(","))
    with validated_kube_server(pod_start_seconds=0.05, pod_ready_seconds=0.1, log_interval_seconds=0.2) as server:
        seed_demo_world(server, now=datetime.now(timezone.utc))
        server.tick()
        server.policy.deny_all()
        for role in find(objects, "Role"):
            for _group, resource, verb in role_grants(role):
                server.policy.allow(verb=verb, resource=resource, namespace=role["metadata"]["namespace"])
        cluster = KubernetesCluster(namespaces=namespaces, kubeconfig=server.write_kubeconfig(tmp_path / "kubeconfig"))
        try:
            deployments = cluster.list_deployments()
            assert deployments and {d.metadata.namespace for d in deployments} <= set(namespaces)
            assert cluster.list_replica_set_metadata() and cluster.list_pods()
            assert cluster.calls["list deployments"] == 1 + len(namespaces)  # one 403, then one per namespace
            first = deployments[0]
            namespace, name = first.metadata.namespace, first.metadata.name
            current = cluster.get_deployment(namespace, name)
            cluster.list_namespaced_replica_sets(namespace, label_selector="")
            pods = cluster.list_namespaced_pods(namespace, label_selector="")
            cluster.list_events(namespace, involved_names={name})
            if pods:
                cluster.read_pod_log(namespace, pods[0].metadata.name, tail_lines=5)
            cluster.patch_deployment(namespace, name, [
                {"op": "test", "path": "/metadata/resourceVersion", "value": current.metadata.resource_version},
                {"op": "replace", "path": "/spec/replicas", "value": current.spec.replicas},
            ])
        finally:
            cluster.close()
