"""``/openapi/v2`` in protobuf (``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``): the JSON document
as gnostic's ``openapi.v2.Document`` message, which is what kube-openapi serves and kubectl's OpenAPI v2 parser reads.

Field numbers are gnostic-models' ``openapiv2/OpenAPIv2.proto``; values gnostic keeps as YAML (defaults, enums,
examples, vendor extensions) are YAML text in an ``Any``, as its compiler writes them.
"""

from __future__ import annotations

import struct
from typing import Any

import yaml

from ..wire.primitives import key, length_delimited, varint

# message -> JSON key -> (field number, kind[, message of the value])
_SCALARS = {
    "format": (2, "str"), "title": (3, "str"), "description": (4, "str"), "default": (5, "any"),
    "multipleOf": (6, "double"), "maximum": (7, "double"), "exclusiveMaximum": (8, "bool"), "minimum": (9, "double"),
    "exclusiveMinimum": (10, "bool"), "maxLength": (11, "int"), "minLength": (12, "int"), "pattern": (13, "str"),
    "maxItems": (14, "int"), "minItems": (15, "int"), "uniqueItems": (16, "bool"), "maxProperties": (17, "int"),
    "minProperties": (18, "int"), "required": (19, "strs"), "enum": (20, "anys"), "discriminator": (26, "str"),
    "readOnly": (27, "bool"), "example": (30, "any"),
}
_PARAMETER = {  # QueryParameterSubSchema and PathParameterSubSchema share these numbers
    "required": (1, "bool"), "in": (2, "str"), "description": (3, "str"), "name": (4, "str"),
}


def _str(number: int, text: str) -> bytes:
    return length_delimited(number, str(text).encode())


def _any(number: int, value: Any) -> bytes:
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=False)
    return length_delimited(number, _str(2, text))


def _bool(number: int, value: bool) -> bytes:
    return key(number, 0) + varint(1 if value else 0) if value else b""


def _scalar(number: int, kind: str, value: Any) -> bytes:
    if kind == "str":
        return _str(number, value)
    if kind == "bool":
        return _bool(number, value)
    if kind == "int":
        return key(number, 0) + varint(int(value))
    if kind == "double":
        return key(number, 1) + struct.pack("<d", float(value))
    if kind == "any":
        return _any(number, value)
    if kind == "strs":
        return b"".join(_str(number, v) for v in value)
    if kind == "anys":
        return b"".join(_any(number, v) for v in value)
    raise ValueError(kind)


def _extensions(number: int, node: dict[str, Any]) -> bytes:
    return b"".join(length_delimited(number, _str(1, k) + _any(2, v)) for k, v in node.items() if k.startswith("x-"))


def schema(node: dict[str, Any]) -> bytes:
    out = bytearray()
    if "$ref" in node:
        out += _str(1, node["$ref"])
    for name, (number, kind) in _SCALARS.items():
        if name in node and name != "$ref":
            out += _scalar(number, kind, node[name])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out += length_delimited(21, length_delimited(1, schema(extra)))
    elif isinstance(extra, bool):
        out += length_delimited(21, key(2, 0) + varint(1 if extra else 0))
    if "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        out += length_delimited(22, b"".join(_str(1, t) for t in types))
    if isinstance(node.get("items"), dict):
        out += length_delimited(23, length_delimited(1, schema(node["items"])))
    for item in node.get("allOf") or []:
        out += length_delimited(24, schema(item))
    if isinstance(node.get("properties"), dict):
        named = b"".join(length_delimited(1, _str(1, n) + length_delimited(2, schema(s)))
                         for n, s in node["properties"].items())
        out += length_delimited(25, named)
    out += _extensions(31, node)
    return bytes(out)


def _parameter(node: dict[str, Any]) -> bytes:
    if "$ref" in node:
        return length_delimited(2, _str(1, node["$ref"]))  # ParametersItem.json_reference
    if node.get("in") == "body":
        body = (_str(1, node.get("description", "")) + _str(2, node.get("name", "")) + _str(3, "body")
                + _bool(4, node.get("required", False)) + length_delimited(5, schema(node.get("schema") or {})))
        return length_delimited(1, length_delimited(1, body))
    sub = bytearray()
    for name, (number, kind) in _PARAMETER.items():
        if name in node:
            sub += _scalar(number, kind, node[name])
    # The query and formData sub-schemas have allow_empty_value at 5; the path and header ones do not.
    offset = 1 if node.get("in") in ("query", "formData") else 0
    sub += _str(5 + offset, node.get("type", "")) if "type" in node else b""
    sub += _str(6 + offset, node["format"]) if "format" in node else b""
    sub += _bool(19 + offset, node.get("uniqueItems", False))
    sub += _extensions(22 + offset, node)
    which = {"header": 1, "formData": 2, "query": 3, "path": 4}.get(node.get("in", ""), 3)
    return length_delimited(1, length_delimited(2, length_delimited(which, bytes(sub))))


def _operation(node: dict[str, Any]) -> bytes:
    out = bytearray()
    out += b"".join(_str(1, t) for t in node.get("tags") or [])
    if "description" in node:
        out += _str(3, node["description"])
    if "operationId" in node:
        out += _str(5, node["operationId"])
    out += b"".join(_str(6, m) for m in node.get("produces") or [])
    out += b"".join(_str(7, m) for m in node.get("consumes") or [])
    out += b"".join(length_delimited(8, _parameter(p)) for p in node.get("parameters") or [])
    codes = bytearray()
    for code, response in (node.get("responses") or {}).items():
        body = _str(1, response.get("description", ""))
        if "schema" in response:
            body += length_delimited(2, length_delimited(1, schema(response["schema"])))
        codes += length_delimited(1, _str(1, code) + length_delimited(2, length_delimited(1, body)))
    out += length_delimited(9, bytes(codes))
    out += b"".join(_str(10, s) for s in node.get("schemes") or [])
    out += _extensions(13, node)
    return bytes(out)


_VERBS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _path_item(node: dict[str, Any]) -> bytes:
    out = bytearray()
    for verb, number in _VERBS.items():
        if verb in node:
            out += length_delimited(number, _operation(node[verb]))
    out += b"".join(length_delimited(9, _parameter(p)) for p in node.get("parameters") or [])
    out += _extensions(10, node)
    return bytes(out)


def document(doc: dict[str, Any]) -> bytes:
    """The whole ``/openapi/v2`` document as an ``openapi.v2.Document`` message."""
    info = doc.get("info") or {}
    out = bytearray(_str(1, doc.get("swagger", "2.0")))
    out += length_delimited(2, _str(1, info.get("title", "")) + _str(2, info.get("version", "")))
    paths = b"".join(length_delimited(2, _str(1, p) + length_delimited(2, _path_item(item)))
                     for p, item in (doc.get("paths") or {}).items())
    out += length_delimited(8, paths)
    definitions = b"".join(length_delimited(1, _str(1, n) + length_delimited(2, schema(s)))
                           for n, s in (doc.get("definitions") or {}).items())
    out += length_delimited(9, definitions)
    for requirement in doc.get("security") or []:
        named = b"".join(length_delimited(1, _str(1, n) + length_delimited(2, b"".join(_str(1, v) for v in values)))
                         for n, values in requirement.items())
        out += length_delimited(12, named)
    security = b""
    for name, item in (doc.get("securityDefinitions") or {}).items():
        api_key = (_str(1, item.get("type", "")) + _str(2, item.get("name", "")) + _str(3, item.get("in", ""))
                   + _str(4, item.get("description", "")))
        security += length_delimited(1, _str(1, name) + length_delimited(2, length_delimited(2, api_key)))
    out += length_delimited(13, security)
    return bytes(out)
