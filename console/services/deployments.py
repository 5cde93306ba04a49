"""Deployments: see every model-serving service, and scale, restart, pause, resume or roll one back.

Reads make a fixed number of list calls whatever the number of deployments. Every action checks the role,
validates its input before touching the cluster, sends a JSON patch guarded by the resourceVersion the operator
saw, writes ``kubernetes.io/change-cause`` and leaves exactly one audit record with the state before and after.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Permission
from console.domain.changes import change_cause
from console.domain.times import format_rfc3339
from console.domain.workload_patches import pause_patch, restart_patch, rollback_patch, scale_patch
from console.domain.workloads import (
    DeploymentInfo,
    EventInfo,
    PodInfo,
    Revision,
    RolloutProgress,
    TemplateChange,
    controlled_by,
    deployments_with_pods,
    describe_template_change,
    event_info,
    group_by_deployment,
    pod_info,
    pods_by_controller,
    rollout_progress,
    templates_match,
)
from console.errors import Conflict, InvalidInput, NotFound
from console.services.audit import audited_action, require
from console.services.clock import Clock, utc_now

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
# Shared by every session: the overview's three list calls run side by side.
_LISTS = ThreadPoolExecutor(max_workers=6, thread_name_prefix="kube-lists")


@dataclass(frozen=True)
class DeploymentRow:
    """One line of the overview: the deployment, its health assessed from its pods (revisions: see the detail)."""

    deployment: DeploymentInfo
    pods: tuple[PodInfo, ...]


@dataclass(frozen=True)
class DeploymentDetail:
    deployment: DeploymentInfo
    revisions: tuple[Revision, ...]
    pods: tuple[PodInfo, ...]
    events: tuple[EventInfo, ...]


@dataclass(frozen=True)
class ActionResult:
    deployment: DeploymentInfo
    message: str
    changed: bool = True


def list_deployments(cluster: KubernetesCluster, actor: Actor) -> list[DeploymentRow]:
    """Every deployment of the allowed namespaces with its pods: three list calls in all, made at once.

    The three answers are independent; asked together, the API server writes one list while the console reads
    another, and the page waits for the longest instead of the sum. Each list is read (parsed, indexed by
    owner) as soon as it arrives, so only the join itself waits for the last one.
    """
    require(actor, Permission.READ)
    deployments = _LISTS.submit(lambda: [DeploymentInfo(obj) for obj in cluster.list_deployments()])
    replica_sets = _LISTS.submit(lambda: controlled_by(cluster.list_replica_set_metadata()))
    pods = _LISTS.submit(lambda: pods_by_controller(cluster.list_pods()))
    joined = deployments_with_pods(deployments.result(), replica_sets.result(), pods.result())
    rows = [DeploymentRow(deployment, tuple(pods)) for deployment, pods in joined]
    rows.sort(key=lambda row: (row.deployment.namespace, row.deployment.name))
    return rows


def deployment_detail(cluster: KubernetesCluster, actor: Actor, namespace: str, name: str) -> DeploymentDetail:
    """One deployment with its revision history (newest first, current marked), pods and recent events."""
    require(actor, Permission.READ)
    obj = cluster.get_deployment(namespace, name)
    selector = obj.spec.selector.text
    replica_sets = cluster.list_namespaced_replica_sets(namespace, label_selector=selector)
    pods = cluster.list_namespaced_pods(namespace, label_selector=selector)
    [(deployment, revisions, deployment_pods)] = group_by_deployment([obj], replica_sets, pods)
    names = {name} | {r.replica_set for r in revisions} | {p.name for p in deployment_pods}
    events = sorted(
        (event_info(e) for e in cluster.list_events(namespace, involved_names=names)),
        key=lambda event: event.last_seen.timestamp() if event.last_seen else 0.0,
        reverse=True,
    )
    return DeploymentDetail(deployment, tuple(revisions), tuple(deployment_pods), tuple(events[:50]))


def rollout_status(cluster: KubernetesCluster, actor: Actor, namespace: str, name: str) -> RolloutProgress:
    """How far the deployment's rollout is (``kubectl rollout status``)."""
    require(actor, Permission.READ)
    return rollout_progress(DeploymentInfo(cluster.get_deployment(namespace, name)))


def revisions_of(cluster: KubernetesCluster, deployment: DeploymentInfo) -> list[Revision]:
    """A deployment's revisions, newest first, the current one marked (one list call; a step of other use
    cases, so no permission check)."""
    replica_sets = cluster.list_namespaced_replica_sets(deployment.namespace, label_selector=deployment.selector)
    [(_, revisions, _)] = group_by_deployment([deployment.source], replica_sets, [])
    return revisions


def deployment_history(cluster: KubernetesCluster, namespace: str, name: str) -> tuple[DeploymentInfo, list[Revision]]:
    """A deployment read now and its revisions (two calls; a step of other use cases)."""
    deployment = DeploymentInfo(cluster.get_deployment(namespace, name))
    return deployment, revisions_of(cluster, deployment)


def _state(deployment: DeploymentInfo) -> dict[str, Any]:
    return {
        "resourceVersion": deployment.resource_version,
        "generation": deployment.generation,
        "replicas": deployment.desired,
        "paused": deployment.paused,
        "images": list(deployment.images),
        "modelVersion": deployment.model_version,
        "changeCause": deployment.change_cause,
    }


def _load_seen(cluster: KubernetesCluster, namespace: str, name: str, seen_resource_version: str) -> DeploymentInfo:
    """The deployment, refused as a Conflict if it changed since the operator loaded it."""
    deployment = DeploymentInfo(cluster.get_deployment(namespace, name))
    if seen_resource_version and deployment.resource_version != seen_resource_version:
        raise Conflict(f"deployments {namespace}/{name} changed since you loaded it - reload.")
    return deployment


def parse_replicas(value: object, *, max_replicas: int) -> int:
    """A replica count from user input: a whole number from 0 to the configured maximum."""
    if isinstance(value, bool):
        raise InvalidInput("Replicas must be a whole number.")
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidInput(f"Replicas must be a whole number, got {value:g}.")
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only: str.isdigit() also admits "²" (int() then fails) and "٣" (read as 3).
        if not _WHOLE_NUMBER.fullmatch(text):
            raise InvalidInput(f"Replicas must be a whole number, got {value!r}.")
        value = int(text)
    if not isinstance(value, int):
        raise InvalidInput("Replicas must be a whole number.")
    if value < 0:
        raise InvalidInput(f"Replicas cannot be negative (got {value}).")
    if value > max_replicas:
        raise InvalidInput(f"Replicas must be at most {max_replicas} (got {value}); the limit is CONSOLE_MAX_REPLICAS.")
    return value


def scale(
    cluster: KubernetesCluster, audit: AuditStore, actor: Actor, *, namespace: str, name: str, replicas: object,
    seen_resource_version: str, reason: str, max_replicas: int, clock: Clock = utc_now,
) -> ActionResult:
    """Scale to a number of replicas, with the resourceVersion the operator saw."""
    with audited_action(audit, actor, Permission.OPERATE_DEPLOYMENT, action="scale", target=f"{namespace}/{name}",
                        reason=reason, parameters={"replicas": replicas}, clock=clock) as record:
        count = parse_replicas(replicas, max_replicas=max_replicas)
        cluster.require_namespace(namespace)
        deployment = _load_seen(cluster, namespace, name, seen_resource_version)
        record.before = _state(deployment)
        patched = DeploymentInfo(cluster.patch_deployment(
            namespace, name, scale_patch(deployment, count, change_cause(actor.username, f"scale to {count}", reason))
        ))
        record.after = _state(patched)
        return ActionResult(patched, f"Scaled {namespace}/{name} from {deployment.desired} to {count} replicas.")


def restart(
    cluster: KubernetesCluster, audit: AuditStore, actor: Actor, *, namespace: str, name: str,
    seen_resource_version: str, reason: str, clock: Clock = utc_now,
) -> ActionResult:
    """Restart every pod by a rolling update, as ``kubectl rollout restart`` does."""
    with audited_action(audit, actor, Permission.OPERATE_DEPLOYMENT, action="restart", target=f"{namespace}/{name}",
                        reason=reason, clock=clock) as record:
        cluster.require_namespace(namespace)
        deployment = _load_seen(cluster, namespace, name, seen_resource_version)
        if deployment.paused:
            raise Conflict(f"{namespace}/{name} is paused: resume it before restarting (a paused rollout would not start).")
        record.before = _state(deployment)
        restarted_at = format_rfc3339(clock())
        record.parameters["restartedAt"] = restarted_at
        patched = DeploymentInfo(cluster.patch_deployment(
            namespace, name,
            restart_patch(deployment, restarted_at, change_cause(actor.username, "restart", reason.strip())),
        ))
        record.after = _state(patched)
        return ActionResult(patched, f"Restarting {namespace}/{name}.")


def set_paused(
    cluster: KubernetesCluster, audit: AuditStore, actor: Actor, *, namespace: str, name: str, paused: bool,
    seen_resource_version: str, reason: str, clock: Clock = utc_now,
) -> ActionResult:
    """Pause or resume the rollout, as ``kubectl rollout pause`` / ``resume``."""
    action = "pause" if paused else "resume"
    with audited_action(audit, actor, Permission.OPERATE_DEPLOYMENT, action=action, target=f"{namespace}/{name}",
                        reason=reason, clock=clock) as record:
        cluster.require_namespace(namespace)
        deployment = _load_seen(cluster, namespace, name, seen_resource_version)
        record.before = _state(deployment)
        if deployment.paused == paused:
            record.after = record.before
            record.note = f"already {'paused' if paused else 'running'}; nothing changed"
            return ActionResult(deployment, f"{namespace}/{name} is already {'paused' if paused else 'resumed'}.",
                                changed=False)
        patched = DeploymentInfo(cluster.patch_deployment(
            namespace, name, pause_patch(deployment, paused, change_cause(actor.username, action, reason))
        ))
        record.after = _state(patched)
        return ActionResult(patched, f"{'Paused' if paused else 'Resumed'} {namespace}/{name}.")


@dataclass(frozen=True)
class ServedModelChange:
    """A rollback would make a Deployment that follows an alias serve another version than the alias holds."""

    deployment: str
    model: str
    alias: str
    serving_now: str
    serving_after: str
    to_revision: int

    @property
    def text(self) -> str:
        return (f"{self.deployment} would serve {self.model} version {self.serving_after} while alias "
                f"{self.alias!r} stays on version {self.serving_now}")


class ServedModelWouldChange(Conflict):
    """A plain rollback refused because it would change the served model: a model rollback moves the alias too."""

    title = "The served model would change"

    def __init__(self, change: ServedModelChange) -> None:
        self.change = change
        super().__init__(
            f"Rolling {change.deployment} back to revision {change.to_revision} would make it serve {change.model} "
            f"version {change.serving_after} while alias {change.alias!r} stays on version {change.serving_now}, so "
            "the registry and the cluster would disagree. Roll the model back with it (the alias and every "
            f"deployment that follows it move to version {change.serving_after}), or pick a revision that serves "
            f"version {change.serving_now}.")


@dataclass(frozen=True)
class RollbackPlan:
    deployment: DeploymentInfo
    target: Revision
    changes: tuple[TemplateChange, ...]
    model_change: ServedModelChange | None = None

    @property
    def already_current(self) -> bool:
        return templates_match(self.target.template, self.deployment.template)


def _served_model_change(deployment: DeploymentInfo, target: Revision) -> ServedModelChange | None:
    if not (deployment.model and deployment.alias and target.model_version):
        return None
    if target.model_version == deployment.model_version:
        return None
    return ServedModelChange(deployment.key, deployment.model, deployment.alias, deployment.model_version or "-",
                             target.model_version, target.number)


def plan_rollback(
    cluster: KubernetesCluster, actor: Actor, *, namespace: str, name: str, to_revision: int | None
) -> RollbackPlan:
    """The revision a rollback goes to (the previous one when None) and what it changes, for the dialog."""
    require(actor, Permission.READ)
    if to_revision is not None and (isinstance(to_revision, bool) or not isinstance(to_revision, int) or to_revision < 0):
        raise InvalidInput(f"A revision is a whole number of at least 1 (got {to_revision!r}).")
    deployment, revisions = deployment_history(cluster, namespace, name)
    target = _target_revision(deployment, revisions, to_revision)
    return RollbackPlan(deployment, target, tuple(describe_template_change(deployment.template, target.template)),
                        _served_model_change(deployment, target))


def _target_revision(deployment: DeploymentInfo, revisions: list[Revision], to_revision: int | None) -> Revision:
    # kubectl's deploymentRevision: 0 means the newest revision below the current one.
    if not to_revision:
        current = max((r.number for r in revisions if r.is_current), default=None)
        older = [r for r in revisions if current is None or r.number < current]
        if not older:
            raise NotFound(f"{deployment.key} has no previous revision to roll back to.")
        return max(older, key=lambda r: r.number)
    for revision in revisions:
        if revision.number == to_revision:
            return revision
    known = ", ".join(str(r.number) for r in sorted(revisions, key=lambda r: r.number)) or "none"
    raise NotFound(f"{deployment.key} has no revision {to_revision} (revisions kept: {known}).")


def rollback(
    cluster: KubernetesCluster, audit: AuditStore, actor: Actor, *, namespace: str, name: str,
    to_revision: int | None, seen_resource_version: str, reason: str, clock: Clock = utc_now,
) -> ActionResult:
    """Roll back exactly as ``kubectl rollout undo [--to-revision]``, guarded by the resourceVersion.

    Refused (``ServedModelWouldChange``) when the Deployment follows an alias and the revision serves another
    model version: that is a model rollback (``console.services.promotion``), which moves the alias with it.
    """
    with audited_action(audit, actor, Permission.OPERATE_DEPLOYMENT, action="rollback", target=f"{namespace}/{name}",
                        reason=reason, parameters={"toRevision": to_revision}, clock=clock) as record:
        cluster.require_namespace(namespace)
        plan = plan_rollback(cluster, actor, namespace=namespace, name=name, to_revision=to_revision)
        deployment = plan.deployment
        record.before = _state(deployment)
        record.parameters["toRevision"] = plan.target.number
        if deployment.paused:
            raise Conflict(
                f"{namespace}/{name} is paused: you cannot roll back a paused deployment; resume it first."
            )
        if seen_resource_version and deployment.resource_version != seen_resource_version:
            raise Conflict(f"deployments {namespace}/{name} changed since you loaded it - reload.")
        if plan.model_change is not None and not plan.already_current:
            record.parameters["servedModelChange"] = plan.model_change.text
            raise ServedModelWouldChange(plan.model_change)
        if plan.already_current:
            record.after = record.before
            record.note = f"skipped rollback (current template already matches revision {plan.target.number})"
            return ActionResult(deployment, f"Skipped: the current template already matches revision "
                                            f"{plan.target.number}.", changed=False)
        patched = DeploymentInfo(cluster.patch_deployment(
            namespace, name,
            rollback_patch(deployment, plan.target, change_cause(actor.username, "rollback", reason.strip())),
        ))
        record.after = _state(patched)
        return ActionResult(patched, f"Rolled {namespace}/{name} back to revision {plan.target.number}.")


def pods_of(cluster: KubernetesCluster, actor: Actor, namespace: str, name: str) -> list[PodInfo]:
    """The pods of one deployment, for the logs page."""
    require(actor, Permission.READ)
    obj = cluster.get_deployment(namespace, name)
    return sorted((pod_info(p) for p in cluster.list_namespaced_pods(namespace, label_selector=obj.spec.selector.text)),
                  key=lambda pod: pod.name)

