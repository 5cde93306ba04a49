"""The OpenAPI documents a cluster serves: ``/openapi/v2``, and ``/openapi/v3`` with one document per group-version.

Definitions are the published Kubernetes 1.37 schemas and the CRDs' (``schemas.py``), limited to what the served
kinds reference; paths are the apiserver's for each served resource (``paths.py``). A v3 document is the same
content in OpenAPI 3 form, as kube-openapi builds it; its URL carries the SHA-512 of its bytes (``?hash=``), which
is what kubectl's disk cache keys on. Built on first request, once per process.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from .. import schemas
from ..resources import RESOURCE_TYPES, ResourceType
from . import paths

INFO = {"title": "Kubernetes", "version": f"v{schemas.KUBERNETES_VERSION}"}
_SECURITY_SCHEME = {"description": "Bearer Token authentication", "in": "header", "name": "authorization",
                    "type": "apiKey"}
# Definitions every document carries (responses, bodies and discovery documents).
_COMMON = [f"io.k8s.apimachinery.pkg.apis.meta.v1.{k}" for k in (
    "APIResourceList", "DeleteOptions", "Patch", "Status", "WatchEvent")]


def group_version_path(rt: ResourceType) -> str:
    """The name of a type's v3 document: ``api/v1``, ``apis/apps/v1``."""
    return f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"


def _served() -> list[ResourceType]:
    return list(RESOURCE_TYPES.values())


def _definitions_for(path_items: dict[str, Any]) -> dict[str, Any]:
    referenced = set(_COMMON)
    for name in schemas._refs(path_items):
        referenced.add(name)
    defs = schemas.definitions()
    return {name: defs[name] for name in schemas.closure(referenced)}


@functools.lru_cache(maxsize=1)
def v2_document() -> bytes:
    """``/openapi/v2`` as JSON."""
    all_paths: dict[str, Any] = {}
    for rt in _served():
        all_paths.update(paths.path_items(rt))
    document = {
        "definitions": _definitions_for(all_paths),
        "info": INFO,
        "paths": dict(sorted(all_paths.items())),
        "security": [{"BearerToken": []}],
        "securityDefinitions": {"BearerToken": _SECURITY_SCHEME},
        "swagger": "2.0",
    }
    return json.dumps(document, separators=(",", ":")).encode()


@functools.lru_cache(maxsize=1)
def v2_protobuf() -> bytes:
    """``/openapi/v2`` as gnostic's protobuf message."""
    from . import v2proto

    return v2proto.document(json.loads(v2_document()))


def etag(data: bytes) -> str:
    """kube-openapi's ETag: the upper-case hex SHA-512 of the document."""
    return hashlib.sha512(data).hexdigest().upper()


@functools.lru_cache(maxsize=1)
def v3_documents() -> dict[str, bytes]:
    """Every v3 document by its discovery name (``apis/apps/v1``), as JSON."""
    by_gv: dict[str, dict[str, Any]] = {}
    for rt in _served():
        by_gv.setdefault(group_version_path(rt), {}).update(paths.path_items(rt))
    out = {}
    for name, items in sorted(by_gv.items()):
        v3_paths = {path: paths.to_v3_path_item(item) for path, item in sorted(items.items())}
        document = {
            "components": {
                "schemas": {n: _to_v3_schema(s) for n, s in _definitions_for(items).items()},
                "securitySchemes": {"BearerToken": _SECURITY_SCHEME},
            },
            "info": INFO,
            "openapi": "3.0.0",
            "paths": v3_paths,
        }
        out[name] = json.dumps(document, separators=(",", ":")).encode()
    return out


@functools.lru_cache(maxsize=1)
def v3_discovery() -> bytes:
    """``/openapi/v3``: each document's server-relative URL with its hash."""
    entries = {name: {"serverRelativeURL": f"/openapi/v3/{name}?hash={etag(body)}"}
               for name, body in v3_documents().items()}
    return json.dumps({"paths": entries}, separators=(",", ":")).encode()


def _to_v3_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_v3_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: (v.replace("#/definitions/", "#/components/schemas/") if k == "$ref" and isinstance(v, str)
                else _to_v3_schema(v)) for k, v in node.items()}
