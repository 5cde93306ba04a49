"""Request objects decoded into their schema as the apiserver's Go decoders do it.

Unknown fields are dropped (a Go struct has nowhere to put them) and reported per ``fieldValidation``: ``Strict``
fails the request, ``Warn`` (the default) answers with a ``Warning`` header per field, ``Ignore`` says nothing.
A value of the wrong type fails the request as ``encoding/json`` would; custom resources are checked against
their CRD's schema and defaulted from it, as apiextensions-apiserver does.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from . import errors, schemas
from .resources import ResourceType
from .typed import Node

STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"
_JSON_KINDS = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}


@dataclass
class Decoded:
    obj: dict[str, Any]
    unknown: list[str] = field(default_factory=list)


def field_validation(params: dict[str, str], options_kind: str) -> str:
    """The request's ``fieldValidation`` directive (Warn when absent), validated as the options' field."""
    directive = params.get("fieldValidation", "")
    if directive not in ("", STRICT, WARN, IGNORE):
        raise errors.invalid(options_kind, "meta.k8s.io", "", [errors.FieldError.not_supported(
            "fieldValidation", directive, ["", IGNORE, STRICT, WARN])])
    return directive or WARN


def definition_of(rt: ResourceType) -> str | None:
    return schemas.definition_name(rt.group, rt.version, rt.kind)


def decode(rt: ResourceType, obj: dict[str, Any], directive: str, duplicates: list[str] = ()) -> Decoded:
    """Check ``obj`` against the schema of ``rt``; the result has unknown fields pruned."""
    name = definition_of(rt)
    if name is None:
        return Decoded(obj)
    checker = _Checker(rt)
    pruned = checker.walk(obj, Node.named(name), "", name)
    if checker.type_error is not None:
        raise checker.type_error
    unknown = [f'duplicate field "{d}"' for d in duplicates] + [f'unknown field "{p}"' for p in checker.unknown]
    if unknown and directive == STRICT:
        raise errors.bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                                 f"strict decoding error: {', '.join(unknown)}")
    if rt.custom:
        _default(pruned, Node.named(name))
    return Decoded(pruned, unknown if directive == WARN else [])


class _Checker:
    def __init__(self, rt: ResourceType) -> None:
        self.rt = rt
        self.unknown: list[str] = []
        self.type_error: errors.ApiError | None = None

    def walk(self, value: Any, node: Node, path: str, struct: str) -> Any:
        if value is None or self.type_error is not None:
            return value
        kind = node.kind
        s = node.schema
        if kind == "untyped" or s.get("x-kubernetes-preserve-unknown-fields") and kind != "struct":
            return value
        if kind == "scalar":
            self._scalar(value, s, path, struct)
            return value
        if kind == "list":
            if not isinstance(value, list):
                return self._mismatch(value, path, struct, "array", node)
            item_struct = schemas.ref_name(s.get("items") or {}) or struct
            return [self.walk(item, node.items, f"{path}[{i}]", item_struct) for i, item in enumerate(value)]
        if not isinstance(value, dict):
            return self._mismatch(value, path, struct, "object", node)
        properties = s.get("properties") or {}
        extra = s.get("additionalProperties")
        out = {}
        for name, child in value.items():
            child_path = f"{path}.{name}" if path else name
            if name in properties:
                child_node = Node.of(properties[name])
                child_struct = schemas.ref_name(properties[name]) or struct
                out[name] = self.walk(child, child_node, child_path, child_struct)
            elif isinstance(extra, dict):
                out[name] = self.walk(child, Node.of(extra), child_path, struct)
            elif s.get("x-kubernetes-preserve-unknown-fields") or (kind == "map" and extra is not False):
                out[name] = child
            elif not path and name in ("apiVersion", "kind"):
                out[name] = child
            else:
                self.unknown.append(child_path)
        return out

    def _scalar(self, value: Any, s: dict[str, Any], path: str, struct: str) -> None:
        type_, fmt = s.get("type"), s.get("format", "")
        if s.get("x-kubernetes-int-or-string") or fmt == "int-or-string":
            ok = isinstance(value, (str, int)) and not isinstance(value, bool)
        elif type_ == "string":
            ok = isinstance(value, str) or (fmt == "" and s is schemas.definitions().get(schemas.QUANTITY)
                                             and isinstance(value, (int, float)))
        elif type_ == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif type_ == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif type_ == "boolean":
            ok = isinstance(value, bool)
        else:
            ok = True
        if not ok:
            self._mismatch(value, path, struct, type_ or "value", Node(s))

    def _mismatch(self, value: Any, path: str, struct: str, expected: str, node: Node) -> Any:
        if self.type_error is None:
            self.type_error = self._error(value, path, struct, expected, node)
        return value

    def _error(self, value: Any, path: str, struct: str, expected: str, node: Node) -> errors.ApiError:
        rt = self.rt
        if rt.custom:
            return errors.invalid(rt.kind, rt.group, "", [errors.FieldError.invalid(
                path, _json_kind(value), f"{path} in body must be of type {expected}: \"{_json_kind(value)}\"")])
        # encoding/json names the field by its path of struct fields, without list indexes.
        go_path = re.sub(r"\[\d+\]", "", path)
        return errors.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: cannot unmarshal '
            f"{_json_kind(value)} into Go struct field {struct.rsplit('.', 1)[-1]}.{go_path} of type {_go_type(node)}")


def _json_kind(value: Any) -> str:
    return _JSON_KINDS.get(type(value), "value")


def _go_type(node: Node) -> str:
    s = node.schema
    kind = node.kind
    if kind == "list":
        return "[]" + _go_type(node.items)
    if kind == "map" and isinstance(s.get("additionalProperties"), dict):
        return "map[string]" + _go_type(Node.of(s["additionalProperties"]))
    fmt = s.get("format")
    if s.get("type") == "integer":
        return fmt if fmt in ("int32", "int64") else "int"
    return {"string": "string", "boolean": "bool", "number": "float64"}.get(s.get("type", ""), "struct")


def _default(obj: Any, node: Node) -> None:
    """apiextensions' structural defaulting: every ``default`` of a present object's properties."""
    if isinstance(obj, dict) and node.kind == "struct":
        for name, prop in (node.schema.get("properties") or {}).items():
            if name not in obj and "default" in prop:
                obj[name] = copy.deepcopy(prop["default"])
            if name in obj:
                _default(obj[name], Node.of(prop))
    elif isinstance(obj, list) and node.kind == "list":
        for item in obj:
            _default(item, node.items)
