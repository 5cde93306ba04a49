"""Discovery documents: ``/api``, ``/apis``, ``/apis/{group}`` and each group-version's APIResourceList."""

from __future__ import annotations

import base64
from typing import Any

from .resources import GROUP_VERSIONS, resources_in

_SUBRESOURCE_VERBS = {"log": ["get"], "finalize": ["update"]}


def api_versions(host: str, port: int) -> dict[str, Any]:
    """``/api``: the legacy group's versions (it has no apiVersion on a real apiserver either)."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{host}:{port}"}]}


def _group(name: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in GROUP_VERSIONS[name]]
    return {"name": name, "versions": versions, "preferredVersion": versions[0]}


def group_list() -> dict[str, Any]:
    """``/apis``: every named group, in the order the apiserver lists them (built-in groups, then CRD groups)."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in GROUP_VERSIONS if g]}


def group(name: str) -> dict[str, Any] | None:
    if not name or name not in GROUP_VERSIONS:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def resource_list(group_name: str, version: str) -> dict[str, Any]:
    """The APIResourceList of one group-version, subresources included."""
    out = []
    for rt in resources_in(group_name, version):
        entry: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                                 "kind": rt.kind, "verbs": list(rt.verbs)}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        entry["storageVersionHash"] = base64.b64encode(f"{rt.group}/{rt.plural}".encode()).decode()[:11]
        out.append(entry)
        for sub in rt.subresources:
            sub_entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
            if sub == "scale":
                sub_entry.update({"group": "autoscaling", "version": "v1", "kind": "Scale",
                                  "verbs": ["get", "patch", "update"]})
            elif sub in _SUBRESOURCE_VERBS:
                sub_entry.update({"kind": rt.kind, "verbs": _SUBRESOURCE_VERBS[sub]})
            else:
                sub_entry.update({"kind": rt.kind, "verbs": ["get", "patch", "update"]})
            out.append(sub_entry)
    group_version = f"{group_name}/{version}" if group_name else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": out}


# --- aggregated discovery (apidiscovery.k8s.io/v2): every group, version and resource in one document -------------

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str | None) -> bool:
    """True when the first type of Accept the server can write is the aggregated discovery document."""
    for clause in (accept or "").split(","):
        parts = [p.strip() for p in clause.split(";") if p.strip()]
        if not parts:
            continue
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if parts[0] == "application/json" and params.get("as") == "APIGroupDiscoveryList":
            if params.get("g") == "apidiscovery.k8s.io" and params.get("v") == "v2":
                return True
            continue
        if parts[0] in ("application/json", "*/*", "application/*"):
            return False
    return False


def _response_kind(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _resources(group_name: str, version: str) -> list[dict[str, Any]]:
    out = []
    for rt in resources_in(group_name, version):
        entry: dict[str, Any] = {"resource": rt.plural, "responseKind": _response_kind("", "", rt.kind),
                                 "scope": "Namespaced" if rt.namespaced else "Cluster",
                                 "singularResource": rt.singular, "verbs": list(rt.verbs)}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        subresources = []
        for sub in rt.subresources:
            if sub == "scale":
                subresources.append({"subresource": sub, "responseKind": _response_kind("autoscaling", "v1", "Scale"),
                                     "verbs": ["get", "patch", "update"]})
            else:
                subresources.append({"subresource": sub, "responseKind": _response_kind("", "", rt.kind),
                                     "verbs": _SUBRESOURCE_VERBS.get(sub, ["get", "patch", "update"])})
        if subresources:
            entry["subresources"] = subresources
        out.append(entry)
    return out


def aggregated(legacy: bool) -> dict[str, Any]:
    """``/api`` (``legacy``) or ``/apis`` as an APIGroupDiscoveryList."""
    groups = [""] if legacy else [g for g in GROUP_VERSIONS if g]
    items = []
    for name in groups:
        metadata: dict[str, Any] = {"creationTimestamp": None}
        if name:
            metadata = {"name": name, "creationTimestamp": None}
        versions = [{"version": v, "resources": _resources(name, v), "freshness": "Current"}
                    for v in GROUP_VERSIONS[name]]
        items.append({"metadata": metadata, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
