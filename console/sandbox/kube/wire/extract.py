"""Write ``gotypes.json``: the Go API types of the served kinds as their struct tags declare them.

The Go struct tags of ``k8s.io/api`` and ``k8s.io/apimachinery`` are the one place that says, for every field,
its JSON name, whether it is a pointer and ``omitempty``, and its protobuf number and wire type. The protobuf
codec reads them to speak the wire format kubectl's typed clients send, and the field manager to build the
zero object a create is compared with, exactly as the apiserver's Go code does.

Run it by hand against checkouts of kubernetes/api and kubernetes/apimachinery at the release the sandbox
claims (``python -m console.sandbox.kube.wire.extract API_DIR APIMACHINERY_DIR``); the output is committed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# Go package directory -> the OpenAPI definition prefix of its types.
PACKAGES = {
    ("api", "core/v1"): "io.k8s.api.core.v1",
    ("api", "apps/v1"): "io.k8s.api.apps.v1",
    ("api", "autoscaling/v1"): "io.k8s.api.autoscaling.v1",
    ("api", "authorization/v1"): "io.k8s.api.authorization.v1",
    ("api", "policy/v1"): "io.k8s.api.policy.v1",
    ("api", "networking/v1"): "io.k8s.api.networking.v1",
    ("api", "rbac/v1"): "io.k8s.api.rbac.v1",
    ("api", "events/v1"): "io.k8s.api.events.v1",
    ("apimachinery", "pkg/apis/meta/v1"): "io.k8s.apimachinery.pkg.apis.meta.v1",
}
IMPORTS = {
    "k8s.io/api/core/v1": "io.k8s.api.core.v1",
    "k8s.io/apimachinery/pkg/apis/meta/v1": "io.k8s.apimachinery.pkg.apis.meta.v1",
}
# Types with a hand-written protobuf form in apimachinery (the codec knows each).
SPECIAL = {
    "metav1.Time": "time", "Time": "time", "metav1.MicroTime": "microtime", "MicroTime": "microtime",
    "metav1.Duration": "duration", "Duration": "duration", "intstr.IntOrString": "intorstring",
    "resource.Quantity": "quantity", "runtime.RawExtension": "rawextension", "FieldsV1": "fieldsv1",
    "metav1.FieldsV1": "fieldsv1",
}
BASIC = {"string", "bool", "int32", "int64", "uint32", "uint64", "float32", "float64", "byte"}
EXTERNAL_ALIASES = {"types.UID": "string", "types.NodeName": "string", "metav1.Verbs": "[]string"}

_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.M | re.S)
_ALIAS = re.compile(r"^type (\w+) ([^\s{]+)\s*$", re.M)
_FIELD = re.compile(r"^\t(\w+)\s+(\S+)\s+`([^`]*)`", re.M)
_EMBEDDED = re.compile(r"^\t([\w.]+)\s+`([^`]*)`", re.M)
_TAG = re.compile(r'(\w+):"([^"]*)"')
_IMPORT = re.compile(r'^\s*(\w+)\s+"([^"]+)"', re.M)


def _tags(text: str) -> dict[str, str]:
    return dict(_TAG.findall(text))


class Extractor:
    """Reads the types.go files of the packages and resolves each field's Go type."""

    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = roots
        self.structs: dict[str, list[dict[str, Any]]] = {}
        self.aliases: dict[str, str] = {}

    def read(self) -> None:
        for (repo, package), prefix in PACKAGES.items():
            directory = self.roots[repo] / package
            for path in sorted(directory.glob("*.go")):
                if path.name.endswith("_test.go") or path.name.startswith("zz_") or path.name.startswith("generated"):
                    continue
                self._read_file(path.read_text(encoding="utf-8"), prefix)

    def _read_file(self, text: str, prefix: str) -> None:
        imports = {alias: IMPORTS.get(path, "") for alias, path in _IMPORT.findall(text)}
        for name, target in _ALIAS.findall(text):
            self.aliases[f"{prefix}.{name}"] = self._qualify(target, prefix, imports)
        for name, body in _STRUCT.findall(text):
            fields = []
            for line in body.splitlines():
                field = self._field(line, prefix, imports)
                if field is not None:
                    fields.append(field)
            self.structs[f"{prefix}.{name}"] = fields

    def _qualify(self, go_type: str, prefix: str, imports: dict[str, str]) -> str:
        """A Go type with package-local names made absolute (``*Container`` -> ``*io.k8s.api.core.v1.Container``)."""
        match = re.match(r"^(\*|\[\]|map\[([^\]]+)\])?(.*)$", go_type)
        assert match is not None
        head, key, rest = match.group(1) or "", match.group(2), match.group(3)
        if head.startswith("map["):
            return f"map[{self._qualify(key, prefix, imports)}]{self._qualify(rest, prefix, imports)}"
        if head:
            return head + self._qualify(rest, prefix, imports)
        if rest in SPECIAL or rest in EXTERNAL_ALIASES or rest in BASIC:
            return rest
        if "." in rest:
            alias, name = rest.split(".", 1)
            target = imports.get(alias)
            return f"{target}.{name}" if target else rest
        return f"{prefix}.{rest}"

    def _field(self, line: str, prefix: str, imports: dict[str, str]) -> dict[str, Any] | None:
        match = _FIELD.match(line)
        if match is None:
            match = _EMBEDDED.match(line)
            if match is None:
                return None
            go_type, tags = match.group(1), _tags(match.group(2))
        else:
            go_type, tags = match.group(2), _tags(match.group(3))
        proto = tags.get("protobuf")
        if not proto or proto == "-":
            return None
        json_tag = tags.get("json", "")
        json_name, _, options = json_tag.partition(",")
        parts = proto.split(",")
        # An embedded struct with a JSON name is an ordinary field; without one its fields are the parent's.
        return {
            "json": json_name,
            "inline": json_name == "",
            "number": int(parts[1]),
            "wire": parts[0],
            "repeated": parts[2] == "rep",
            "omitempty": "omitempty" in options.split(","),
            "go": self._qualify(go_type, prefix, imports),
        }

    def resolve(self, go_type: str) -> Any:
        """The codec's description of a Go type: a basic name, a special name, a struct name, or a list/map form."""
        pointer = go_type.startswith("*")
        go_type = go_type.lstrip("*")
        if go_type in EXTERNAL_ALIASES:
            go_type = EXTERNAL_ALIASES[go_type]
        while go_type in self.aliases:
            go_type = self.aliases[go_type]
        if go_type == "[]byte":
            return {"kind": "bytes", "pointer": pointer}
        if go_type.startswith("[]"):
            return {"kind": "list", "pointer": pointer, "item": self.resolve(go_type[2:])}
        if go_type.startswith("map["):
            depth, i = 0, 4
            while True:
                if go_type[i] == "[":
                    depth += 1
                elif go_type[i] == "]":
                    if depth == 0:
                        break
                    depth -= 1
                i += 1
            return {"kind": "map", "pointer": pointer, "key": self.resolve(go_type[4:i]), "value": self.resolve(go_type[i + 1:])}
        if go_type in SPECIAL:
            return {"kind": SPECIAL[go_type], "pointer": pointer}
        if go_type.rsplit(".", 1)[-1] in ("Time", "MicroTime", "Duration", "FieldsV1") and go_type.startswith("io.k8s.apimachinery"):
            return {"kind": SPECIAL[go_type.rsplit(".", 1)[-1]], "pointer": pointer}
        if go_type in BASIC:
            return {"kind": go_type, "pointer": pointer}
        if go_type in self.structs:
            return {"kind": "message", "pointer": pointer, "type": go_type}
        raise KeyError(f"unresolved Go type {go_type}")

    def reachable(self, roots: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        todo = list(roots)
        while todo:
            name = todo.pop()
            if name in out:
                continue
            fields = []
            for field in self.structs[name]:
                resolved = self.resolve(field["go"])
                entry = {k: v for k, v in field.items() if k != "go"}
                entry["type"] = resolved
                fields.append(entry)
                todo.extend(_messages(resolved))
            out[name] = fields
        return dict(sorted(out.items()))


def _messages(resolved: dict[str, Any]) -> list[str]:
    if resolved["kind"] == "message":
        return [resolved["type"]]
    if resolved["kind"] == "list":
        return _messages(resolved["item"])
    if resolved["kind"] == "map":
        return _messages(resolved["key"]) + _messages(resolved["value"])
    return []


ROOT_KINDS = [
    "io.k8s.api.core.v1." + k for k in (
        "Namespace", "NamespaceList", "Pod", "PodList", "Event", "EventList", "Service", "ServiceList", "ConfigMap",
        "ConfigMapList", "Secret", "SecretList", "ServiceAccount", "ServiceAccountList")
] + ["io.k8s.api.apps.v1." + k for k in ("Deployment", "DeploymentList", "ReplicaSet", "ReplicaSetList")] + [
    "io.k8s.api.autoscaling.v1.Scale", "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerList", "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
    "io.k8s.api.policy.v1.PodDisruptionBudget", "io.k8s.api.policy.v1.PodDisruptionBudgetList",
    "io.k8s.api.networking.v1.NetworkPolicy", "io.k8s.api.networking.v1.NetworkPolicyList",
    "io.k8s.api.events.v1.Event", "io.k8s.api.events.v1.EventList",
] + ["io.k8s.api.rbac.v1." + k for k in (
    "Role", "RoleList", "RoleBinding", "RoleBindingList", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList")] + ["io.k8s.apimachinery.pkg.apis.meta.v1." + k for k in (
        "Status", "WatchEvent", "DeleteOptions", "APIResourceList", "APIGroupList", "APIGroup", "APIVersions")]


def main(argv: list[str]) -> int:
    api, apimachinery = (Path(a) for a in argv[1:3])
    extractor = Extractor({"api": api, "apimachinery": apimachinery})
    extractor.read()
    types = extractor.reachable(ROOT_KINDS)
    target = Path(__file__).with_name("gotypes.json")
    lines = [f"{json.dumps(name)}:{json.dumps(fields, sort_keys=True, separators=(',', ':'))}" for name, fields in types.items()]
    target.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    print(f"{len(types)} types written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
