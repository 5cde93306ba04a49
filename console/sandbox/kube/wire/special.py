"""The types apimachinery marshals by hand: Time, MicroTime, Duration, IntOrString, Quantity, RawExtension,
FieldsV1. Each is coded as its hand-written Marshal/Unmarshal does (a zero Time is an empty message)."""

from __future__ import annotations

import json
import re
from calendar import timegm
from datetime import datetime, timezone
from typing import Any

from .primitives import WireError, fields
from .primitives import key as _key, length_delimited as _length_delimited, signed as _signed, varint as _varint

SPECIAL = {"time", "microtime", "duration", "intorstring", "quantity", "rawextension", "fieldsv1"}


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


def decode_special(kind: str, data: bytes) -> Any:
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


def encode_special(kind: str, value: Any) -> bytes:
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
    if not isinstance(text, str):
        raise WireError(f"not a duration: {text!r}")
    units = {"h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000, "us": 1000,
             "µs": 1000, "ns": 1}
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(h|ms|us|µs|ns|m|s)", text):
        total += float(number) * units[unit]
    return int(-total if text.startswith("-") else total)
