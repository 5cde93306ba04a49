"""The resource types the sandbox serves: discovery facts, defaulting and validation as kube-apiserver does them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import kinds
from .errors import FieldError, bad_request
from .services import default_service, validate_service, validate_service_update


@dataclass(frozen=True)
class ResourceType:
    plural: str
    singular: str
    kind: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    has_generation: bool = False
    subresources: tuple[str, ...] = ()
    # Served from a CustomResourceDefinition (crds/): JSON only, schema from the CRD, merge patch instead of
    # strategic merge patch, as apiextensions-apiserver serves custom resources.
    custom: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"


RESOURCE_TYPES: dict[str, ResourceType] = {
    rt.plural: rt
    for rt in (
        ResourceType(
            "namespaces", "namespace", "Namespace", "", "v1", False, ("ns",),
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
            subresources=("status", "finalize"),
        ),
        ResourceType(
            "pods", "pod", "Pod", "", "v1", True, ("po",), ("all",), has_generation=True,
            subresources=("log", "status"),
        ),
        ResourceType("events", "event", "Event", "", "v1", True, ("ev",)),
        ResourceType("services", "service", "Service", "", "v1", True, ("svc",), ("all",), subresources=("status",)),
        ResourceType(
            "deployments", "deployment", "Deployment", "apps", "v1", True, ("deploy",), ("all",),
            has_generation=True, subresources=("scale", "status"),
        ),
        ResourceType(
            "replicasets", "replicaset", "ReplicaSet", "apps", "v1", True, ("rs",), ("all",),
            has_generation=True, subresources=("scale", "status"),
        ),
        # Served so that autoscaling/v1 discovery is complete; no controller acts on them.
        ResourceType(
            "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", "autoscaling", "v1",
            True, ("hpa",), ("all",), subresources=("status",),
        ),
        # Not stored: answered from the access policy (kubectl auth can-i).
        ResourceType(
            "selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview", "authorization.k8s.io",
            "v1", False, verbs=("create",),
        ),
        # What the console's own manifests (openshift/) create besides Deployments and Services.
        ResourceType("configmaps", "configmap", "ConfigMap", "", "v1", True, ("cm",)),
        ResourceType("secrets", "secret", "Secret", "", "v1", True),
        ResourceType("serviceaccounts", "serviceaccount", "ServiceAccount", "", "v1", True, ("sa",)),
        ResourceType(
            "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", "policy", "v1", True, ("pdb",),
            has_generation=True, subresources=("status",),
        ),
        ResourceType(
            "networkpolicies", "networkpolicy", "NetworkPolicy", "networking.k8s.io", "v1", True, ("netpol",),
            has_generation=True,
        ),
        ResourceType("roles", "role", "Role", "rbac.authorization.k8s.io", "v1", True),
        ResourceType("rolebindings", "rolebinding", "RoleBinding", "rbac.authorization.k8s.io", "v1", True),
        ResourceType("clusterroles", "clusterrole", "ClusterRole", "rbac.authorization.k8s.io", "v1", False),
        ResourceType(
            "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", False,
        ),
        ResourceType(
            "customresourcedefinitions", "customresourcedefinition", "CustomResourceDefinition", "apiextensions.k8s.io",
            "v1", False, ("crd", "crds"), ("api-extensions",), has_generation=True, subresources=("status",),
        ),
        # The CRDs of crds/: OpenShift serves Routes, the Prometheus operator PrometheusRules.
        ResourceType(
            "routes", "route", "Route", "route.openshift.io", "v1", True, has_generation=True,
            subresources=("status",), custom=True,
        ),
        ResourceType(
            "prometheusrules", "prometheusrule", "PrometheusRule", "monitoring.coreos.com", "v1", True, ("promrule",),
            ("prometheus-operator",), has_generation=True, custom=True,
        ),
    )
}

GROUP_VERSIONS = {
    "": ("v1",),
    "apps": ("v1",),
    "autoscaling": ("v1",),
    "authorization.k8s.io": ("v1",),
    "policy": ("v1",),
    "networking.k8s.io": ("v1",),
    "rbac.authorization.k8s.io": ("v1",),
    "apiextensions.k8s.io": ("v1",),
    "route.openshift.io": ("v1",),
    "monitoring.coreos.com": ("v1",),
}

# apps/v1 deployments/scale and replicasets/scale return autoscaling/v1 Scale objects.
SCALE_API_VERSION = "autoscaling/v1"


def resources_in(group: str, version: str) -> list[ResourceType]:
    return [rt for rt in RESOURCE_TYPES.values() if rt.group == group and rt.version == version]


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """The type a URL's group, version and resource name; None if the sandbox does not serve it."""
    rt = RESOURCE_TYPES.get(plural)
    if rt is None or rt.group != group or rt.version != version:
        return None
    return rt


def of_kind(api_version: str, kind: str) -> ResourceType | None:
    """The type of an object's ``apiVersion`` and ``kind``."""
    for rt in RESOURCE_TYPES.values():
        if rt.kind == kind and rt.api_version == api_version:
            return rt
    return None


# --- defaults (pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go) ---------------------------------


def _image_pull_policy(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    if ":" not in name or name.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _default_probe(probe: dict[str, Any]) -> None:
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if "httpGet" in probe:
        probe["httpGet"].setdefault("scheme", "HTTP")
        probe["httpGet"].setdefault("path", "/")


def _default_container(container: dict[str, Any]) -> None:
    container.setdefault("resources", {})
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("imagePullPolicy", _image_pull_policy(str(container.get("image", ""))))
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if field_ref is not None:
            field_ref.setdefault("apiVersion", "v1")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe_name), dict):
            _default_probe(container[probe_name])


def default_pod_spec(spec: dict[str, Any]) -> None:
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                _default_container(container)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for volume in spec.get("volumes") or []:
        for source in ("configMap", "secret"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)


def default_pod(pod: dict[str, Any]) -> None:
    spec = pod.setdefault("spec", {})
    default_pod_spec(spec)
    # Admission (ServiceAccount, DefaultTolerationSeconds, Priority) adds these to every pod.
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault(
        "tolerations",
        [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ],
    )
    status = pod.setdefault("status", {})
    if not status.get("phase"):
        status.update({"phase": "Pending", "qosClass": qos_class(spec)})


def qos_class(spec: dict[str, Any]) -> str:
    requests_seen = False
    guaranteed = True
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        if requests or limits:
            requests_seen = True
        if not limits or set(limits) < {"cpu", "memory"} or any(requests.get(k, limits[k]) != limits[k] for k in limits):
            guaranteed = False
    if not requests_seen:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def default_template(template: dict[str, Any]) -> None:
    template.setdefault("metadata", {})
    default_pod_spec(template.setdefault("spec", {}))


def default_deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_template(spec.setdefault("template", {}))
    obj.setdefault("status", {})


def default_replicaset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    default_template(spec.setdefault("template", {}))
    obj.setdefault("status", {}).setdefault("replicas", 0)


def default_namespace(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if not spec.get("finalizers"):
        spec["finalizers"] = ["kubernetes"]
    obj.setdefault("status", {}).setdefault("phase", "Active")
    labels = obj["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def default_event(obj: dict[str, Any]) -> None:
    obj.setdefault("involvedObject", {})
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")


def default_hpa(obj: dict[str, Any]) -> None:
    obj.setdefault("spec", {}).setdefault("minReplicas", 1)
    status = obj.setdefault("status", {})
    status.setdefault("currentReplicas", 0)
    status.setdefault("desiredReplicas", 0)


DEFAULTERS = {
    "horizontalpodautoscalers": default_hpa,
    "selfsubjectaccessreviews": lambda obj: None,
    "deployments": default_deployment,
    "replicasets": default_replicaset,
    "pods": default_pod,
    "namespaces": default_namespace,
    "events": default_event,
    "services": default_service,
    **kinds.DEFAULTERS,
}


# --- validation (a subset of pkg/apis/*/validation) -----------------------------------------------------

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def validate_name(resource: str, name: str) -> list[FieldError]:
    if resource == "namespaces":
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            return [
                FieldError.invalid(
                    "metadata.name",
                    name,
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                )
            ]
        return []
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        return [
            FieldError.invalid(
                "metadata.name",
                name,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
                "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            )
        ]
    return []


def _validate_labels(labels: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if labels is None:
        return errors
    for key, value in labels.items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            errors.append(
                FieldError.invalid(
                    f"{path}",
                    value,
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            )
    return errors


def validate_pod_spec(spec: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    containers = spec.get("containers")
    if not containers:
        errors.append(FieldError.required(f"{path}.containers"))
        return errors
    seen: set[str] = set()
    for i, container in enumerate(containers):
        cpath = f"{path}.containers[{i}]"
        name = container.get("name")
        if not name:
            errors.append(FieldError.required(f"{cpath}.name"))
        elif name in seen:
            errors.append(FieldError("FieldValueDuplicate", f"{cpath}.name", "", name, True))
        else:
            seen.add(name)
        if not container.get("image"):
            errors.append(FieldError.required(f"{cpath}.image"))
        env_names: set[str] = set()
        for j, env in enumerate(container.get("env") or []):
            if not env.get("name"):
                errors.append(FieldError.required(f"{cpath}.env[{j}].name"))
            env_names.add(env.get("name", ""))
        for j, port in enumerate(container.get("ports") or []):
            port_number = port.get("containerPort")
            if not isinstance(port_number, int) or not 1 <= port_number <= 65535:
                errors.append(
                    FieldError.invalid(f"{cpath}.ports[{j}].containerPort", port_number, "must be between 1 and 65535, inclusive")
                )
    policy = spec.get("restartPolicy")
    if policy not in (None, "Always", "OnFailure", "Never"):
        errors.append(FieldError.not_supported(f"{path}.restartPolicy", policy, ["Always", "OnFailure", "Never"]))
    return errors


def selector_matches_labels(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def _validate_workload(obj: dict[str, Any], kind: str) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = obj.get("spec") or {}
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        errors.append(FieldError.invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    template = spec.get("template") or {}
    template_labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(FieldError.required("spec.selector"))
        if kind == "Deployment":
            errors.append(FieldError.invalid("spec.selector", selector or {}, "empty selector is invalid for deployment"))
    elif not selector_matches_labels(selector, template_labels):
        errors.append(
            FieldError.invalid("spec.template.metadata.labels", template_labels, "`selector` does not match template `labels`")
        )
    errors += _validate_labels(template_labels, "spec.template.metadata.labels")
    errors += validate_pod_spec(template.get("spec") or {}, "spec.template.spec")
    if template.get("spec", {}).get("restartPolicy") not in (None, "Always"):
        errors.append(
            FieldError.not_supported("spec.template.spec.restartPolicy", template["spec"]["restartPolicy"], ["Always"])
        )
    if kind == "Deployment":
        for key in ("revisionHistoryLimit", "progressDeadlineSeconds", "minReadySeconds"):
            value = spec.get(key)
            if value is not None and (not isinstance(value, int) or value < 0):
                errors.append(FieldError.invalid(f"spec.{key}", value, "must be greater than or equal to 0"))
        strategy = spec.get("strategy") or {}
        if strategy.get("type") not in ("RollingUpdate", "Recreate"):
            errors.append(FieldError.not_supported("spec.strategy.type", strategy.get("type"), ["Recreate", "RollingUpdate"]))
        elif strategy["type"] == "Recreate" and strategy.get("rollingUpdate"):
            errors.append(FieldError.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"))
        elif strategy["type"] == "RollingUpdate":
            rolling = strategy.get("rollingUpdate") or {}
            surge = resolve_int_or_percent(rolling.get("maxSurge", "25%"), 100, True)
            unavailable = resolve_int_or_percent(rolling.get("maxUnavailable", "25%"), 100, False)
            if surge == 0 and unavailable == 0:
                errors.append(
                    FieldError.invalid(
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        rolling.get("maxUnavailable"),
                        "may not be 0 when `maxSurge` is 0",
                    )
                )
        progress, min_ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds", 0)
        if isinstance(progress, int) and isinstance(min_ready, int) and progress <= min_ready:
            errors.append(
                FieldError.invalid("spec.progressDeadlineSeconds", progress, "must be greater than minReadySeconds")
            )
    return errors


def validate(resource: str, obj: dict[str, Any]) -> list[FieldError]:
    meta = obj.get("metadata") or {}
    errors = _validate_labels(meta.get("labels"), "metadata.labels")
    if resource == "deployments":
        errors += _validate_workload(obj, "Deployment")
    elif resource == "replicasets":
        errors += _validate_workload(obj, "ReplicaSet")
    elif resource == "pods":
        errors += validate_pod_spec(obj.get("spec") or {}, "spec")
    elif resource == "services":
        errors += validate_service(obj)
    elif resource in kinds.DEFAULTERS:
        errors += kinds.validate(resource, obj)
    return errors


def validate_update(resource: str, old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    if resource == "services":
        return _validate_labels((new.get("metadata") or {}).get("labels"), "metadata.labels") + validate_service_update(old, new)
    if resource in kinds.DEFAULTERS:
        return _validate_labels((new.get("metadata") or {}).get("labels"), "metadata.labels") + kinds.validate_update(resource, old, new)
    errors = validate(resource, new)
    if resource in ("deployments", "replicasets"):
        old_selector = old.get("spec", {}).get("selector")
        new_selector = new.get("spec", {}).get("selector")
        if old_selector != new_selector:
            errors.append(FieldError.invalid("spec.selector", new_selector, "field is immutable"))
    if resource == "pods":
        old_spec, new_spec = dict(old.get("spec") or {}), dict(new.get("spec") or {})
        strip = lambda spec: {  # noqa: E731 - image and activeDeadlineSeconds are the mutable pod spec fields
            **spec,
            "containers": [{k: v for k, v in c.items() if k != "image"} for c in spec.get("containers") or []],
            "activeDeadlineSeconds": None,
            "tolerations": None,
        }
        if strip(old_spec) != strip(new_spec):
            errors.append(
                FieldError.forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`,"
                    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                    "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                    "previously negative)",
                )
            )
    return errors


def resolve_int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            percent = int(value[:-1])
        except ValueError:
            return 0
        scaled = percent * total
        return -(-scaled // 100) if round_up else scaled // 100
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


# --- selectors (apimachinery labels.Parse and fields.ParseSelector) ----------------------------------------


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "=":
            return present and value == self.values[0]
        if self.operator == "!=":
            return not present or value != self.values[0]
        if self.operator == "in":
            return present and value in self.values
        if self.operator == "notin":
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        return not present


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


_SET_RE = re.compile(r"^([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQ_RE = re.compile(r"^([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$")
_KEY_RE = re.compile(r"^(!?)\s*([A-Za-z0-9./_-]+)$")


def parse_label_selector(text: str | None) -> list[Requirement]:
    if not text:
        return []
    requirements = []
    for part in _split_top_level(text):
        if m := _SET_RE.match(part):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            requirements.append(Requirement(m.group(1), m.group(2), values))
        elif m := _EQ_RE.match(part):
            op = "!=" if m.group(2) == "!=" else "="
            requirements.append(Requirement(m.group(1), op, (m.group(3),)))
        elif m := _KEY_RE.match(part):
            requirements.append(Requirement(m.group(2), "!" if m.group(1) else "exists"))
        else:
            raise bad_request(f"unable to parse requirement: found '{part}', expected: identifier")
    return requirements


def labels_match(requirements: list[Requirement], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in requirements)


FIELD_SELECTORS: dict[str, dict[str, Any]] = {
    "pods": {
        "spec.nodeName": lambda o: o.get("spec", {}).get("nodeName", ""),
        "spec.restartPolicy": lambda o: o.get("spec", {}).get("restartPolicy", ""),
        "spec.schedulerName": lambda o: o.get("spec", {}).get("schedulerName", ""),
        "spec.serviceAccountName": lambda o: o.get("spec", {}).get("serviceAccountName", ""),
        "status.phase": lambda o: o.get("status", {}).get("phase", ""),
        "status.podIP": lambda o: o.get("status", {}).get("podIP", ""),
        "status.nominatedNodeName": lambda o: o.get("status", {}).get("nominatedNodeName", ""),
    },
    "events": {
        "involvedObject.kind": lambda o: o.get("involvedObject", {}).get("kind", ""),
        "involvedObject.namespace": lambda o: o.get("involvedObject", {}).get("namespace", ""),
        "involvedObject.name": lambda o: o.get("involvedObject", {}).get("name", ""),
        "involvedObject.uid": lambda o: o.get("involvedObject", {}).get("uid", ""),
        "involvedObject.apiVersion": lambda o: o.get("involvedObject", {}).get("apiVersion", ""),
        "involvedObject.resourceVersion": lambda o: o.get("involvedObject", {}).get("resourceVersion", ""),
        "involvedObject.fieldPath": lambda o: o.get("involvedObject", {}).get("fieldPath", ""),
        "reason": lambda o: o.get("reason", ""),
        "reportingComponent": lambda o: o.get("reportingComponent", ""),
        "source": lambda o: o.get("source", {}).get("component", ""),
        "type": lambda o: o.get("type", ""),
    },
    "namespaces": {"status.phase": lambda o: o.get("status", {}).get("phase", "")},
    "replicasets": {"status.replicas": lambda o: str(o.get("status", {}).get("replicas", 0))},
}


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=" or "!="
    value: str


def parse_field_selector(resource: str, text: str | None) -> list[FieldRequirement]:
    if not text:
        return []
    requirements = []
    for part in _split_top_level(text):
        if "!=" in part:
            field, value = part.split("!=", 1)
            op = "!="
        elif "==" in part:
            field, value = part.split("==", 1)
            op = "="
        elif "=" in part:
            field, value = part.split("=", 1)
            op = "="
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field = field.strip()
        if field not in ("metadata.name", "metadata.namespace") and field not in FIELD_SELECTORS.get(resource, {}):
            raise bad_request(f'field label not supported: {field}')
        requirements.append(FieldRequirement(field, op, value.strip()))
    return requirements


def fields_match(resource: str, requirements: list[FieldRequirement], obj: dict[str, Any]) -> bool:
    for req in requirements:
        if req.field == "metadata.name":
            actual = obj.get("metadata", {}).get("name", "")
        elif req.field == "metadata.namespace":
            actual = obj.get("metadata", {}).get("namespace", "")
        else:
            actual = FIELD_SELECTORS[resource][req.field](obj)
        if (actual == req.value) != (req.operator == "="):
            return False
    return True
