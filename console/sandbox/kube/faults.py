"""Fault injection and an access policy, both keyed by verb, resource and namespace."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    latency_seconds: float = 0.0
    status: int | None = None
    drop: bool = False
    times: int | None = None
    hits: int = 0

    def matches(self, verb: str, resource: str, subresource: str, namespace: str) -> bool:
        if self.verb is not None and self.verb != verb:
            return False
        if self.resource is not None:
            full = f"{resource}/{subresource}" if subresource else resource
            if self.resource != full:
                return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        return self.times is None or self.hits < self.times


class Faults:
    """Faults the server injects: ``add(verb="list", resource="deployments", status=503, times=1)``.

    ``resource`` is a plural name, with ``/subresource`` for subresources (``deployments/scale``,
    ``pods/log``). ``verb`` is one of get, list, watch, create, update, patch, delete, deletecollection.
    A fault adds ``latency_seconds`` and then answers ``status`` (a Status body), or ``drop``s the connection
    without an answer, or, with neither, lets the request through late. ``times`` limits how often it fires.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        latency_seconds: float = 0.0,
        status: int | None = None,
        drop: bool = False,
        times: int | None = None,
    ) -> Fault:
        fault = Fault(verb, resource, namespace, latency_seconds, status, drop, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, verb: str, resource: str, subresource: str, namespace: str) -> list[Fault]:
        """The faults that fire for this request (their hit counters advance)."""
        fired = []
        with self._lock:
            for fault in self._faults:
                if fault.matches(verb, resource, subresource, namespace):
                    fault.hits += 1
                    fired.append(fault)
        return fired


@dataclass(frozen=True)
class Rule:
    verb: str | None
    resource: str | None
    namespace: str | None

    def matches(self, verb: str, resource: str, subresource: str, namespace: str) -> bool:
        full = f"{resource}/{subresource}" if subresource else resource
        return (
            (self.verb is None or self.verb == verb)
            and (self.resource is None or self.resource == full)
            and (self.namespace is None or self.namespace == namespace)
        )


class AccessPolicy:
    """RBAC in miniature: everything is allowed except what ``deny`` lists (or, after ``deny_all``,
    only what ``allow`` lists). Denials answer 403 with the message a real cluster's authorizer gives."""

    def __init__(self) -> None:
        self._denied: list[Rule] = []
        self._allowed: list[Rule] = []
        self._default_allow = True
        self._lock = threading.Lock()

    def deny(self, *, verb: str | None = None, resource: str | None = None, namespace: str | None = None) -> None:
        with self._lock:
            self._denied.append(Rule(verb, resource, namespace))

    def allow(self, *, verb: str | None = None, resource: str | None = None, namespace: str | None = None) -> None:
        with self._lock:
            self._allowed.append(Rule(verb, resource, namespace))

    def deny_all(self) -> None:
        with self._lock:
            self._default_allow = False

    def clear(self) -> None:
        with self._lock:
            self._denied.clear()
            self._allowed.clear()
            self._default_allow = True

    def allows(self, verb: str, resource: str, subresource: str, namespace: str) -> bool:
        # The sandbox serves only the CRDs it ships: changing one, or adding another it could not serve, is
        # refused as a cluster refuses a user without rights on apiextensions.
        if resource == "customresourcedefinitions" and verb not in ("get", "list", "watch"):
            return False
        with self._lock:
            if any(rule.matches(verb, resource, subresource, namespace) for rule in self._denied):
                return False
            if self._default_allow:
                return True
            return any(rule.matches(verb, resource, subresource, namespace) for rule in self._allowed)
