"""The schemas of every kind the sandbox serves: the published Kubernetes 1.37 definitions and the CRDs' own.

kubernetes-validate ships the definitions of Kubernetes' published OpenAPI document, converted to JSON Schema.
The conversion is undone mechanically, which gives back the apiserver's definitions exactly (checked against the
published 1.36 ``swagger.json``): nullable types lose ``"null"``, the ``apiVersion``/``kind`` enums the converter
added go, ``$ref`` points at ``#/definitions`` again, and the two types it rewrote as ``oneOf`` (IntOrString and
Quantity) get back their published form (only their type descriptions are lost on the way).

The Route and PrometheusRule CRDs are the manifests OpenShift and the Prometheus operator publish (``crds/``);
like apiextensions-apiserver, their ``openAPIV3Schema`` becomes a definition named after the reversed group.
Everything is loaded on first use (about 30 ms), once per process.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
from pathlib import Path
from typing import Any, Iterable

import yaml

KUBERNETES_VERSION = "1.37.0"
_DEFINITIONS = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local/_definitions.json"
CRD_DIR = Path(__file__).with_name("crds")

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
GVK = "x-kubernetes-group-version-kind"

# The form the published document gives the two types the JSON Schema conversion turned into ``oneOf``.
_PUBLISHED_FORM = {
    INT_OR_STRING: {"format": "int-or-string", "type": "string"},
    QUANTITY: {"type": "string"},
}
_TYPE_META_DESCRIPTIONS = {
    "apiVersion": "APIVersion defines the versioned schema of this representation of an object. Servers should "
    "convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
    "kind": "Kind is a string value representing the REST resource this object represents. Servers may infer this "
    "from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
}


def _from_json_schema(node: Any) -> Any:
    """Undo the JSON Schema conversion of one published definition (recursively)."""
    if isinstance(node, list):
        return [_from_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            out[key] = types[0] if len(types) == 1 else types
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _from_json_schema(_without_type_meta_enum(name, prop)) for name, prop in value.items()}
        else:
            out[key] = _from_json_schema(value)
    return out


def _without_type_meta_enum(name: str, prop: Any) -> Any:
    if name in ("apiVersion", "kind") and isinstance(prop, dict) and "enum" in prop:
        return {k: v for k, v in prop.items() if k != "enum"}
    return prop


@functools.lru_cache(maxsize=1)
def published() -> dict[str, dict[str, Any]]:
    """The published definitions of Kubernetes 1.37, by name, as ``/openapi/v2`` carries them."""
    # Located without importing kubernetes_validate, whose import (jsonschema) costs more than reading the file.
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate, which ships the Kubernetes schemas, is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / _DEFINITIONS
    raw = json.loads(path.read_text(encoding="utf-8"))
    definitions = {name: _from_json_schema(schema) for name, schema in raw["$defs"].items()}
    for name, form in _PUBLISHED_FORM.items():
        definitions[name] = dict(form)
    return definitions


@functools.lru_cache(maxsize=1)
def crds() -> tuple[dict[str, Any], ...]:
    """The CustomResourceDefinitions the sandbox serves, as published (``crds/*.yaml``)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(yaml.load(path.read_text(encoding="utf-8"), Loader=loader) for path in sorted(CRD_DIR.glob("*.yaml")))


def crd_definition_name(group: str, version: str, kind: str) -> str:
    """apiextensions-apiserver's name for a CRD's definition: the group reversed (``io.openshift.route.v1.Route``)."""
    return ".".join(reversed(group.split("."))) + f".{version}.{kind}"


def _crd_definitions(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = crd["spec"]
    group, names = spec["group"], spec["names"]
    out = {}
    for version in spec["versions"]:
        if not version.get("served"):
            continue
        schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
        properties = schema.setdefault("properties", {})
        for key, description in _TYPE_META_DESCRIPTIONS.items():
            properties[key] = {"description": description, "type": "string"}
        properties["metadata"] = {"$ref": f"#/definitions/{OBJECT_META}",
                                  "description": "Standard object's metadata. More info: https://git.k8s.io/community/"
                                                 "contributors/devel/sig-architecture/api-conventions.md#metadata"}
        schema[GVK] = [{"group": group, "kind": names["kind"], "version": version["name"]}]
        name = crd_definition_name(group, version["name"], names["kind"])
        out[name] = schema
        list_kind = names.get("listKind") or names["kind"] + "List"
        out[crd_definition_name(group, version["name"], list_kind)] = {
            "description": f"{list_kind} is a list of {names['kind']}",
            "properties": {
                "apiVersion": {"description": _TYPE_META_DESCRIPTIONS["apiVersion"], "type": "string"},
                "items": {"description": f"List of {names['plural']}. More info: https://git.k8s.io/community/"
                                         "contributors/devel/api-conventions.md",
                          "items": {"$ref": f"#/definitions/{name}"}, "type": "array"},
                "kind": {"description": _TYPE_META_DESCRIPTIONS["kind"], "type": "string"},
                "metadata": {"$ref": f"#/definitions/{LIST_META}",
                             "description": "Standard list metadata. More info: https://git.k8s.io/community/"
                                            "contributors/devel/sig-architecture/api-conventions.md#types-kinds"},
            },
            "required": ["items"],
            "type": "object",
            GVK: [{"group": group, "kind": list_kind, "version": version["name"]}],
        }
    return out


@functools.lru_cache(maxsize=1)
def definitions() -> dict[str, dict[str, Any]]:
    """Every definition: the published ones and those of the served CRDs."""
    out = dict(published())
    for crd in crds():
        out.update(_crd_definitions(crd))
    return out


@functools.lru_cache(maxsize=1)
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get(GVK) or []:
            index.setdefault((gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")), name)
    return index


def definition_name(group: str, version: str, kind: str) -> str | None:
    """The definition of a kind (``x-kubernetes-group-version-kind``), or None."""
    return _gvk_index().get((group, version, kind))


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def resolve(schema: dict[str, Any] | None) -> dict[str, Any]:
    """A schema with its ``$ref`` followed (the referenced definition, or the schema itself)."""
    if not schema:
        return {}
    name = ref_name(schema)
    if name is None:
        return schema
    return definitions().get(name, {})


def closure(names: Iterable[str]) -> list[str]:
    """The named definitions and every definition they reference, sorted."""
    defs = definitions()
    seen: set[str] = set()
    todo = [n for n in names if n in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(n for n in _refs(defs[name]) if n not in seen and n in defs)
    return sorted(seen)


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)
