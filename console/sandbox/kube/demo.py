"""The demo world: the ``ml-serving`` and ``ml-staging`` namespaces with a serving Deployment per registered model,
each with the revision history a real deployment controller would have left behind.

Objects are written straight into the store (no wall-clock rollouts), with the names, annotations and
statuses the controller computes, so the controllers find nothing to correct once they run. A service whose
current image is ``broken`` is left as a real rolling update leaves it: the new ReplicaSet's pods crash-loop,
the previous ReplicaSet keeps serving what ``maxUnavailable`` requires, and the rollout has exceeded its
progress deadline.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..catalog import CHAMPION_ALIAS, DEMO_NAMESPACES, DEMO_SERVICES, DemoService
from .clock import rfc3339
from .controller import (
    DESIRED_REPLICAS,
    HASH_LABEL,
    MAX_REPLICAS,
    REVISION,
    REVISION_HISTORY,
    equal_ignore_hash,
    resolve_fenceposts,
    template_hash,
)
from .resources import default_pod, default_template
from .runtime import is_broken_image

if TYPE_CHECKING:
    from .server import KubeApiServer

MODEL_LABEL = "mlops.console/model"
ALIAS_ANNOTATION = "mlops.console/alias"
VERSION_ANNOTATION = "mlops.console/model-version"
CHANGE_CAUSE = "kubernetes.io/change-cause"
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class DemoRevision:
    """One rollout in a demo Deployment's history: revision ``revision`` started serving ``version`` at ``created_at``."""

    service: DemoService
    revision: int
    version: int
    image: str
    created_at: datetime
    change_cause: str


@dataclass(frozen=True)
class RevisionSpec:
    """A rollout to seed: the pod template it applied, when, and why."""

    template: dict[str, Any]
    created_at: datetime
    change_cause: str


def _whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def demo_revision_times(now: datetime) -> list[DemoRevision]:
    """Every demo rollout with its time, deterministic given ``now`` and spread over the last 30 days."""
    out: list[DemoRevision] = []
    for index, service in enumerate(DEMO_SERVICES):
        versions = service.revision_versions
        first = now - timedelta(days=29) + timedelta(hours=9 * index, minutes=13 * index)
        if service.broken_current:
            last = now - timedelta(hours=2, minutes=7)
        else:
            last = now - timedelta(days=2 + index, hours=3 * index)
        count = len(versions)
        for revision in range(1, count + 1):
            fraction = (revision - 1) / (count - 1) if count > 1 else 1.0
            moment = first + (last - first) * fraction
            # Rollouts happen during working hours-ish; keep the minute deterministic but not round.
            moment = moment.replace(second=(17 * revision + 7 * index) % 60)
            out.append(
                DemoRevision(
                    service=service,
                    revision=revision,
                    version=versions[revision - 1],
                    image=service.image(revision),
                    created_at=_whole_seconds(moment),
                    change_cause=_change_cause(service, revision),
                )
            )
    return out


def _change_cause(service: DemoService, revision: int) -> str:
    versions = service.revision_versions
    version = versions[revision - 1]
    if revision == 1:
        return f"admin: deploy - first release of {service.model} v{version}"
    previous = versions[revision - 2]
    if version < previous:
        return f"operator: rollback - v{previous} regressed on {service.key_metric}, back to v{version}"
    return f"admin: promote - v{version} beat v{previous} on {service.key_metric}"


def serving_template(service: DemoService, version: int, image: str) -> dict[str, Any]:
    """The pod template of a serving Deployment (DESIGN.md: model label, version annotation, MODEL_URI)."""
    template = {
        "metadata": {
            "labels": {"app": service.deployment, MODEL_LABEL: service.model},
            "annotations": {VERSION_ANNOTATION: str(version)},
        },
        "spec": {
            "containers": [
                {
                    "name": "model-server",
                    "image": image,
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "env": [
                        {"name": "MODEL_URI", "value": f"models:/{service.model}/{version}"},
                        {"name": "MODEL_NAME", "value": service.model},
                    ],
                    "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": 8080}, "periodSeconds": 5},
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "512Mi"},
                        "limits": {"memory": "1Gi"},
                    },
                }
            ]
        },
    }
    default_template(template)
    return template


def seed_demo_world(server: KubeApiServer, *, now: datetime) -> list[DemoRevision]:
    """Create the demo namespaces and serving Deployments with their history; returns every rollout."""
    with server.controllers.held():
        return _seed_demo_world(server, now)


def _seed_demo_world(server: KubeApiServer, now: datetime) -> list[DemoRevision]:
    revisions = demo_revision_times(now)
    namespace_created = min(r.created_at for r in revisions) - timedelta(days=3)
    for namespace in DEMO_NAMESPACES:
        if server.get("namespaces", "", namespace) is None:
            server.seed({"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": namespace, "creationTimestamp": rfc3339(namespace_created.timestamp())}})
    for service in DEMO_SERVICES:
        history = [r for r in revisions if r.service == service]
        seed_deployment(
            server,
            namespace=service.namespace,
            name=service.deployment,
            labels={"app": service.deployment, MODEL_LABEL: service.model},
            annotations={ALIAS_ANNOTATION: CHAMPION_ALIAS},
            replicas=service.replicas,
            revisions=[
                RevisionSpec(serving_template(service, r.version, r.image), r.created_at, r.change_cause) for r in history
            ],
        )
    return revisions


def _suffix(seed: str, length: int = 5) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_NAME_ALPHABET[b % len(_NAME_ALPHABET)] for b in digest[:length])


def _uid(seed: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(seed.encode()).digest()[:16], version=4))


def seed_deployment(
    server: KubeApiServer,
    *,
    namespace: str,
    name: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    replicas: int,
    revisions: list[RevisionSpec],
) -> dict[str, Any]:
    """Write a Deployment, its ReplicaSets and the current pods as the controller leaves them after ``revisions``.

    A revision whose template equals an older one reuses that ReplicaSet, which then carries the new revision
    number and the old one in ``deployment.kubernetes.io/revision-history``.
    """
    if not revisions:
        raise ValueError("a deployment needs at least one revision")
    with server.controllers.held():
        return _seed_deployment(server, namespace, name, labels, annotations, replicas, revisions)


def _seed_deployment(
    server: KubeApiServer,
    namespace: str,
    name: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    replicas: int,
    revisions: list[RevisionSpec],
) -> dict[str, Any]:
    first_at = revisions[0].created_at
    deployment_uid = _uid(f"{namespace}/{name}/deployment")
    selector = {"matchLabels": {"app": labels["app"]}} if "app" in labels else {"matchLabels": dict(labels)}

    # Replay the rollouts: which ReplicaSet served which revisions.
    served: list[dict[str, Any]] = []
    for number, spec in enumerate(revisions, start=1):
        entry = next((e for e in served if equal_ignore_hash(e["template"], spec.template)), None)
        if entry is None:
            entry = {"template": copy.deepcopy(spec.template), "created": spec.created_at, "revisions": []}
            served.append(entry)
        entry["revisions"].append(number)
        entry["cause"] = spec.change_cause
        entry["last_at"] = spec.created_at
    current = next(e for e in served if len(revisions) in e["revisions"])
    last = revisions[-1]

    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": deployment_uid,
            "generation": len(revisions),
            "creationTimestamp": rfc3339(first_at.timestamp()),
            "labels": dict(labels),
            "annotations": {**annotations, REVISION: str(len(revisions)), CHANGE_CAUSE: last.change_cause},
        },
        "spec": {
            "replicas": replicas,
            "selector": selector,
            "template": copy.deepcopy(last.template),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
    }
    surge, unavailable = resolve_fenceposts(deployment)
    unavailable = min(unavailable, replicas)
    broken = any(is_broken_image(c["image"]) for c in last.template["spec"]["containers"])
    previous = None
    if broken and len(served) > 1:
        previous_number = max(n for e in served if e is not current for n in e["revisions"])
        previous = next(e for e in served if previous_number in e["revisions"])
    # A stuck rolling update: the new set grew by surge + unavailable, the old one shrank by unavailable.
    new_replicas = min(surge + unavailable, replicas) if previous is not None else replicas
    old_replicas = replicas - unavailable if previous is not None else 0

    now = server.clock.now()
    rs_objects = []
    ready_total = available_total = pods_total = 0
    for entry in served:
        template = copy.deepcopy(entry["template"])
        template["metadata"].pop("creationTimestamp", None)
        pod_hash = template_hash(template)
        rs_name = f"{name}-{pod_hash}"
        template["metadata"]["labels"] = {**template["metadata"].get("labels", {}), HASH_LABEL: pod_hash}
        rs_selector = copy.deepcopy(selector)
        rs_selector["matchLabels"][HASH_LABEL] = pod_hash
        revision_numbers = entry["revisions"]
        rs_annotations = {
            **annotations,
            CHANGE_CAUSE: entry["cause"],
            DESIRED_REPLICAS: str(replicas),
            MAX_REPLICAS: str(replicas + surge),
            REVISION: str(revision_numbers[-1]),
        }
        if len(revision_numbers) > 1:
            rs_annotations[REVISION_HISTORY] = ",".join(str(n) for n in revision_numbers[:-1])
        if entry is current:
            spec_replicas = new_replicas
        elif entry is previous:
            spec_replicas = old_replicas
        else:
            spec_replicas = 0
        rs_uid = _uid(f"{namespace}/{rs_name}/replicaset")
        generation = 1 + 2 * len(revision_numbers) - (1 if spec_replicas else 0)
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": namespace,
                "uid": rs_uid,
                "generation": generation,
                "creationTimestamp": rfc3339(entry["created"].timestamp()),
                "labels": dict(template["metadata"]["labels"]),
                "annotations": rs_annotations,
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": deployment_uid,
                    "controller": True, "blockOwnerDeletion": True,
                }],
            },
            "spec": {"replicas": spec_replicas, "selector": rs_selector, "template": template},
        }
        pods = []
        for i in range(spec_replicas):
            pod_name = f"{rs_name}-{_suffix(f'{namespace}/{rs_name}/{i}')}"
            pod_uid = _uid(f"{namespace}/{pod_name}/pod")
            created = entry["last_at"].timestamp() + 1 + i
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "generateName": f"{rs_name}-",
                    "namespace": namespace,
                    "uid": pod_uid,
                    "creationTimestamp": rfc3339(created),
                    "labels": dict(template["metadata"]["labels"]),
                    "annotations": dict(template["metadata"].get("annotations") or {}),
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid,
                        "controller": True, "blockOwnerDeletion": True,
                    }],
                },
                "spec": {**copy.deepcopy(template["spec"]), "nodeName": "sandbox-worker-0"},
            }
            default_pod(pod)
            server.controllers.pod_created[pod_uid] = created
            pod["status"], _ = server.controllers.pod_status(pod, now)
            pods.append(pod)
        ready = sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"]))
        status: dict[str, Any] = {"replicas": len(pods)}
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        status["observedGeneration"] = generation
        rs["status"] = status
        rs_objects.append((rs, pods))
        ready_total += ready
        available_total += ready
        pods_total += len(pods)

    new_rs_name = next(rs["metadata"]["name"] for rs, _ in rs_objects if rs["metadata"]["uid"] == _uid(
        f"{namespace}/{name}-{template_hash(_strip(current['template']))}/replicaset"))
    became_ready = rfc3339(first_at.timestamp() + 12)
    status = {
        "observedGeneration": len(revisions),
        "replicas": pods_total,
        "updatedReplicas": new_replicas,
        "readyReplicas": ready_total,
        "availableReplicas": available_total,
        "unavailableReplicas": max(new_replicas + old_replicas - available_total, 0) if previous is not None else max(replicas - available_total, 0),
    }
    available_ok = available_total >= replicas - (unavailable if replicas else 0)
    conditions = [
        {
            "type": "Available",
            "status": "True" if available_ok else "False",
            "lastUpdateTime": became_ready,
            "lastTransitionTime": became_ready,
            "reason": "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
            "message": "Deployment has minimum availability." if available_ok else "Deployment does not have minimum availability.",
        }
    ]
    if previous is not None:
        timed_out = rfc3339(last.created_at.timestamp() + 600 + 9)
        conditions.append({
            "type": "Progressing", "status": "False", "lastUpdateTime": timed_out, "lastTransitionTime": timed_out,
            "reason": "ProgressDeadlineExceeded", "message": f'ReplicaSet "{new_rs_name}" has timed out progressing.',
        })
    else:
        conditions.append({
            "type": "Progressing", "status": "True",
            "lastUpdateTime": rfc3339(last.created_at.timestamp() + 14),
            "lastTransitionTime": rfc3339(first_at.timestamp() + 2),
            "reason": "NewReplicaSetAvailable", "message": f'ReplicaSet "{new_rs_name}" has successfully progressed.',
        })
    status["conditions"] = conditions
    deployment["status"] = {k: v for k, v in status.items() if v or k == "observedGeneration"}

    stored = server.seed(deployment)
    for rs, pods in rs_objects:
        server.seed(rs)
        for pod in pods:
            server.seed(pod)
    return stored


def _strip(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    template["metadata"].pop("creationTimestamp", None)
    return template
