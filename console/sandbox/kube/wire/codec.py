"""Kubernetes' protobuf wire format for the built-in kinds, driven by the Go types of ``gotypes.json``.

A message decodes to the JSON the apiserver's Go code would write for the same struct: a pointer field is there
when it was sent, a non-pointer scalar is there unless it is zero and ``omitempty``, a non-pointer struct is always
there (``omitempty`` does not apply to structs in Go), and an inline struct's fields join its parent's. The types
apimachinery marshals by hand (Time, MicroTime, Duration, IntOrString, Quantity, RawExtension, FieldsV1) are
coded here as apimachinery codes them.
"""

from __future__ import annotations

import base64
import functools
import json
import struct
from calendar import timegm
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_TYPES_FILE = Path(__file__).with_name("gotypes.json")
_ZERO = {"string": "", "bool": False, "int32": 0, "int64": 0, "uint32": 0, "uint64": 0, "float32": 0.0,
         "float64": 0.0, "byte": 0}


class WireError(ValueError):
    """A protobuf body that does not decode as the type it claims."""


@functools.lru_cache(maxsize=1)
def go_types() -> dict[str, list[dict[str, Any]]]:
    """Every Go struct the codec knows, by OpenAPI definition name."""
    return json.loads(_TYPES_FILE.read_text(encoding="utf-8"))


def knows(type_name: str) -> bool:
    return type_name in go_types()


# --- the wire ---------------------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _length_delimited(number: int, data: bytes) -> bytes:
    return _key(number, 2) + _varint(len(data)) + data


def fields(data: bytes) -> dict[int, list[Any]]:
    """The raw fields of one message: varints as ints, length-delimited values as bytes, fixed values as bytes."""
    out: dict[int, list[Any]] = {}
    i, end = 0, len(data)

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            if i >= end:
                raise WireError("truncated varint")
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise WireError("varint too long")

    while i < end:
        key = varint()
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == 0:
            out.setdefault(number, []).append(varint())
        elif wire == 2:
            length = varint()
            if i + length > end:
                raise WireError("truncated length-delimited field")
            out.setdefault(number, []).append(data[i:i + length])
            i += length
        elif wire == 1:
            out.setdefault(number, []).append(data[i:i + 8])
            i += 8
        elif wire == 5:
            out.setdefault(number, []).append(data[i:i + 4])
            i += 4
        else:
            raise WireError(f"unsupported wire type {wire}")
    if i != end:
        raise WireError("truncated message")
    return out


def _signed(value: int, bits: int) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32:
        value = ((value + (1 << 31)) % (1 << 32)) - (1 << 31)
    return value


# --- apimachinery's hand-written types ---------------------------------------------------------------------------


def _time_text(seconds: int, nanos: int, micro: bool) -> str:
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if micro:
        text += f".{nanos // 1000:06d}"
    return text + "Z"


def _time_seconds(text: Any) -> tuple[int, int]:
    if not isinstance(text, str):
        raise WireError(f"not a time: {text!r}")
    main, _, fraction = text.rstrip("Z").partition(".")
    try:
        parsed = datetime.strptime(main[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError as err:
        raise WireError(f"not a time: {text!r}") from err
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    return timegm(parsed.timetuple()), nanos


def _go_duration(nanoseconds: int) -> str:
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    rest = abs(nanoseconds)
    hours, rest = divmod(rest, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = rest / 1e9
    text = f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _decode_special(kind: str, data: bytes) -> Any:
    raw = fields(data)
    if kind in ("time", "microtime"):
        if not raw:
            return None
        seconds = _signed(raw.get(1, [0])[-1], 64)
        nanos = _signed(raw.get(2, [0])[-1], 32)
        return _time_text(seconds, nanos, kind == "microtime")
    if kind == "duration":
        return _go_duration(_signed(raw.get(1, [0])[-1], 64))
    if kind == "intorstring":
        if raw.get(1, [0])[-1] == 1:
            return raw.get(3, [b""])[-1].decode("utf-8")
        return _signed(raw.get(2, [0])[-1], 32)
    if kind == "quantity":
        return raw.get(1, [b""])[-1].decode("utf-8")
    if kind in ("rawextension", "fieldsv1"):
        body = raw.get(1, [b""])[-1]
        if not body:
            return None
        if body.startswith(b"k8s\x00"):
            from . import decode_object

            return decode_object(body)
        return json.loads(body)
    raise WireError(f"unknown special type {kind}")


def _encode_special(kind: str, value: Any) -> bytes:
    if kind in ("time", "microtime"):
        if value is None:
            return b""
        seconds, nanos = _time_seconds(value)
        out = _key(1, 0) + _varint(seconds) if seconds else b""
        if kind == "microtime" and nanos:
            out += _key(2, 0) + _varint(nanos)
        return out
    if kind == "duration":
        return _key(1, 0) + _varint(_parse_duration(value))
    if kind == "intorstring":
        if isinstance(value, str):
            return _key(1, 0) + _varint(1) + _key(2, 0) + _varint(0) + _length_delimited(3, value.encode())
        return _key(1, 0) + _varint(0) + _key(2, 0) + _varint(int(value)) + _length_delimited(3, b"")
    if kind == "quantity":
        return _length_delimited(1, str(value).encode())
    if kind in ("rawextension", "fieldsv1"):
        return _length_delimited(1, json.dumps(value, separators=(",", ":")).encode()) if value is not None else b""
    raise WireError(f"unknown special type {kind}")


def _parse_duration(text: Any) -> int:
    import re

    if not isinstance(text, str):
        raise WireError(f"not a duration: {text!r}")
    units = {"h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000, "us": 1000,
             "µs": 1000, "ns": 1}
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(h|ms|us|µs|ns|m|s)", text):
        total += float(number) * units[unit]
    return int(-total if text.startswith("-") else total)


# --- Go structs ----------------------------------------------------------------------------------------------------

_GOGO_ZERO = {**_ZERO, "intorstring": 0, "quantity": "0", "duration": "0s"}
_SPECIAL = {"time", "microtime", "duration", "intorstring", "quantity", "rawextension", "fieldsv1"}


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
