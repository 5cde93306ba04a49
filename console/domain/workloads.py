"""Deployments, their revisions and pods as the console sees them, and the pure rules over them.

The adapter turns Kubernetes objects (plain dicts in the API's JSON shape) into these dataclasses; the rules
here (health, revision history, what a rollback changes, the JSON patches the actions send) use no I/O, so they
are tested on plain data.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

MODEL_LABEL = "mlops.console/model"
ALIAS_ANNOTATION = "mlops.console/alias"
MODEL_VERSION_ANNOTATION = "mlops.console/model-version"
MODEL_URI_ENV = "MODEL_URI"
CHANGE_CAUSE = "kubernetes.io/change-cause"
REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
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
# Waiting reasons of a container that will not get better by itself.
FAILING_WAITING_REASONS = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName",
     "RunContainerError"}
)


class Health(enum.Enum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    PAUSED = "Paused"


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    image: str
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    phase: str
    ready: bool
    ready_containers: int
    total_containers: int
    restarts: int
    created_at: datetime | None
    node: str
    owner: str  # the ReplicaSet's name
    containers: tuple[str, ...]
    waiting_reason: str = ""
    has_previous: bool = False

    @property
    def status_text(self) -> str:
        return self.waiting_reason or self.phase


@dataclass(frozen=True)
class Revision:
    """One ReplicaSet of a Deployment: a revision of its pod template."""

    number: int
    replica_set: str
    created_at: datetime | None
    containers: tuple[ContainerInfo, ...]
    model_version: str
    change_cause: str
    replicas: int
    ready_replicas: int
    template: Mapping[str, Any]
    annotations: Mapping[str, str]
    is_current: bool = False

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(container.image for container in self.containers)


@dataclass(frozen=True)
class DeploymentInfo:
    namespace: str
    name: str
    uid: str
    resource_version: str
    generation: int
    observed_generation: int
    desired: int
    ready: int
    updated: int
    available: int
    total: int
    created_at: datetime | None
    containers: tuple[ContainerInfo, ...]
    model: str
    alias: str
    model_version: str
    paused: bool
    change_cause: str
    conditions: Mapping[str, Mapping[str, str]]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    template: Mapping[str, Any]
    health: Health = Health.HEALTHY
    health_reason: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(container.image for container in self.containers)


@dataclass(frozen=True)
class EventInfo:
    type: str
    reason: str
    message: str
    count: int
    last_seen: datetime | None
    involved: str


@dataclass(frozen=True)
class RolloutProgress:
    """How far a rollout is, for the live progress bar."""

    desired: int
    updated: int
    ready: int
    available: int
    done: bool
    failed: bool
    message: str

    @property
    def fraction(self) -> float:
        if self.desired == 0:
            return 1.0 if self.done else 0.0
        return min(1.0, min(self.updated, self.available) / self.desired)


# --- rules ---------------------------------------------------------------------------------------------


def assess_health(deployment: DeploymentInfo, pods: Iterable[PodInfo]) -> tuple[Health, str]:
    """Healthy / Progressing / Degraded / Paused, with the reason an operator needs first."""
    if deployment.paused:
        return Health.PAUSED, "rollout paused"
    progressing = deployment.conditions.get("Progressing", {})
    # Pod states first: "CrashLoopBackOff" tells an operator more than "timed out progressing".
    reasons = sorted({pod.waiting_reason for pod in pods if pod.waiting_reason in FAILING_WAITING_REASONS})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        reasons.append(progressing.get("message") or "ProgressDeadlineExceeded")
    if reasons:
        return Health.DEGRADED, "; ".join(reasons)
    available = deployment.conditions.get("Available", {})
    rolling = (
        deployment.observed_generation < deployment.generation
        or deployment.updated < deployment.desired
        or deployment.total > deployment.updated
    )
    if rolling:
        return Health.PROGRESSING, f"{deployment.updated} of {deployment.desired} updated"
    if available.get("status") == "False":
        reason = available.get("reason") or "MinimumReplicasUnavailable"
        return Health.DEGRADED, f"{reason}: {deployment.available} of {deployment.desired} available"
    if deployment.available < deployment.desired:
        # Pods still starting (a scale-up): progressing until the progress deadline says otherwise.
        return Health.PROGRESSING, f"{deployment.available} of {deployment.desired} available"
    return Health.HEALTHY, ""


def rollout_progress(deployment: DeploymentInfo) -> RolloutProgress:
    """The same test as ``kubectl rollout status`` (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go)."""
    progressing = deployment.conditions.get("Progressing", {})
    if deployment.observed_generation < deployment.generation:
        return RolloutProgress(deployment.desired, deployment.updated, deployment.ready, deployment.available,
                               False, False, "waiting for the rollout to start")
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return RolloutProgress(deployment.desired, deployment.updated, deployment.ready, deployment.available,
                               False, True, f"rollout failed: {progressing.get('message', 'progress deadline exceeded')}")
    if deployment.paused:
        return RolloutProgress(deployment.desired, deployment.updated, deployment.ready, deployment.available,
                               False, False, "rollout is paused")
    if deployment.updated < deployment.desired:
        message = f"{deployment.updated} of {deployment.desired} new replicas have been updated"
    elif deployment.total > deployment.updated:
        message = f"{deployment.total - deployment.updated} old replicas are pending termination"
    elif deployment.available < deployment.updated:
        message = f"{deployment.available} of {deployment.updated} updated replicas are available"
    else:
        return RolloutProgress(deployment.desired, deployment.updated, deployment.ready, deployment.available,
                               True, False, "successfully rolled out")
    return RolloutProgress(deployment.desired, deployment.updated, deployment.ready, deployment.available,
                           False, False, message)


def without_pod_template_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(template))
    labels = result.get("metadata", {}).get("labels")
    if labels and POD_TEMPLATE_HASH in labels:
        del labels[POD_TEMPLATE_HASH]
    return result


def templates_match(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal pod templates, ignoring the pod-template-hash label (kubectl's equalIgnoreHash).

    Copies only the path to the labels: this runs for every ReplicaSet of every Deployment on each render.
    """
    return _labels_without_hash(a) == _labels_without_hash(b)


def _labels_without_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    metadata = template.get("metadata") or {}
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k != POD_TEMPLATE_HASH}
    return {**template, "metadata": {**metadata, "labels": labels}}


def change_cause(username: str, action: str, reason: str) -> str:
    return f"{username}: {action} - {reason}"


def _json_pointer(*parts: str) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _guard(resource_version: str) -> dict[str, Any]:
    # Optimistic concurrency: the whole patch fails unless the object is still the one the operator saw.
    return {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}


def _set_annotation(annotations: Mapping[str, str], key: str, value: str, *, base: str = "/metadata") -> dict[str, Any]:
    if not annotations:
        return {"op": "add", "path": f"{base}/annotations", "value": {key: value}}
    return {"op": "add", "path": _json_pointer(*base.strip("/").split("/"), "annotations", key), "value": value}


def scale_patch(deployment: DeploymentInfo, replicas: int, cause: str) -> list[dict[str, Any]]:
    return [
        _guard(deployment.resource_version),
        {"op": "replace", "path": "/spec/replicas", "value": replicas},
        _set_annotation(deployment.annotations, CHANGE_CAUSE, cause),
    ]


def restart_patch(deployment: DeploymentInfo, restarted_at: str, cause: str) -> list[dict[str, Any]]:
    template_annotations = deployment.template.get("metadata", {}).get("annotations") or {}
    return [
        _guard(deployment.resource_version),
        _set_annotation(template_annotations, RESTARTED_AT, restarted_at, base="/spec/template/metadata"),
        _set_annotation(deployment.annotations, CHANGE_CAUSE, cause),
    ]


def pause_patch(deployment: DeploymentInfo, paused: bool, cause: str) -> list[dict[str, Any]]:
    return [
        _guard(deployment.resource_version),
        {"op": "add", "path": "/spec/paused", "value": paused},
        _set_annotation(deployment.annotations, CHANGE_CAUSE, cause),
    ]


def rollback_patch(deployment: DeploymentInfo, target: Revision, cause: str) -> list[dict[str, Any]]:
    """What ``kubectl rollout undo --to-revision`` sends, guarded by the resourceVersion.

    The template comes back without its pod-template-hash label; the Deployment keeps its own values of the
    skipped annotations and takes every other annotation from the ReplicaSet; the change-cause names who
    rolled back and why.
    """
    annotations = {key: value for key, value in deployment.annotations.items() if key in ROLLBACK_SKIPPED_ANNOTATIONS}
    annotations.update({k: v for k, v in target.annotations.items() if k not in ROLLBACK_SKIPPED_ANNOTATIONS})
    annotations[CHANGE_CAUSE] = cause
    return [
        _guard(deployment.resource_version),
        {"op": "replace", "path": "/spec/template", "value": without_pod_template_hash(target.template)},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]


@dataclass(frozen=True)
class TemplateChange:
    what: str
    before: str
    after: str


def describe_template_change(current: Mapping[str, Any], target: Mapping[str, Any]) -> list[TemplateChange]:
    """What a rollback changes, per container: image, env, resources; and the model version."""
    changes: list[TemplateChange] = []
    before_version = (current.get("metadata", {}).get("annotations") or {}).get(MODEL_VERSION_ANNOTATION, "")
    after_version = (target.get("metadata", {}).get("annotations") or {}).get(MODEL_VERSION_ANNOTATION, "")
    if before_version != after_version:
        changes.append(TemplateChange("model version", before_version or "-", after_version or "-"))
    before = {c.name: c for c in containers_of(current)}
    after = {c.name: c for c in containers_of(target)}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            changes.append(TemplateChange(f"container {name}", "-" if old is None else "present",
                                          "-" if new is None else "present"))
            continue
        if old.image != new.image:
            changes.append(TemplateChange(f"{name} image", old.image, new.image))
        for key in sorted(old.env.keys() | new.env.keys()):
            if old.env.get(key) != new.env.get(key):
                changes.append(TemplateChange(f"{name} env {key}", old.env.get(key, "-"), new.env.get(key, "-")))
        if dict(old.resources) != dict(new.resources):
            changes.append(TemplateChange(f"{name} resources", _resources_text(old.resources),
                                          _resources_text(new.resources)))
    return changes


def _resources_text(resources: Mapping[str, Any]) -> str:
    parts = []
    for kind in ("requests", "limits"):
        values = resources.get(kind) or {}
        if values:
            parts.append(kind + " " + ", ".join(f"{k}={v}" for k, v in sorted(values.items())))
    return "; ".join(parts) or "-"


def containers_of(template: Mapping[str, Any]) -> tuple[ContainerInfo, ...]:
    result = []
    for container in template.get("spec", {}).get("containers") or []:
        env = {item["name"]: str(item.get("value", "")) for item in container.get("env") or [] if "name" in item}
        result.append(
            ContainerInfo(
                name=container.get("name", ""),
                image=container.get("image", ""),
                env=env,
                resources=container.get("resources") or {},
            )
        )
    return tuple(result)


def model_version_of(template: Mapping[str, Any]) -> str:
    annotations = template.get("metadata", {}).get("annotations") or {}
    version = annotations.get(MODEL_VERSION_ANNOTATION, "")
    if version:
        return str(version)
    for container in containers_of(template):
        uri = container.env.get(MODEL_URI_ENV, "")
        if uri.startswith("models:/") and uri.count("/") >= 2:
            return uri.rsplit("/", 1)[1]
    return ""


# --- from the API's JSON -------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _controller_uid(obj: Mapping[str, Any]) -> str:
    for reference in obj.get("metadata", {}).get("ownerReferences") or []:
        if reference.get("controller"):
            return str(reference.get("uid", ""))
    return ""


def pod_from(obj: Mapping[str, Any]) -> PodInfo:
    metadata, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status", {})
    statuses = status.get("containerStatuses") or []
    # One pass over the container statuses: the overview reads every pod of every deployment on each render.
    waiting, ready_containers, restarts, has_previous = "", 0, 0, False
    for container_status in statuses:
        if not waiting:
            waiting = (container_status.get("state", {}).get("waiting") or {}).get("reason", "")
        if container_status.get("ready"):
            ready_containers += 1
        restarts += int(container_status.get("restartCount", 0))
        has_previous = has_previous or bool(container_status.get("lastState", {}).get("terminated"))
    owner = next((ref.get("name", "") for ref in metadata.get("ownerReferences") or [] if ref.get("controller")), "")
    containers = spec.get("containers") or []
    return PodInfo(
        namespace=metadata.get("namespace", ""),
        name=metadata["name"],
        phase=status.get("phase", "Unknown"),
        ready=bool(statuses) and ready_containers == len(statuses),
        ready_containers=ready_containers,
        total_containers=len(containers),
        restarts=restarts,
        created_at=parse_time(metadata.get("creationTimestamp")),
        node=spec.get("nodeName", ""),
        owner=owner,
        containers=tuple(c.get("name", "") for c in containers),
        waiting_reason=waiting,
        has_previous=has_previous,
    )


def deployment_from(obj: Mapping[str, Any]) -> DeploymentInfo:
    metadata, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status", {})
    template = spec.get("template", {})
    annotations = metadata.get("annotations") or {}
    conditions = {
        c.get("type", ""): {"status": c.get("status", ""), "reason": c.get("reason", ""), "message": c.get("message", "")}
        for c in status.get("conditions") or []
    }
    return DeploymentInfo(
        namespace=metadata.get("namespace", ""),
        name=metadata["name"],
        uid=metadata.get("uid", ""),
        resource_version=metadata.get("resourceVersion", ""),
        generation=int(metadata.get("generation", 0)),
        observed_generation=int(status.get("observedGeneration", 0)),
        desired=int(spec.get("replicas", 1)),
        ready=int(status.get("readyReplicas", 0)),
        updated=int(status.get("updatedReplicas", 0)),
        available=int(status.get("availableReplicas", 0)),
        total=int(status.get("replicas", 0)),
        created_at=parse_time(metadata.get("creationTimestamp")),
        containers=containers_of(template),
        model=(metadata.get("labels") or {}).get(MODEL_LABEL, ""),
        alias=annotations.get(ALIAS_ANNOTATION, ""),
        model_version=model_version_of(template),
        paused=bool(spec.get("paused", False)),
        change_cause=annotations.get(CHANGE_CAUSE, ""),
        conditions=conditions,
        labels=metadata.get("labels") or {},
        annotations=annotations,
        template=template,
    )


def revision_from(obj: Mapping[str, Any], *, is_current: bool) -> Revision:
    metadata, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status", {})
    annotations = metadata.get("annotations") or {}
    template = spec.get("template", {})
    return Revision(
        number=int(annotations.get(REVISION, "0") or 0),
        replica_set=metadata["name"],
        created_at=parse_time(metadata.get("creationTimestamp")),
        containers=containers_of(template),
        model_version=model_version_of(template),
        change_cause=annotations.get(CHANGE_CAUSE, ""),
        replicas=int(status.get("replicas", 0)),
        ready_replicas=int(status.get("readyReplicas", 0)),
        template=template,
        annotations=annotations,
        is_current=is_current,
    )


def group_by_deployment(
    deployments: Iterable[Mapping[str, Any]], replica_sets: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> list[tuple[DeploymentInfo, list[Revision], list[PodInfo]]]:
    """Join three lists (one call each) into each deployment's revisions (newest first) and pods."""
    result = []
    read = [deployment_from(obj) for obj in deployments]
    joined = _joined(read, controlled_by(replica_sets), pods_by_controller(pods))
    for deployment, owned, deployment_pods in joined:
        revisions = [
            revision_from(rs, is_current=templates_match(rs.get("spec", {}).get("template", {}), deployment.template))
            for rs in owned
        ]
        revisions.sort(key=lambda revision: revision.number, reverse=True)
        result.append((deployment, revisions, deployment_pods))
    return result


def controlled_by(objects: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Objects by the uid of their controller (the owner reference with ``controller: true``), as kubectl finds
    a Deployment's ReplicaSets."""
    by_owner: dict[str, list[Mapping[str, Any]]] = {}
    for obj in objects:
        by_owner.setdefault(_controller_uid(obj), []).append(obj)
    return by_owner


def pods_by_controller(pods: Iterable[Mapping[str, Any]]) -> dict[str, list[PodInfo]]:
    """Pods read, by the uid of the ReplicaSet that controls them."""
    by_owner: dict[str, list[PodInfo]] = {}
    for pod in pods:
        by_owner.setdefault(_controller_uid(pod), []).append(pod_from(pod))
    return by_owner


def deployments_with_pods(
    deployments: Iterable[DeploymentInfo],
    replica_sets_by_owner: Mapping[str, list[Mapping[str, Any]]],
    pods_by_owner: Mapping[str, list[PodInfo]],
) -> list[tuple[DeploymentInfo, list[PodInfo]]]:
    """Each deployment (its health assessed) with its pods, for an overview: the revisions are not built.

    Takes the three lists already read (``deployment_from``, ``controlled_by``, ``pods_by_controller``), so that
    each can be read as soon as it arrives, while the others are still on their way.
    """
    return [(deployment, deployment_pods)
            for deployment, _, deployment_pods in _joined(deployments, replica_sets_by_owner, pods_by_owner)]


def _joined(
    deployments: Iterable[DeploymentInfo],
    replica_sets_by_owner: Mapping[str, list[Mapping[str, Any]]],
    pods_by_owner: Mapping[str, list[PodInfo]],
) -> Iterator[tuple[DeploymentInfo, list[Mapping[str, Any]], list[PodInfo]]]:
    """Each deployment with health, the ReplicaSets it controls and their pods (as kubectl finds them: by owner)."""
    for deployment in deployments:
        owned = replica_sets_by_owner.get(deployment.uid, [])
        deployment_pods = [pod for rs in owned for pod in pods_by_owner.get(rs["metadata"].get("uid", ""), [])]
        health, reason = assess_health(deployment, deployment_pods)
        yield replace(deployment, health=health, health_reason=reason), owned, deployment_pods


def event_from(obj: Mapping[str, Any]) -> EventInfo:
    involved = obj.get("involvedObject", {})
    return EventInfo(
        type=obj.get("type", ""),
        reason=obj.get("reason", ""),
        message=obj.get("message", ""),
        count=int(obj.get("count") or 1),
        last_seen=parse_time(obj.get("lastTimestamp") or obj.get("eventTime") or obj.get("metadata", {}).get("creationTimestamp")),
        involved=f"{involved.get('kind', '')}/{involved.get('name', '')}",
    )


# --- serving a model version ---------------------------------------------------------------------------


def model_uri(model: str, version: int | str) -> str:
    """The ``MODEL_URI`` a serving container gets for one registered model version."""
    return f"models:/{model}/{version}"


def model_uri_locations(template: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(container index, env index) of every ``MODEL_URI`` entry of a pod template."""
    found = []
    for container_index, container in enumerate(template.get("spec", {}).get("containers") or []):
        for env_index, item in enumerate(container.get("env") or []):
            if item.get("name") == MODEL_URI_ENV:
                found.append((container_index, env_index))
    return found


def model_version_patch(
    deployment: DeploymentInfo, *, model: str, version: int | str, cause: str
) -> list[dict[str, Any]]:
    """The JSON patch that makes a serving Deployment serve ``models:/<model>/<version>``.

    Sets the pod-template annotation ``mlops.console/model-version`` and replaces the ``MODEL_URI`` entry of
    the container that has one, so Kubernetes rolls the pods out; writes the change-cause; guarded by the
    resourceVersion. Raises ValueError when no container has ``MODEL_URI`` (the convention is not followed).
    """
    locations = model_uri_locations(deployment.template)
    if not locations:
        raise ValueError(f"{deployment.key} has no container with a {MODEL_URI_ENV} environment variable")
    operations = [_guard(deployment.resource_version)]
    for container_index, env_index in locations:
        operations.append({
            "op": "replace",
            "path": f"/spec/template/spec/containers/{container_index}/env/{env_index}",
            "value": {"name": MODEL_URI_ENV, "value": model_uri(model, version)},
        })
    template_annotations = deployment.template.get("metadata", {}).get("annotations") or {}
    operations.append(_set_annotation(template_annotations, MODEL_VERSION_ANNOTATION, str(version),
                                      base="/spec/template/metadata"))
    operations.append(_set_annotation(deployment.annotations, CHANGE_CAUSE, cause))
    return operations


def restore_template_patch(deployment: DeploymentInfo, template: Mapping[str, Any], cause: str) -> list[dict[str, Any]]:
    """Put back a pod template the Deployment had (an undo of the console's own change), guarded by the
    resourceVersion; Kubernetes then scales the ReplicaSet of that template back up, as a rollback does."""
    return [
        _guard(deployment.resource_version),
        {"op": "replace", "path": "/spec/template", "value": without_pod_template_hash(template)},
        _set_annotation(deployment.annotations, CHANGE_CAUSE, cause),
    ]


def newest_revision_serving(revisions: Iterable[Revision], version: int | str) -> Revision | None:
    """The newest revision whose pod template's model-version annotation names ``version``."""
    wanted = str(version)
    serving = [
        revision for revision in revisions
        if str((revision.template.get("metadata", {}).get("annotations") or {}).get(MODEL_VERSION_ANNOTATION, "")) == wanted
    ]
    return max(serving, key=lambda revision: revision.number, default=None)
