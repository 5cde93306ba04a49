"""Table columns of the kinds the console's manifests add (pkg/printers/internalversion/printers.go), and of
custom resources, whose CRD's ``additionalPrinterColumns`` say what to print (apiextensions' table convertor)."""

from __future__ import annotations

import re
from typing import Any, Callable

from . import schemas
from .clock import parse_rfc3339

Printer = Callable[[dict[str, Any], float], list[Any]]


def _column(name: str, type_: str, description: str, priority: int = 0, format_: str = "") -> dict[str, Any]:
    return {"name": name, "type": type_, "format": format_, "description": description, "priority": priority}


_NAME = _column("Name", "string", "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", 0, "name")
_AGE = _column("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
_CREATED_AT = _column("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created.")


def _age(obj: dict[str, Any], now: float) -> str:
    from .tables import human_duration

    created = obj["metadata"].get("creationTimestamp")
    return human_duration(now - parse_rfc3339(created)) if created else "<unknown>"


def _selector(selector: dict[str, Any] | None) -> str:
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        parts.append(f"{expr['key']} {expr['operator'].lower()} ({','.join(expr.get('values') or [])})")
    return ",".join(parts) or "<none>"


def _subjects(obj: dict[str, Any], kind: str) -> str:
    names = []
    for subject in obj.get("subjects") or []:
        if subject.get("kind") == kind:
            names.append(f"{subject.get('namespace')}/{subject['name']}" if kind == "ServiceAccount" else subject["name"])
    return ", ".join(names)


def _binding(obj: dict[str, Any], now: float) -> list[Any]:
    ref = obj.get("roleRef") or {}
    return [obj["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(obj, now),
            _subjects(obj, "User"), _subjects(obj, "Group"), _subjects(obj, "ServiceAccount")]


def _int_or_string(value: Any) -> str:
    return "N/A" if value is None else str(value)


_BINDING_COLUMNS = [
    _NAME, _column("Role", "string", "Role of the binding."), _AGE,
    _column("Users", "string", "Users in the binding.", 1), _column("Groups", "string", "Groups in the binding.", 1),
    _column("ServiceAccounts", "string", "ServiceAccounts in the binding.", 1),
]
PRINTERS: dict[str, tuple[list[dict[str, Any]], Printer]] = {
    "configmaps": ([_NAME, _column("Data", "integer", "Number of data in configmap"), _AGE],
                   lambda o, now: [o["metadata"]["name"], len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                                   _age(o, now)]),
    "secrets": ([_NAME, _column("Type", "string", "The type of the secret"),
                 _column("Data", "integer", "The number of data in the secret"), _AGE],
                lambda o, now: [o["metadata"]["name"], o.get("type", ""), len(o.get("data") or {}), _age(o, now)]),
    "serviceaccounts": ([_NAME, _column("Secrets", "string", "Secrets is a list of the secrets in the same namespace "
                                        "that pods running using this ServiceAccount are allowed to use."), _AGE],
                        lambda o, now: [o["metadata"]["name"], len(o.get("secrets") or []), _age(o, now)]),
    "poddisruptionbudgets": (
        [_NAME, _column("Min Available", "string", "The minimum number of pods that must be available simultaneously. "
                        "This can be either an integer or a string specifying a percentage, e.g. \"28%\"."),
         _column("Max Unavailable", "string", "The maximum number of pods that may be unavailable simultaneously. "
                 "This can be either an integer or a string specifying a percentage, e.g. \"28%\"."),
         _column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
         _AGE],
        lambda o, now: [o["metadata"]["name"], _int_or_string((o.get("spec") or {}).get("minAvailable")),
                        _int_or_string((o.get("spec") or {}).get("maxUnavailable")),
                        (o.get("status") or {}).get("disruptionsAllowed", 0), _age(o, now)]),
    "networkpolicies": ([_NAME, _column("Pod-Selector", "string", "Label selector of the pods the policy applies to."),
                         _AGE],
                        lambda o, now: [o["metadata"]["name"], _selector((o.get("spec") or {}).get("podSelector")),
                                        _age(o, now)]),
    "roles": ([_NAME, _CREATED_AT], lambda o, now: [o["metadata"]["name"], o["metadata"].get("creationTimestamp")]),
    "clusterroles": ([_NAME, _CREATED_AT],
                     lambda o, now: [o["metadata"]["name"], o["metadata"].get("creationTimestamp")]),
    "customresourcedefinitions": ([_NAME, _CREATED_AT],
                                  lambda o, now: [o["metadata"]["name"], o["metadata"].get("creationTimestamp")]),
    "rolebindings": (_BINDING_COLUMNS, _binding),
    "clusterrolebindings": (_BINDING_COLUMNS, _binding),
}


def printer(rt: Any) -> tuple[list[dict[str, Any]], Printer]:
    """The columns and row printer of a resource: a built-in printer, or a CRD's printer columns."""
    if rt.plural in PRINTERS:
        return PRINTERS[rt.plural]
    columns = _crd_columns(rt)
    if not columns:
        return [_NAME, _AGE], lambda o, now: [o["metadata"]["name"], _age(o, now)]
    definitions = [_NAME] + [_column(c["name"], c.get("type", "string"), c.get("description", ""),
                                     c.get("priority", 0), c.get("format", "")) for c in columns]
    return definitions, lambda o, now: [o["metadata"]["name"]] + [_cell(jsonpath(o, c["jsonPath"]), c) for c in columns]


def _crd_columns(rt: Any) -> list[dict[str, Any]]:
    for crd in schemas.crds():
        spec = crd["spec"]
        if spec["group"] == rt.group and spec["names"]["plural"] == rt.plural:
            for version in spec["versions"]:
                if version["name"] == rt.version:
                    return version.get("additionalPrinterColumns") or []
    return []


def _cell(values: list[Any], column: dict[str, Any]) -> Any:
    if not values:
        return None
    value = values[0]
    if column.get("type") == "integer" and isinstance(value, int):
        return value
    return value if isinstance(value, str) else str(value)


_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_-]+)=="([^"]*)"\)\]')


def jsonpath(obj: Any, path: str) -> list[Any]:
    """The values a printer column's JSONPath selects (fields, indexes and ``[?(@.field=="value")]`` filters)."""
    current = [obj]
    for match in _STEP.finditer(path):
        name, position, key, wanted = match.groups()
        following: list[Any] = []
        for value in current:
            if name is not None and isinstance(value, dict) and name in value:
                following.append(value[name])
            elif position is not None and isinstance(value, list) and int(position) < len(value):
                following.append(value[int(position)])
            elif key is not None and isinstance(value, list):
                following.extend(v for v in value if isinstance(v, dict) and str(v.get(key)) == wanted)
        current = following
    return current
