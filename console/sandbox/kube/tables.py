"""Server-side printing: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for, with the real columns."""

from __future__ import annotations

from typing import Any, Callable

from .clock import parse_rfc3339
from . import printers
from .resources import ResourceType


def human_duration(seconds: float) -> str:
    """``k8s.io/apimachinery/pkg/util/duration.HumanDuration``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _age(obj: dict[str, Any], now: float) -> str:
    created = obj["metadata"].get("creationTimestamp")
    return human_duration(now - parse_rfc3339(created)) if created else "<unknown>"


def _column(name: str, type_: str, description: str, priority: int = 0, format_: str = "") -> dict[str, Any]:
    return {"name": name, "type": type_, "format": format_, "description": description, "priority": priority}


_NAME = _column("Name", "string", "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", 0, "name")
_AGE = _column("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")


def _selector(selector: dict[str, Any] | None) -> str:
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        parts.append(f"{expr['key']} {expr['operator'].lower()} ({','.join(expr.get('values') or [])})")
    return ",".join(parts) or "<none>"


def _containers(template: dict[str, Any]) -> tuple[str, str]:
    containers = template.get("spec", {}).get("containers") or []
    return ",".join(c["name"] for c in containers), ",".join(c.get("image", "") for c in containers)


def _deployment(obj: dict[str, Any], now: float) -> list[Any]:
    status = obj.get("status", {})
    names, images = _containers(obj["spec"].get("template", {}))
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(obj, now),
        names,
        images,
        _selector(obj["spec"].get("selector")),
    ]


def _replicaset(obj: dict[str, Any], now: float) -> list[Any]:
    status = obj.get("status", {})
    names, images = _containers(obj["spec"].get("template", {}))
    return [
        obj["metadata"]["name"],
        obj["spec"].get("replicas", 0),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        _age(obj, now),
        names,
        images,
        _selector(obj["spec"].get("selector")),
    ]


def _pod(obj: dict[str, Any], now: float) -> list[Any]:
    status = obj.get("status", {})
    containers = status.get("containerStatuses") or []
    total = len(obj["spec"].get("containers") or [])
    ready = sum(1 for c in containers if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in containers)
    reason = status.get("reason") or status.get("phase", "Pending")
    last_restart = 0.0
    for c in containers:
        state = c.get("state", {})
        finished = c.get("lastState", {}).get("terminated", {}).get("finishedAt")
        if finished:
            last_restart = max(last_restart, parse_rfc3339(finished))
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or "Error"
    if obj["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    restart_text = str(restarts)
    if restarts and last_restart:
        restart_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    return [
        obj["metadata"]["name"],
        f"{ready}/{total}",
        reason,
        restart_text,
        _age(obj, now),
        status.get("podIP") or "<none>",
        obj["spec"].get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        "<none>",
    ]


def _namespace(obj: dict[str, Any], now: float) -> list[Any]:
    return [obj["metadata"]["name"], obj.get("status", {}).get("phase", "Active"), _age(obj, now)]


def _event(obj: dict[str, Any], now: float) -> list[Any]:
    involved = obj.get("involvedObject", {})
    last = obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
    first = obj.get("firstTimestamp") or last
    source = obj.get("source", {})
    return [
        human_duration(now - parse_rfc3339(last)) if last else "<unknown>",
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
        involved.get("fieldPath", ""),
        ", ".join(v for v in (source.get("component", ""), source.get("host", "")) if v),
        obj.get("message", ""),
        human_duration(now - parse_rfc3339(first)) if first else "<unknown>",
        obj.get("count", 1),
        obj["metadata"]["name"],
    ]


def _hpa(obj: dict[str, Any], now: float) -> list[Any]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    ref = spec.get("scaleTargetRef", {})
    target = spec.get("targetCPUUtilizationPercentage")
    current = status.get("currentCPUUtilizationPercentage")
    targets = f"cpu: {current if current is not None else '<unknown>'}%/{target}%" if target is not None else "<none>"
    return [obj["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}", targets,
            spec.get("minReplicas", 1), spec.get("maxReplicas", 0), status.get("currentReplicas", 0), _age(obj, now)]


def _service_ports(spec: dict[str, Any]) -> str:
    parts = []
    for port in spec.get("ports") or []:
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _service(obj: dict[str, Any], now: float) -> list[Any]:
    spec = obj.get("spec", {})
    ingress = (obj.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
    external = [i.get("ip") or i.get("hostname") for i in ingress] + list(spec.get("externalIPs") or [])
    if spec.get("type") == "ExternalName":
        external_text = spec.get("externalName", "")
    elif external:
        external_text = ",".join(e for e in external if e)
    else:
        external_text = "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    selector = spec.get("selector")
    selector_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items())) if selector else "<none>"
    return [obj["metadata"]["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", external_text,
            _service_ports(spec), _age(obj, now), selector_text]


_PRINTERS: dict[str, tuple[list[dict[str, Any]], Callable[[dict[str, Any], float], list[Any]]]] = {
    "deployments": (
        [
            _NAME,
            _column("Ready", "string", "Number of the pod with ready state"),
            _column("Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
            _column("Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
            _AGE,
            _column("Containers", "string", "Names of each container in the template.", 1),
            _column("Images", "string", "Images referenced by each container in the template.", 1),
            _column("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", 1),
        ],
        _deployment,
    ),
    "replicasets": (
        [
            _NAME,
            _column("Desired", "integer", "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#how-a-replicaset-works"),
            _column("Current", "integer", "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#how-a-replicaset-works"),
            _column("Ready", "integer", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition."),
            _AGE,
            _column("Containers", "string", "Names of each container in the template.", 1),
            _column("Images", "string", "Images referenced by each container in the template.", 1),
            _column("Selector", "string", "Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors", 1),
        ],
        _replicaset,
    ),
    "pods": (
        [
            _NAME,
            _column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
            _column("Status", "string", "The aggregate status of the containers in this pod."),
            _column("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
            _AGE,
            _column("IP", "string", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
            _column("Node", "string", "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.", 1),
            _column("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.", 1),
            _column("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates", 1),
        ],
        _pod,
    ),
    "horizontalpodautoscalers": (
        [
            _NAME,
            _column("Reference", "string", "reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource."),
            _column("Targets", "string", "the target CPU utilization"),
            _column("MinPods", "string", "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down."),
            _column("MaxPods", "string", "maxReplicas is the upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas."),
            _column("Replicas", "string", "currentReplicas is the current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."),
            _AGE,
        ],
        _hpa,
    ),
    "services": (
        [
            _NAME,
            _column("Type", "string", "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer."),
            _column("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly."),
            _column("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
            _column("Port(s)", "string", "The list of ports that are exposed by this service."),
            _AGE,
            _column("Selector", "string", "Route service traffic to pods with label keys and values matching this selector.", 1),
        ],
        _service,
    ),
    "namespaces": (
        [_NAME, _column("Status", "string", "The status of the namespace"), _AGE],
        _namespace,
    ),
    "events": (
        [
            _column("Last Seen", "string", "Time when last event occurred"),
            _column("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future."),
            _column("Reason", "string", "This should be a short, machine understandable string that gives the reason for this event being generated. For example, 'PodFailed'"),
            _column("Object", "string", "The object this Event is about. Mapped from the involvedObject field."),
            _column("Subobject", "string", "The path to the subobject of the involved object this Event is about.", 1),
            _column("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
            _column("Message", "string", "A human-readable description of the status of this operation."),
            _column("First Seen", "string", "Time when first event occurred", 1),
            _column("Count", "string", "Number of times this event has occurred", 1),
            _column("Name", "string", "Name of the event", 1, "name"),
        ],
        _event,
    ),
}


def table(rt: ResourceType, items: list[dict[str, Any]], now: float, params: dict[str, str]) -> dict[str, Any]:
    columns, printer = _PRINTERS[rt.plural] if rt.plural in _PRINTERS else printers.printer(rt)
    include = params.get("includeObject", "Metadata")
    rows = []
    for obj in items:
        row: dict[str, Any] = {"cells": printer(obj, now)}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": columns, "rows": rows}
