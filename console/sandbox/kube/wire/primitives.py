"""The protobuf wire format itself: varints, keys, length-delimited fields, and reading a message's fields."""

from __future__ import annotations

from typing import Any


class WireError(ValueError):
    """A protobuf body that does not decode as the type it claims."""


def varint(value: int) -> bytes:
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


def key(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def length_delimited(number: int, data: bytes) -> bytes:
    return key(number, 2) + varint(len(data)) + data


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


def signed(value: int, bits: int) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32:
        value = ((value + (1 << 31)) % (1 << 32)) - (1 << 31)
    return value
