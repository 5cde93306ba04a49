"""The OpenAPI documents: what kubectl reads from them (v3 discovery and hashed per-group-version documents, the
PATCH operations' parameters and body types, explain's schemas), served as kube-openapi serves them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from console.sandbox.kube import openapi, schemas
from console.sandbox.kube.resources import RESOURCE_TYPES

SERVED_GROUP_VERSIONS = {openapi.group_version_path(rt) for rt in RESOURCE_TYPES.values()}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002 - urllib's signature
        return None


def _get(server, path: str, accept: str = "application/json") -> tuple[int, bytes, dict[str, str]]:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(server.url + path, headers={"Accept": accept})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def test_v3_discovery_lists_a_hashed_document_per_group_version(shared_server) -> None:
    status, body, headers = _get(shared_server, "/openapi/v3")
    discovery = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json" and headers["Etag"].startswith('"')
    assert set(discovery["paths"]) == SERVED_GROUP_VERSIONS
    url = discovery["paths"]["apis/apps/v1"]["serverRelativeURL"]
    status, document, headers = _get(shared_server, url)
    assert status == 200 and headers["Cache-Control"] == "public, immutable" and "Expires" in headers
    assert url.endswith(f"?hash={openapi.etag(document)}")
    stale, _, headers = _get(shared_server, "/openapi/v3/apis/apps/v1?hash=0123")
    assert stale == 301 and headers["Location"] == url
    assert _get(shared_server, "/openapi/v3/apis/nope/v1")[0] == 404
    assert _get(shared_server, url, accept="application/com.github.proto-openapi.spec.v3.v1.0+protobuf")[0] == 406


def test_patch_operations_say_what_kubectl_looks_for(shared_server) -> None:
    document = json.loads(_get(shared_server, "/openapi/v3/apis/apps/v1")[1])
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert patch["x-kubernetes-action"] == "patch" and patch["operationId"] == "patchAppsV1NamespacedDeployment"
    assert {p["name"] for p in patch["parameters"]} == {"dryRun", "fieldManager", "fieldValidation", "force"}
    assert set(patch["requestBody"]["content"]) == {
        "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
        "application/apply-patch+yaml"}
    deployment = document["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert deployment["properties"]["spec"]["$ref"] == "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"
    route = json.loads(_get(shared_server, "/openapi/v3/apis/route.openshift.io/v1")[1])
    route_patch = route["paths"]["/apis/route.openshift.io/v1/namespaces/{namespace}/routes/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" not in route_patch["requestBody"]["content"]
    assert "application/vnd.kubernetes.protobuf" not in route_patch["responses"]["200"]["content"]
    # Only the verbs a resource has: no deletecollection of namespaces, only create of access reviews.
    core = json.loads(_get(shared_server, "/openapi/v3/api/v1")[1])
    assert "delete" not in core["paths"]["/api/v1/namespaces"] and "post" in core["paths"]["/api/v1/namespaces"]
    reviews = json.loads(_get(shared_server, "/openapi/v3/apis/authorization.k8s.io/v1")[1])["paths"]
    assert list(reviews) == ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]


def test_v2_is_the_published_definitions_of_the_served_kinds(shared_server) -> None:
    status, body, headers = _get(shared_server, "/openapi/v2")
    assert status == 200 and headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document["swagger"] == "2.0" and document["info"]["version"] == "v1.37.0"
    kinds = {(g["group"], g["version"], g["kind"]) for d in document["definitions"].values()
             for g in d.get("x-kubernetes-group-version-kind", [])}
    for rt in RESOURCE_TYPES.values():
        assert (rt.group, rt.version, rt.kind) in kinds, rt.kind
    published = schemas.published()
    for name in ("io.k8s.api.apps.v1.DeploymentSpec", "io.k8s.api.core.v1.Container", "io.k8s.api.policy.v1.PodDisruptionBudgetSpec"):
        assert document["definitions"][name] == published[name]
    status, proto, headers = _get(shared_server, "/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert (status, headers["Content-Type"]) == (200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    assert proto.startswith(b"\n\x032.0") and b"io.k8s.api.apps.v1.DeploymentSpec" in proto
    assert _get(shared_server, "/openapi/v2", accept="application/xml")[0] == 406


@pytest.mark.parametrize("name", ["io.k8s.api.apps.v1.DeploymentSpec", "io.k8s.api.core.v1.PodSpec",
                                  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"])
def test_definitions_undo_the_json_schema_conversion_exactly(name: str) -> None:
    """Redo kubernetes-validate's conversion on the served definition and get its shipped file back."""
    from kubernetes_validate.utils import schema_contents

    shipped = schema_contents(f"kubernetes-json-schema/v{schemas.KUBERNETES_VERSION}-local/_definitions.json",
                              schemas.KUBERNETES_VERSION)["$defs"][name]

    def redo(node, nullable=True):
        # The converter makes every type nullable but those of required properties.
        if isinstance(node, list):
            return [redo(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = value.replace("#/definitions/", "#/$defs/")
            elif key == "type" and isinstance(value, str):
                out[key] = [value, "null"] if nullable else value
            elif key == "properties":
                out[key] = {n: redo(p, n not in node.get("required", [])) for n, p in value.items()}
            else:
                out[key] = redo(value)
        return out

    assert redo(schemas.published()[name]) == shipped


def test_aggregated_discovery_lists_every_served_resource(shared_server) -> None:
    from console.sandbox.kube import discovery

    for path, groups in (("/api", [""]), ("/apis", [g for g in {rt.group for rt in RESOURCE_TYPES.values()} if g])):
        status, body, headers = _get(shared_server, path, accept=f"{discovery.AGGREGATED},application/json")
        assert (status, headers["Content-Type"]) == (200, discovery.AGGREGATED)
        document = json.loads(body)
        assert sorted(i["metadata"].get("name", "") for i in document["items"]) == sorted(groups)
        served = {(i["metadata"].get("name", ""), r["resource"]) for i in document["items"]
                  for v in i["versions"] for r in v["resources"]}
        assert served == {(rt.group, rt.plural) for rt in RESOURCE_TYPES.values() if rt.group in groups}
    apps = next(i for i in json.loads(_get(shared_server, "/apis", accept=discovery.AGGREGATED)[1])["items"]
                if i["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deployments["scope"] == "Namespaced" and deployments["shortNames"] == ["deploy"]
    assert {s["subresource"]: s["responseKind"]["kind"] for s in deployments["subresources"]} == {"scale": "Scale", "status": "Deployment"}
    # Without the aggregated type in Accept, the legacy documents.
    assert json.loads(_get(shared_server, "/apis")[1])["kind"] == "APIGroupList"
