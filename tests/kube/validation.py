"""Every response body the sandbox API server sends in a test is checked here: strict schema validation with
kubernetes-validate (the Kubernetes 1.37 OpenAPI schemas) and deserialisation by the official client's models.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
import kubernetes
import kubernetes_validate
import referencing
from kubernetes_validate.utils import schema_contents

KUBERNETES_VERSION = "1.37.0"
_SCHEMA_DIR = "kubernetes-json-schema/v1.37.0-local-strict"

# Kinds whose schemas live under meta.k8s.io but that the apiserver writes with apiVersion v1.
_META_KINDS = {
    "Status": ("status-meta-v1.json", "V1Status"),
    "APIResourceList": ("apiresourcelist-meta-v1.json", "V1APIResourceList"),
    "APIGroupList": ("apigrouplist-meta-v1.json", "V1APIGroupList"),
    "APIGroup": ("apigroup-meta-v1.json", "V1APIGroup"),
    "APIVersions": ("apiversions-meta-v1.json", "V1APIVersions"),
}

_MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "NamespaceList"): "V1NamespaceList",
    ("v1", "Pod"): "V1Pod",
    ("v1", "PodList"): "V1PodList",
    ("v1", "Event"): "CoreV1Event",
    ("v1", "EventList"): "CoreV1EventList",
    ("v1", "Service"): "V1Service",
    ("v1", "ServiceList"): "V1ServiceList",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "DeploymentList"): "V1DeploymentList",
    ("apps/v1", "ReplicaSet"): "V1ReplicaSet",
    ("apps/v1", "ReplicaSetList"): "V1ReplicaSetList",
    ("autoscaling/v1", "Scale"): "V1Scale",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "V1HorizontalPodAutoscaler",
    ("autoscaling/v1", "HorizontalPodAutoscalerList"): "V1HorizontalPodAutoscalerList",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "V1SelfSubjectAccessReview",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "ConfigMapList"): "V1ConfigMapList",
    ("v1", "Secret"): "V1Secret",
    ("v1", "SecretList"): "V1SecretList",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "ServiceAccountList"): "V1ServiceAccountList",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("policy/v1", "PodDisruptionBudgetList"): "V1PodDisruptionBudgetList",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
    ("networking.k8s.io/v1", "NetworkPolicyList"): "V1NetworkPolicyList",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleList"): "V1RoleList",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("rbac.authorization.k8s.io/v1", "RoleBindingList"): "V1RoleBindingList",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleList"): "V1ClusterRoleList",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBindingList"): "V1ClusterRoleBindingList",
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): "V1CustomResourceDefinition",
    ("apiextensions.k8s.io/v1", "CustomResourceDefinitionList"): "V1CustomResourceDefinitionList",
    ("events.k8s.io/v1", "Event"): "EventsV1Event",
    ("events.k8s.io/v1", "EventList"): "EventsV1EventList",
}


class InvalidResponse(AssertionError):
    """A response body that a real apiserver could not have sent."""


@functools.lru_cache(maxsize=1)
def _api_client() -> kubernetes.client.ApiClient:
    return kubernetes.client.ApiClient()


def deserialize(body: Any, model: str) -> Any:
    """Deserialise with the official client (its models check required fields)."""
    try:
        return _api_client().deserialize(json.dumps(body), model, "application/json")
    except (ValueError, TypeError) as err:
        raise InvalidResponse(f"the kubernetes client cannot deserialise {model}: {err}") from err


@functools.lru_cache(maxsize=None)
def _meta_validator(filename: str) -> jsonschema.protocols.Validator:
    schema = schema_contents(f"{_SCHEMA_DIR}/{filename}", KUBERNETES_VERSION)
    definitions = schema_contents(f"{_SCHEMA_DIR}/_definitions.json", KUBERNETES_VERSION)
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(definitions) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate_object(body: Any) -> None:
    """Validate one API object (a resource, a list, a Status, a discovery document) strictly."""
    if not isinstance(body, dict):
        raise InvalidResponse(f"not a JSON object: {body!r:.200}")
    kind, api_version = body.get("kind"), body.get("apiVersion")
    # The legacy /api document has no apiVersion on a real apiserver either.
    if kind in _META_KINDS and (api_version == "v1" or (kind == "APIVersions" and api_version is None)):
        filename, model = _META_KINDS[kind]
        try:
            _meta_validator(filename).validate(body)
        except jsonschema.ValidationError as err:
            raise InvalidResponse(f"{kind} fails the strict schema: {err.message} at {list(err.absolute_path)}") from err
        deserialize(body, model)
        return
    if (api_version, kind) in _custom_validators():
        _validate_custom(body, api_version, kind)
        return
    model = _MODELS.get((api_version, kind))
    if model is None:
        raise InvalidResponse(f"unexpected kind {api_version}/{kind}")
    try:
        kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        raise InvalidResponse(f"{kind} fails the strict schema: {err.message} at {list(err.absolute_path)}") from err
    deserialize(body, model)


def _strict(schema: Any) -> Any:
    """A CRD schema as a strict JSON Schema: no property its schema does not declare."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    # The published Route CRD carries an ``anyOf: null``, which apiextensions reads as absent.
    out = {k: _strict(v) for k, v in schema.items() if k != "x-kubernetes-validations" and v is not None}
    if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if schema.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.lru_cache(maxsize=1)
def _custom_validators() -> dict[tuple[str, str], Any]:
    """The served CRDs' schemas, from the published manifests the sandbox vendors (not from its own code paths)."""
    import pathlib

    import yaml

    out = {}
    crd_dir = pathlib.Path(__file__).resolve().parents[2] / "console" / "sandbox" / "kube" / "crds"
    for path in sorted(crd_dir.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, names = crd["spec"]["group"], crd["spec"]["names"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            item = jsonschema.validators.Draft7Validator(schema)
            out[(f"{group}/{version['name']}", names["kind"])] = item
            out[(f"{group}/{version['name']}", names.get("listKind", names["kind"] + "List"))] = ("list", item)
    return out


def _validate_custom(body: dict[str, Any], api_version: str, kind: str) -> None:
    validator = _custom_validators()[(api_version, kind)]
    items = [body]
    if isinstance(validator, tuple):
        _, validator = validator
        if set(body) - {"kind", "apiVersion", "metadata", "items"} or not isinstance(body.get("items"), list):
            raise InvalidResponse(f"malformed {kind}")
        deserialize(body.get("metadata") or {}, "V1ListMeta")
        items = [{"apiVersion": api_version, "kind": kind[:-4], **i} for i in body["items"]]
    for item in items:
        try:
            validator.validate(item)
        except jsonschema.ValidationError as err:
            raise InvalidResponse(f"{kind} fails its CRD schema: {err.message} at {list(err.absolute_path)}") from err
        deserialize(item.get("metadata") or {}, "V1ObjectMeta")


def validate_table(body: dict[str, Any]) -> None:
    """kubernetes-validate has no schema for meta.k8s.io Table; check the shape kubectl's printer relies on."""
    if body.get("apiVersion") != "meta.k8s.io/v1" or not isinstance(body.get("columnDefinitions"), list):
        raise InvalidResponse("malformed Table")
    width = len(body["columnDefinitions"])
    for column in body["columnDefinitions"]:
        if set(column) - {"name", "type", "format", "description", "priority"} or column["type"] not in ("string", "integer", "number", "boolean", "date"):
            raise InvalidResponse(f"malformed column {column}")
    for row in body.get("rows") or []:
        if len(row.get("cells", [])) != width:
            raise InvalidResponse("a Table row has the wrong number of cells")
        obj = row.get("object")
        if obj is not None and obj.get("kind") == "PartialObjectMetadata":
            deserialize(obj["metadata"], "V1ObjectMeta")
        elif obj is not None:
            validate_object(obj)


def validate_watch_stream(body: bytes) -> None:
    for line in body.splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        if set(event) != {"type", "object"} or event["type"] not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"):
            raise InvalidResponse(f"malformed watch event {event!r:.200}")
        if event["type"] == "BOOKMARK":
            # A bookmark carries an otherwise empty object of the watched kind; only its metadata means anything.
            if set(event["object"]) != {"kind", "apiVersion", "metadata"}:
                raise InvalidResponse(f"bookmark with content {event!r:.200}")
            deserialize(event["object"]["metadata"], "V1ObjectMeta")
            continue
        if event["object"].get("kind") == "Table":
            validate_table(event["object"])
            continue
        validate_object(event["object"])


def strict_model(body: Any, model: str, path: str = "") -> None:
    """Check a body against one of the official client's models, refusing keys the model does not have (for
    kinds kubernetes-validate ships no schema of, such as the aggregated discovery documents)."""
    import re

    if model.lower().startswith("list["):
        if not isinstance(body, list):
            raise InvalidResponse(f"{path}: expected a list")
        for i, item in enumerate(body):
            strict_model(item, model[5:-1], f"{path}[{i}]")
        return
    if model.lower().startswith(("dict(", "dict[")):
        value_type = re.match(r"dict[(\[]str, (.*)[)\]]", model, re.I).group(1)
        if not isinstance(body, dict):
            raise InvalidResponse(f"{path}: expected an object")
        for k, v in body.items():
            strict_model(v, value_type, f"{path}.{k}")
        return
    scalars = {"str": str, "int": int, "bool": bool, "float": (int, float), "datetime": str, "object": object}
    if model in scalars:
        if body is not None and not isinstance(body, scalars[model]):
            raise InvalidResponse(f"{path}: expected {model}, got {body!r:.60}")
        return
    cls = getattr(kubernetes.client.models, model)
    if not isinstance(body, dict):
        raise InvalidResponse(f"{path}: expected a {model} object")
    by_json = {v: k for k, v in cls.attribute_map.items()}
    for key, value in body.items():
        if key not in by_json:
            raise InvalidResponse(f"{path}: {model} has no field {key!r}")
        strict_model(value, cls.openapi_types[by_json[key]], f"{path}.{key}")
    deserialize(body, model) if not path else None


def _protobuf_object(body: bytes) -> dict[str, Any]:
    from console.sandbox.kube import wire

    try:
        return wire.decode_object(body)
    except ValueError as err:
        raise InvalidResponse(f"undecodable protobuf: {err}") from err


def _validate_v2_protobuf(body: bytes) -> None:
    """gnostic's openapi.v2.Document: the swagger version, and every definition a named, decodable schema."""
    from console.sandbox.kube.wire.primitives import fields

    try:
        document = fields(body)
        definitions = fields(document[9][0])[1]
        for named in definitions:
            entry = fields(named)
            entry[1][0].decode()
            fields(entry[2][0])
    except (KeyError, IndexError, ValueError) as err:
        raise InvalidResponse(f"malformed protobuf OpenAPI v2 document: {err}") from err
    if document[1] != [b"2.0"] or not definitions:
        raise InvalidResponse("the protobuf OpenAPI v2 document is not swagger 2.0 or has no definitions")


def validate_openapi(path: str, status: int, body: bytes, content_type: str = "application/json") -> None:
    """The OpenAPI documents: their shape, and every $ref resolving within the document."""
    if status in (301, 304):
        return
    if content_type == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf":
        _validate_v2_protobuf(body)
        return
    document = json.loads(body)
    if path == "/openapi/v3":
        for name, entry in document["paths"].items():
            if set(entry) != {"serverRelativeURL"} or not entry["serverRelativeURL"].startswith(f"/openapi/v3/{name}?hash="):
                raise InvalidResponse(f"malformed v3 discovery entry {name}")
        return
    if path == "/openapi/v2":
        if document.get("swagger") != "2.0":
            raise InvalidResponse("not a swagger 2.0 document")
        names, prefix = document["definitions"], "#/definitions/"
    else:
        if document.get("openapi") != "3.0.0":
            raise InvalidResponse("not an OpenAPI 3.0 document")
        names, prefix = document["components"]["schemas"], "#/components/schemas/"
    for ref in _refs(document):
        if not ref.startswith(prefix) or ref[len(prefix):] not in names:
            raise InvalidResponse(f"dangling $ref {ref}")
    for name, schema in names.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            if set(gvk) != {"group", "version", "kind"}:
                raise InvalidResponse(f"malformed x-kubernetes-group-version-kind of {name}")


def _refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def validate_response(method: str, path: str, status: int, content_type: str, body: bytes, streamed: bool) -> None:
    """Check one recorded response; raises ``InvalidResponse``."""
    bare_path = path.split("?")[0].rstrip("/")
    if bare_path.startswith("/openapi/") and status < 400:
        validate_openapi(bare_path, status, body, content_type)
        return
    if status == 406 and not body:
        return  # kube-openapi's handlers answer an unacceptable Accept with an empty 406
    if content_type.startswith("text/plain"):
        body.decode("utf-8")
        return
    if content_type == "application/vnd.kubernetes.protobuf;stream=watch" and streamed:
        from console.sandbox.kube import wire

        try:
            events = wire.decode_watch_frames(body)
        except ValueError as err:
            raise InvalidResponse(f"undecodable protobuf watch stream: {err}") from err
        for event in events:
            if event["type"] == "BOOKMARK":  # its object's empty structs decode as Go's zero values
                event["object"] = {k: event["object"][k] for k in ("kind", "apiVersion", "metadata")}
        validate_watch_stream(b"\n".join(json.dumps(e).encode() for e in events))
        return
    if content_type == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList":
        document = json.loads(body)
        if document.get("kind") != "APIGroupDiscoveryList" or document.get("apiVersion") != "apidiscovery.k8s.io/v2":
            raise InvalidResponse("not an apidiscovery.k8s.io/v2 APIGroupDiscoveryList")
        strict_model(document, "V2APIGroupDiscoveryList")
        return
    if content_type == "application/vnd.kubernetes.protobuf":
        document = _protobuf_object(body)
    elif content_type == "application/yaml":
        import yaml

        document = yaml.safe_load(body)
    elif content_type != "application/json":
        raise InvalidResponse(f"unexpected content type {content_type} for {method} {path}")
    elif streamed:
        validate_watch_stream(body)
        return
    else:
        document = json.loads(body)
    _validate_document(path, status, document)


def _validate_document(path: str, status: int, document: Any) -> None:
    if path.split("?")[0].rstrip("/") == "/version":
        deserialize(document, "VersionInfo")
        return
    if status >= 400 and document.get("kind") != "Status":
        raise InvalidResponse(f"error {status} without a Status body")
    if document.get("kind") == "Status" and document.get("code", status) != status:
        raise InvalidResponse(f"Status code {document.get('code')} differs from the HTTP status {status}")
    if document.get("kind") == "Table":
        validate_table(document)
        return
    validate_object(document)


class ResponseChecker:
    """Validates recorded responses once each (identical bodies are checked once)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self.checked = 0

    def check(self, server: Any) -> list[str]:
        problems = []
        for response in server.recorded():
            key = hash((response.path.split("?")[0], response.status, response.content_type, response.body, response.streamed))
            if key in self._seen:
                continue
            self._seen.add(key)
            try:
                validate_response(response.method, response.path, response.status, response.content_type,
                                  response.body, response.streamed)
                self.checked += 1
            except (InvalidResponse, ValueError) as err:
                problems.append(f"{response.method} {response.path} -> {response.status}: {err}")
        return problems
