"""Pure rules of console.domain.workloads and workload_patches on typed objects decoded from API JSON."""

from __future__ import annotations

import copy

from console.adapters.kubernetes_decoding import from_document
from console.domain.kubernetes_objects import Deployment, PodTemplate, ReplicaSet
from console.domain.workload_patches import rollback_patch
from console.domain.workloads import (
    CHANGE_CAUSE,
    DeploymentInfo,
    Health,
    PodInfo,
    assess_health,
    describe_template_change,
    revision_of,
    rollout_progress,
)

TEMPLATE = {
    "metadata": {"labels": {"app": "iris", "pod-template-hash": "abc"},
                 "annotations": {"mlops.console/model-version": "3"}},
    "spec": {"containers": [{"name": "server", "image": "repo/iris:v3",
                             "env": [{"name": "MODEL_URI", "value": "models:/iris/3"}],
                             "resources": {"limits": {"cpu": "500m"}}}]},
}


def deployment(**status: object) -> dict:
    template = copy.deepcopy(TEMPLATE)
    del template["metadata"]["labels"]["pod-template-hash"]
    template["metadata"]["annotations"]["mlops.console/model-version"] = "4"
    template["spec"]["containers"][0]["image"] = "repo/iris:v4"
    template["spec"]["containers"][0]["env"][0]["value"] = "models:/iris/4"
    return {
        "metadata": {"name": "iris", "namespace": "ml", "uid": "u1", "resourceVersion": "42", "generation": 5,
                     "labels": {"mlops.console/model": "iris"},
                     "annotations": {"deployment.kubernetes.io/revision": "7", CHANGE_CAUSE: "old",
                                     "team": "a"}},
        "spec": {"replicas": 3, "template": template},
        "status": {"observedGeneration": 5, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                   "availableReplicas": 3, "conditions": [{"type": "Available", "status": "True"}], **status},
    }


def deployment_from(document: dict) -> DeploymentInfo:
    return DeploymentInfo(from_document(Deployment, document))


def pod(reason: str = "") -> PodInfo:
    return PodInfo("ml", "p", "Running", not reason, 0, 1, 3, None, "node", "rs", ("server",), reason)


def test_health() -> None:
    healthy = deployment_from(deployment())
    assert assess_health(healthy, [pod()]) == (Health.HEALTHY, "")
    assert assess_health(healthy, [pod("CrashLoopBackOff")]) == (Health.DEGRADED, "CrashLoopBackOff")
    rolling = deployment_from(deployment(updatedReplicas=1))
    assert assess_health(rolling, [])[0] is Health.PROGRESSING
    deadline = deployment_from(deployment(conditions=[{"type": "Progressing", "status": "False",
                                                       "reason": "ProgressDeadlineExceeded", "message": "timed out"}]))
    assert assess_health(deadline, []) == (Health.DEGRADED, "timed out")
    scaling_up = deployment_from(deployment(availableReplicas=1))
    assert assess_health(scaling_up, []) == (Health.PROGRESSING, "1 of 3 available")
    paused = deployment_from({**deployment(), "spec": {**deployment()["spec"], "paused": True}})
    assert assess_health(paused, [pod("CrashLoopBackOff")])[0] is Health.PAUSED


def test_rollout_progress_matches_kubectl_rollout_status() -> None:
    assert rollout_progress(deployment_from(deployment())).done
    waiting = rollout_progress(deployment_from(deployment(updatedReplicas=1)))
    assert waiting.message == "1 of 3 new replicas have been updated" and not waiting.done
    stale = rollout_progress(deployment_from(deployment(observedGeneration=4)))
    assert not stale.done and stale.message == "waiting for the rollout to start"


def test_rollback_patch_is_kubectl_undo_with_a_resource_version_guard() -> None:
    current = deployment_from(deployment())
    target = revision_of(from_document(ReplicaSet, {"metadata": {"name": "iris-abc", "annotations": {
        "deployment.kubernetes.io/revision": "3", "deployment.kubernetes.io/revision-history": "1",
        CHANGE_CAUSE: "promote v3", "team": "b"}}, "spec": {"template": TEMPLATE}, "status": {}}), is_current=False)
    patch = rollback_patch(current, target, "ada: rollback - bad model")
    assert patch[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "42"}
    assert patch[1]["op"] == "replace" and patch[1]["path"] == "/spec/template"
    assert "pod-template-hash" not in patch[1]["value"]["metadata"]["labels"]
    assert TEMPLATE["metadata"]["labels"]["pod-template-hash"] == "abc"  # the revision itself is untouched
    assert patch[2] == {"op": "replace", "path": "/metadata/annotations", "value": {
        "deployment.kubernetes.io/revision": "7", "team": "b", CHANGE_CAUSE: "ada: rollback - bad model"}}


def test_describe_template_change() -> None:
    current = deployment_from(deployment()).template
    changes = {c.what: (c.before, c.after)
               for c in describe_template_change(current, from_document(PodTemplate, TEMPLATE))}
    assert changes == {
        "model version": ("4", "3"),
        "server image": ("repo/iris:v4", "repo/iris:v3"),
        "server env MODEL_URI": ("models:/iris/4", "models:/iris/3"),
    }
