"""core/v1 Services: defaulting, cluster IP and node port allocation, and validation as kube-apiserver does them.

Only the API object is simulated (no endpoints, no proxying): enough to create the Services of a manifest and
read back what a real cluster would have filled in.
"""

from __future__ import annotations

import ipaddress
import random
import re
from typing import Any

from .errors import FieldError

# kube-apiserver's default --service-cluster-ip-range; its first address belongs to the `kubernetes` Service.
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = range(30000, 32768)
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
PROTOCOLS = ("TCP", "UDP", "SCTP")
SESSION_AFFINITIES = ("ClientIP", "None")
DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800
MAX_CLIENT_IP_TIMEOUT_SECONDS = 86400

_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kept by an update that leaves them out, as the apiserver does (patchAllocatedValues).
_ALLOCATED_FIELDS = ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy")


def _has_cluster_ip(spec: dict[str, Any]) -> bool:
    return spec.get("type", "ClusterIP") != "ExternalName"


def default_service(obj: dict[str, Any]) -> None:
    """pkg/apis/core/v1/defaults.go SetDefaults_Service and the registry's defaulting on create."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        client_ip = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        client_ip.setdefault("timeoutSeconds", DEFAULT_CLIENT_IP_TIMEOUT_SECONDS)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "targetPort" not in port or port["targetPort"] in (0, ""):
                port["targetPort"] = port.get("port")
    if _has_cluster_ip(spec):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def allocate(obj: dict[str, Any], services: list[dict[str, Any]], rng: random.Random | None = None) -> None:
    """Give a new Service its cluster IP, IP families and node ports (random free ones, as the allocators do)."""
    spec = obj.setdefault("spec", {})
    rng = rng or random.Random()
    if not _has_cluster_ip(spec):
        return
    if not spec.get("clusterIP"):
        used = {s.get("spec", {}).get("clusterIP") for s in services}
        first, size = int(SERVICE_CIDR.network_address), SERVICE_CIDR.num_addresses
        while True:
            # Not the network address, not .1 (the kubernetes Service), not the broadcast address.
            candidate = str(ipaddress.ip_address(first + rng.randrange(2, size - 1)))
            if candidate not in used:
                break
        spec["clusterIP"] = candidate
        spec["clusterIPs"] = [candidate]
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec.get("type") in ("NodePort", "LoadBalancer") and spec.get("allocateLoadBalancerNodePorts", True):
        used_ports = {p.get("nodePort") for s in services for p in s.get("spec", {}).get("ports") or []}
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                free = [n for n in NODE_PORT_RANGE if n not in used_ports]
                port["nodePort"] = rng.choice(free)
                used_ports.add(port["nodePort"])


def keep_allocated(current: dict[str, Any], new: dict[str, Any]) -> None:
    """An update that omits the allocated addresses keeps them."""
    old_spec, new_spec = current.get("spec") or {}, new.setdefault("spec", {})
    if old_spec.get("type") == "ExternalName" or new_spec.get("type") == "ExternalName":
        return
    for key in _ALLOCATED_FIELDS:
        if key not in new_spec and key in old_spec:
            new_spec[key] = old_spec[key]
    old_node_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []}
    if new_spec.get("type") in ("NodePort", "LoadBalancer"):
        for port in new_spec.get("ports") or []:
            kept = old_node_ports.get((port.get("port"), port.get("protocol", "TCP")))
            if kept and not port.get("nodePort"):
                port["nodePort"] = kept


def validate_service(obj: dict[str, Any], services: list[dict[str, Any]] | None = None) -> list[FieldError]:
    """A subset of pkg/apis/core/validation ValidateService: what a manifest gets wrong in practice."""
    errors: list[FieldError] = []
    spec = obj.get("spec") or {}
    service_type = spec.get("type")
    if service_type not in SERVICE_TYPES:
        errors.append(FieldError.not_supported("spec.type", service_type, list(SERVICE_TYPES)))
        return errors
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and service_type != "ExternalName" and not headless:
        errors.append(FieldError.required("spec.ports"))
    if service_type == "ExternalName" and not spec.get("externalName"):
        errors.append(FieldError.required("spec.externalName"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        name = port.get("name", "")
        if len(ports) > 1 and not name:
            errors.append(FieldError.required(f"{path}.name"))
        elif name:
            if len(name) > 63 or not _PORT_NAME.match(name):
                errors.append(FieldError.invalid(f"{path}.name", name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"))
            if name in names:
                errors.append(FieldError("FieldValueDuplicate", f"{path}.name", "", name, True))
            names.add(name)
        number = port.get("port")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
            errors.append(FieldError.invalid(f"{path}.port", number, "must be between 1 and 65535, inclusive"))
        if port.get("protocol") not in PROTOCOLS:
            errors.append(FieldError.not_supported(f"{path}.protocol", port.get("protocol"), list(PROTOCOLS)))
        target = port.get("targetPort")
        if isinstance(target, bool) or not (
            (isinstance(target, int) and 1 <= target <= 65535)
            or (isinstance(target, str) and len(target) <= 15 and _IANA_SVC_NAME.match(target))
        ):
            errors.append(FieldError.invalid(f"{path}.targetPort", target, "must contain at least one letter or be a number between 1 and 65535"))
        node_port = port.get("nodePort")
        if node_port is not None and service_type not in ("NodePort", "LoadBalancer"):
            errors.append(FieldError.forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'"))
        elif node_port is not None and node_port not in NODE_PORT_RANGE:
            errors.append(FieldError.invalid(f"{path}.nodePort", node_port, "provided port is not in the valid range. The range of valid ports is 30000-32767"))
    affinity = spec.get("sessionAffinity")
    if affinity not in SESSION_AFFINITIES:
        errors.append(FieldError.not_supported("spec.sessionAffinity", affinity, list(SESSION_AFFINITIES)))
    config = spec.get("sessionAffinityConfig")
    if config and affinity != "ClientIP":
        errors.append(FieldError.invalid("spec.sessionAffinityConfig", config, "must not be set when session affinity is None"))
    elif affinity == "ClientIP":
        timeout = ((config or {}).get("clientIP") or {}).get("timeoutSeconds")
        if not isinstance(timeout, int) or not 0 < timeout <= MAX_CLIENT_IP_TIMEOUT_SECONDS:
            errors.append(FieldError.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                                             f"must be greater than 0 and less than {MAX_CLIENT_IP_TIMEOUT_SECONDS}"))
    cluster_ip = spec.get("clusterIP")
    if cluster_ip and cluster_ip != "None":
        if service_type == "ExternalName":
            errors.append(FieldError.forbidden("spec.clusterIP", "may not be set for ExternalName services"))
        else:
            try:
                address = ipaddress.ip_address(cluster_ip)
            except ValueError:
                errors.append(FieldError.invalid("spec.clusterIP", cluster_ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
            else:
                if address not in SERVICE_CIDR:
                    errors.append(FieldError.invalid("spec.clusterIPs", [cluster_ip], f"failed to allocate IP {cluster_ip}: the provided IP ({cluster_ip}) is not in the valid range. The range of valid IPs is {SERVICE_CIDR}"))
                elif services is not None and any(s.get("spec", {}).get("clusterIP") == cluster_ip for s in services):
                    errors.append(FieldError.invalid("spec.clusterIPs", [cluster_ip], f"failed to allocate IP {cluster_ip}: provided IP is already allocated"))
    for policy_key, allowed in (("internalTrafficPolicy", ("Cluster", "Local")), ("externalTrafficPolicy", ("Cluster", "Local"))):
        value = spec.get(policy_key)
        if value is not None and value not in allowed:
            errors.append(FieldError.not_supported(f"spec.{policy_key}", value, list(allowed)))
    return errors


def validate_service_update(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    errors = validate_service(new)
    old_ip, new_ip = (old.get("spec") or {}).get("clusterIP"), (new.get("spec") or {}).get("clusterIP")
    if old_ip and new_ip and old_ip != new_ip:
        errors.append(FieldError.invalid("spec.clusterIPs[0]", new_ip, "may not change once set"))
    return errors
