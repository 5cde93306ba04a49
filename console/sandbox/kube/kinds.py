"""Defaulting and validation of the kinds the console's manifests add: ConfigMaps, Secrets, ServiceAccounts,
PodDisruptionBudgets, NetworkPolicies, RBAC, CustomResourceDefinitions and the two custom resources.

Each follows its package in kubernetes/pkg/apis/*/v1/defaults.go and validation.go for what a manifest can get
wrong; OpenShift's Route admission gives a Route its host and the default router admits it at once.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from . import schemas
from .errors import FieldError

ROUTER_DOMAIN = "apps.sandbox.local"
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
SECRET_TYPES_WITH_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/basic-auth": (),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def default_secret(obj: dict[str, Any]) -> None:
    obj.setdefault("type", "Opaque")
    # The registry folds stringData into data on every write (pkg/registry/core/secret/strategy.go).
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def default_network_policy(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("podSelector", {})
    for rules in (spec.get("ingress") or [], spec.get("egress") or []):
        for rule in rules:
            for port in rule.get("ports") or []:
                port.setdefault("protocol", "TCP")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def default_pdb(obj: dict[str, Any]) -> None:
    obj.setdefault("spec", {})
    status = obj.setdefault("status", {})
    for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        status.setdefault(key, 0)


def default_binding(obj: dict[str, Any]) -> None:
    for subject in obj.get("subjects") or []:
        if subject.get("kind") in ("User", "Group"):
            subject.setdefault("apiGroup", "rbac.authorization.k8s.io")


def default_route(obj: dict[str, Any]) -> None:
    meta, spec = obj["metadata"], obj.setdefault("spec", {})
    if not spec.get("host") and meta.get("name"):
        spec["host"] = f"{meta['name']}-{meta.get('namespace', 'default')}.{ROUTER_DOMAIN}"


def admit_route(obj: dict[str, Any], now: str) -> None:
    """What OpenShift's default router writes to a Route's status once it serves it."""
    spec = obj.get("spec") or {}
    obj["status"] = {"ingress": [{
        "host": spec.get("host", ""),
        "routerName": "default",
        "conditions": [{"type": "Admitted", "status": "True", "lastTransitionTime": now}],
        "wildcardPolicy": spec.get("wildcardPolicy", "None"),
        "routerCanonicalHostname": f"router-default.{ROUTER_DOMAIN}",
    }]}


DEFAULTERS = {
    "configmaps": lambda obj: None,
    "secrets": default_secret,
    "serviceaccounts": lambda obj: None,
    "poddisruptionbudgets": default_pdb,
    "networkpolicies": default_network_policy,
    "roles": lambda obj: None,
    "clusterroles": lambda obj: None,
    "rolebindings": default_binding,
    "clusterrolebindings": default_binding,
    "customresourcedefinitions": lambda obj: obj.setdefault("status", {}),
    "routes": default_route,
    "prometheusrules": lambda obj: None,
}


def _data_keys(obj: dict[str, Any], fields: tuple[str, ...]) -> list[FieldError]:
    problems, seen = [], set()
    for name in fields:
        for key in obj.get(name) or {}:
            if len(key) > 253 or not _CONFIG_KEY.match(key):
                problems.append(FieldError.invalid(f"{name}[{key}]", key, "a valid config key must consist of "
                                                   "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
                                                   "'KEY_NAME',  or 'key-name', regex used for validation is "
                                                   "'[-._a-zA-Z0-9]+')"))
            elif key in seen:
                problems.append(FieldError.invalid(f"{name}[{key}]", key, "duplicate of key present in data"))
            seen.add(key)
    return problems


def _role_ref(obj: dict[str, Any], namespaced: bool) -> list[FieldError]:
    ref = obj.get("roleRef") or {}
    problems = []
    if ref.get("apiGroup") != "rbac.authorization.k8s.io":
        problems.append(FieldError.not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), ["rbac.authorization.k8s.io"]))
    kinds = ["ClusterRole", "Role"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        problems.append(FieldError.not_supported("roleRef.kind", ref.get("kind", ""), kinds))
    if not ref.get("name"):
        problems.append(FieldError.required("roleRef.name"))
    for i, subject in enumerate(obj.get("subjects") or []):
        if subject.get("kind") not in ("ServiceAccount", "User", "Group"):
            problems.append(FieldError.not_supported(f"subjects[{i}].kind", subject.get("kind", ""),
                                                     ["ServiceAccount", "User", "Group"]))
        if not subject.get("name"):
            problems.append(FieldError.required(f"subjects[{i}].name"))
        if subject.get("kind") == "ServiceAccount" and not subject.get("namespace") and not namespaced:
            problems.append(FieldError.required(f"subjects[{i}].namespace"))
    return problems


def _pdb(obj: dict[str, Any]) -> list[FieldError]:
    spec = obj.get("spec") or {}
    if "minAvailable" in spec and "maxUnavailable" in spec:
        return [FieldError.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set")]
    return []


def validate(resource: str, obj: dict[str, Any]) -> list[FieldError]:
    """Field errors of a new or updated object of one of these kinds."""
    if resource == "configmaps":
        return _data_keys(obj, ("data", "binaryData"))
    if resource == "secrets":
        problems = _data_keys(obj, ("data",))
        for required in SECRET_TYPES_WITH_KEYS.get(obj.get("type", ""), ()):
            if required not in (obj.get("data") or {}):
                problems.append(FieldError.required(f"data[{required}]"))
        return problems
    if resource == "rolebindings":
        return _role_ref(obj, True)
    if resource == "clusterrolebindings":
        return _role_ref(obj, False)
    if resource == "poddisruptionbudgets":
        return _pdb(obj)
    return []


def validate_update(resource: str, old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    problems = validate(resource, new)
    if resource in ("rolebindings", "clusterrolebindings") and old.get("roleRef") != new.get("roleRef"):
        problems.append(FieldError.invalid("roleRef", new.get("roleRef"), "cannot change roleRef"))
    if resource in ("configmaps", "secrets") and old.get("immutable"):
        for key in ("data", "binaryData", "immutable"):
            if old.get(key) != new.get(key):
                problems.append(FieldError.forbidden(key, "field is immutable when `immutable` is set"))
    return problems


def installed_crds(now: str) -> list[dict[str, Any]]:
    """The CRD objects of ``crds/`` as an apiserver that has served them for a while reports them."""
    out = []
    for manifest in schemas.crds():
        crd = {k: v for k, v in manifest.items() if k != "status"}
        names = crd["spec"]["names"]
        accepted = {k: names[k] for k in ("plural", "singular", "shortNames", "kind", "listKind", "categories")
                    if k in names}
        crd["status"] = {
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts",
                 "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted"},
            ],
            "acceptedNames": accepted,
            "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
        }
        out.append(crd)
    return out
