"""Deployments, their revisions and pods as the console sees them, and the pure rules over them.

Built from the typed Kubernetes objects of ``console.domain.kubernetes_objects``: health, the revision history
(which ReplicaSet is current, which served a model version), what a rollback changes, rollout progress. No I/O;
the JSON patches the actions send are in ``console.domain.workload_patches``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from console.domain.kubernetes_objects import (
    Condition,
    Container,
    Deployment,
    Event,
    ObjectMeta,
    Pod,
    PodTemplate,
    ReplicaSet,
)

MODEL_LABEL = "mlops.console/model"
ALIAS_ANNOTATION = "mlops.console/alias"
MODEL_VERSION_ANNOTATION = "mlops.console/model-version"
MODEL_URI_ENV = "MODEL_URI"
CHANGE_CAUSE = "kubernetes.io/change-cause"
REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
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


def model_version_of(template: PodTemplate) -> str:
    """The model version a pod template serves: its annotation, else the version in its ``MODEL_URI``."""
    version = template.annotations.get(MODEL_VERSION_ANNOTATION, "")
    if version:
        return str(version)
    for container in template.containers:
        uri = container.env_values.get(MODEL_URI_ENV, "")
        if uri.startswith("models:/") and uri.count("/") >= 2:
            return uri.rsplit("/", 1)[1]
    return ""


def _images(containers: Iterable[Container]) -> tuple[str, ...]:
    return tuple(container.image for container in containers)


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
    template: PodTemplate
    annotations: Mapping[str, str]
    replicas: int
    ready_replicas: int
    is_current: bool = False

    @property
    def containers(self) -> tuple[Container, ...]:
        return self.template.containers

    @property
    def images(self) -> tuple[str, ...]:
        return _images(self.template.containers)

    @property
    def model_version(self) -> str:
        return model_version_of(self.template)

    @property
    def change_cause(self) -> str:
        return self.annotations.get(CHANGE_CAUSE, "")


@dataclass(frozen=True)
class DeploymentInfo:
    """A Deployment read from the API, with the console's names for what it shows and its assessed health."""

    source: Deployment
    health: Health = Health.HEALTHY
    health_reason: str = ""

    @property
    def metadata(self) -> ObjectMeta:
        return self.source.metadata

    @property
    def namespace(self) -> str:
        return self.source.metadata.namespace

    @property
    def name(self) -> str:
        return self.source.metadata.name

    @property
    def key(self) -> str:
        return f"{self.source.metadata.namespace}/{self.source.metadata.name}"

    @property
    def uid(self) -> str:
        return self.source.metadata.uid

    @property
    def resource_version(self) -> str:
        return self.source.metadata.resource_version

    @property
    def generation(self) -> int:
        return self.source.metadata.generation

    @property
    def observed_generation(self) -> int:
        return self.source.status.observed_generation

    @property
    def created_at(self) -> datetime | None:
        return self.source.metadata.creation_timestamp

    @property
    def labels(self) -> Mapping[str, str]:
        return self.source.metadata.labels

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.source.metadata.annotations

    @property
    def desired(self) -> int:
        return self.source.spec.replicas

    @property
    def ready(self) -> int:
        return self.source.status.ready_replicas

    @property
    def updated(self) -> int:
        return self.source.status.updated_replicas

    @property
    def available(self) -> int:
        return self.source.status.available_replicas

    @property
    def total(self) -> int:
        return self.source.status.replicas

    @property
    def paused(self) -> bool:
        return self.source.spec.paused

    @property
    def template(self) -> PodTemplate:
        return self.source.spec.template

    @property
    def containers(self) -> tuple[Container, ...]:
        return self.source.spec.template.containers

    @property
    def images(self) -> tuple[str, ...]:
        return _images(self.source.spec.template.containers)

    @property
    def selector(self) -> str:
        """The label selector of its pods and ReplicaSets, as a query value."""
        return self.source.spec.selector.text

    @property
    def model(self) -> str:
        return self.source.metadata.labels.get(MODEL_LABEL, "")

    @property
    def alias(self) -> str:
        return self.source.metadata.annotations.get(ALIAS_ANNOTATION, "")

    @property
    def model_version(self) -> str:
        return model_version_of(self.source.spec.template)

    @property
    def change_cause(self) -> str:
        return self.source.metadata.annotations.get(CHANGE_CAUSE, "")

    @property
    def revision(self) -> str:
        return self.source.metadata.annotations.get(REVISION, "")

    def condition(self, kind: str) -> Condition | None:
        """The status condition of that type (``Available``, ``Progressing``), if the controller set it."""
        return next((c for c in self.source.status.conditions if c.type == kind), None)

    def follows(self, model: str, alias: str) -> bool:
        """Whether it serves ``alias`` of ``model`` (label ``mlops.console/model``, annotation ``.../alias``)."""
        return self.model == model and self.alias == alias


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
    progressing = deployment.condition("Progressing")
    # Pod states first: "CrashLoopBackOff" tells an operator more than "timed out progressing".
    reasons = sorted({pod.waiting_reason for pod in pods if pod.waiting_reason in FAILING_WAITING_REASONS})
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        reasons.append(progressing.message or "ProgressDeadlineExceeded")
    if reasons:
        return Health.DEGRADED, "; ".join(reasons)
    available = deployment.condition("Available")
    rolling = (
        deployment.observed_generation < deployment.generation
        or deployment.updated < deployment.desired
        or deployment.total > deployment.updated
    )
    if rolling:
        return Health.PROGRESSING, f"{deployment.updated} of {deployment.desired} updated"
    if available is not None and available.status == "False":
        reason = available.reason or "MinimumReplicasUnavailable"
        return Health.DEGRADED, f"{reason}: {deployment.available} of {deployment.desired} available"
    if deployment.available < deployment.desired:
        # Pods still starting (a scale-up): progressing until the progress deadline says otherwise.
        return Health.PROGRESSING, f"{deployment.available} of {deployment.desired} available"
    return Health.HEALTHY, ""


def rollout_progress(deployment: DeploymentInfo) -> RolloutProgress:
    """The same test as ``kubectl rollout status`` (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go)."""
    counts = (deployment.desired, deployment.updated, deployment.ready, deployment.available)
    progressing = deployment.condition("Progressing")
    if deployment.observed_generation < deployment.generation:
        return RolloutProgress(*counts, False, False, "waiting for the rollout to start")
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        return RolloutProgress(*counts, False, True,
                               f"rollout failed: {progressing.message or 'progress deadline exceeded'}")
    if deployment.paused:
        return RolloutProgress(*counts, False, False, "rollout is paused")
    if deployment.updated < deployment.desired:
        message = f"{deployment.updated} of {deployment.desired} new replicas have been updated"
    elif deployment.total > deployment.updated:
        message = f"{deployment.total - deployment.updated} old replicas are pending termination"
    elif deployment.available < deployment.updated:
        message = f"{deployment.available} of {deployment.updated} updated replicas are available"
    else:
        return RolloutProgress(*counts, True, False, "successfully rolled out")
    return RolloutProgress(*counts, False, False, message)


def templates_match(a: PodTemplate, b: PodTemplate) -> bool:
    """Equal pod templates, ignoring the pod-template-hash label (kubectl's equalIgnoreHash).

    Copies only the path to the labels: this runs for every ReplicaSet of a Deployment's history.
    """
    return _labels_without_hash(a.document) == _labels_without_hash(b.document)


def _labels_without_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    metadata = template.get("metadata") or {}
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k != POD_TEMPLATE_HASH}
    return {**template, "metadata": {**metadata, "labels": labels}}


@dataclass(frozen=True)
class TemplateChange:
    what: str
    before: str
    after: str


def describe_template_change(current: PodTemplate, target: PodTemplate) -> list[TemplateChange]:
    """What a rollback changes, per container: image, env, resources; and the model version."""
    changes: list[TemplateChange] = []
    before_version = current.annotations.get(MODEL_VERSION_ANNOTATION, "")
    after_version = target.annotations.get(MODEL_VERSION_ANNOTATION, "")
    if before_version != after_version:
        changes.append(TemplateChange("model version", before_version or "-", after_version or "-"))
    before = {c.name: c for c in current.containers}
    after = {c.name: c for c in target.containers}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            changes.append(TemplateChange(f"container {name}", "-" if old is None else "present",
                                          "-" if new is None else "present"))
            continue
        if old.image != new.image:
            changes.append(TemplateChange(f"{name} image", old.image, new.image))
        old_env, new_env = old.env_values, new.env_values
        for key in sorted(old_env.keys() | new_env.keys()):
            if old_env.get(key) != new_env.get(key):
                changes.append(TemplateChange(f"{name} env {key}", old_env.get(key, "-"), new_env.get(key, "-")))
        if old.resources != new.resources:
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


def newest_revision_serving(revisions: Iterable[Revision], version: int | str) -> Revision | None:
    """The newest revision whose pod template's model-version annotation names ``version``."""
    wanted = str(version)
    serving = [r for r in revisions if str(r.template.annotations.get(MODEL_VERSION_ANNOTATION, "")) == wanted]
    return max(serving, key=lambda revision: revision.number, default=None)


# --- from the typed API objects ------------------------------------------------------------------------


def pod_info(pod: Pod) -> PodInfo:
    """What the console shows of a pod: status, readiness and restarts from its container statuses."""
    statuses = pod.status.container_statuses
    # One pass over the container statuses: the overview reads every pod of every deployment on each render.
    waiting, ready_containers, restarts, has_previous = "", 0, 0, False
    for status in statuses:
        if not waiting and status.state.waiting is not None:
            waiting = status.state.waiting.reason
        if status.ready:
            ready_containers += 1
        restarts += status.restart_count
        has_previous = has_previous or status.last_state.terminated is not None
    metadata = pod.metadata
    return PodInfo(
        namespace=metadata.namespace,
        name=metadata.name,
        phase=pod.status.phase,
        ready=bool(statuses) and ready_containers == len(statuses),
        ready_containers=ready_containers,
        total_containers=len(pod.spec.containers),
        restarts=restarts,
        created_at=metadata.creation_timestamp,
        node=pod.spec.node_name,
        owner=metadata.controller_name,
        containers=tuple(container.name for container in pod.spec.containers),
        waiting_reason=waiting,
        has_previous=has_previous,
    )


def revision_of(replica_set: ReplicaSet, *, is_current: bool) -> Revision:
    """A ReplicaSet as one revision of its Deployment (its number from the revision annotation)."""
    metadata = replica_set.metadata
    return Revision(
        number=int(metadata.annotations.get(REVISION, "0") or 0),
        replica_set=metadata.name,
        created_at=metadata.creation_timestamp,
        template=replica_set.spec.template,
        annotations=metadata.annotations,
        replicas=replica_set.status.replicas,
        ready_replicas=replica_set.status.ready_replicas,
        is_current=is_current,
    )


def event_info(event: Event) -> EventInfo:
    """An event with the time it was last seen (core/v1 events carry one of three timestamps)."""
    involved = event.involved_object
    return EventInfo(
        type=event.type,
        reason=event.reason,
        message=event.message,
        count=event.count or 1,
        last_seen=event.last_timestamp or event.event_time or event.metadata.creation_timestamp,
        involved=f"{involved.kind}/{involved.name}",
    )


class _HasMetadata(Protocol):
    @property
    def metadata(self) -> ObjectMeta: ...


Owned = TypeVar("Owned", bound=_HasMetadata)


def controlled_by(objects: Iterable[Owned]) -> dict[str, list[Owned]]:
    """Objects by the uid of their controller (the owner reference with ``controller: true``), as kubectl finds
    a Deployment's ReplicaSets."""
    by_owner: dict[str, list[Owned]] = {}
    for obj in objects:
        by_owner.setdefault(obj.metadata.controller_uid, []).append(obj)
    return by_owner


def pods_by_controller(pods: Iterable[Pod]) -> dict[str, list[PodInfo]]:
    """Pods read, by the uid of the ReplicaSet that controls them."""
    by_owner: dict[str, list[PodInfo]] = {}
    for pod in pods:
        by_owner.setdefault(pod.metadata.controller_uid, []).append(pod_info(pod))
    return by_owner


def group_by_deployment(
    deployments: Iterable[Deployment], replica_sets: Iterable[ReplicaSet], pods: Iterable[Pod]
) -> list[tuple[DeploymentInfo, list[Revision], list[PodInfo]]]:
    """Join three lists (one call each) into each deployment's revisions (newest first) and pods."""
    result = []
    read = [DeploymentInfo(deployment) for deployment in deployments]
    for deployment, owned, deployment_pods in _joined(read, controlled_by(replica_sets), pods_by_controller(pods)):
        revisions = [revision_of(rs, is_current=templates_match(rs.spec.template, deployment.template))
                     for rs in owned]
        revisions.sort(key=lambda revision: revision.number, reverse=True)
        result.append((deployment, revisions, deployment_pods))
    return result


def deployments_with_pods(
    deployments: Iterable[DeploymentInfo],
    replica_sets_by_owner: Mapping[str, list[Any]],
    pods_by_owner: Mapping[str, list[PodInfo]],
) -> list[tuple[DeploymentInfo, list[PodInfo]]]:
    """Each deployment (its health assessed) with its pods, for an overview: the revisions are not built.

    Takes the three lists already read (``DeploymentInfo``, ``controlled_by`` of ReplicaSet metadata,
    ``pods_by_controller``), so that each can be read as soon as it arrives, while the others are on their way.
    """
    return [(deployment, deployment_pods)
            for deployment, _, deployment_pods in _joined(deployments, replica_sets_by_owner, pods_by_owner)]


def _joined(
    deployments: Iterable[DeploymentInfo],
    replica_sets_by_owner: Mapping[str, list[Any]],
    pods_by_owner: Mapping[str, list[PodInfo]],
) -> Iterator[tuple[DeploymentInfo, list[Any], list[PodInfo]]]:
    """Each deployment with health, the ReplicaSets it controls and their pods (as kubectl finds them: by owner)."""
    for deployment in deployments:
        owned = replica_sets_by_owner.get(deployment.uid, [])
        deployment_pods = [pod for rs in owned for pod in pods_by_owner.get(rs.metadata.uid, [])]
        health, reason = assess_health(deployment, deployment_pods)
        yield replace(deployment, health=health, health_reason=reason), owned, deployment_pods
