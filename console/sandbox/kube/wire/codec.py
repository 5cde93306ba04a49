"""Kubernetes' protobuf wire format for the built-in kinds, driven by the Go types of ``gotypes.json``.

A message decodes to the JSON the apiserver's Go code would write for the same struct: a pointer field is there
when it was sent, a non-pointer scalar is there unless it is zero and ``omitempty``, a non-pointer struct is always
there (``omitempty`` does not apply to structs in Go), and an inline struct's fields join its parent's. The types
apimachinery marshals by hand are in ``special.py``, the wire itself in ``primitives.py``.
"""

from __future__ import annotations

import base64
import functools
import json
import struct
from pathlib import Path
from typing import Any

from .primitives import WireError, fields
from .primitives import key as _key, length_delimited as _length_delimited, signed as _signed, varint as _varint
from .special import SPECIAL as _SPECIAL
from .special import decode_special as _decode_special, encode_special as _encode_special

_TYPES_FILE = Path(__file__).with_name("gotypes.json")
_ZERO = {"string": "", "bool": False, "int32": 0, "int64": 0, "uint32": 0, "uint64": 0, "float32": 0.0,
         "float64": 0.0, "byte": 0}


@functools.lru_cache(maxsize=1)
def go_types() -> dict[str, list[dict[str, Any]]]:
    """Every Go struct the codec knows, by OpenAPI definition name."""
    return json.loads(_TYPES_FILE.read_text(encoding="utf-8"))


def knows(type_name: str) -> bool:
    return type_name in go_types()


# --- Go structs ----------------------------------------------------------------------------------------------------

_GOGO_ZERO = {**_ZERO, "intorstring": 0, "quantity": "0", "duration": "0s"}


def _decode_value(type_: dict[str, Any], raw: Any) -> Any:
    kind = type_["kind"]
    if kind == "message":
        return decode_struct(type_["type"], raw)
    if kind in _SPECIAL:
        return _decode_special(kind, raw)
    if kind == "string":
        return raw.decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(raw).decode("ascii")
    if kind == "bool":
        return bool(raw)
    if kind in ("int32", "int64", "byte"):
        return _signed(raw, 32 if kind == "int32" else 64)
    if kind in ("uint32", "uint64"):
        return raw
    if kind == "float64":
        return struct.unpack("<d", raw)[0]
    if kind == "float32":
        return struct.unpack("<f", raw)[0]
    raise WireError(f"cannot decode Go kind {kind}")


def _scalar_values(type_: dict[str, Any], values: list[Any]) -> list[Any]:
    """Repeated varints may come packed (one length-delimited run) or one by one."""
    if type_["kind"] in ("bool", "int32", "int64", "uint32", "uint64", "byte"):
        out: list[Any] = []
        for value in values:
            if isinstance(value, bytes):
                out.extend(fields(_unpack(value)).get(1, []))
            else:
                out.append(value)
        return out
    return values


def _unpack(packed: bytes) -> bytes:
    """A packed run of varints re-keyed as field 1, so ``fields`` reads it."""
    out = bytearray()
    i = 0
    while i < len(packed):
        out += _key(1, 0)
        while packed[i] & 0x80:
            out.append(packed[i])
            i += 1
        out.append(packed[i])
        i += 1
    return bytes(out)


def zero_json(type_: dict[str, Any], omitempty: bool) -> tuple[bool, Any]:
    """What Go's encoding/json writes for a field holding its zero value: (written, value)."""
    kind = type_["kind"]
    if type_.get("pointer"):
        return (not omitempty), None
    if kind == "message":
        return True, zero_struct(type_["type"])
    if kind in ("time", "microtime", "rawextension", "fieldsv1"):
        return True, None
    if kind in ("list", "map", "bytes"):
        return (not omitempty), None
    if kind == "intorstring":
        return (not omitempty), 0
    if kind == "quantity":
        return (not omitempty), "0"
    if kind == "duration":
        return (not omitempty), "0s"
    return (not omitempty), _ZERO[kind]


@functools.lru_cache(maxsize=None)
def _zero_struct_cached(type_name: str) -> str:
    out: dict[str, Any] = {}
    for field in go_types()[type_name]:
        if field["inline"]:
            out.update(zero_struct(field["type"]["type"]))
            continue
        written, value = zero_json(field["type"], field["omitempty"])
        if written:
            out[field["json"]] = value
    return json.dumps(out)


def zero_struct(type_name: str) -> dict[str, Any]:
    """The JSON of a zero Go struct, ``null`` for nil fields without ``omitempty`` (what a create is compared with)."""
    return json.loads(_zero_struct_cached(type_name))


def decode_struct(type_name: str, data: bytes) -> dict[str, Any]:
    """Decode one message of a Go struct to its JSON form."""
    raw = fields(data)
    out: dict[str, Any] = {}
    for field in go_types()[type_name]:
        values = raw.get(field["number"])
        type_ = field["type"]
        if field["inline"]:
            out.update(decode_struct(type_["type"], values[-1] if values else b""))
            continue
        name = field["json"]
        if not values:
            written, value = zero_json(type_, field["omitempty"])
            if written and value is not None:
                out[name] = value
            continue
        try:
            value = _decode_field(type_, values)
        except (UnicodeDecodeError, struct.error, IndexError, KeyError) as err:
            raise WireError(f"field {name} of {type_name.rsplit('.', 1)[-1]}: {err}") from err
        if value is None:
            continue
        if not type_.get("pointer") and field["omitempty"] and type_["kind"] not in ("message",) and _is_zero(value):
            continue
        out[name] = value
    return out


def _decode_field(type_: dict[str, Any], values: list[Any]) -> Any:
    kind = type_["kind"]
    if kind == "list":
        item = type_["item"]
        return [_decode_value(item, v) for v in _scalar_values(item, values)]
    if kind == "map":
        result = {}
        for entry in values:
            parts = fields(entry)
            key = _decode_value(type_["key"], parts[1][-1]) if 1 in parts else ""
            value_type = type_["value"]
            if 2 in parts:
                result[key] = _decode_value(value_type, parts[2][-1])
            else:
                result[key] = zero_json(value_type, False)[1]
        return result
    return _decode_value(type_, values[-1])


def _is_zero(value: Any) -> bool:
    if isinstance(value, (bool, int, float)):
        return value == 0
    return value in ("", None) or value == [] or value == {}


def _encode_value(type_: dict[str, Any], number: int, value: Any) -> bytes:
    kind = type_["kind"]
    if kind == "message":
        return _length_delimited(number, encode_struct(type_["type"], value))
    if kind in _SPECIAL:
        return _length_delimited(number, _encode_special(kind, value))
    if kind == "string":
        return _length_delimited(number, str(value).encode("utf-8"))
    if kind == "bytes":
        return _length_delimited(number, base64.b64decode(value))
    if kind == "bool":
        return _key(number, 0) + _varint(1 if value else 0)
    if kind in ("int32", "int64", "uint32", "uint64", "byte"):
        return _key(number, 0) + _varint(int(value))
    if kind == "float64":
        return _key(number, 1) + struct.pack("<d", float(value))
    if kind == "float32":
        return _key(number, 5) + struct.pack("<f", float(value))
    raise WireError(f"cannot encode Go kind {kind}")


def encode_struct(type_name: str, obj: dict[str, Any]) -> bytes:
    """Encode the JSON form of a Go struct as its message (fields in number order, as gogo writes them)."""
    if not isinstance(obj, dict):
        raise WireError(f"{type_name.rsplit('.', 1)[-1]} must be an object")
    out = bytearray()
    for field in sorted(go_types()[type_name], key=lambda f: f["number"]):
        type_, number = field["type"], field["number"]
        if field["inline"]:
            out += _length_delimited(number, encode_struct(type_["type"], obj))
            continue
        value = obj.get(field["json"])
        kind = type_["kind"]
        if value is None:
            # gogo writes a non-pointer field whatever it holds; a pointer only when set.
            if type_.get("pointer") or kind in ("list", "map", "bytes"):
                continue
            value = _GOGO_ZERO.get(kind, {})
            if kind in ("time", "microtime", "rawextension", "fieldsv1"):
                out += _length_delimited(number, b"")
                continue
        if kind == "list":
            for item in value:
                out += _encode_value(type_["item"], number, item)
        elif kind == "map":
            for key in sorted(value):
                entry = _encode_value(type_["key"], 1, key)
                if value[key] is not None:
                    entry += _encode_value(type_["value"], 2, value[key])
                out += _length_delimited(number, entry)
        else:
            out += _encode_value(type_, number, value)
    return bytes(out)
