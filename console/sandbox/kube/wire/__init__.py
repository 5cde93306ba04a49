"""Kubernetes' protobuf media type (``application/vnd.kubernetes.protobuf``) for the built-in kinds.

An object travels in apimachinery's envelope: the magic ``k8s\\x00``, then a ``runtime.Unknown`` message whose
``typeMeta`` names the kind and whose ``raw`` is the object's own message. A watch over protobuf sends
length-prefixed ``WatchEvent`` messages without the envelope, each carrying its object enveloped.
"""

from __future__ import annotations

import struct
from typing import Any

from .. import schemas
from .codec import WireError, decode_struct, encode_struct, fields, knows, zero_struct

PROTOBUF = "application/vnd.kubernetes.protobuf"
PROTOBUF_WATCH = PROTOBUF + ";stream=watch"
MAGIC = b"k8s\x00"
WATCH_EVENT = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"

__all__ = ["MAGIC", "PROTOBUF", "PROTOBUF_WATCH", "WireError", "can_encode", "decode_object", "decode_watch_frames",
           "encode_object", "encode_watch_event", "type_name", "zero_object"]


def type_name(api_version: str, kind: str) -> str | None:
    """The Go type (its OpenAPI definition name) of a kind, if the codec can carry it."""
    group, _, version = api_version.rpartition("/")
    name = schemas.definition_name(group, version, kind)
    if name is None and group == "" and kind in ("Status", "APIResourceList", "APIGroupList", "APIGroup",
                                                 "APIVersions", "WatchEvent", "DeleteOptions"):
        name = f"io.k8s.apimachinery.pkg.apis.meta.v1.{kind}"
    return name if name is not None and knows(name) else None


def can_encode(api_version: str | None, kind: str | None) -> bool:
    return bool(api_version and kind) and type_name(str(api_version), str(kind)) is not None


def zero_object(api_version: str, kind: str) -> dict[str, Any]:
    """The JSON of a new, empty Go object of a kind (``{}`` for kinds without Go types, as for custom resources)."""
    name = type_name(api_version, kind)
    return zero_struct(name) if name else {}


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return MAGIC + _field(1, type_meta) + _field(2, raw) + _field(3, b"") + _field(4, b"")


def _field(number: int, data: bytes) -> bytes:
    from .codec import _length_delimited

    return _length_delimited(number, data)


def encode_object(obj: dict[str, Any]) -> bytes:
    """An object (or list, or Status) in the protobuf envelope; ``WireError`` for a kind without Go types."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    name = type_name(api_version, kind)
    if name is None:
        raise WireError(f"{api_version}/{kind} has no protobuf form")
    return _envelope(api_version, kind, encode_struct(name, obj))


def decode_object(body: bytes) -> dict[str, Any]:
    """An enveloped object as the JSON the apiserver's Go types would write for it."""
    if not body.startswith(MAGIC):
        raise WireError("the body does not start with the protobuf magic number")
    envelope = fields(body[len(MAGIC):])
    type_meta = fields(envelope.get(1, [b""])[-1])
    api_version = type_meta.get(1, [b""])[-1].decode("utf-8", "replace")
    kind = type_meta.get(2, [b""])[-1].decode("utf-8", "replace")
    if envelope.get(3, [b""])[-1] or envelope.get(4, [b""])[-1]:
        raise WireError("encoded or typed raw content is not supported")
    name = type_name(api_version, kind)
    if name is None:
        raise WireError(f"no kind \"{kind}\" is registered for version \"{api_version}\"")
    obj = decode_struct(name, envelope.get(2, [b""])[-1])
    return {"kind": kind, "apiVersion": api_version, **obj}


def encode_watch_event(event_type: str, obj: dict[str, Any]) -> bytes:
    """One frame of a protobuf watch: a 4-byte big-endian length, then the WatchEvent message."""
    message = _field(1, event_type.encode()) + _field(2, _field(1, encode_object(obj)))
    return struct.pack(">I", len(message)) + message


def decode_watch_frames(data: bytes) -> list[dict[str, Any]]:
    """The events of a protobuf watch stream, as ``{"type", "object"}``."""
    events, i = [], 0
    while i < len(data):
        if i + 4 > len(data):
            raise WireError("truncated watch frame header")
        (length,) = struct.unpack(">I", data[i:i + 4])
        frame = data[i + 4:i + 4 + length]
        if len(frame) != length:
            raise WireError("truncated watch frame")
        i += 4 + length
        message = fields(frame)
        raw = fields(message.get(2, [b""])[-1]).get(1, [b""])[-1]
        events.append({"type": message.get(1, [b""])[-1].decode(), "object": decode_object(raw)})
    return events
