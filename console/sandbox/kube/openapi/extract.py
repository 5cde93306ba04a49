"""Write ``templates.json``: the path items kube-apiserver publishes for one resource of each shape.

The apiserver generates the ``paths`` of its OpenAPI documents from the REST endpoints it installs, the same for
every resource of a shape. This takes them from a published ``swagger.json`` (the official Python client's
repository keeps one per release, ``kubernetes/swagger.json.unprocessed``), inlines the shared parameters and
replaces the resource's names with placeholders; ``paths.py`` fills them in for every resource the sandbox
serves. Media types the sandbox does not speak (CBOR) are left out. Run by hand; the output is committed:
``python -m console.sandbox.kube.openapi.extract swagger.json``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# (shape, resource path fragment, names to replace by placeholders)
SHAPES = {
    "namespaced": ("/apis/apps/v1", "deployments", "Deployment", "apps", "AppsV1", "apps_v1"),
    "cluster": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", "rbac.authorization.k8s.io",
                "RbacAuthorizationV1", "rbacAuthorization_v1"),
}
EXTRA = {
    "log": "/api/v1/namespaces/{namespace}/pods/{name}/log",
    "finalize": "/api/v1/namespaces/{name}/finalize",
    "create_only": "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
}
UNSPOKEN = {"application/cbor", "application/cbor-seq", "application/apply-patch+cbor"}


def _inline(node: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, parameters) for item in node]
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/parameters/"):
            return _inline(parameters[ref.rsplit("/", 1)[-1]], parameters)
        return {k: [m for m in v if m not in UNSPOKEN] if k in ("consumes", "produces") else _inline(v, parameters)
                for k, v in node.items()}
    return node


def _placeholders(text: str, names: tuple[str, ...]) -> str:
    prefix, plural, kind, group, camel, tag = names
    for old, new in ((prefix, "{prefix}"), (camel, "{camel}"), (tag, "{tag}"), (plural, "{plural}"),
                     (kind, "{kind}")):
        text = text.replace(old, new)
    text = re.sub(r'#/definitions/[A-Za-z0-9.-]+\.\{kind\}List"', '#/definitions/{list_definition}"', text)
    text = re.sub(r'#/definitions/[A-Za-z0-9.-]+\.\{kind\}"', '#/definitions/{definition}"', text)
    return text.replace(f'"group": "{group}"', '"group": "{group}"')


def main(argv: list[str]) -> int:
    swagger = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    parameters, paths = swagger["parameters"], swagger["paths"]
    templates: dict[str, Any] = {}
    for shape, names in SHAPES.items():
        prefix, plural = names[0], names[1]
        items = {p: _inline(item, parameters) for p, item in paths.items() if p.startswith(prefix) and f"/{plural}" in p}
        templates[shape] = json.loads(_placeholders(json.dumps(items), names))
    for shape, path in EXTRA.items():
        templates[shape] = {path: _inline(paths[path], parameters)}
    target = Path(__file__).with_name("templates.json")
    target.write_text(json.dumps(templates, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"templates written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
