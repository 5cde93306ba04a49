"""The official Python client against the sandbox: verbs, object semantics, errors, watch, faults, access policy."""

from __future__ import annotations

import json
import threading
import time

import kubernetes
import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from .helpers import condition, rolled_out, simple_deployment, wait_for

USER = "system:serviceaccount:mlops-console:mlops-console"


def status_of(err: ApiException) -> dict:
    body = json.loads(err.body)
    assert body["kind"] == "Status" and body["code"] == err.status
    return body


def test_create_fills_in_what_a_real_apiserver_does(kube_server, apps) -> None:
    created = apps.create_namespaced_deployment("default", simple_deployment("web", image="registry.local/app"))
    meta = created.metadata
    assert meta.uid and meta.generation == 1 and meta.creation_timestamp is not None
    assert int(meta.resource_version) > 0
    spec = created.spec
    assert spec.revision_history_limit == 10 and spec.progress_deadline_seconds == 600
    assert spec.strategy.type == "RollingUpdate"
    assert (spec.strategy.rolling_update.max_surge, spec.strategy.rolling_update.max_unavailable) == ("25%", "25%")
    pod_spec = spec.template.spec
    assert (pod_spec.restart_policy, pod_spec.dns_policy, pod_spec.scheduler_name) == ("Always", "ClusterFirst", "default-scheduler")
    assert pod_spec.termination_grace_period_seconds == 30 and pod_spec.security_context is not None
    container = pod_spec.containers[0]
    assert container.termination_message_path == "/dev/termination-log"
    assert container.termination_message_policy == "File"
    assert container.image_pull_policy == "Always"  # no tag means latest
    assert container.ports[0].protocol == "TCP"
    # One resourceVersion counter across all kinds.
    ns = kubernetes.client.CoreV1Api(apps.api_client).create_namespace({"metadata": {"name": "other"}})
    assert int(ns.metadata.resource_version) > int(meta.resource_version)
    assert ns.metadata.labels == {"kubernetes.io/metadata.name": "other"}
    wait_for(lambda: rolled_out(kube_server, "default", "web"))


def test_update_conflicts_and_generation(kube_server, apps) -> None:
    # Keep the controllers from writing status in between, so every resourceVersion below is ours.
    with kube_server.controllers.held():
        _update_conflicts_and_generation(apps)


def _update_conflicts_and_generation(apps) -> None:
    created = apps.create_namespaced_deployment("default", simple_deployment("web"))
    fresh = apps.read_namespaced_deployment("web", "default")
    fresh.metadata.labels["team"] = "ml"
    labelled = apps.replace_namespaced_deployment("web", "default", fresh)
    assert labelled.metadata.generation == 1  # metadata changes leave generation alone
    assert int(labelled.metadata.resource_version) > int(created.metadata.resource_version)
    stale = created
    stale.spec.replicas = 5
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("web", "default", stale)
    body = status_of(err.value)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
                               "please apply your changes to the latest version and try again")
    assert body["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    current = apps.read_namespaced_deployment("web", "default")
    current.spec.replicas = 3
    scaled = apps.replace_namespaced_deployment("web", "default", current)
    assert scaled.metadata.generation == 2 and scaled.spec.replicas == 3
    # PUT ignores status; the status subresource ignores spec.
    scaled.status.replicas = 99
    scaled.spec.replicas = 7
    after_status = apps.replace_namespaced_deployment_status("web", "default", scaled)
    assert after_status.spec.replicas == 3 and after_status.status.replicas == 99


def test_patch_kinds(kube_server, apps) -> None:
    with kube_server.controllers.held():  # no status writes between our read and the test op
        _patch_kinds(apps)


def _patch_kinds(apps) -> None:
    apps.create_namespaced_deployment("default", simple_deployment("web"))
    rv = apps.read_namespaced_deployment("web", "default").metadata.resource_version
    json_patch = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/replicas", "value": 4},
        {"op": "add", "path": "/metadata/labels/tier", "value": "gold"},
    ]
    patched = apps.patch_namespaced_deployment("web", "default", json_patch, _content_type="application/json-patch+json")
    assert patched.spec.replicas == 4 and patched.metadata.labels["tier"] == "gold"
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("web", "default", json_patch, _content_type="application/json-patch+json")
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"] == "the server rejected our request due to an error in our request"

    merged = apps.patch_namespaced_deployment(
        "web", "default", {"metadata": {"labels": {"tier": None}}, "spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "registry.local/app:v9"}]}}}},
        _content_type="application/merge-patch+json",
    )
    assert "tier" not in merged.metadata.labels
    # A merge patch replaces lists: the container lost its ports.
    assert merged.spec.template.spec.containers[0].ports is None

    strategic = apps.patch_namespaced_deployment(
        "web", "default",
        {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "ports": [{"containerPort": 9090}]},
            {"name": "sidecar", "image": "registry.local/proxy:v1"},
        ]}}}},
        _content_type="application/strategic-merge-patch+json",
    )
    containers = strategic.spec.template.spec.containers
    assert [c.name for c in containers] == ["app", "sidecar"]
    assert containers[0].image == "registry.local/app:v9"  # merged by name, image kept
    assert containers[1].termination_message_path == "/dev/termination-log"  # defaults for the new one
    deleted = apps.patch_namespaced_deployment(
        "web", "default",
        {"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "$patch": "delete"},
            {"name": "app", "env": [{"name": "A", "$patch": "delete"}, {"name": "B", "value": "3"}]},
        ]}}}},
        _content_type="application/strategic-merge-patch+json",
    )
    [app] = deleted.spec.template.spec.containers
    assert [(e.name, e.value) for e in app.env] == [("B", "3")]
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
                                         _content_type="application/strategic-merge-patch+json")
    assert err.value.status == 500 and "does not contain declared merge key: name" in status_of(err.value)["message"]
    # A stale resourceVersion inside a patch is a precondition, as on a real apiserver.
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("web", "default", {"metadata": {"resourceVersion": rv}, "spec": {"replicas": 1}})
    assert err.value.status == 409


def test_errors_have_real_reasons_and_messages(kube_server, apps, core) -> None:
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("ghost", "default")
    body = status_of(err.value)
    assert (err.value.status, body["reason"], body["message"]) == (404, "NotFound", 'deployments.apps "ghost" not found')
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("ghost", "default")
    assert status_of(err.value)["message"] == 'pods "ghost" not found'
    apps.create_namespaced_deployment("default", simple_deployment("web"))
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("default", simple_deployment("web"))
    body = status_of(err.value)
    assert (err.value.status, body["reason"], body["message"]) == (409, "AlreadyExists", 'deployments.apps "web" already exists')
    bad = simple_deployment("bad")
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("default", bad)
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"] == ('Deployment.apps "bad" is invalid: spec.template.metadata.labels: Invalid value: '
                               'map[string]string{"app":"bad"}: `selector` does not match template `labels`')
    assert body["details"]["causes"][0]["field"] == "spec.template.metadata.labels"
    negative = simple_deployment("neg", replicas=-1)
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("default", negative)
    assert status_of(err.value)["message"] == 'Deployment.apps "neg" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("nowhere", simple_deployment("web", namespace="nowhere"))
    assert (err.value.status, status_of(err.value)["message"]) == (404, 'namespaces "nowhere" not found')
    with pytest.raises(ApiException) as err:
        apps.list_namespaced_deployment("default", field_selector="spec.paused=true")
    assert (err.value.status, status_of(err.value)["reason"]) == (400, "BadRequest")
    with pytest.raises(ApiException) as err:
        current = apps.read_namespaced_deployment("web", "default")
        current.spec.selector.match_labels = {"app": "web", "x": "y"}
        current.spec.template.metadata.labels = {"app": "web", "x": "y"}
        apps.replace_namespaced_deployment("web", "default", current)
    assert "spec.selector: Invalid value" in status_of(err.value)["message"] and "field is immutable" in status_of(err.value)["message"]


def test_access_policy_answers_like_rbac(kube_server, apps, core) -> None:
    kube_server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-serving"}})
    apps.create_namespaced_deployment("ml-serving", simple_deployment("x", namespace="ml-serving"))
    kube_server.policy.deny(verb="patch", resource="deployments", namespace="ml-serving")
    kube_server.policy.deny(verb="list", resource="pods")
    kube_server.policy.deny(verb="patch", resource="deployments/scale")
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("x", "ml-serving", {"spec": {"replicas": 3}})
    body = status_of(err.value)
    assert (err.value.status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == (f'deployments.apps "x" is forbidden: User "{USER}" cannot patch resource "deployments" '
                               'in API group "apps" in the namespace "ml-serving"')
    assert body["details"] == {"name": "x", "group": "apps", "kind": "deployments"}
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces()
    assert status_of(err.value)["message"] == (f'pods is forbidden: User "{USER}" cannot list resource "pods" in API group "" '
                                               "at the cluster scope")
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_scale("x", "ml-serving", {"spec": {"replicas": 3}})
    assert 'cannot patch resource "deployments/scale" in API group "apps"' in status_of(err.value)["message"]
    assert apps.read_namespaced_deployment("x", "ml-serving").spec.replicas == 2  # reads still allowed
    kube_server.policy.clear()
    assert apps.patch_namespaced_deployment("x", "ml-serving", {"spec": {"replicas": 3}}).spec.replicas == 3


def test_lists_and_selectors(kube_server, apps, core) -> None:
    core.create_namespace({"metadata": {"name": "team-a"}})
    for ns, name, tier in (("default", "a", "gold"), ("default", "b", "silver"), ("team-a", "c", "gold")):
        body = simple_deployment(name, namespace=ns, replicas=1)
        body["metadata"]["labels"]["tier"] = tier
        apps.create_namespaced_deployment(ns, body)
    everywhere = apps.list_deployment_for_all_namespaces()
    assert sorted(d.metadata.name for d in everywhere.items) == ["a", "b", "c"]
    assert everywhere.kind == "DeploymentList" and int(everywhere.metadata.resource_version) > 0
    assert [d.metadata.name for d in apps.list_namespaced_deployment("default").items] == ["a", "b"]
    assert [d.metadata.name for d in apps.list_deployment_for_all_namespaces(label_selector="tier=gold").items] == ["a", "c"]
    assert [d.metadata.name for d in apps.list_deployment_for_all_namespaces(label_selector="tier in (silver,bronze)").items] == ["b"]
    assert [d.metadata.name for d in apps.list_deployment_for_all_namespaces(label_selector="tier!=gold,app").items] == ["b"]
    assert [d.metadata.name for d in apps.list_namespaced_deployment("default", field_selector="metadata.name=b").items] == ["b"]
    first = apps.list_deployment_for_all_namespaces(limit=2)
    assert len(first.items) == 2 and first.metadata._continue and first.metadata.remaining_item_count == 1
    rest = apps.list_deployment_for_all_namespaces(limit=2, _continue=first.metadata._continue)
    assert [d.metadata.name for d in rest.items] == ["c"] and not rest.metadata._continue
    wait_for(lambda: len(core.list_namespaced_pod("default", label_selector="app=a").items) == 1)
    pods = core.list_pod_for_all_namespaces(label_selector="app in (a,c)")
    assert {p.metadata.namespace for p in pods.items} == {"default", "team-a"}


def test_watch_streams_changes_with_field_selector(kube_server, apps) -> None:
    apps.create_namespaced_deployment("default", simple_deployment("watched", replicas=1))
    apps.create_namespaced_deployment("default", simple_deployment("ignored", replicas=1))
    start = apps.list_namespaced_deployment("default").metadata.resource_version
    seen: list[tuple[str, str, int]] = []

    def consume() -> None:
        watcher = kubernetes.watch.Watch()
        for event in watcher.stream(apps.list_namespaced_deployment, "default", resource_version=start,
                                    field_selector="metadata.name=watched", timeout_seconds=5):
            seen.append((event["type"], event["object"].metadata.name, event["object"].spec.replicas))
            if event["object"].spec.replicas == 3:
                watcher.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.3)
    apps.patch_namespaced_deployment("ignored", "default", {"spec": {"replicas": 2}})
    apps.patch_namespaced_deployment("watched", "default", {"spec": {"replicas": 3}})
    thread.join(10)
    assert not thread.is_alive()
    assert seen and all(name == "watched" for _, name, _ in seen)
    assert ("MODIFIED", "watched", 3) in seen


def test_scale_subresource(kube_server, apps) -> None:
    apps.create_namespaced_deployment("default", simple_deployment("web", replicas=2))
    wait_for(lambda: rolled_out(kube_server, "default", "web"))
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert (scale.kind, scale.api_version) == ("Scale", "autoscaling/v1")
    assert scale.spec.replicas == 2 and scale.status.replicas == 2 and scale.status.selector == "app=web"
    patched = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    assert patched.spec.replicas == 4
    assert apps.read_namespaced_deployment("web", "default").metadata.generation == 2
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": -1}})
    assert status_of(err.value)["message"] == 'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    scale.spec.replicas = 1  # a Scale read before the patch: stale
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment_scale("web", "default", scale)
    assert err.value.status == 409


def test_delete_semantics_and_garbage_collection(kube_server, apps, core) -> None:
    apps.create_namespaced_deployment("default", simple_deployment("web", replicas=2))
    apps.create_namespaced_deployment("default", simple_deployment("kept", replicas=1))
    wait_for(lambda: rolled_out(kube_server, "default", "web") and rolled_out(kube_server, "default", "kept"))
    status = apps.delete_namespaced_deployment("web", "default")  # the client returns the Status as a dict
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"]["name"] == "web" and status["details"]["group"] == "apps" and status["details"]["kind"] == "deployments"
    wait_for(lambda: not kube_server.list("replicasets", "default", "app=web") and not kube_server.list("pods", "default", "app=web"),
             what="dependents collected")
    apps.delete_namespaced_deployment("kept", "default", propagation_policy="Orphan")
    wait_for(lambda: kube_server.get("deployments", "default", "kept") is None)
    [orphan] = kube_server.list("replicasets", "default", "app=kept")
    assert not orphan["metadata"].get("ownerReferences")
    pod = core.list_namespaced_pod("default", label_selector="app=kept").items[0]
    deleted = core.delete_namespaced_pod(pod.metadata.name, "default")
    deleted = deleted if isinstance(deleted, dict) else apps.api_client.sanitize_for_serialization(deleted)
    assert deleted["kind"] == "Pod" and deleted["metadata"]["deletionTimestamp"]
    assert deleted["metadata"]["deletionGracePeriodSeconds"] == 30
    wait_for(lambda: kube_server.get("pods", "default", pod.metadata.name) is None, what="pod terminated")
    # The orphaned ReplicaSet still owns its pods: it replaces the deleted one.
    wait_for(lambda: len(kube_server.list("pods", "default", "app=kept")) == 1, what="pod replaced")
    core.create_namespace({"metadata": {"name": "temp"}})
    apps.create_namespaced_deployment("temp", simple_deployment("t", namespace="temp", replicas=1))
    terminating = core.delete_namespace("temp")
    terminating = terminating if isinstance(terminating, dict) else apps.api_client.sanitize_for_serialization(terminating)
    assert terminating["status"]["phase"] == "Terminating"
    wait_for(lambda: kube_server.get("namespaces", "", "temp") is None, what="namespace gone")


def test_fault_injection(kube_server, apps) -> None:
    apps.create_namespaced_deployment("default", simple_deployment("web", replicas=1))
    kube_server.faults.add(verb="list", resource="deployments", latency_seconds=0.5, times=1)
    started = time.monotonic()
    apps.list_namespaced_deployment("default")
    assert time.monotonic() - started >= 0.5
    kube_server.faults.add(verb="get", resource="deployments", status=503, times=1)
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("web", "default")
    assert (err.value.status, status_of(err.value)["reason"]) == (503, "ServiceUnavailable")
    assert apps.read_namespaced_deployment("web", "default").metadata.name == "web"  # times=1: recovered
    kube_server.faults.add(verb="patch", resource="deployments", status=403, namespace="default", times=1)
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 2}})
    assert err.value.status == 403 and "cannot patch resource" in status_of(err.value)["message"]
    kube_server.faults.add(verb="get", resource="deployments/scale", drop=True)
    with pytest.raises(urllib3.exceptions.HTTPError):
        apps.read_namespaced_deployment_scale("web", "default", _request_timeout=2)
    kube_server.faults.add(verb="list", resource="pods", status=500)
    with pytest.raises(ApiException) as err:
        kubernetes.client.CoreV1Api(apps.api_client).list_namespaced_pod("default")
    assert err.value.status == 500
    kube_server.faults.clear()
    assert kubernetes.client.CoreV1Api(apps.api_client).list_namespaced_pod("default").kind == "PodList"


def test_discovery_documents(kube_server, api_client) -> None:
    version = kubernetes.client.VersionApi(api_client).get_code()
    assert version.major == "1" and version.git_version.startswith("v1.")
    groups = kubernetes.client.ApisApi(api_client).get_api_versions()
    assert {g.name for g in groups.groups} >= {"apps", "autoscaling"}
    resources = kubernetes.client.AppsV1Api(api_client).get_api_resources()
    names = {r.name: r for r in resources.resources}
    assert names["deployments"].short_names == ["deploy"] and "watch" in names["deployments"].verbs
    assert names["deployments/scale"].group == "autoscaling" and names["deployments/scale"].kind == "Scale"
    core = {r.name for r in kubernetes.client.CoreV1Api(api_client).get_api_resources().resources}
    assert {"pods", "pods/log", "namespaces", "events"} <= core


def test_events_record_controller_actions(kube_server, apps, core) -> None:
    apps.create_namespaced_deployment("default", simple_deployment("web", replicas=1))
    wait_for(lambda: rolled_out(kube_server, "default", "web"))
    d = apps.read_namespaced_deployment("web", "default")
    assert condition(kube_server.get("deployments", "default", "web"), "Available")["status"] == "True"
    events = core.list_namespaced_event("default", field_selector=f"involvedObject.uid={d.metadata.uid}").items
    assert [e.reason for e in events] == ["ScalingReplicaSet"]
    assert events[0].source.component == "deployment-controller" and events[0].type == "Normal"
    pod_events = {e.reason for e in core.list_namespaced_event("default", field_selector="involvedObject.kind=Pod").items}
    assert {"Scheduled", "Pulled", "Created", "Started"} <= pod_events
