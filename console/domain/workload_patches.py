"""The JSON patches (RFC 6902) the console's Deployment actions send, each guarded by the resourceVersion seen.

Pure functions of the typed objects: the first operation of every patch tests ``/metadata/resourceVersion``, so
the whole patch fails unless the object is still the one the operator saw. Rollbacks send exactly what
``kubectl rollout undo --to-revision`` sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.domain.kubernetes_objects import PodTemplate
from console.domain.workloads import (
    CHANGE_CAUSE,
    MODEL_URI_ENV,
    MODEL_VERSION_ANNOTATION,
    POD_TEMPLATE_HASH,
    RESTARTED_AT,
    REVISION,
    DeploymentInfo,
    Revision,
)

Patch = list[dict[str, Any]]

# kubectl rollout undo keeps these on the Deployment instead of copying them from the ReplicaSet
# (k8s.io/kubectl/pkg/polymorphichelpers/rollback.go, annotationsToSkip).
ROLLBACK_SKIPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


def resource_version_guard(resource_version: str) -> dict[str, Any]:
    """The ``test`` operation every patch starts with: the object must still be the one the operator saw."""
    return {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}


def with_resource_version(patch: Patch, resource_version: str) -> Patch:
    """The same patch guarded by another resourceVersion (a retry after a status-only change)."""
    return [resource_version_guard(resource_version), *patch[1:]]


def _json_pointer(*parts: str) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _set_annotation(annotations: Mapping[str, str], key: str, value: str, *, base: str = "/metadata") -> dict[str, Any]:
    if not annotations:
        return {"op": "add", "path": f"{base}/annotations", "value": {key: value}}
    return {"op": "add", "path": _json_pointer(*base.strip("/").split("/"), "annotations", key), "value": value}


def without_pod_template_hash(template: PodTemplate) -> dict[str, Any]:
    """The template's document without the pod-template-hash label, as a rollback sends it back."""
    document = dict(template.document)
    labels = (document.get("metadata") or {}).get("labels")
    if labels and POD_TEMPLATE_HASH in labels:
        document["metadata"] = {**document["metadata"],
                                "labels": {k: v for k, v in labels.items() if k != POD_TEMPLATE_HASH}}
    return document


FENCE_ANNOTATION = "mlops.console/fenced-at"
# The last console action that made no revision (scale, pause, resume): ``<user>: <action> - <reason>``.
LAST_ACTION_ANNOTATION = "mlops.console/last-action"


def fence_patch(deployment: DeploymentInfo) -> Patch:
    """A guarded change of the console's own annotation (no new revision): once it is applied, any patch still
    in flight that was guarded by the same resourceVersion fails its test when it arrives."""
    return [
        resource_version_guard(deployment.resource_version),
        _set_annotation(deployment.annotations, FENCE_ANNOTATION, deployment.resource_version),
    ]


def scale_patch(deployment: DeploymentInfo, replicas: int, note: str) -> Patch:
    """``kubectl scale``: the replica count. It makes no revision, so it leaves the change-cause alone (the
    deployment controller copies the Deployment's annotations onto the current ReplicaSet, and
    ``kubectl rollout history`` would then name the scale as the revision's cause); ``note`` goes into the
    console's own annotation."""
    return [
        resource_version_guard(deployment.resource_version),
        {"op": "replace", "path": "/spec/replicas", "value": replicas},
        _set_annotation(deployment.annotations, LAST_ACTION_ANNOTATION, note),
    ]


def restart_patch(deployment: DeploymentInfo, restarted_at: str, cause: str) -> Patch:
    """``kubectl rollout restart``: a restartedAt annotation on the pod template, so every pod is replaced."""
    return [
        resource_version_guard(deployment.resource_version),
        _set_annotation(deployment.template.annotations, RESTARTED_AT, restarted_at, base="/spec/template/metadata"),
        _set_annotation(deployment.annotations, CHANGE_CAUSE, cause),
    ]


def pause_patch(deployment: DeploymentInfo, paused: bool, note: str) -> Patch:
    """``kubectl rollout pause`` / ``resume``: no revision either, so the note goes into the console's own
    annotation, not the change-cause."""
    return [
        resource_version_guard(deployment.resource_version),
        {"op": "add", "path": "/spec/paused", "value": paused},
        _set_annotation(deployment.annotations, LAST_ACTION_ANNOTATION, note),
    ]


def rollback_patch(deployment: DeploymentInfo, target: Revision, cause: str) -> Patch:
    """What ``kubectl rollout undo --to-revision`` sends, guarded by the resourceVersion.

    The template comes back without its pod-template-hash label; the Deployment keeps its own values of the
    skipped annotations and takes every other annotation from the ReplicaSet; the change-cause names who
    rolled back and why.
    """
    annotations = {key: value for key, value in deployment.annotations.items() if key in ROLLBACK_SKIPPED_ANNOTATIONS}
    annotations.update({k: v for k, v in target.annotations.items() if k not in ROLLBACK_SKIPPED_ANNOTATIONS})
    annotations[CHANGE_CAUSE] = cause
    return [
        resource_version_guard(deployment.resource_version),
        {"op": "replace", "path": "/spec/template", "value": without_pod_template_hash(target.template)},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


def model_uri(model: str, version: int | str) -> str:
    """The ``MODEL_URI`` a serving container gets for one registered model version."""
    return f"models:/{model}/{version}"


def model_uri_locations(template: PodTemplate) -> list[tuple[int, int]]:
    """(container index, env index) of every ``MODEL_URI`` entry of a pod template."""
    return [
        (container_index, env_index)
        for container_index, container in enumerate(template.containers)
        for env_index, item in enumerate(container.env)
        if item.name == MODEL_URI_ENV
    ]


def model_version_patch(deployment: DeploymentInfo, *, model: str, version: int | str, cause: str) -> Patch:
    """The JSON patch that makes a serving Deployment serve ``models:/<model>/<version>``.

    Sets the pod-template annotation ``mlops.console/model-version`` and replaces the ``MODEL_URI`` entry of
    the container that has one, so Kubernetes rolls the pods out; writes the change-cause; guarded by the
    resourceVersion. Raises ValueError when no container has ``MODEL_URI`` (the convention is not followed).
    """
    locations = model_uri_locations(deployment.template)
    if not locations:
        raise ValueError(f"{deployment.key} has no container with a {MODEL_URI_ENV} environment variable")
    operations = [resource_version_guard(deployment.resource_version)]
    for container_index, env_index in locations:
        operations.append({
            "op": "replace",
            "path": f"/spec/template/spec/containers/{container_index}/env/{env_index}",
            "value": {"name": MODEL_URI_ENV, "value": model_uri(model, version)},
        })
    operations.append(_set_annotation(deployment.template.annotations, MODEL_VERSION_ANNOTATION, str(version),
                                      base="/spec/template/metadata"))
    operations.append(_set_annotation(deployment.annotations, CHANGE_CAUSE, cause))
    return operations


def restore_template_patch(deployment: DeploymentInfo, template: PodTemplate, cause: str) -> Patch:
    """Put back a pod template the Deployment had (an undo of the console's own change), guarded by the
    resourceVersion; Kubernetes then scales the ReplicaSet of that template back up, as a rollback does."""
    return [
        resource_version_guard(deployment.resource_version),
        {"op": "replace", "path": "/spec/template", "value": without_pod_template_hash(template)},
        _set_annotation(deployment.annotations, CHANGE_CAUSE, cause),
    ]
