"""core/v1 Services in the sandbox API server: create, get, list, update, delete, and the apiserver's defaults."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException



def service(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"selector": {"app": name}, "ports": [{"port": 8080}], **spec},
    }


def test_a_created_service_gets_the_apiserver_defaults(kube_server, core) -> None:
    response = core.create_namespaced_service("default", service("web"), _preload_content=False)
    assert response.status == 201
    created = json.loads(response.data)
    spec = created["spec"]
    address = ipaddress.ip_address(spec["clusterIP"])
    assert address in ipaddress.ip_network("10.96.0.0/12") and str(address) != "10.96.0.1"
    assert spec == {
        "selector": {"app": "web"},
        "ports": [{"port": 8080, "protocol": "TCP", "targetPort": 8080}],
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "clusterIP": spec["clusterIP"],
        "clusterIPs": [spec["clusterIP"]],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
    }
    assert created["status"] == {"loadBalancer": {}}
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    assert core.read_namespaced_service("web", "default").spec.cluster_ip == spec["clusterIP"]


def test_client_ip_affinity_and_named_target_ports(kube_server, core) -> None:
    body = service("console", sessionAffinity="ClientIP",
                   ports=[{"name": "http", "port": 8501, "targetPort": "http"}])
    spec = core.create_namespaced_service("default", body).spec
    assert spec.session_affinity == "ClientIP"
    assert spec.session_affinity_config.client_ip.timeout_seconds == 10800
    assert spec.ports[0].target_port == "http" and spec.ports[0].protocol == "TCP"


def test_get_list_and_delete(kube_server, core) -> None:
    kube_server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    a = core.create_namespaced_service("default", service("a"))
    core.create_namespaced_service("other", service("b"))
    assert core.read_namespaced_service("a", "default").spec.cluster_ip == a.spec.cluster_ip
    assert [s.metadata.name for s in core.list_namespaced_service("default").items] == ["a"]
    everywhere = core.list_service_for_all_namespaces()
    assert everywhere.kind == "ServiceList" and {s.metadata.name for s in everywhere.items} == {"a", "b"}
    assert len({s.spec.cluster_ip for s in everywhere.items}) == 2
    core.delete_namespaced_service("a", "default")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_service("a", "default")
    assert err.value.status == 404


def test_an_update_keeps_the_allocated_address(kube_server, core) -> None:
    created = core.create_namespaced_service("default", service("web"))
    replacement = service("web", ports=[{"port": 9090}])
    replacement["metadata"]["resourceVersion"] = created.metadata.resource_version
    updated = core.replace_namespaced_service("web", "default", replacement)
    assert updated.spec.cluster_ip == created.spec.cluster_ip and updated.spec.ports[0].target_port == 9090
    moved = service("web", clusterIP="10.96.0.20")
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_service("web", "default", moved)
    assert err.value.status == 422


@pytest.mark.parametrize(("spec", "field"), [
    ({"ports": [{"port": 0}]}, "spec.ports[0].port"),
    ({"ports": [{"port": 80}, {"port": 81}]}, "spec.ports[0].name"),
    ({"ports": [{"port": 80, "protocol": "HTTP"}]}, "spec.ports[0].protocol"),
    ({"type": "Ingress"}, "spec.type"),
    ({"sessionAffinity": "Cookie"}, "spec.sessionAffinity"),
    ({"clusterIP": "192.168.1.1"}, "spec.clusterIPs"),
])
def test_invalid_services_are_refused(kube_server, core, spec, field) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service("default", service("bad", **spec))
    assert err.value.status == 422
    assert field in err.value.body


def test_a_taken_cluster_ip_is_refused(kube_server, core) -> None:
    taken = core.create_namespaced_service("default", service("a")).spec.cluster_ip
    with pytest.raises(ApiException) as err:
        core.create_namespaced_service("default", service("b", clusterIP=taken))
    assert err.value.status == 422 and "already allocated" in err.value.body


def test_node_ports_are_allocated(kube_server, core) -> None:
    spec = core.create_namespaced_service("default", service("np", type="NodePort")).spec
    assert 30000 <= spec.ports[0].node_port <= 32767 and spec.external_traffic_policy == "Cluster"


def test_discovery_and_kubectl(kube_server, api_client, kubectl) -> None:
    resources = {r.name: r for r in kubernetes.client.CoreV1Api(api_client).get_api_resources().resources}
    assert resources["services"].short_names == ["svc"] and resources["services"].namespaced
    # kubectl sends protobuf bodies on create, which the sandbox does not read; it creates through the API.
    kube_server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-serving"}})
    kube_server.create({**service("web", ports=[{"port": 80, "targetPort": 8080}]),
                        "metadata": {"name": "web", "namespace": "ml-serving"}})
    listing = kubectl("get", "svc", "-o", "wide").stdout
    header, row = listing.splitlines()[:2]
    assert header.split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    assert row.split()[:5] == ["web", "ClusterIP", kube_server.get("services", "ml-serving", "web")["spec"]["clusterIP"],
                               "<none>", "80/TCP"]
    kubectl("delete", "svc", "web")
    assert kube_server.get("services", "ml-serving", "web") is None
