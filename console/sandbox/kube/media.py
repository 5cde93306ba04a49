"""Media types: decoding request bodies by ``Content-Type`` and choosing a response's type from ``Accept``.

kube-apiserver decodes JSON, YAML and, for built-in kinds, protobuf; it answers in the first type of the
``Accept`` header it can write (protobuf only for built-in kinds, a Table for ``as=Table``), 406 when there is
none, and 415 for a body type it does not decode. Custom resources have no protobuf form, in either direction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from . import errors, wire

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = wire.PROTOBUF
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_MERGE_PATCH)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def base_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


@dataclass
class Body:
    """A decoded request body and the keys that appeared twice in one of its JSON objects."""

    value: Any
    duplicates: list[str]
    media_type: str


def _unsupported(accepted: list[str]) -> errors.ApiError:
    return errors.ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media types include: "
                           + ", ".join(accepted), details={})


def decode_object_body(body: bytes, content_type: str | None, *, protobuf: bool) -> Body:
    """A create or update body: JSON, YAML, or (for built-in kinds) protobuf."""
    media = base_type(content_type) or JSON
    accepted = [JSON, YAML] + ([PROTOBUF] if protobuf else [])
    if media == PROTOBUF and protobuf:
        try:
            return Body(wire.decode_object(body), [], media)
        except wire.WireError as err:
            raise errors.bad_request(f"error decoding protobuf body: {err}") from err
    if media == JSON:
        return Body(*_json(body), media)
    if media == YAML:
        return Body(_yaml(body), [], media)
    raise _unsupported(accepted)


def decode_patch_body(body: bytes, content_type: str | None) -> Body:
    media = base_type(content_type)
    if media == APPLY_PATCH:
        return Body(_yaml(body), [], media)
    if media in (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH):
        return Body(*_json(body), media)
    raise _unsupported([JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_MERGE_PATCH])


def _json(body: bytes) -> tuple[Any, list[str]]:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                duplicates.append(k)
            out[k] = v
        return out

    try:
        return json.loads(body or b"{}", object_pairs_hook=pairs), duplicates
    except ValueError as err:
        # The apiserver's JSON decoder also takes YAML: kubectl and client libraries may send either.
        try:
            return _yaml(body), []
        except errors.ApiError:
            raise errors.bad_request(f"error decoding body: {err}") from err


def _yaml(body: bytes) -> Any:
    try:
        return yaml.load(body or b"{}", Loader=_LOADER)
    except yaml.YAMLError as err:
        raise errors.bad_request(f"error converting YAML to JSON: {err}") from err


# --- responses -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    media_type: str  # JSON, YAML or PROTOBUF
    table: bool = False


def _clauses(accept: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";") if p.strip()]
        if not pieces:
            continue
        params = {}
        for piece in pieces[1:]:
            name, _, val = piece.partition("=")
            params[name.strip().lower()] = val.strip()
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        out.append((pieces[0].lower(), params, q, position))
    out.sort(key=lambda c: (-c[2], c[3]))
    return [(t, p, q) for t, p, q, _ in out]


def negotiate(accept: str | None, *, protobuf: bool, table: bool = False) -> Choice:
    """The response type for an ``Accept`` header; ``protobuf`` says whether the answer has a protobuf form."""
    for media, params, q in _clauses(accept or "*/*"):
        if q <= 0:
            continue
        if params.get("as") == "Table":
            if table and media == JSON and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                return Choice(JSON, table=True)
            continue
        if params.get("as"):
            continue
        if media in (JSON, "*/*", "application/*"):
            return Choice(JSON)
        if media == YAML:
            return Choice(YAML)
        if media == PROTOBUF and protobuf:
            return Choice(PROTOBUF)
    raise errors.ApiError(406, "NotAcceptable", "only the following media types are accepted: "
                          + ", ".join([JSON, YAML] + ([PROTOBUF] if protobuf else [])), details={})


def encode(obj: Any, choice: Choice) -> tuple[bytes, str]:
    """The response body and its Content-Type."""
    if choice.media_type == PROTOBUF:
        return wire.encode_object(obj), PROTOBUF
    if choice.media_type == YAML:
        return yaml.safe_dump(obj, sort_keys=False).encode(), YAML
    return json.dumps(obj, separators=(",", ":")).encode(), JSON
