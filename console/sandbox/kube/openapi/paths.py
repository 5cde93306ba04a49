"""The ``paths`` of the OpenAPI documents: the apiserver's REST endpoints for each served resource.

Each shape of resource (namespaced, cluster-scoped, create-only) has the path items the apiserver publishes for
one of its kind (``templates.json``, see ``extract.py``); they are filled in with the resource's names and kept to
its verbs and subresources. Custom resources take no strategic merge patch and no protobuf, as
apiextensions-apiserver publishes them.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from .. import schemas
from ..resources import ResourceType

_TEMPLATES = Path(__file__).with_name("templates.json")
_ACTION_VERBS = {"get": "get", "list": "list", "watch": "watch", "watchlist": "watch", "post": "create",
                 "put": "update", "patch": "patch", "delete": "delete", "deletecollection": "deletecollection"}
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch")
_NOT_FOR_CUSTOM = {"application/strategic-merge-patch+json", "application/vnd.kubernetes.protobuf",
                   "application/vnd.kubernetes.protobuf;stream=watch"}


@functools.lru_cache(maxsize=1)
def _templates() -> dict[str, Any]:
    return json.loads(_TEMPLATES.read_text(encoding="utf-8"))


def camel(group: str, version: str) -> str:
    """``AppsV1``, ``CoreV1``, ``RbacAuthorizationV1``, ``RouteOpenshiftIoV1`` (the apiserver's operation ids)."""
    name = group.removesuffix(".k8s.io") if group else "core"
    return "".join(part[:1].upper() + part[1:] for part in name.split(".")) + version[:1].upper() + version[1:]


def tag(group: str, version: str) -> str:
    """``apps_v1``, ``core_v1``, ``rbacAuthorization_v1`` (the apiserver's operation tags)."""
    text = camel(group, version)
    base = text[: len(text) - len(version)]
    return base[:1].lower() + base[1:] + "_" + version


def _fill(template: Any, rt: ResourceType) -> Any:
    definition = schemas.definition_name(rt.group, rt.version, rt.kind) or ""
    list_definition = schemas.definition_name(rt.group, rt.version, rt.list_kind) or ""
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    text = json.dumps(template)
    for placeholder, value in (("{prefix}", prefix), ("{camel}", camel(rt.group, rt.version)),
                               ("{tag}", tag(rt.group, rt.version)), ("{plural}", rt.plural), ("{kind}", rt.kind),
                               ("{group}", rt.group), ("{list_definition}", list_definition),
                               ("{definition}", definition)):
        text = text.replace(placeholder, value)
    return json.loads(text)


def _keep(path: str, item: dict[str, Any], rt: ResourceType) -> dict[str, Any] | None:
    """The path item without the operations the resource does not serve; None if none is left."""
    subresource = path.rsplit("/", 1)[-1] if path.endswith(("/status", "/scale")) else ""
    if subresource and subresource not in rt.subresources:
        return None
    out = {}
    for key, operation in item.items():
        if key not in _OPERATIONS:
            out[key] = operation
            continue
        verb = _ACTION_VERBS.get(operation.get("x-kubernetes-action", ""), "")
        if not subresource and verb not in rt.verbs:
            continue
        if rt.custom:
            operation = _for_custom(operation)
        out[key] = operation
    return out if any(k in _OPERATIONS for k in out) else None


def _for_custom(operation: dict[str, Any]) -> dict[str, Any]:
    operation = copy.deepcopy(operation)
    for key in ("consumes", "produces"):
        if key in operation:
            operation[key] = [m for m in operation[key] if m not in _NOT_FOR_CUSTOM]
    return operation


def path_items(rt: ResourceType) -> dict[str, Any]:
    """Every path item of one resource, in v2 form."""
    templates = _templates()
    if rt.verbs == ("create",):
        shape = "create_only"
        source = {f"/apis/{rt.group}/{rt.version}/{rt.plural}": next(iter(templates[shape].values()))}
        return _fill(source, rt) if rt.plural == "selfsubjectaccessreviews" else {}
    source = copy.deepcopy(templates["namespaced" if rt.namespaced else "cluster"])
    if rt.plural == "pods":
        source.update(templates["log"])
    if rt.plural == "namespaces":
        source.update(templates["finalize"])
        status = json.loads(json.dumps(templates["namespaced"]["{prefix}/namespaces/{namespace}/{plural}/{name}/status"])
                            .replace("Namespaced{kind}", "{kind}"))
        status["parameters"] = [p for p in status["parameters"] if p.get("name") != "namespace"]
        source["{prefix}/{plural}/{name}/status"] = status
    out = {}
    for path, item in _fill(source, rt).items():
        kept = _keep(path, item, rt)
        if kept is not None:
            out[path] = kept
    return out


def to_v3_path_item(item: dict[str, Any]) -> dict[str, Any]:
    """A v2 path item in OpenAPI 3 form (parameters with schemas, bodies and responses by media type)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key == "parameters":
            out[key] = [_v3_parameter(p) for p in value]
        elif key in _OPERATIONS:
            out[key] = _v3_operation(value)
        else:
            out[key] = value
    return out


def _v3_parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in parameter.items() if k not in ("type", "uniqueItems", "format")}
    schema = {k: parameter[k] for k in ("type", "uniqueItems", "format") if k in parameter}
    if schema:
        out["schema"] = schema
    return out


def _v3_ref(schema: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(schema).replace("#/definitions/", "#/components/schemas/")
    return json.loads(text)


def _v3_operation(operation: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    consumes = operation.get("consumes") or ["application/json"]
    produces = operation.get("produces") or ["application/json"]
    parameters = []
    for parameter in operation.get("parameters") or []:
        if parameter.get("in") == "body":
            out["requestBody"] = {"content": {m: {"schema": _v3_ref(parameter["schema"])} for m in consumes},
                                  **({"required": True} if parameter.get("required") else {})}
        else:
            parameters.append(_v3_parameter(parameter))
    for key in ("description", "operationId"):
        if key in operation:
            out[key] = operation[key]
    if parameters:
        out["parameters"] = parameters
    responses = {}
    for code, response in (operation.get("responses") or {}).items():
        entry: dict[str, Any] = {"description": response.get("description", "")}
        if "schema" in response:
            entry["content"] = {m: {"schema": _v3_ref(response["schema"])} for m in produces}
        responses[code] = entry
    out["responses"] = responses
    for key, value in operation.items():
        if key == "tags" or key.startswith("x-"):
            out[key] = value
    return dict(sorted(out.items()))
