"""Create, replace and patch requests, server-side apply included, from body to stored object.

The order is the apiserver's: decode the body by its media type, check the kind and names against the URL,
decode into the schema (unknown fields per ``fieldValidation``), patch or apply onto the live object, then let
the store default, validate and record the field managers. Every failure is a Status error and stores nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from . import decoding, errors, media, patch as patching, wire
from .managed import FieldManager, manager_from
from .clock import rfc3339
from .resources import ResourceType
from .store import Store, drop_nulls
from .typed import Node


@dataclass
class WriteRequest:
    """What the HTTP layer parsed out of a write request."""

    rt: ResourceType
    namespace: str
    name: str
    subresource: str
    params: dict[str, str]
    body: bytes
    content_type: str
    user_agent: str
    dry_run: bool


@dataclass
class WriteResult:
    status: int
    obj: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _protobuf_ok(rt: ResourceType) -> bool:
    return not rt.custom and wire.type_name(rt.api_version, rt.kind) is not None


def _check_kind(obj: Any, rt: ResourceType) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise errors.bad_request("the body of the request was in an unknown format")
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if (kind and kind != rt.kind) or (api_version and api_version != rt.api_version):
        raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected API "
                                 f"version ({rt.api_version})")
    obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
    return obj


def _check_names(obj: dict[str, Any], req: WriteRequest) -> None:
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if req.name:
        if meta.get("name") and meta["name"] != req.name:
            raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                     f"({req.name})")
        meta["name"] = req.name
    if req.rt.namespaced and req.namespace:
        if meta.get("namespace") and meta["namespace"] != req.namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = req.namespace


def create(store: Store, req: WriteRequest) -> WriteResult:
    """POST: a new object."""
    # The options (query parameters) are read before the body, as the apiserver reads them.
    directive = decoding.field_validation(req.params, "CreateOptions")
    body = media.decode_object_body(req.body, req.content_type, protobuf=_protobuf_ok(req.rt))
    obj = _check_kind(body.value, req.rt)
    _check_names(obj, req)
    decoded = decoding.decode(req.rt, obj, directive, body.duplicates)
    manager = manager_from(req.params, req.user_agent)
    created = store.create(req.rt.plural, decoded.obj, namespace=req.namespace, dry_run=req.dry_run, manager=manager)
    return WriteResult(201, created, decoded.unknown)


def replace(store: Store, req: WriteRequest) -> WriteResult:
    """PUT: the whole object (or its status)."""
    directive = decoding.field_validation(req.params, "UpdateOptions")
    body = media.decode_object_body(req.body, req.content_type, protobuf=_protobuf_ok(req.rt))
    obj = _check_kind(body.value, req.rt)
    _check_names(obj, req)
    decoded = decoding.decode(req.rt, obj, directive, body.duplicates)
    manager = manager_from(req.params, req.user_agent)
    updated = store.update(req.rt.plural, decoded.obj, subresource=req.subresource, dry_run=req.dry_run,
                           manager=manager)
    return WriteResult(200, updated, decoded.unknown)


def patch(store: Store, req: WriteRequest) -> WriteResult:
    """PATCH: JSON patch, merge patch, strategic merge patch, or server-side apply."""
    directive = decoding.field_validation(req.params, "PatchOptions")
    body = media.decode_patch_body(req.body, req.content_type)
    if body.media_type == media.APPLY_PATCH:
        return _apply(store, req, body.value, directive)
    if "force" in req.params:
        raise errors.invalid("PatchOptions", "meta.k8s.io", "", [errors.FieldError.forbidden(
            "force", "may not be specified for non-apply patch")])
    if req.rt.custom and body.media_type == media.STRATEGIC_MERGE_PATCH:
        raise errors.unsupported_media_type(body.media_type, custom=True)
    manager = manager_from(req.params, req.user_agent)
    with store.lock:
        current = store.get(req.rt.plural, req.namespace, req.name)
        if current is None:
            raise errors.not_found(req.rt.plural, req.rt.group, req.name)
        patched = drop_nulls(patching.apply_patch(current, body.value, body.media_type, req.rt.kind))
        meta = patched.setdefault("metadata", {})
        if meta.get("name") != req.name:
            raise errors.bad_request(f'the name of the object ({meta.get("name")}) does not match the name on the URL ({req.name})')
        if req.rt.namespaced:
            meta["namespace"] = req.namespace
        if patched.get("kind") != req.rt.kind or patched.get("apiVersion") != req.rt.api_version:
            raise errors.bad_request("the body of the request was in an unknown format")
        decoded = decoding.decode(req.rt, patched, directive, body.duplicates)
        updated = store.update(req.rt.plural, decoded.obj, subresource=req.subresource, dry_run=req.dry_run,
                               manager=manager)
    return WriteResult(200, updated, decoded.unknown)


def _apply(store: Store, req: WriteRequest, applied: Any, directive: str) -> WriteResult:
    rt = req.rt
    if not req.params.get("fieldManager"):
        raise errors.invalid("PatchOptions", "meta.k8s.io", "", [errors.FieldError.required(
            "fieldManager", "is required for apply patch")])
    manager = manager_from(req.params, req.user_agent)
    force = req.params.get("force", "false").lower()
    if force not in ("true", "false", "1", "0"):
        raise errors.bad_request(f'strconv.ParseBool: parsing "{req.params["force"]}": invalid syntax')
    if not isinstance(applied, dict):
        raise errors.bad_request("error decoding YAML: the applied configuration must be an object")
    for key in ("apiVersion", "kind"):
        if not applied.get(key):
            raise errors.bad_request(f"{key} must be set in the applied configuration")
    applied = _check_kind(copy.deepcopy(applied), rt)
    _check_names(applied, req)
    if (applied.get("metadata") or {}).get("managedFields"):
        raise errors.bad_request("metadata.managedFields must be nil in an applied configuration")
    decoded = decoding.decode(rt, applied, directive)
    definition = decoding.definition_of(rt)
    node = Node.named(definition) if definition else Node({})
    with store.lock:
        live = store.get(rt.plural, req.namespace, req.name)
        sent_rv = (applied.get("metadata") or {}).get("resourceVersion")
        if sent_rv and (live is None or sent_rv != live["metadata"]["resourceVersion"]):
            raise errors.conflict(rt.plural, rt.group, req.name)
        manager_state = FieldManager(rt, node, rfc3339(store.clock.now()), req.subresource)
        merged = manager_state.apply(live, drop_nulls(decoded.obj), manager, force in ("true", "1"))
        merged = drop_nulls(merged)
        if live is None:
            if req.subresource:
                raise errors.not_found(rt.plural, rt.group, req.name)
            created = store.create(rt.plural, merged, namespace=req.namespace, dry_run=req.dry_run, tracked=False)
            return WriteResult(201, created, decoded.unknown)
        merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        updated = store.update(rt.plural, merged, subresource=req.subresource, dry_run=req.dry_run, tracked=False)
    return WriteResult(200, updated, decoded.unknown)
