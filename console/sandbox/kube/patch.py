"""The three patch formats kube-apiserver accepts: JSON patch (RFC 6902), JSON merge patch (RFC 7386), and
strategic merge patch with the list merge keys of the Kubernetes types the sandbox serves.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from . import errors

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


# --- RFC 6902 ------------------------------------------------------------------------------------------------


class _PatchFailed(Exception):
    pass


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _PatchFailed(f"invalid path {path}")
    return [_unescape(t) for t in path[1:].split("/")]


def _container(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens:
        if isinstance(node, dict):
            if token not in node:
                raise _PatchFailed("missing value")
            node = node[token]
        elif isinstance(node, list):
            try:
                index = int(token)
            except ValueError as err:
                raise _PatchFailed("invalid index") from err
            if not 0 <= index < len(node):
                raise _PatchFailed("index out of range")
            node = node[index]
        else:
            raise _PatchFailed("missing value")
    return node


def _get(doc: Any, path: str) -> Any:
    return _container(doc, _pointer(path))


def _add(doc: Any, path: str, value: Any, *, replace: bool = False) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _container(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise _PatchFailed("replace operation does not apply: doc is missing key")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
        else:
            try:
                index = int(last)
            except ValueError as err:
                raise _PatchFailed("invalid index") from err
            if replace:
                if not 0 <= index < len(parent):
                    raise _PatchFailed("index out of range")
                parent[index] = value
            else:
                if not 0 <= index <= len(parent):
                    raise _PatchFailed("index out of range")
                parent.insert(index, value)
    else:
        raise _PatchFailed("missing value")
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise _PatchFailed("cannot remove the root")
    parent = _container(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _PatchFailed("remove operation does not apply: doc is missing path")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        try:
            index = int(last)
        except ValueError as err:
            raise _PatchFailed("invalid index") from err
        if not 0 <= index < len(parent):
            raise _PatchFailed("index out of range")
        return doc, parent.pop(index)
    raise _PatchFailed("missing value")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def apply_json_patch(doc: dict[str, Any], patch: Any) -> dict[str, Any]:
    if not isinstance(patch, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    try:
        for op in patch:
            if not isinstance(op, dict) or "op" not in op:
                raise errors.bad_request("Unexpected kind: unknown")
            kind, path = op["op"], op.get("path", "")
            if kind == "add":
                doc = _add(doc, path, copy.deepcopy(op.get("value")))
            elif kind == "replace":
                _get(doc, path)
                doc = _add(doc, path, copy.deepcopy(op.get("value")), replace=True)
            elif kind == "remove":
                doc, _ = _remove(doc, path)
            elif kind == "move":
                doc, value = _remove(doc, op.get("from", ""))
                doc = _add(doc, path, value)
            elif kind == "copy":
                doc = _add(doc, path, copy.deepcopy(_get(doc, op.get("from", ""))))
            elif kind == "test":
                if not _equal(_get(doc, path), op.get("value")):
                    raise _PatchFailed(f"testing value {path} failed: test failed")
            else:
                raise errors.bad_request(f"Unexpected kind: {kind}")
    except _PatchFailed as err:
        raise errors.json_patch_failed() from err
    if not isinstance(doc, dict):
        raise errors.json_patch_failed()
    return doc


# --- RFC 7386 ------------------------------------------------------------------------------------------------


def apply_merge_patch(doc: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


# --- strategic merge patch -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _List:
    merge_key: str | None  # None: a list of primitives merged as a set (patchStrategy=merge)
    item_type: str | None = None


_SCHEMA: dict[str, dict[str, Any]] = {
    "Deployment": {"metadata": "ObjectMeta", "spec": "DeploymentSpec", "status": "DeploymentStatus"},
    "ReplicaSet": {"metadata": "ObjectMeta", "spec": "ReplicaSetSpec", "status": "ReplicaSetStatus"},
    "Pod": {"metadata": "ObjectMeta", "spec": "PodSpec", "status": "PodStatus"},
    "Namespace": {"metadata": "ObjectMeta", "status": "NamespaceStatus"},
    "Event": {"metadata": "ObjectMeta"},
    "Scale": {"metadata": "ObjectMeta"},
    "HorizontalPodAutoscaler": {"metadata": "ObjectMeta"},
    "DeploymentSpec": {"template": "PodTemplateSpec", "selector": "LabelSelector"},
    "ReplicaSetSpec": {"template": "PodTemplateSpec", "selector": "LabelSelector"},
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "LabelSelector": {},
    "ObjectMeta": {"ownerReferences": _List("uid"), "finalizers": _List(None)},
    "PodSpec": {
        "containers": _List("name", "Container"),
        "initContainers": _List("name", "Container"),
        "ephemeralContainers": _List("name", "Container"),
        "volumes": _List("name", "Volume"),
        "imagePullSecrets": _List("name"),
        "hostAliases": _List("ip"),
        "topologySpreadConstraints": _List("topologyKey"),
        "resourceClaims": _List("name"),
        "schedulingGates": _List("name"),
    },
    "Container": {
        "env": _List("name"),
        "ports": _List("containerPort"),
        "volumeMounts": _List("mountPath"),
        "volumeDevices": _List("devicePath"),
    },
    "Volume": {},
    "DeploymentStatus": {"conditions": _List("type")},
    "ReplicaSetStatus": {"conditions": _List("type")},
    "NamespaceStatus": {"conditions": _List("type")},
    "PodStatus": {"conditions": _List("type"), "podIPs": _List("ip"), "hostIPs": _List("ip")},
}

_DELETE = object()


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not k.startswith("$") and v is not None
        }
    if isinstance(value, list):
        return [_strip_directives(v) for v in value if not (isinstance(v, dict) and v.get("$patch"))]
    return value


def _internal_error(message: str) -> errors.ApiError:
    return errors.ApiError(500, "InternalError", f"Internal error occurred: {message}", details={"causes": [{"message": message}]})


def _merge_map(original: dict[str, Any], patch: dict[str, Any], type_name: str | None) -> Any:
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return _DELETE
    if directive not in (None, "merge"):
        raise errors.bad_request(f"Unknown patch type: {directive} in map: {patch}")
    fields = _SCHEMA.get(type_name or "", {})
    result = copy.deepcopy(original)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            target = key.split("/", 1)[1]
            if not isinstance(value, list):
                raise errors.bad_request("invalid patch: $deleteFromPrimitiveList must be a list")
            if isinstance(result.get(target), list):
                result[target] = [v for v in result[target] if v not in value]
        elif key.startswith("$setElementOrder/"):
            if not isinstance(value, list):
                raise errors.bad_request("invalid patch: $setElementOrder list must be a list")
            orders[key.split("/", 1)[1]] = value
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        spec = fields.get(key)
        current = result.get(key)
        if isinstance(value, dict):
            child_type = spec if isinstance(spec, str) else None
            merged = _merge_map(current if isinstance(current, dict) else {}, value, child_type)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            if isinstance(spec, _List):
                result[key] = _merge_list(current if isinstance(current, list) else [], value, spec, orders.get(key))
            else:
                result[key] = _strip_directives(value)
        else:
            result[key] = value
    for key, order in orders.items():
        if key not in patch and isinstance(result.get(key), list) and isinstance(fields.get(key), _List):
            result[key] = _reorder(result[key], order, fields[key].merge_key)
    retain = patch.get("$retainKeys")
    if retain is not None:
        if not isinstance(retain, list):
            raise errors.bad_request("invalid patch: $retainKeys must be a list")
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: list[Any], patch: list[Any], spec: _List, order: list[Any] | None) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return _strip_directives([i for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")])
    result = copy.deepcopy(original)
    if spec.merge_key is None:
        for item in patch:
            if item not in result:
                result.append(item)
        return _reorder(result, order, None) if order else result
    key = spec.merge_key
    for item in patch:
        if not isinstance(item, dict):
            raise errors.bad_request("unable to find api field in struct for the primitive value in a merge list")
        if key not in item:
            raise _internal_error(f"map: {_go_map(item)} does not contain declared merge key: {key}")
        index = next((i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            result = [o for o in result if not (isinstance(o, dict) and o.get(key) == item[key])]
            continue
        if index is None:
            result.append(_strip_directives(item))
        else:
            merged = _merge_map(result[index], item, spec.item_type)
            if merged is _DELETE:
                del result[index]
            else:
                result[index] = merged
    return _reorder(result, order, key) if order else result


def _reorder(items: list[Any], order: list[Any] | None, key: str | None) -> list[Any]:
    if not order:
        return items
    keyed = [(item.get(key) if key and isinstance(item, dict) else item) for item in order]
    ident = lambda item: item.get(key) if key and isinstance(item, dict) else item  # noqa: E731
    in_order = sorted((i for i in items if ident(i) in keyed), key=lambda i: keyed.index(ident(i)))
    result = list(in_order)
    for position, item in enumerate(items):
        if ident(item) not in keyed:
            result.insert(min(position, len(result)), item)
    return result


def _go_map(item: dict[str, Any]) -> str:
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(item.items())) + "]"


def apply_strategic_merge_patch(doc: dict[str, Any], patch: Any, kind: str) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    merged = _merge_map(doc, patch, kind)
    if merged is _DELETE:
        raise errors.bad_request("Unsupported strategic merge patch format")
    return merged


def apply_patch(doc: dict[str, Any], patch: Any, content_type: str, kind: str) -> dict[str, Any]:
    """Apply a patch body of ``content_type`` (the request's Content-Type without parameters)."""
    if content_type == JSON_PATCH:
        return apply_json_patch(doc, patch)
    if content_type == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        return apply_merge_patch(doc, patch)
    if content_type == STRATEGIC_MERGE_PATCH:
        return apply_strategic_merge_patch(doc, patch, kind)
    raise errors.unsupported_media_type(content_type)
