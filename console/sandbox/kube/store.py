"""The object store: one global resourceVersion counter, apiserver object semantics, and a watch event log.

Stored objects are never mutated in place: every write stores a fresh dict, so readers may serialise what they
get from ``list_refs``/``get_ref`` without copying. ``get`` returns a deep copy for callers that edit.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import errors, kinds, schemas, services
from .managed import FieldManager
from .typed import Node
from .clock import SystemClock, rfc3339
from .resources import (
    DEFAULTERS,
    RESOURCE_TYPES,
    FieldRequirement,
    Requirement,
    ResourceType,
    fields_match,
    labels_match,
    validate,
    validate_name,
    validate_update,
)

_METADATA_ORDER = (
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)

_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def drop_nulls(value: Any) -> Any:
    """What a round trip through the Go types does to ``null`` in maps: the key disappears."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def ordered(obj: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    ordered_meta = {k: meta[k] for k in _METADATA_ORDER if k in meta}
    ordered_meta.update({k: v for k, v in meta.items() if k not in ordered_meta})
    for key in ("labels", "annotations"):
        if key in ordered_meta and not ordered_meta[key]:
            del ordered_meta[key]
    out: dict[str, Any] = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": ordered_meta}
    for key, value in obj.items():
        if key not in ("kind", "apiVersion", "metadata"):
            out[key] = value
    return out


@dataclass
class WatchEvent:
    rv: int
    resource: str
    namespace: str
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict[str, Any]
    old: dict[str, Any] | None


@dataclass
class Store:
    clock: Any = field(default_factory=SystemClock)
    history_size: int = 50_000

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._rv = 1
        self._objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {r: {} for r in RESOURCE_TYPES}
        self._history: deque[WatchEvent] = deque(maxlen=self.history_size)
        self._encoded: dict[int, bytes] = {}
        self.closed = False
        self.name_random: Callable[[int], str] | None = None
        self._listeners: list[Callable[[WatchEvent], None]] = []

    # --- reading ------------------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    def get_ref(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            return self._objects[resource].get((namespace, name))

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        ref = self.get_ref(resource, namespace, name)
        return copy.deepcopy(ref) if ref is not None else None

    def list_refs(
        self,
        resource: str,
        namespace: str | None = None,
        labels: list[Requirement] | None = None,
        fields: list[FieldRequirement] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        with self.lock:
            items = []
            for (ns, _), obj in self._objects[resource].items():
                if namespace and ns != namespace:
                    continue
                if labels and not labels_match(labels, obj["metadata"].get("labels")):
                    continue
                if fields and not fields_match(resource, fields, obj):
                    continue
                items.append(obj)
            items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            return items, self._rv

    def encoded(self, obj: dict[str, Any]) -> bytes:
        """JSON of a stored object, cached by its resourceVersion (lists re-serialise nothing unchanged)."""
        rv = int(obj["metadata"].get("resourceVersion", "0") or 0)
        cached = self._encoded.get(rv)
        if cached is None:
            cached = json.dumps(obj, separators=(",", ":")).encode()
            if rv:
                self._encoded[rv] = cached
        return cached

    def encoded_item(self, obj: dict[str, Any]) -> bytes:
        """JSON of a stored object as a list item: without kind and apiVersion, as the apiserver writes items."""
        rv = int(obj["metadata"].get("resourceVersion", "0") or 0)
        key = -rv
        cached = self._encoded.get(key) if rv else None
        if cached is None:
            item = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
            cached = json.dumps(item, separators=(",", ":")).encode()
            if rv:
                self._encoded[key] = cached
        return cached

    def add_listener(self, listener: Callable[[WatchEvent], None]) -> None:
        self._listeners.append(listener)

    # --- the event log --------------------------------------------------------------------------------------

    def events_after(self, rv: int, timeout: float) -> tuple[list[WatchEvent], bool]:
        """Events newer than ``rv``; waits up to ``timeout``. The flag is False when ``rv`` is too old."""
        with self.changed:
            if self.too_old(rv):
                return [], False
            events = self._events_since(rv)
            if not events and not self.closed:
                self.changed.wait(timeout)
                events = self._events_since(rv)
            return events, True

    def too_old(self, rv: int) -> bool:
        with self.lock:
            return len(self._history) == self._history.maxlen and rv < self._history[0].rv - 1

    def _events_since(self, rv: int) -> list[WatchEvent]:
        if not self._history or self._history[-1].rv <= rv:
            return []
        out = []
        for event in reversed(self._history):
            if event.rv <= rv:
                break
            out.append(event)
        out.reverse()
        return out

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def _record(self, resource: str, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        event = WatchEvent(
            int(obj["metadata"]["resourceVersion"]), resource, obj["metadata"].get("namespace", ""), kind, obj, old
        )
        self._history.append(event)
        if len(self._encoded) > 200_000:
            self._encoded.clear()
        self.changed.notify_all()
        for listener in self._listeners:
            listener(event)

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    # --- writing --------------------------------------------------------------------------------------------

    def _generate_suffix(self) -> str:
        if self.name_random is not None:
            return self.name_random(5)
        return "".join(_NAME_ALPHABET[b % len(_NAME_ALPHABET)] for b in uuid.uuid4().bytes[:5])

    def create(
        self, resource: str, obj: dict[str, Any], *, namespace: str = "", dry_run: bool = False,
        manager: str | None = None,
        tracked: bool = True,
    ) -> dict[str, Any]:
        """POST semantics: defaults, validation, uid and resourceVersion; ``manager`` owns the fields it set.

        ``tracked=False`` is for a server-side apply, whose managedFields the apply itself computed.
        """
        rt = RESOURCE_TYPES[resource]
        obj = drop_nulls(copy.deepcopy(obj))
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace or body_ns or "default"
        else:
            meta.pop("namespace", None)
        with self.lock:
            if not meta.get("name"):
                if meta.get("generateName"):
                    for _ in range(8):
                        candidate = meta["generateName"] + self._generate_suffix()
                        if (meta.get("namespace", ""), candidate) not in self._objects[resource]:
                            break
                    meta["name"] = candidate
                else:
                    raise errors.invalid(
                        rt.kind, rt.group, "", [errors.FieldError.required("metadata.name", "name or generateName is required")]
                    )
            name = meta["name"]
            problems = validate_name(resource, name)
            if problems:
                raise errors.invalid(rt.kind, rt.group, name, problems)
            ns = meta.get("namespace", "")
            if rt.namespaced:
                namespace_obj = self._objects["namespaces"].get(("", ns))
                if namespace_obj is None:
                    raise errors.not_found("namespaces", "", ns)
                if namespace_obj.get("status", {}).get("phase") == "Terminating":
                    raise errors.ApiError(
                        403,
                        "Forbidden",
                        f'{errors.qualified(resource, rt.group)} "{name}" is forbidden: unable to create new content in '
                        f'namespace {ns} because it is being terminated',
                        details={"name": name, "group": rt.group, "kind": resource,
                                 "causes": [{"reason": "NamespaceTerminating", "message": f"namespace {ns} is being terminated", "field": "metadata.namespace"}]},
                    )
            if (ns, name) in self._objects[resource]:
                raise errors.already_exists(resource, rt.group, name)
            for key in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                meta.pop(key, None)
            DEFAULTERS[resource](obj)
            problems = validate(resource, obj)
            if resource == "services" and not problems:
                existing = list(self._objects["services"].values())
                problems = services.validate_service(obj, existing)
                if not problems:
                    services.allocate(obj, existing)
            if problems:
                raise errors.invalid(rt.kind, rt.group, name, problems)
            if rt.has_generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = rfc3339(self.clock.now())
            if resource == "routes" and not obj.get("status"):
                kinds.admit_route(obj, meta["creationTimestamp"])
            if tracked:
                self._track(rt, None, obj, manager or internal_manager(resource, ""), "")
            if dry_run:
                return ordered(obj, rt)
            meta["resourceVersion"] = self._next_rv()
            stored = ordered(obj, rt)
            self._objects[resource][(ns, name)] = stored
            self._record(resource, "ADDED", stored, None)
            return copy.deepcopy(stored)

    def seed(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as given (uid, creationTimestamp, status kept); only the resourceVersion is assigned.

        For building a world quickly: no defaulting beyond the resource's defaults, no validation errors raised.
        """
        rt = RESOURCE_TYPES[resource]
        obj = drop_nulls(copy.deepcopy(obj))
        meta = obj.setdefault("metadata", {})
        DEFAULTERS[resource](obj)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", rfc3339(self.clock.now()))
        if rt.has_generation:
            meta.setdefault("generation", 1)
        with self.lock:
            if resource == "services":
                services.allocate(obj, list(self._objects["services"].values()))
            meta["resourceVersion"] = self._next_rv()
            key = (meta.get("namespace", "") if rt.namespaced else "", meta["name"])
            old = self._objects[resource].get(key)
            stored = ordered(obj, rt)
            self._objects[resource][key] = stored
            self._record(resource, "MODIFIED" if old else "ADDED", stored, old)
            return copy.deepcopy(stored)

    def update(
        self,
        resource: str,
        obj: dict[str, Any],
        *,
        subresource: str = "",
        dry_run: bool = False,
        require_resource_version: bool = False,
        manager: str | None = None,
        tracked: bool = True,
        tracked_as: str | None = None,
    ) -> dict[str, Any]:
        """PUT semantics: a stale resourceVersion is a 409; status and spec are split by subresource.

        ``manager`` is the field manager of the write (controllers' writes get theirs); ``tracked=False`` is for a
        server-side apply, whose managedFields the apply itself computed; ``tracked_as`` names the subresource the
        write came through when it is not ``subresource`` (a scale writes the object itself).
        """
        rt = RESOURCE_TYPES[resource]
        new = drop_nulls(copy.deepcopy(obj))
        meta = new.setdefault("metadata", {})
        name = meta.get("name", "")
        ns = meta.get("namespace", "") if rt.namespaced else ""
        with self.lock:
            current = self._objects[resource].get((ns, name))
            if current is None:
                raise errors.not_found(resource, rt.group, name)
            sent_rv = meta.get("resourceVersion")
            if sent_rv:
                if sent_rv != current["metadata"]["resourceVersion"]:
                    raise errors.conflict(resource, rt.group, name)
            elif require_resource_version:
                raise errors.invalid(
                    rt.kind, rt.group, name,
                    [errors.FieldError.invalid("metadata.resourceVersion", "", "must be specified for an update")],
                )
            cur_meta = current["metadata"]
            if meta.get("uid") and meta["uid"] != cur_meta["uid"]:
                raise errors.conflict(
                    resource, rt.group, name,
                    f"Precondition failed: UID in precondition: {meta['uid']}, UID in object meta: {cur_meta['uid']}",
                )
            if subresource == "status":
                merged = copy.deepcopy(current)
                merged["status"] = new.get("status", {})
                new = merged
                meta = new["metadata"]
            else:
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
                for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"):
                    if key in cur_meta:
                        meta[key] = cur_meta[key]
                    else:
                        meta.pop(key, None)
                meta["namespace"] = cur_meta.get("namespace")
                if not rt.namespaced:
                    meta.pop("namespace", None)
                if resource == "services":
                    services.keep_allocated(current, new)
                if resource == "namespaces":
                    new["spec"] = copy.deepcopy(current.get("spec", {}))
                    new.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = name
                DEFAULTERS[resource](new)
                problems = validate_update(resource, current, new)
                if problems:
                    raise errors.invalid(rt.kind, rt.group, name, problems)
                if rt.has_generation and new.get("spec") != current.get("spec"):
                    meta["generation"] = int(cur_meta.get("generation", 1)) + 1
            meta.pop("selfLink", None)
            if tracked:
                through = tracked_as if tracked_as is not None else subresource
                self._track(rt, current, new, manager or internal_manager(resource, subresource), through)
            candidate = ordered(new, rt)
            if _same_object(candidate, current):
                return copy.deepcopy(current)
            if dry_run:
                candidate["metadata"]["resourceVersion"] = cur_meta["resourceVersion"]
                return candidate
            # Removing the last finalizer of an object being deleted completes its deletion.
            if cur_meta.get("deletionTimestamp") and not candidate["metadata"].get("finalizers"):
                candidate["metadata"]["resourceVersion"] = self._next_rv()
                del self._objects[resource][(ns, name)]
                self._record(resource, "DELETED", candidate, current)
                return copy.deepcopy(candidate)
            candidate["metadata"]["resourceVersion"] = self._next_rv()
            self._objects[resource][(ns, name)] = candidate
            self._record(resource, "MODIFIED", candidate, current)
            return copy.deepcopy(candidate)

    def _track(self, rt: ResourceType, live: dict[str, Any] | None, new: dict[str, Any], manager: str,
               subresource: str) -> None:
        definition = schemas.definition_name(rt.group, rt.version, rt.kind)
        if definition is None:
            return
        FieldManager(rt, Node.named(definition), rfc3339(self.clock.now()), subresource).update(live, new, manager)

    def mutate(
        self, resource: str, namespace: str, name: str, change: Callable[[dict[str, Any]], None], *, subresource: str = ""
    ) -> dict[str, Any] | None:
        """Read-modify-write under the lock (for controllers); returns None if the object is gone."""
        with self.lock:
            current = self.get(resource, namespace, name)
            if current is None:
                return None
            change(current)
            current["metadata"].pop("resourceVersion", None)
            return self.update(resource, current, subresource=subresource)

    def delete(
        self,
        resource: str,
        namespace: str,
        name: str,
        *,
        options: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Returns the object as it was deleted and whether it is gone now (not waiting on grace or finalizers)."""
        rt = RESOURCE_TYPES[resource]
        options = options or {}
        ns = namespace if rt.namespaced else ""
        with self.lock:
            current = self._objects[resource].get((ns, name))
            if current is None:
                raise errors.not_found(resource, rt.group, name)
            preconditions = options.get("preconditions") or {}
            if preconditions.get("uid") and preconditions["uid"] != current["metadata"]["uid"]:
                raise errors.conflict(
                    resource, rt.group, name,
                    f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object meta: {current['metadata']['uid']}",
                )
            if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != current["metadata"]["resourceVersion"]:
                raise errors.conflict(
                    resource, rt.group, name,
                    f"Precondition failed: ResourceVersion in precondition: {preconditions['resourceVersion']}, "
                    f"ResourceVersion in object meta: {current['metadata']['resourceVersion']}",
                )
            if dry_run:
                return copy.deepcopy(current), True
            obj = copy.deepcopy(current)
            meta = obj["metadata"]
            now = self.clock.now()
            policy = options.get("propagationPolicy")
            if options.get("orphanDependents") is True:
                policy = "Orphan"
            finalizers = list(meta.get("finalizers") or [])
            if policy == "Orphan" and resource in ("deployments", "replicasets") and "orphan" not in finalizers:
                finalizers.append("orphan")
            if policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            grace = None
            if resource == "pods":
                grace = options.get("gracePeriodSeconds")
                if grace is None:
                    grace = obj.get("spec", {}).get("terminationGracePeriodSeconds", 30)
                if not obj.get("spec", {}).get("nodeName") or obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    grace = 0
            if resource == "namespaces":
                if meta.get("deletionTimestamp"):
                    return obj, False
                meta["deletionTimestamp"] = rfc3339(now)
                obj["status"] = {"phase": "Terminating"}
                meta["resourceVersion"] = self._next_rv()
                self._objects[resource][(ns, name)] = obj
                self._record(resource, "MODIFIED", obj, current)
                return copy.deepcopy(obj), False
            if finalizers or (grace is not None and grace > 0):
                if not meta.get("deletionTimestamp"):
                    meta["deletionTimestamp"] = rfc3339(now + (grace or 0))
                    meta["deletionGracePeriodSeconds"] = int(grace or 0)
                    if finalizers:
                        meta["finalizers"] = finalizers
                    meta["resourceVersion"] = self._next_rv()
                    stored = ordered(obj, rt)
                    self._objects[resource][(ns, name)] = stored
                    self._record(resource, "MODIFIED", stored, current)
                    return copy.deepcopy(stored), False
                if grace == 0 and not finalizers:
                    pass  # fall through: a forced delete of a terminating pod
                else:
                    return obj, False
            meta["resourceVersion"] = self._next_rv()
            del self._objects[resource][(ns, name)]
            self._record(resource, "DELETED", obj, current)
            return obj, True

    def remove(self, resource: str, namespace: str, name: str) -> None:
        """Drop an object now (the kubelet confirming a pod is gone, the namespace controller finishing)."""
        with self.lock:
            current = self._objects[resource].get((namespace, name))
            if current is None:
                return
            obj = copy.deepcopy(current)
            obj["metadata"]["resourceVersion"] = self._next_rv()
            del self._objects[resource][(namespace, name)]
            self._record(resource, "DELETED", obj, current)

    def snapshot(self) -> dict[str, Any]:
        """Every object and the resourceVersion counter, as plain JSON (etcd's part of a cluster restart)."""
        with self.lock:
            return {
                "resourceVersion": self._rv,
                "objects": {r: [copy.deepcopy(o) for o in objects.values()] for r, objects in self._objects.items()},
            }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace every object with a snapshot's: objects kept as they were, resourceVersions included."""
        with self.lock:
            for objects in self._objects.values():
                objects.clear()
            self._history.clear()
            self._encoded.clear()
            for resource, objects in snapshot["objects"].items():
                if resource not in self._objects:
                    continue
                rt = RESOURCE_TYPES[resource]
                for obj in objects:
                    meta = obj["metadata"]
                    self._objects[resource][(meta.get("namespace", "") if rt.namespaced else "", meta["name"])] = obj
            self._rv = max(self._rv, int(snapshot["resourceVersion"]))

    def all_objects(self, resources: Iterable[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return [(r, o) for r in (resources or self._objects) for o in self._objects[r].values()]


def internal_manager(resource: str, subresource: str) -> str:
    """Who makes a write that came from inside the cluster: the kubelet reports pod status, controllers the rest."""
    return "kubelet" if resource == "pods" and subresource == "status" else "kube-controller-manager"


def _same_object(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """A no-op write keeps the resourceVersion, as etcd3 storage does."""
    am = dict(a.get("metadata", {}))
    bm = dict(b.get("metadata", {}))
    am.pop("resourceVersion", None)
    bm.pop("resourceVersion", None)
    return am == bm and {k: v for k, v in a.items() if k != "metadata"} == {k: v for k, v in b.items() if k != "metadata"}
